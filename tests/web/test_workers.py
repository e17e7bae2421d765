"""Two server processes on one database (as ``uvicorn --workers 2``, or two servers behind a proxy): each app below
has its own memory (sessions it has read, assignments, its own writer), so what one process does must hold in the
other at once — a device signed out, an assignment closed, the attempt limit — with nothing waiting for a cache to
expire."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from byhand.web import create_app
from tests.web.conftest import Client, join, make_assignment, make_class, make_teacher


@pytest.fixture
def other(app: Any, tmp_path: Path) -> Iterator[Any]:
    """A second server process on the same SQLite file (and key file) as ``app``."""
    b = create_app(str(tmp_path / "web.sqlite3"), signup="open")
    yield b
    b.state.writer.stop()
    b.state.engine.dispose()


def twin(c: Client, app: Any) -> Client:
    """The same browser, its next request landing on another server process."""
    d = Client(app)
    d.c.cookies.update(dict(c.c.cookies))
    d.token = c.token
    return d


def test_a_device_signed_out_in_one_process_is_signed_out_in_the_other(app: Any, other: Any, classroom: dict[str, Any]) -> None:
    s1, aid = classroom["s1"], classroom["aid"]
    b = twin(s1, other)
    url = f"/api/student/a/{aid}/0/check"
    assert b.api(url, {"answers": {"1": "1"}}).status_code == 200  # process B now remembers this device
    assert s1.form("/student/leave", {}).status_code == 303  # ended in process A
    r = b.api(url, {"answers": {"1": "2"}})
    assert r.status_code == 401 and "signed out" in r.json()["error"]
    with other.state.sessions() as s:
        from byhand.web.models import Submission

        assert s.scalar(select(func.count()).select_from(Submission)) == 1  # the refused check was not saved


def test_the_teacher_signing_a_student_out_holds_in_every_process(app: Any, other: Any, classroom: dict[str, Any]) -> None:
    t, s1, aid = classroom["t"], classroom["s1"], classroom["aid"]
    b = twin(s1, other)
    url = f"/api/student/a/{aid}/0/check"
    assert b.api(url, {"answers": {}}).status_code == 200
    from tests.web.test_security import student_id

    assert t.form(f"/teacher/students/{student_id(app, 'Ada')}", {"action": "signout"}).status_code == 200
    assert b.api(url, {"answers": {}}).status_code == 401
    assert b.c.get("/student", follow_redirects=False).status_code == 303


def test_closing_and_settings_hold_in_every_process(app: Any, other: Any, classroom: dict[str, Any]) -> None:
    t, s1, aid = classroom["t"], classroom["s1"], classroom["aid"]
    b = twin(s1, other)
    url = f"/api/student/a/{aid}/0/check"
    assert b.api(url, {"answers": {"1": "1"}}).status_code == 200  # B knows the assignment (3 attempts)
    assert t.form(f"/teacher/assignments/{aid}/edit", {"max_attempts": "1", "credit": "half", "hints": "on"}).status_code == 303
    r = b.api(url, {"answers": {"1": "2"}})
    assert r.status_code == 409 and "all 1 attempts" in r.json()["error"]
    assert t.form(f"/teacher/assignments/{aid}/close", {}).status_code == 303
    r = b.api(f"/api/student/a/{aid}/1/check", {"answers": {"1": "2"}})
    assert r.status_code == 409 and "closed" in r.json()["error"]
    assert t.form(f"/teacher/assignments/{aid}/close", {"reopen": "1"}).status_code == 303
    assert b.api(f"/api/student/a/{aid}/1/check", {"answers": {"1": "2"}}).status_code == 200


def test_a_deleted_assignment_is_not_marked_from_memory(app: Any, other: Any, classroom: dict[str, Any]) -> None:
    """SQLite may give a new assignment the id of a deleted one: the other process must not mark against the old."""
    t, s1, cid, aid = classroom["t"], classroom["s1"], classroom["cid"], classroom["aid"]
    b = twin(s1, other)
    assert b.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 200
    assert t.form(f"/teacher/assignments/{aid}/delete", {"confirm": "yes"}).status_code == 303
    assert b.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 404
    new = make_assignment(t, cid, ["dot"], 1)
    r = b.api(f"/api/student/a/{new}/0/check", {"answers": {}})
    assert r.status_code == 200 and r.json()["total"] >= 1


def test_the_attempt_limit_holds_when_processes_race(tmp_path: Path) -> None:
    """Two processes, many checks at once for one exercise with 3 attempts: exactly 3 are saved, the rest refused."""
    apps = [create_app(str(tmp_path / "race.sqlite3"), signup="open") for _ in range(2)]
    try:
        t = make_teacher(Client(apps[0]))
        cid, code = make_class(t)
        aid = make_assignment(t, cid, ["dot"], 1, attempts=3)
        s = Client(apps[0])
        assert join(s, code, "Ada").status_code == 303
        clients = [s, twin(s, apps[1])]
        for c in clients:  # both processes have read the session and the assignment
            c.c.get("/student")
        codes: list[int] = []
        lock = threading.Lock()

        def fire(c: Client, i: int) -> None:
            r = c.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": str(i)}})
            with lock:
                codes.append(r.status_code)

        threads = [threading.Thread(target=fire, args=(clients[i % 2], i)) for i in range(12)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(codes) == [200] * 3 + [409] * 9
        with apps[0].state.sessions() as ses:
            from byhand.web.models import Submission

            got = ses.execute(select(Submission.attempt).order_by(Submission.attempt)).scalars().all()
        assert got == [1, 2, 3]
    finally:
        for a in apps:
            a.state.writer.stop()
            a.state.engine.dispose()


def test_an_attempt_number_taken_meanwhile_is_read_again(app: Any, classroom: dict[str, Any]) -> None:
    """PostgreSQL has no write lock before reading: a rival process may save the same attempt number between this
    writer's read and its insert. Played here by slipping a row in just before the insert: the insert does nothing,
    the writer reads again and saves the next number; the limit still holds."""
    from sqlalchemy import event

    from byhand.web.models import Submission

    s1, aid = classroom["s1"], classroom["aid"]
    url = f"/api/student/a/{aid}/0/check"
    assert s1.api(url, {"answers": {"1": "1"}}).status_code == 200
    slipped = {"n": 0}

    def rival(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO submissions") and not slipped["n"]:
            slipped["n"] += 1
            cursor.connection.execute(  # the driver's own connection: the rival's row, attempt 2, before ours
                "INSERT INTO submissions (student_id, assignment_id, item, attempt, answers, verdicts, correct, total, "
                "late, carried, marks, created_at) SELECT student_id, assignment_id, item, 2, answers, verdicts, correct, "
                "total, late, carried, marks, created_at FROM submissions WHERE attempt = 1")

    event.listen(app.state.engine, "before_cursor_execute", rival)
    try:
        r = s1.api(url, {"answers": {"1": "2"}})
    finally:
        event.remove(app.state.engine, "before_cursor_execute", rival)
    assert slipped["n"] == 1 and r.status_code == 200
    with app.state.sessions() as s:
        assert s.execute(select(Submission.attempt).order_by(Submission.id)).scalars().all() == [1, 2, 3]
    r = s1.api(url, {"answers": {"1": "3"}})
    assert r.status_code == 409 and "all 3 attempts" in r.json()["error"]


def test_rate_limits_count_failures_from_every_process(app: Any, other: Any, new_client: Any) -> None:
    """Failed logins alternate between two processes: the limit (10 per address and e-mail) is reached after 10 in
    all, not 10 in each; the database keeps the e-mail and address only hashed."""
    from sqlalchemy import text

    make_teacher(new_client(), "pat@school.example")
    a, b = Client(app), Client(other)
    for c in (a, b):
        c.get("/teacher/login")
    codes = [(a if i % 2 else b).form("/teacher/login", {"email": "pat@school.example", "password": f"guess {i}"}).status_code
             for i in range(11)]
    assert codes[:10] == [400] * 10 and codes[10] == 429
    r = a.form("/teacher/login", {"email": "pat@school.example", "password": "correct horse"})
    assert r.status_code == 429  # the right password waits too: the guesses were spent
    with app.state.engine.connect() as conn:
        buckets = conn.execute(text("select bucket from rate_events")).scalars().all()
    assert buckets and not any("pat@" in x or "testclient" in x for x in buckets)
