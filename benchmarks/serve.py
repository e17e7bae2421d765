"""Load on the classroom server: simulated students checking (and saving) answers over loopback, then the
gradebook at 50,000 submissions.

    python benchmarks/serve.py [--students 200] [--rate 500] [--seconds 10] [--submissions 50000]

Starts ``byhand serve`` as a subprocess on a free 127.0.0.1 port with a fresh SQLite file (WAL,
synchronous=FULL: every check is committed to disk before it is answered), makes a teacher, a class,
an assignment of 6 exercises (20 attempts each) and the students — each opens every exercise once, as a
student would, which makes its variant — then runs two bounded phases:

1. paced (open loop): each student's checks are *scheduled* at ``--rate`` per second in total, and a
   check's latency counts from its scheduled time, not from when it was sent; a server that falls behind
   shows its queue in the latency, and the rate printed is the rate *achieved* (completed checks over the
   time from the first scheduled check to the last answer), never the nominal one;
2. flat out: every student sends its next check as soon as the last one is answered.

Then it fills a second assignment of 30 exercises to ``--submissions`` rows and times the teacher's gradebook page (the median
of 5 loads after one warm-up) and the CSV. It prints the machine's load average first: the figures
mean little on a machine that is busy with other work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
ITEMS = 6
"""Exercises of the load assignment (20 attempts each: more than a student sends in both phases)."""
BOOK_ITEMS = 30
"""Exercises of the gradebook's assignment, filled to ``--submissions`` rows."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int) -> subprocess.Popen[bytes]:
    code = f"from byhand.web import serve; serve(host='127.0.0.1', port={port}, db={str(db)!r}, signup='closed')"
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


async def setup(base: str, n: int) -> tuple[int, int, httpx.AsyncClient, list[httpx.AsyncClient]]:
    t = httpx.AsyncClient(base_url=base, timeout=60)
    tok = await token(t, "/teacher/signup")
    await t.post("/teacher/signup", data={"csrf": tok, "name": "T", "email": "bench@example.org", "password": "password123"})
    tok = await token(t, "/teacher/login")
    r = await t.post("/teacher/login", data={"csrf": tok, "email": "bench@example.org", "password": "password123"})
    assert r.status_code == 303, r.text
    tok = await token(t, "/teacher")
    r = await t.post("/teacher/classes", data={"csrf": tok, "name": "Bench"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r'id="join-code">([A-Z0-9]+)<', (await t.get(f"/teacher/classes/{cid}")).text).group(1)  # type: ignore[union-attr]
    tok = await token(t, f"/teacher/classes/{cid}")
    r = await t.post(f"/teacher/classes/{cid}/assignments",
                     data={"csrf": tok, "level": "medium", "count": str(ITEMS), "topics": ["linear", "relu", "mlp"],
                           "settings": "1", "max_attempts": "20", "hints": "on", "credit": "half"})
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    tok = await token(t, f"/teacher/classes/{cid}")
    r = await t.post(f"/teacher/classes/{cid}/assignments",
                     data={"csrf": tok, "level": "medium", "count": str(BOOK_ITEMS), "topics": ["linear", "relu", "mlp"],
                           "title": "Gradebook", "settings": "1", "max_attempts": "20", "hints": "on", "credit": "half"})
    book = int(r.headers["location"].rsplit("/", 1)[1])
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def one(i: int) -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
        tok = await token(c, "/join")
        r = await c.post("/join", data={"csrf": tok, "name": f"Student {i:03d}", "code": code})
        assert r.status_code == 303, r.text
        c.headers["x-csrf-token"] = await token(c, "/student")
        for k in range(ITEMS):  # open every exercise once, as a student would (it makes the variants)
            await c.get(f"/student/a/{aid}/{k}")
        return c

    clients = []
    for i in range(0, n, 20):
        clients += await asyncio.gather(*(one(j) for j in range(i, min(n, i + 20))))
    return aid, book, t, clients


async def phase(aid: int, clients: list[httpx.AsyncClient], seconds: float, rate: float | None, start_item: int,
                ) -> tuple[list[float], int, float]:
    """Latencies (from the scheduled time when paced), errors, and the wall time the phase's work took."""
    lat: list[float] = []
    errors = 0
    t0 = time.perf_counter() + 0.2
    end = t0 + seconds
    gap = len(clients) / rate if rate else 0.0
    last_done = t0

    async def student(i: int, c: httpx.AsyncClient) -> None:
        nonlocal errors, last_done
        rng = random.Random(i)
        due = t0 + (rng.random() * gap if rate else 0.0)
        n = 0
        while due < end:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            start = due if rate else time.perf_counter()
            answers = {str(b): str(rng.randint(-9, 9)) for b in range(1, 7)}
            item = (start_item + n) % ITEMS
            try:
                r = await c.post(f"/api/student/a/{aid}/{item}/check", json={"answers": answers})
                ok = r.status_code == 200 and r.json()["saved"]
            except httpx.HTTPError:
                ok = False
            now = time.perf_counter()
            last_done = max(last_done, now)
            if ok:
                lat.append(now - start)
            else:
                errors += 1
            n += 1
            due = due + gap if rate else now

    await asyncio.gather(*(student(i, c) for i, c in enumerate(clients)))
    return lat, errors, last_done - t0


def cpu_seconds(pid: int) -> float:
    """The server process's CPU time so far (Linux /proc), to tell the server's cost from the client's."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def report(name: str, lat: list[float], errors: int, wall: float, cpu: float) -> None:
    if len(lat) < 2:
        print(f"{name}: no successful checks ({errors} errors)")
        return
    q = statistics.quantiles(lat, n=100)
    print(f"{name:20} achieved {len(lat) / wall:6.0f} checks/s   p50 {q[49] * 1000:7.1f} ms   p99 {q[98] * 1000:7.1f} ms   "
          f"server CPU {cpu / len(lat) * 1000:.2f} ms/check   ({len(lat)} checks in {wall:.1f} s, {errors} errors)")


def fill(db: Path, aid: int, want: int) -> int:
    """Add submissions until the assignment has ``want`` (rows like the server's, written straight to SQLite)."""
    conn = sqlite3.connect(db, timeout=30)
    have = conn.execute("select count(*) from submissions where assignment_id = ?", (aid,)).fetchone()[0]
    sids = [r[0] for r in conn.execute("select id from students")]
    rng = random.Random(7)
    rows = []
    tries: dict[tuple[int, int], int] = {}  # attempt numbers go on from the server's, per student and exercise
    for sid, item, n in conn.execute("select student_id, item, max(attempt) from submissions where assignment_id = ? "
                                     "group by student_id, item", (aid,)):
        tries[(sid, item)] = n
    for _ in range(max(0, want - have)):
        sid, item = rng.choice(sids), rng.randrange(BOOK_ITEMS)
        tries[(sid, item)] = tries.get((sid, item), 0) + 1
        v = {str(b): {"verdict": rng.choice(["correct", "wrong", "follows"]), "given": str(rng.randint(-9, 9)),
                      "cell": f"Z[{b},0]"} for b in range(1, 13)}
        given = json.dumps({b: x["given"] for b, x in v.items()})
        rows.append((sid, aid, item, tries[(sid, item)], given, json.dumps(v),
                     sum(x["verdict"] == "correct" for x in v.values()), 12,
                     sum(x["verdict"] == "follows" for x in v.values()), "".join(x["verdict"][0] for x in v.values()), 0,
                     datetime.now().isoformat(sep=" ")))
    conn.executemany("insert into submissions (student_id, assignment_id, item, attempt, answers, verdicts, correct, total, "
                     "carried, marks, late, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    n = conn.execute("select count(*) from submissions where assignment_id = ?", (aid,)).fetchone()[0]
    conn.close()
    return int(n)


async def gradebook(t: httpx.AsyncClient, aid: int, pid: int) -> None:
    await t.get(f"/teacher/assignments/{aid}")  # warm-up
    times, size = [], 0
    c0 = cpu_seconds(pid)
    for _ in range(5):
        t0 = time.perf_counter()
        r = await t.get(f"/teacher/assignments/{aid}")
        times.append(time.perf_counter() - t0)
        size = len(r.content)
        assert r.status_code == 200
    cpu = (cpu_seconds(pid) - c0) / len(times)
    t0 = time.perf_counter()
    r = await t.get(f"/teacher/assignments/{aid}/gradebook.csv")
    csv_s = time.perf_counter() - t0
    print(f"gradebook page       median {statistics.median(times) * 1000:6.0f} ms   best {min(times) * 1000:6.0f} ms   "
          f"server CPU {cpu * 1000:.0f} ms/page   ({size // 1024} KiB, 50 students a page)"
          f"   CSV {csv_s * 1000:.0f} ms ({len(r.content) // 1024} KiB)")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--rate", type=float, default=500.0, help="checks per second in the paced phase")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each phase (at most 60)")
    ap.add_argument("--submissions", type=int, default=50_000, help="submissions for the gradebook timing")
    a = ap.parse_args()
    a.students = max(1, min(a.students, 1000))
    a.seconds = max(1.0, min(a.seconds, 60.0))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        db = Path(d) / "bench.sqlite3"
        server = start(db, port)
        try:
            aid, book, teacher, clients = await setup(f"http://127.0.0.1:{port}", a.students)
            print(f"{a.students} students, SQLite (WAL, synchronous=FULL), each check saved before it is answered")
            c0 = cpu_seconds(server.pid)
            lat, err, wall = await phase(aid, clients, a.seconds, a.rate, 0)
            c1 = cpu_seconds(server.pid)
            report(f"paced at {a.rate:.0f}/s", lat, err, wall, c1 - c0)
            lat, err, wall = await phase(aid, clients, a.seconds, None, ITEMS // 2)
            report("flat out", lat, err, wall, cpu_seconds(server.pid) - c1)
            for c in clients:
                await c.aclose()
            n = fill(db, book, a.submissions)
            print(f"{n} submissions in the gradebook's assignment ({a.students} students × {BOOK_ITEMS} exercises)")
            await gradebook(teacher, book, server.pid)
            await teacher.aclose()
            load = os.getloadavg()
            print(f"machine after: load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
