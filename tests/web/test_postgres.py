"""The classroom server on a real PostgreSQL: a throwaway cluster, the migrations, and both flows through the app.

Skipped unless PostgreSQL's server programs (initdb, pg_ctl, postgres) are installed, as Debian's
``postgresql`` package puts them in /usr/lib/postgresql/VERSION/bin. The cluster lives in a
temporary folder, listens on a free loopback port (and a socket in that folder), trusts only
local connections, and is stopped and deleted when the module's tests end. As root, the cluster
runs as the ``postgres`` user (or ``nobody``), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg")

from sqlalchemy import create_engine, text  # noqa: E402

from byhand.web import create_app, sheets  # noqa: E402
from byhand.web.db import make_engine  # noqa: E402
from tests.web.conftest import Client, join, make_assignment, make_class, make_teacher  # noqa: E402

PROGRAMS = ("initdb", "pg_ctl", "postgres")


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or the one on PATH."""
    def version(p: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", Path(p).parent.name))

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(Path(d) / p, os.X_OK) for p in PROGRAMS):
            return Path(d)
    found = [shutil.which(p) for p in PROGRAMS]
    if all(found):
        return Path(os.path.realpath(str(found[0]))).parent
    return None


def run_as() -> str | None:
    """The user that runs the cluster: None for ourselves, or, as root, ``postgres`` (else ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    pytest.skip("running as root, and there is no postgres or nobody user to run PostgreSQL as")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.user = run_as()
        if self.user is not None and shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        self.dir = Path(tempfile.mkdtemp(prefix="byhand-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        r = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"})
        if r.returncode != 0:
            log = (self.dir / "log").read_text(errors="replace")[-2000:] if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{log}")
        return r

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "byhand", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "30", "-o", opts, "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgresql://byhand@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url("postgres").replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl, postgres) are not installed (Debian: apt-get install postgresql)")
    c = Cluster(bin_dir)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def pg_app(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Any]:
    url = cluster.create_database(re.sub(r"\W", "_", request.node.name).lower()[:50])
    a = create_app(url, signup="open")
    yield a
    a.state.writer.stop()
    a.state.engine.dispose()


def test_the_app_runs_on_postgresql(pg_app: Any) -> None:
    assert pg_app.state.engine.dialect.name == "postgresql" and pg_app.state.engine.driver == "psycopg"
    with pg_app.state.engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0003"
        tables = set(conn.execute(text("select tablename from pg_tables where schemaname = 'public'")).scalars())
    assert {"teachers", "classes", "assignments", "students", "submissions", "reveals", "settings"} <= tables


def test_the_learner_checks_on_postgresql(pg_app: Any) -> None:
    c = Client(pg_app)
    assert c.get("/practice/linear/medium/7").status_code == 200
    right = {b: str(v) for b, v in sheets.exercise("linear", 7, "medium").answers().items()}
    r = c.api("/api/practice/linear/medium/7/check", {"answers": right})
    assert r.status_code == 200 and r.json()["correct"] == r.json()["total"] == len(right)
    assert c.api("/api/practice/linear/medium/7/hint", {"badge": 1}).status_code == 200
    assert c.api("/api/practice/linear/medium/7/reveal").json()["steps"]


def test_a_class_on_postgresql(pg_app: Any, cluster: Cluster) -> None:
    new = lambda: Client(pg_app)  # noqa: E731
    t = make_teacher(new())
    cid, code = make_class(t)
    aid = make_assignment(t, cid, ["linear", "softmax"], 2, "easy", due="2001-01-01T12:00", attempts=20)
    ada, bo = new(), new()
    assert join(ada, code, "Ada").status_code == 303 and join(bo, code, "Bo").status_code == 303
    assert join(new(), code, "Ada").status_code == 400  # the name is taken (a unique constraint on PostgreSQL)
    assert join(new(), "NOPE00", "Cy").status_code == 400
    # Ada submits every exercise right, Bo one wrong; then Ada opens a solution, which closes that exercise
    for k in range(2):
        ada.get(f"/student/a/{aid}/{k}")
        r = ada.api(f"/api/student/a/{aid}/{k}/check", {"answers": {"1": "999"}})
        assert r.status_code == 200 and r.json()["saved"] and r.json()["late"]
    bo.get(f"/student/a/{aid}/0")
    assert bo.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "1/3", "2": "x\u0000y"}}).json()["saved"]
    assert ada.api(f"/api/student/a/{aid}/0/reveal").status_code == 200
    assert ada.api(f"/api/student/a/{aid}/0/reveal").status_code == 200  # a second reveal is no second row
    assert ada.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "1"}}).status_code == 409
    # many checks at once go through the group commit in one or more PostgreSQL transactions
    errors: list[Any] = []

    def hammer() -> None:
        for _ in range(5):
            r = bo.api(f"/api/student/a/{aid}/1/check", {"answers": {"1": "2"}})
            if r.status_code != 200 or not r.json()["saved"]:
                errors.append(r.text)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert bo.api(f"/api/student/a/{aid}/1/check", {"answers": {"1": "2"}}).status_code == 409  # the 21st of 20 attempts
    with pg_app.state.engine.connect() as conn:
        assert conn.execute(text("select count(*) from submissions")).scalar() == 2 + 1 + 20
        assert conn.execute(text("select count(*) from reveals")).scalar() == 1
    g = t.get(f"/teacher/assignments/{aid}")
    assert g.status_code == 200 and 'data-student="Ada"' in g.text and 'data-student="Bo"' in g.text and "late" in g.text
    rows = list(csv.DictReader(io.StringIO(t.c.get(f"/teacher/assignments/{aid}/gradebook.csv").text)))
    assert {r["student"] for r in rows} == {"Ada", "Bo"}
    assert any(r["given"] == "1/3" for r in rows) and any(r["solution_opened"] == "1" for r in rows)
    assert "Ada" in ada.get("/student").text
    pdf = t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra=1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # another teacher sees none of it
    t2 = make_teacher(new(), "o@school.example", "Mr O")
    for url in (f"/teacher/classes/{cid}", f"/teacher/assignments/{aid}", f"/teacher/assignments/{aid}/gradebook.csv"):
        assert t2.get(url).status_code == 404
    # a restarted server (a second app on the same database) finds everything, with the same session key
    again = create_app(pg_app.state.engine.url.render_as_string(hide_password=False), signup="open")
    try:
        assert again.state.engine.url.drivername == "postgresql+psycopg"
        t.c.app = again
        assert 'data-student="Bo"' in t.get(f"/teacher/assignments/{aid}").text  # the old cookie still logs in
    finally:
        again.state.writer.stop()
        again.state.engine.dispose()


def test_bad_input_that_only_postgresql_refuses(pg_app: Any) -> None:
    """SQLite stores what it is given; PostgreSQL refuses NUL characters, over-long text and ids beyond 32 bits."""
    c = Client(pg_app)
    long_email = "a" * 64 + "@" + "b" * 190  # 255 characters: one more than the column holds
    r = c.form("/teacher/signup", {"name": "T", "email": long_email, "password": "correct horse"})
    assert r.status_code == 400 and 'class="error"' in r.text
    r = c.form("/teacher/signup", {"name": "T\u0000", "email": "n\u0000@school.example", "password": "correct horse"})
    assert r.status_code == 400 and 'class="error"' in r.text
    r = c.form("/teacher/login", {"email": "n\u0000@school.example", "password": "x\u0000y"})
    assert r.status_code == 400 and "do not match" in r.text
    t = make_teacher(c)
    r = t.form("/teacher/classes", {"name": "10\u0000B"})
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r'id="join-code">([A-Z0-9]+)<', t.get(f"/teacher/classes/{cid}").text)
    assert code
    aid = make_assignment(t, cid, ["dot"], 1)
    s = Client(pg_app)
    assert join(s, code.group(1), "Zo\u0000\u0007ë").status_code == 303
    assert "Zoë" in s.get("/student").text
    r = s.api(f"/api/student/a/{aid}/0/check", {"answers": {"1\u0000": "1", "1": "\u0000"}})
    assert r.status_code == 200 and r.json()["saved"]  # kept as JSON text, where NUL is written \u0000
    for big in (2**31, 2**40, 2**62):
        assert t.get(f"/teacher/classes/{big}").status_code == 404
        assert t.get(f"/teacher/assignments/{big}").status_code == 404
        assert t.c.get(f"/teacher/assignments/{big}/print.pdf").status_code == 404
        assert s.get(f"/student/a/{big}/0").status_code == 404
        assert s.api(f"/api/student/a/{big}/0/check", {"answers": {}}).status_code == 404


STARTUP = """
import sys
from sqlalchemy.orm import sessionmaker
from byhand.web.db import make_engine, migrate, secret_key
engine = make_engine(sys.argv[1])
migrate(engine)
print(secret_key(sessionmaker(engine)))
"""


def test_servers_starting_together_migrate_once(cluster: Cluster) -> None:
    """Several server processes started at once on a new database: one migrates, all share one session key."""
    url = cluster.create_database("racing")
    procs = [subprocess.Popen([sys.executable, "-c", STARTUP, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        assert p.returncode == 0, err[-2000:]
        outs.append(out.strip())
    assert len(set(outs)) == 1 and len(outs[0]) > 40
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select version_num from alembic_version")).scalars().all() == ["0003"]
    finally:
        engine.dispose()


def test_two_processes_race_for_the_last_attempts_on_postgresql(cluster: Cluster) -> None:
    """PostgreSQL takes no write lock before the writer reads: two server processes on one database, many checks at
    once for one exercise with 3 attempts. The unique attempt number lets exactly 3 be saved, and a device signed out
    in one process is refused by the other at once."""
    from tests.web.test_workers import twin

    url = cluster.create_database("race_for_attempts")
    apps = [create_app(url, signup="open") for _ in range(2)]
    try:
        t = make_teacher(Client(apps[0]))
        cid, code = make_class(t)
        aid = make_assignment(t, cid, ["dot"], 1, attempts=3)
        s = Client(apps[0])
        assert join(s, code, "Ada").status_code == 303
        clients = [s, twin(s, apps[1])]
        for c in clients:
            c.c.get("/student")
        codes: list[int] = []
        lock = threading.Lock()

        def fire(c: Client, i: int) -> None:
            r = c.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": str(i)}})
            with lock:
                codes.append(r.status_code)

        threads = [threading.Thread(target=fire, args=(clients[i % 2], i)) for i in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(codes) == [200] * 3 + [409] * 13
        with apps[1].state.engine.connect() as conn:
            assert conn.execute(text("select attempt from submissions order by attempt")).scalars().all() == [1, 2, 3]
        assert s.form("/student/leave", {}).status_code == 303
        assert clients[1].api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 401
    finally:
        for a in apps:
            a.state.writer.stop()
            a.state.engine.dispose()
