"""Run ``byhand serve`` as a real process on a free loopback port (for the browser and kill -9 tests)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: Path, port: int | None = None) -> None:
        self.db, self.port = db, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = f"from byhand.web import serve; serve(host='127.0.0.1', port={self.port}, db={str(db)!r}, signup='open')"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).text == "ok":
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not answer within 30 s")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def token(c: httpx.Client, url: str) -> str:
    m = CSRF.search(c.get(url).text)
    assert m
    return m.group(1)


def setup_class(base: str, students: int, topics: tuple[str, ...] = ("linear",), count: int = 3) -> tuple[int, list[httpx.Client]]:
    """A teacher, a class, an assignment and ``students`` joined students, each with their own cookies."""
    t = httpx.Client(base_url=base, timeout=30)
    tok = token(t, "/teacher/signup")
    r = t.post("/teacher/signup", data={"csrf": tok, "name": "T", "email": "t@example.org", "password": "password123"})
    assert r.status_code == 303, r.text
    tok = token(t, "/teacher/login")
    r = t.post("/teacher/login", data={"csrf": tok, "email": "t@example.org", "password": "password123"})
    assert r.status_code == 303, r.text
    tok = token(t, "/teacher")
    r = t.post("/teacher/classes", data={"csrf": tok, "name": "Load"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    page = t.get(f"/teacher/classes/{cid}").text
    code = re.search(r'id="join-code">([A-Z0-9]+)<', page).group(1)  # type: ignore[union-attr]
    tok = token(t, f"/teacher/classes/{cid}")
    r = t.post(f"/teacher/classes/{cid}/assignments",
               data={"csrf": tok, "level": "medium", "count": str(count), "topics": list(topics), "title": "Load",
                     "max_attempts": "20", "hints": "on", "credit": "half", "settings": "1"})
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    out = []
    for i in range(students):
        c = httpx.Client(base_url=base, timeout=30)
        tok = token(c, "/join")
        r = c.post("/join", data={"csrf": tok, "name": f"Student {i}", "code": code})
        assert r.status_code == 303, r.text
        c.headers["x-csrf-token"] = token(c, "/student")
        out.append(c)
    t.close()
    return aid, out


def submit(c: httpx.Client, aid: int, item: int, answers: dict[str, Any]) -> httpx.Response:
    return c.post(f"/api/student/a/{aid}/{item}/check", json={"answers": answers})
