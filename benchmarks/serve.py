"""Load on the classroom server: simulated students checking (and saving) answers over loopback, then the
gradebook at 50,000 submissions.

    python benchmarks/serve.py [--students 200] [--rate 500] [--seconds 10] [--submissions 50000] [--client raw|httpx]

Starts ``byhand serve`` as a subprocess on a free 127.0.0.1 port with a fresh SQLite file (WAL,
synchronous=FULL: every check is committed to disk before it is answered), makes a teacher, a class,
an assignment of 6 exercises (20 attempts each) and the students — each opens every exercise once, as a
student would, which makes its variant — then runs two bounded phases:

1. paced (open loop): each student's checks are *scheduled* at ``--rate`` per second in total, and a
   check's latency counts from its scheduled time, not from when it was sent; a server that falls behind
   shows its queue in the latency, and the rate printed is the rate *achieved* (completed checks over the
   time from the first scheduled check to the last answer), never the nominal one;
2. flat out: every student sends its next check as soon as the last one is answered.

The students send their checks over raw HTTP/1.1 keep-alive connections (:class:`Raw`, one per student, with its
cookie and CSRF header): httpx costs more CPU per check than the server, and a client late on the same 2 cores makes
its own checks late. The server runs under a :class:`Probe` that reports, per phase, where a check's time goes: its
time in the app, the event loop's lateness, the writer's commits and batches, the CPU of each thread and the time it
waited for a CPU that another process had, and the garbage collector's pauses. The client's CPU is printed too.

Then it fills a second assignment of 30 exercises to ``--submissions`` rows and times the teacher's gradebook page (the median
of 5 loads after one warm-up) and the CSV. It prints the machine's load average first: the figures
mean little on a machine that is busy with other work.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from typing import Any

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
    """``byhand serve`` (the same :func:`byhand.web.serve` call) with the probe of :func:`probe_server` around it."""
    p = subprocess.Popen([sys.executable, __file__, "--probe-server", str(port), str(db)], stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                return p
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("the server did not start")


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def threads() -> dict[str, tuple[float, float]]:
    """This process's threads by kind (the event loop, the writer, the worker threads, the rest): CPU seconds, and
    seconds spent runnable but waiting for a CPU that another process had (Linux schedstat)."""
    import threading

    out: dict[str, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name), "")
            f = (task / "stat").read_text().rsplit(")", 1)[1].split()
            wait = int((task / "schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
        kind = ("loop" if int(task.name) == os.getpid() else "writer" if name.startswith("byhand-group") else
                "workers" if name.startswith(("AnyIO", "asyncio")) else name or "other")
        cpu, w = out.get(kind, (0.0, 0.0))
        out[kind] = (cpu + (int(f[11]) + int(f[12])) / tick, w + wait)
    return out


def thread_use(before: dict[str, tuple[float, float]]) -> dict[str, float]:
    now = threads()
    d: dict[str, float] = {}
    for k, (cpu, wait) in now.items():
        c0, w0 = before.get(k, (0.0, 0.0))
        d[k] = cpu - c0
        d[f"wait_{k}"] = wait - w0
        d["wait"] = d.get("wait", 0.0) + wait - w0
    return d


class Probe:
    """What the server process sees, gathered inside it (benchmark only: ``byhand serve`` itself carries none of
    this): each Check's time in the app (from the ASGI call to the last byte handed to uvicorn), the writer's commits
    (their time, how many checks each held), the garbage collector's pauses, and how late the event loop wakes up a
    task that sleeps 5 ms (anything that blocks the loop shows there). ``GET /__probe`` returns them and starts
    afresh."""

    def __init__(self) -> None:
        self.reset()
        self._gc_t0 = 0.0
        self._monitor: asyncio.Task[None] | None = None
        self._in_batch = 0

    def reset(self) -> None:
        self.threads0 = threads()
        self.check_ms: list[float] = []
        self.one_ms: list[float] = []
        self.one_cpu: list[float] = []
        self.commit_ms: list[float] = []
        self.batch: list[int] = []
        self.gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.lag_ms: list[float] = []

    def gc_event(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_t0 = time.thread_time()  # the collector runs in the thread that set it off, holding the GIL
        else:
            self.gc_ms[info["generation"]].append((time.thread_time() - self._gc_t0) * 1000)

    async def _watch_loop(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lag_ms.append((time.perf_counter() - t - 0.005) * 1000)

    def summary(self) -> dict[str, float]:
        rss = 0.0
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        c, m = self.check_ms, self.commit_ms
        return {
            "checks": len(c), "check_p50": _pct(c, 0.5), "check_p99": _pct(c, 0.99), "check_max": max(c, default=0.0),
            "lag_p99": _pct(self.lag_ms, 0.99), "lag_max": max(self.lag_ms, default=0.0),
            "commits": len(m), "commit_p99": _pct(m, 0.99), "commit_max": max(m, default=0.0),
            "batch_mean": statistics.fmean(self.batch) if self.batch else 0.0, "batch_max": max(self.batch, default=0),
            "one_p50": _pct(self.one_ms, 0.5), "one_p99": _pct(self.one_ms, 0.99),
            "one_cpu_share": sum(self.one_cpu) / sum(self.one_ms) if self.one_ms else 0.0,
            "writer_busy": (sum(self.one_ms) + sum(m)) / 1000,
            "gc_full": len(self.gc_ms[2]), "gc_full_max": max(self.gc_ms[2], default=0.0),
            "gc_young_max": max(self.gc_ms[0] + self.gc_ms[1], default=0.0),
            "heap": len(gc.get_objects()), "frozen": gc.get_freeze_count(), "rss": rss,
            **{f"cpu_{k}": v for k, v in thread_use(self.threads0).items()},
        }

    def wrap(self, app: Any) -> Any:
        async def probed(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if self._monitor is None:
                self._monitor = asyncio.get_running_loop().create_task(self._watch_loop())
            if scope["path"] == "/__probe":
                body = json.dumps(self.summary()).encode()
                self.reset()
                head = [(b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": head})
                await send({"type": "http.response.body", "body": body})
                return
            if not scope["path"].endswith("/check"):
                await app(scope, receive, send)
                return
            t0 = time.perf_counter()

            async def timed(msg: Any) -> None:
                await send(msg)
                if msg["type"] == "http.response.body" and not msg.get("more_body"):
                    self.check_ms.append((time.perf_counter() - t0) * 1000)

            await app(scope, receive, timed)

        return probed


def probe_server(port: int, db: str) -> None:
    """Run ``byhand.web.serve`` exactly as ``byhand serve`` does, with a :class:`Probe` watching."""
    import threading

    import uvicorn

    import byhand.web
    from byhand.web import api
    from byhand.web import app as webapp

    probe = Probe()
    gc.callbacks.append(probe.gc_event)
    make, run, one = webapp.create_app, uvicorn.run, api.GroupCommit._one

    def counted_one(self: Any, *a: Any) -> Any:
        probe._in_batch += 1
        t, c = time.perf_counter(), time.thread_time()
        try:
            return one(self, *a)
        finally:
            probe.one_ms.append((time.perf_counter() - t) * 1000)
            probe.one_cpu.append((time.thread_time() - c) * 1000)

    def create(*a: Any, **kw: Any) -> Any:
        app = make(*a, **kw)
        dialect = app.state.engine.dialect
        commit = dialect.do_commit

        def timed_commit(conn: Any) -> None:
            t = time.perf_counter()
            commit(conn)
            if threading.current_thread().name == "byhand-group-commit":
                probe.commit_ms.append((time.perf_counter() - t) * 1000)
                probe.batch.append(probe._in_batch)
                probe._in_batch = 0

        dialect.do_commit = timed_commit  # type: ignore[method-assign]
        return app

    api.GroupCommit._one = counted_one  # type: ignore[method-assign,assignment]
    webapp.create_app = create  # type: ignore[assignment]
    uvicorn.run = lambda app, **kw: run(probe.wrap(app), **kw)  # type: ignore[assignment]
    byhand.web.serve(host="127.0.0.1", port=port, db=db, signup="closed")


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


class Raw:
    """One student's device for the Check calls, as light as a client can be: one HTTP/1.1 keep-alive connection
    with the student's cookie and CSRF header, requests written and responses read by hand. (httpx spends more CPU
    per request than the server does; on a 2-core machine a heavy client makes its own checks late and that shows
    as latency "from the scheduled time".)"""

    def __init__(self, port: int, cookie: str, csrf: str) -> None:
        self.port = port
        self.head = (f"Host: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"
                     "Content-Type: application/json\r\n").encode()
        self.rw: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.rw is None:
            self.rw = await asyncio.open_connection("127.0.0.1", self.port)
        r, w = self.rw
        try:
            w.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.head + b"Content-Length: " + str(len(body)).encode()
                    + b"\r\n\r\n" + body)
            head = await r.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            low = head.lower()
            i = low.index(b"content-length:") + 15
            n = int(low[i:low.index(b"\r\n", i)])
            data = await r.readexactly(n)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            raise
        if b"connection: close" in low:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.rw is not None:
            self.rw[1].close()
            self.rw = None


Post = Any
"""``(path, body) -> (status, body)``: a student's Check call through :class:`Raw` or httpx."""


def poster(c: httpx.AsyncClient, kind: str, port: int) -> Post:
    if kind == "raw":
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        return Raw(port, cookie, c.headers["x-csrf-token"]).post

    async def post(path: str, body: bytes) -> tuple[int, bytes]:
        r = await c.post(path, content=body, headers={"content-type": "application/json"})
        return r.status_code, r.content

    return post


async def phase(aid: int, posts: list[Post], seconds: float, rate: float | None, start_item: int,
                ) -> tuple[list[float], list[float], int, float]:
    """Latencies (from the scheduled time when paced), how late each check was sent (the client's own lag),
    errors, and the wall time the phase's work took."""
    lat: list[float] = []
    late: list[float] = []
    errors = 0
    t0 = time.perf_counter() + 0.2
    end = t0 + seconds
    gap = len(posts) / rate if rate else 0.0
    last_done = t0

    async def student(i: int, post: Post) -> None:
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
            body = json.dumps({"answers": answers}).encode()
            late.append(time.perf_counter() - start)
            try:
                status, data = await post(f"/api/student/a/{aid}/{item}/check", body)
                ok = status == 200 and json.loads(data)["saved"] is True
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError, KeyError):
                ok = False
            now = time.perf_counter()
            last_done = max(last_done, now)
            if ok:
                lat.append(now - start)
            else:
                errors += 1
            n += 1
            due = due + gap if rate else now

    await asyncio.gather(*(student(i, p) for i, p in enumerate(posts)))
    return lat, late, errors, last_done - t0


def cpu_seconds(pid: int) -> float:
    """The server process's CPU time so far (Linux /proc), to tell the server's cost from the client's."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def report(name: str, lat: list[float], late: list[float], errors: int, wall: float, cpu: float, client_cpu: float,
           probe: dict[str, float]) -> None:
    if len(lat) < 2:
        print(f"{name}: no successful checks ({errors} errors)")
        return
    q = statistics.quantiles(lat, n=100)
    print(f"{name:20} achieved {len(lat) / wall:6.0f} checks/s   p50 {q[49] * 1000:7.1f} ms   p99 {q[98] * 1000:7.1f} ms   "
          f"server CPU {cpu / len(lat) * 1000:.2f} ms/check   ({len(lat)} checks in {wall:.1f} s, {errors} errors)")
    p = probe
    sent = f"; checks sent late p99 {_pct(late, 0.99) * 1000:.1f} ms" if name.startswith("paced") else ""
    print(f"{'':4}client: CPU {client_cpu / len(lat) * 1000:.2f} ms/check{sent}")
    print(f"{'':4}server: in the app p50 {p['check_p50']:.1f} ms, p99 {p['check_p99']:.1f} ms, max {p['check_max']:.0f} ms;"
          f" event loop late p99 {p['lag_p99']:.1f} ms, max {p['lag_max']:.0f} ms")
    print(f"{'':4}writer: {p['commits']:.0f} commits of {p['batch_mean']:.1f} checks (at most {p['batch_max']:.0f}), commit p99"
          f" {p['commit_p99']:.1f} ms, max {p['commit_max']:.0f} ms; a check's statements p50 {p['one_p50']:.2f} ms,"
          f" p99 {p['one_p99']:.1f} ms, {p['one_cpu_share']:.0%} of their time on CPU")
    n = len(lat) / 1000
    use = {k: p.get(f"cpu_{k}", 0.0) / n for k in ("loop", "writer", "workers", "other", "wait")}
    print(f"{'':4}server CPU by thread: event loop {use['loop']:.2f} ms/check, writer {use['writer']:.2f}, worker threads"
          f" {use['workers']:.2f}, other {use['other']:.2f}; runnable but waiting for a CPU: {use['wait']:.2f} ms/check")
    busy, w_cpu, w_wait = p.get("writer_busy", 0.0) / n, use["writer"], p.get("cpu_wait_writer", 0.0) / n
    print(f"{'':4}writer busy {busy:.2f} ms/check: CPU {w_cpu:.2f}, waiting for a CPU {w_wait:.2f}, the rest"
          f" {max(0.0, busy - w_cpu - w_wait):.2f} (blocked: fsync, or the GIL while the event loop runs)")
    print(f"{'':4}memory: {p['gc_full']:.0f} full collections (longest {p['gc_full_max']:.0f} ms CPU), longest young one"
          f" {p['gc_young_max']:.0f} ms; {p['heap'] / 1000:.0f}k objects, {p['frozen'] / 1000:.0f}k frozen, {p['rss']:.0f} MB")


async def probed(base: str) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base) as c:
        return dict((await c.get("/__probe")).json())


async def run_phase(name: str, base: str, aid: int, posts: list[Post], seconds: float, rate: float | None, start_item: int,
                    server: subprocess.Popen[bytes]) -> None:
    await probed(base)
    c0, k0 = cpu_seconds(server.pid), time.process_time()
    lat, late, err, wall = await phase(aid, posts, seconds, rate, start_item)
    c1, k1 = cpu_seconds(server.pid), time.process_time()
    report(name, lat, late, err, wall, c1 - c0, k1 - k0, await probed(base))


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
    ap.add_argument("--submissions", type=int, default=50_000, help="submissions for the gradebook timing (0: no gradebook)")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw",
                    help="how the students send their checks: raw HTTP/1.1 keep-alive connections (light), or httpx")
    a = ap.parse_args()
    a.students = max(1, min(a.students, 1000))
    a.seconds = max(1.0, min(a.seconds, 60.0))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        db = Path(d) / "bench.sqlite3"
        server = start(db, port)
        try:
            aid, book, teacher, clients = await setup(base, a.students)
            posts = [poster(c, a.client, port) for c in clients]
            gc.collect()
            gc.freeze()  # the client's own pauses would count as the server's latency
            print(f"{a.students} students ({a.client} HTTP client), SQLite (WAL, synchronous=FULL), each check saved before "
                  "it is answered")
            await run_phase(f"paced at {a.rate:.0f}/s", base, aid, posts, a.seconds, a.rate, 0, server)
            await run_phase("flat out", base, aid, posts, a.seconds, None, ITEMS // 2, server)
            for c, post in zip(clients, posts):
                if isinstance(getattr(post, "__self__", None), Raw):
                    await post.__self__.close()
                await c.aclose()
            if a.submissions > 0:
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
    if sys.argv[1:2] == ["--probe-server"]:  # the server side of the benchmark (started by start(), never by hand)
        probe_server(int(sys.argv[2]), sys.argv[3])
    else:
        asyncio.run(main())
