"""Fixtures for the web tests: an app on a fresh SQLite file, and clients that act as teacher, student or stranger."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from byhand.web import create_app  # noqa: E402

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


class Client:
    """A browser-like client: keeps its cookies, finds the CSRF token on a page, posts forms and JSON."""

    def __init__(self, app: Any) -> None:
        self.c = TestClient(app, raise_server_exceptions=False)
        self.token = ""
        self.pin = ""

    def get(self, url: str, **kw: Any) -> Any:
        r = self.c.get(url, **kw)
        m = CSRF.search(r.text) if r.headers.get("content-type", "").startswith("text/html") else None
        if m:
            self.token = m.group(1)
        return r

    def form(self, url: str, data: dict[str, Any], *, csrf: bool = True, **kw: Any) -> Any:
        if not self.token:
            self.get("/")
        d = {**data, **({"csrf": self.token} if csrf else {})}
        return self.c.post(url, data=d, follow_redirects=False, **kw)

    def api(self, url: str, body: Any = None, *, csrf: bool = True, **kw: Any) -> Any:
        if not self.token:
            self.get("/")
        h = {"x-csrf-token": self.token} if csrf else {}
        return self.c.post(url, json={} if body is None else body, headers=h, **kw)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    a = create_app(str(tmp_path / "web.sqlite3"), signup="open")
    yield a
    a.state.writer.stop()
    a.state.engine.dispose()


@pytest.fixture
def new_client(app: Any) -> Any:
    return lambda: Client(app)


def make_teacher(c: Client, email: str = "t@school.example", name: str = "Ms T", password: str = "correct horse") -> Client:
    r = c.form("/teacher/signup", {"name": name, "email": email, "password": password})
    assert r.status_code == 303, r.text
    c.get("/teacher/login")
    r = c.form("/teacher/login", {"email": email, "password": password})
    assert r.status_code == 303, r.text
    c.get("/teacher")
    return c


def make_class(c: Client, name: str = "10B") -> tuple[int, str]:
    r = c.form("/teacher/classes", {"name": name})
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    page = c.get(f"/teacher/classes/{cid}").text
    code = re.search(r'id="join-code">([A-Z0-9]+)<', page)
    assert code
    return cid, code.group(1)


def make_assignment(c: Client, cid: int, topics: list[str] | None = None, count: int = 2, level: str = "easy",
                    due: str = "", attempts: int = 3) -> int:
    data: dict[str, Any] = {"title": "Homework", "level": level, "count": str(count), "due": due,
                            "topics": topics or ["linear", "dot"], "max_attempts": str(attempts)}
    r = c.form(f"/teacher/classes/{cid}/assignments", data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def join(c: Client, code: str, name: str, pin: str = "") -> Any:
    """Join as a browser does: the form, then (on success) the next page, which carries the new CSRF token."""
    c.get("/join")
    r = c.form("/join", {"name": name, "code": code, "pin": pin})
    if r.status_code == 303:
        page = c.get("/student")
        m = re.search(r'id="pin">(\w+)<', page.text)
        c.pin = m.group(1) if m else ""
    return r


@pytest.fixture
def classroom(new_client: Any) -> dict[str, Any]:
    """A teacher with a class and an assignment; two students in it; a second teacher with a class of one."""
    t = make_teacher(new_client())
    cid, code = make_class(t)
    aid = make_assignment(t, cid)
    s1, s2 = new_client(), new_client()
    assert join(s1, code, "Ada").status_code == 303
    assert join(s2, code, "Bo").status_code == 303
    t2 = make_teacher(new_client(), "other@school.example", "Mr O")
    cid2, code2 = make_class(t2, "9A")
    aid2 = make_assignment(t2, cid2, ["matmul"], 1)
    s3 = new_client()
    assert join(s3, code2, "Cy").status_code == 303
    return {"t": t, "cid": cid, "code": code, "aid": aid, "s1": s1, "s2": s2, "t2": t2, "cid2": cid2, "code2": code2,
            "aid2": aid2, "s3": s3, "new": new_client}
