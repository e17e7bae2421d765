"""Load on the classroom server: 200 simulated students checking (and saving) answers over loopback.

    python benchmarks/serve.py [--students 200] [--rate 500] [--seconds 10]

Starts ``byhand serve`` as a subprocess on a free 127.0.0.1 port with a fresh SQLite file
(WAL, synchronous=FULL: every check is committed to disk before it is answered), makes a teacher,
a class, an assignment and the students, then runs two bounded phases:

1. paced: the students together send ``--rate`` checks per second (each student every
   students/rate seconds, open loop); latency counts from the moment a check was due, so a slow
   server cannot hide its queue;
2. flat out: every student sends its next check as soon as the last one is answered.

Each phase prints checks/second and p50/p99 latency. Everything stays on loopback and stops
after ``--seconds`` per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int) -> subprocess.Popen[bytes]:
    code = f"from byhand.web import serve; serve(host='127.0.0.1', port={port}, db={str(db)!r})"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                return p
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("the server did not start")


async def token(c: httpx.AsyncClient, url: str) -> str:
    m = CSRF.search((await c.get(url)).text)
    assert m, url
    return m.group(1)


async def setup(base: str, n: int) -> tuple[int, list[httpx.AsyncClient]]:
    t = httpx.AsyncClient(base_url=base, timeout=30)
    tok = await token(t, "/teacher/signup")
    await t.post("/teacher/signup", data={"csrf": tok, "name": "T", "email": "bench@example.org", "password": "password123"})
    tok = await token(t, "/teacher")
    r = await t.post("/teacher/classes", data={"csrf": tok, "name": "Bench"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r'id="join-code">([A-Z0-9]+)<', (await t.get(f"/teacher/classes/{cid}")).text).group(1)  # type: ignore[union-attr]
    tok = await token(t, f"/teacher/classes/{cid}")
    r = await t.post(f"/teacher/classes/{cid}/assignments",
                     data={"csrf": tok, "level": "medium", "count": "3", "topics": ["linear", "relu", "mlp"]})
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    await t.aclose()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def one(i: int) -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
        tok = await token(c, "/join")
        r = await c.post("/join", data={"csrf": tok, "name": f"Student {i:03d}", "code": code})
        assert r.status_code == 303, r.text
        c.headers["x-csrf-token"] = await token(c, "/student")
        for k in range(3):  # open each exercise once, as a student would (it makes the variant)
            await c.get(f"/student/a/{aid}/{k}")
        return c

    clients = []
    for i in range(0, n, 20):
        clients += await asyncio.gather(*(one(j) for j in range(i, min(n, i + 20))))
    return aid, clients


async def phase(aid: int, clients: list[httpx.AsyncClient], seconds: float, rate: float | None) -> tuple[list[float], int]:
    lat: list[float] = []
    errors = 0
    t0 = time.perf_counter() + 0.2
    end = t0 + seconds
    gap = len(clients) / rate if rate else 0.0

    async def student(i: int, c: httpx.AsyncClient) -> None:
        nonlocal errors
        rng = random.Random(i)
        due = t0 + (rng.random() * gap if rate else 0.0)
        n = 0
        while due < end:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            start = due if rate else time.perf_counter()
            answers = {str(b): str(rng.randint(-9, 9)) for b in range(1, 7)}
            try:
                r = await c.post(f"/api/student/a/{aid}/{n % 3}/check", json={"answers": answers})
                ok = r.status_code == 200 and r.json()["saved"]
            except httpx.HTTPError:
                ok = False
            now = time.perf_counter()
            if ok:
                lat.append(now - start)
            else:
                errors += 1
            n += 1
            due = due + gap if rate else now

    await asyncio.gather(*(student(i, c) for i, c in enumerate(clients)))
    return lat, errors


def cpu_seconds(pid: int) -> float:
    """The server process's CPU time so far (Linux /proc), to tell the server's cost from the client's."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def report(name: str, lat: list[float], errors: int, seconds: float, cpu: float) -> None:
    if not lat:
        print(f"{name}: no successful checks ({errors} errors)")
        return
    q = statistics.quantiles(lat, n=100)
    print(f"{name:20} {len(lat) / seconds:6.0f} checks/s   p50 {q[49] * 1000:6.1f} ms   p99 {q[98] * 1000:6.1f} ms   "
          f"server CPU {cpu / len(lat) * 1000:.2f} ms/check   ({len(lat)} checks, {errors} errors)")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--rate", type=float, default=500.0, help="checks per second in the paced phase")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each phase (at most 60)")
    a = ap.parse_args()
    a.students = max(1, min(a.students, 1000))
    a.seconds = max(1.0, min(a.seconds, 60.0))
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        server = start(Path(d) / "bench.sqlite3", port)
        try:
            aid, clients = await setup(f"http://127.0.0.1:{port}", a.students)
            print(f"{a.students} students, SQLite (WAL, synchronous=FULL), each check saved before it is answered")
            c0 = cpu_seconds(server.pid)
            lat, err = await phase(aid, clients, a.seconds, a.rate)
            c1 = cpu_seconds(server.pid)
            report(f"paced at {a.rate:.0f}/s", lat, err, a.seconds, c1 - c0)
            lat, err = await phase(aid, clients, a.seconds, None)
            report("flat out", lat, err, a.seconds, cpu_seconds(server.pid) - c1)
            for c in clients:
                await c.aclose()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
