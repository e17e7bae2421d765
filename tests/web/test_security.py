"""The security suite: one test per probe of issue 14 (an attacker, a shared school PC, a school behind one NAT).

The probes that already passed on v0.1.0 (CSRF on every form and call, cross-teacher and cross-class access,
XSS in every field, CSV formula injection, SQL injection, body limits, path traversal, open redirects) are in
test_api.py; they run against the same app.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from byhand.web import create_app, sheets
from byhand.web.models import Student, Teacher
from byhand.web.security import hash_password
from tests.web.conftest import Client, join, make_assignment, make_class, make_teacher


def answers_of(topic: str, seed: int, level: str) -> dict[str, str]:
    return {b: str(v) for b, v in sheets.exercise(topic, seed, level).answers().items()}


def student_id(app: Any, name: str) -> int:
    with app.state.sessions() as s:
        return int(s.scalar(select(Student.id).where(Student.name == name)))


# -- the answer leak -----------------------------------------------------------------------------------


def test_the_practice_api_never_reaches_an_assignments_exercise(app: Any, classroom: dict[str, Any]) -> None:
    """v0.1.0: the seed on a student's page unlocked /api/practice/…/reveal with every answer."""
    s1, aid = classroom["s1"], classroom["aid"]
    with app.state.sessions() as s:
        from byhand.web.models import Assignment

        a = s.get(Assignment, aid)
        salt, level, topics = a.salt, a.level, a.topics
    sid = student_id(app, "Ada")
    for k in range(2):
        seed = sheets.student_seed(salt, sid, k)
        assert seed >= 10**9  # outside every practice seed
        page = s1.get(f"/student/a/{aid}/{k}").text
        assert str(seed) not in page and "byhand:" not in page  # nothing on the page regenerates the exercise
        stranger = Client(app)
        base = f"/practice/{topics[k % len(topics)]}/{level}/{seed}"
        assert stranger.get(base).status_code == 404
        for call in ("reveal", "check", "hint"):
            r = stranger.api(f"/api{base}/{call}", {"answers": answers_of(topics[k % len(topics)], seed, level), "badge": 1})
            assert r.status_code == 404, call


def test_assignment_seeds_are_not_guessable(app: Any, classroom: dict[str, Any]) -> None:
    """Seeds come from the assignment's 62-bit random salt, never from the ids alone."""
    from byhand.web.models import Assignment

    with app.state.sessions() as s:
        salts = [a.salt for a in s.scalars(select(Assignment))]
    assert len(set(salts)) == len(salts) and all(x > 2**40 for x in salts)


# -- sessions ------------------------------------------------------------------------------------------


def test_a_cookie_saved_before_logout_is_worthless(new_client: Any) -> None:
    t = make_teacher(new_client(), "out@school.example")
    saved = dict(t.c.cookies)
    assert t.form("/teacher/logout", {}).status_code == 303
    thief = new_client()
    thief.c.cookies.update(saved)
    r = thief.c.get("/teacher", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/teacher/login"


def test_a_cookie_saved_before_leave_this_device_is_worthless(new_client: Any, classroom: dict[str, Any]) -> None:
    s1 = classroom["s1"]
    saved = dict(s1.c.cookies)
    assert s1.form("/student/leave", {}).status_code == 303
    thief = new_client()
    thief.c.cookies.update(saved)
    assert thief.c.get("/student", follow_redirects=False).headers["location"] == "/join"
    assert thief.api(f"/api/student/a/{classroom['aid']}/0/check", {"answers": {}}, csrf=False).status_code in (401, 403)


def test_the_teacher_lists_and_ends_a_students_sessions(app: Any, classroom: dict[str, Any]) -> None:
    t, s1, cid, aid = classroom["t"], classroom["s1"], classroom["cid"], classroom["aid"]
    page = t.get(f"/teacher/classes/{cid}").text
    assert re.search(r'data-student="Ada">.*?<td>1 device</td>', page, re.S)
    assert s1.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 200
    r = t.form(f"/teacher/students/{student_id(app, 'Ada')}", {"action": "signout"})
    assert r.status_code == 200 and "signed out on 1 device" in r.text
    assert s1.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 401
    assert s1.c.get("/student", follow_redirects=False).status_code == 303


def test_the_database_keeps_no_live_session_token(app: Any, classroom: dict[str, Any]) -> None:
    with app.state.engine.connect() as conn:
        hashes = conn.execute(text("select token_hash from login_sessions")).scalars().all()
    cookie_sids = []
    for c in (classroom["s1"], classroom["t"]):
        cookie_sids.append(c.c.cookies.get("byhand_session"))
    assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    assert not any(h in (cookie or "") for h in hashes for cookie in cookie_sids)


def test_csrf_token_is_rotated_at_login(new_client: Any) -> None:
    make_teacher(new_client(), "rot@school.example")
    c = new_client()
    c.get("/teacher/login")
    before = c.token
    assert c.form("/teacher/login", {"email": "rot@school.example", "password": "correct horse"}).status_code == 303
    c.get("/teacher")
    assert c.token and c.token != before
    # the old token no longer posts
    assert c.c.post("/teacher/classes", data={"csrf": before, "name": "x"}, follow_redirects=False).status_code == 403


def test_csrf_token_is_rotated_at_join(new_client: Any, classroom: dict[str, Any]) -> None:
    c = new_client()
    c.get("/join")
    before = c.token
    assert c.form("/join", {"name": "Rotate", "code": classroom["code"]}).status_code == 303
    c.get("/student")
    assert c.token != before
    assert c.c.post("/student/leave", data={"csrf": before}, follow_redirects=False).status_code == 403


# -- students: PINs, names, lockout, limits --------------------------------------------------------------


def test_pins_are_hashed_with_a_kdf(app: Any, classroom: dict[str, Any]) -> None:
    pin = classroom["s1"].pin
    assert re.fullmatch(r"[A-Z2-9]{6}", pin)
    with app.state.engine.connect() as conn:
        cols = [r[1] for r in conn.execute(text("pragma table_info(students)"))]
        stored = conn.execute(text("select pin_hash from students where name = 'Ada'")).scalar()
    assert "pin" not in cols and stored.startswith("scrypt$") and pin not in stored


def test_a_name_is_compared_normalised(new_client: Any, classroom: dict[str, Any]) -> None:
    c = new_client()
    assert join(c, classroom["code"], "  dana   LATE ").status_code == 303
    assert "Hello Dana Late" in c.get("/student").text
    squatter = new_client()
    for same in ("Dana Late", "dana late", "DANA  LATE", "Ｄana Late"):
        r = join(squatter, classroom["code"], same)
        assert r.status_code == 400 and "PIN" in r.text, same


def test_per_student_lockout_and_teacher_reset(app: Any, new_client: Any, classroom: dict[str, Any]) -> None:
    pin, code = classroom["s1"].pin, classroom["code"]
    for i in range(5):
        assert join(new_client(), code, "Ada", f"WRONG{i}").status_code == 400
    r = join(new_client(), code, "Ada", pin)  # even the right PIN waits now
    assert r.status_code == 429 and "teacher" in r.text
    t = classroom["t"]
    r = t.form(f"/teacher/students/{student_id(app, 'Ada')}", {"action": "reset_pin"})
    new_pin = re.search(r'<td class="code">([A-Z2-9]{6})</td>', r.text).group(1)  # type: ignore[union-attr]
    assert join(new_client(), code, "Ada", pin).status_code == 400  # the old PIN is gone
    assert join(new_client(), code, "Ada", new_pin).status_code == 303


def test_typos_of_a_class_behind_one_nat_do_not_lock_out_the_right_code(new_client: Any, classroom: dict[str, Any]) -> None:
    """v0.1.0: after 20 wrong codes from one address, the right code got 429 for 10 minutes."""
    c = new_client()
    for _ in range(40):
        assert join(c, "ZZZZZZ", "Typo").status_code == 400
    assert join(new_client(), classroom["code"], "Still Fine").status_code == 303


def test_pin_guessing_is_limited_per_class_and_address(app: Any, new_client: Any, classroom: dict[str, Any]) -> None:
    """600 guesses spread over many names: the class-and-address limit stops them, whatever the name."""
    code = classroom["code"]
    with app.state.sessions.begin() as s:
        s.execute(update(Student).values(pin_fails=0))
    statuses = [join(new_client(), code, f"Ada{'' if i % 2 else ' '}", f"GUESS{i % 10}").status_code for i in range(61)]
    assert 429 in statuses
    assert join(new_client(), code, "Bo", "ANYPIN").status_code == 429  # this address is done with this class for now


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    for trusted, separate in ((None, False), ("127.0.0.1", True)):
        app = create_app(str(tmp_path / f"xff{separate}.sqlite3"), signup="open", trusted_proxy=trusted)
        try:
            c = Client(app)
            c.c = TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000))  # the proxy's address
            c.get("/join")
            for i in range(200):
                r = c.c.post("/join", data={"csrf": c.token, "name": "x", "code": "ZZZZZZ"},
                             headers={"x-forwarded-for": f"10.0.{i // 250}.{i % 250}"})
                assert r.status_code == 400
            r = c.c.post("/join", data={"csrf": c.token, "name": "x", "code": "ZZZZZZ"}, headers={"x-forwarded-for": "10.9.9.9"})
            # untrusted: every request is the one socket address, which is now blocked; trusted: a fresh client address
            assert r.status_code == (400 if separate else 429)
        finally:
            app.state.writer.stop()
            app.state.engine.dispose()


# -- teacher accounts ------------------------------------------------------------------------------------


def _signup(c: Client, email: str, invite: str = "") -> Any:
    c.get("/teacher/signup" + (f"?invite={invite}" if invite else ""))
    return c.form("/teacher/signup", {"name": "N", "email": email, "password": "correct horse", "invite": invite})


@pytest.mark.parametrize("mode", ["open", "invite", "closed"])
def test_signup_modes_and_the_first_account_is_admin(tmp_path: Path, mode: str) -> None:
    app = create_app(str(tmp_path / "m.sqlite3"), signup=mode)
    try:
        assert _signup(Client(app), "first@school.example").status_code == 303  # always: it makes the admin
        r = _signup(Client(app), "second@school.example")
        assert r.status_code == (303 if mode == "open" else 403)
        with app.state.sessions() as s:
            admins = list(s.scalars(select(Teacher.email).where(Teacher.is_admin)))
        assert admins == ["first@school.example"]
        if mode == "invite":
            admin = make_login(app, "first@school.example")
            page = admin.form("/teacher/invites", {}).text
            link = re.search(r'id="invite-url">[^<]*invite=([\w-]+)<', page).group(1)  # type: ignore[union-attr]
            assert "http://localhost:8000/teacher/signup?invite=" in page
            assert _signup(Client(app), "invited@school.example", link).status_code == 303
            assert _signup(Client(app), "again@school.example", link).status_code == 403  # one time only
    finally:
        app.state.writer.stop()
        app.state.engine.dispose()


def make_login(app: Any, email: str) -> Client:
    c = Client(app)
    c.get("/teacher/login")
    assert c.form("/teacher/login", {"email": email, "password": "correct horse"}).status_code == 303
    c.get("/teacher")
    return c


def test_no_account_enumeration_at_signup_or_login(new_client: Any) -> None:
    make_teacher(new_client(), "known@school.example")
    a = _signup(new_client(), "known@school.example")
    b = _signup(new_client(), "unknown@school.example")
    assert (a.status_code, a.headers["location"]) == (b.status_code, b.headers["location"])
    c = new_client()
    c.get("/teacher/login")
    r1 = c.form("/teacher/login", {"email": "known@school.example", "password": "wrong password"})
    r2 = c.form("/teacher/login", {"email": "nobody@school.example", "password": "wrong password"})
    msg = lambda r: re.search(r'class="error">([^<]+)<', r.text).group(1)  # noqa: E731
    assert r1.status_code == r2.status_code == 400 and msg(r1) == msg(r2)


def test_signups_are_limited_per_address(new_client: Any) -> None:
    codes = [_signup(new_client(), f"bulk{i}@school.example").status_code for i in range(6)]
    assert codes[:5] == [303] * 5 and codes[5] == 429


def test_passwords_use_scrypt_2_17_and_old_hashes_are_rehashed(app: Any, new_client: Any) -> None:
    make_teacher(new_client(), "old@school.example")
    with app.state.sessions.begin() as s:
        s.execute(update(Teacher).values(password_hash=hash_password("correct horse", 2**14)))
    make_login(app, "old@school.example")
    with app.state.engine.connect() as conn:
        stored = conn.execute(text("select password_hash from teachers")).scalar()
    assert stored.startswith("scrypt$131072$8$1$")


# -- bounded work ------------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400(classroom: dict[str, Any]) -> None:
    s1, aid = classroom["s1"], classroom["aid"]
    deep = "[" * 30_000 + "]" * 30_000
    for url in (f"/api/student/a/{aid}/0/check", "/api/practice/dot/easy/1/check"):
        r = s1.c.post(url, content='{"answers": ' + deep + "}", headers={"x-csrf-token": s1.token,
                                                                          "content-type": "application/json"})
        assert r.status_code in (400, 413) and "error" in r.json()
    nested = {"answers": {"1": "2"}, "x": json.loads("[" * 20 + "]" * 20)}
    assert s1.api(f"/api/student/a/{aid}/0/check", nested).status_code == 400


def test_print_requests_are_bounded(classroom: dict[str, Any]) -> None:
    t, aid = classroom["t"], classroom["aid"]
    for extra in ("41", "200", "-1", "x"):
        r = t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra={extra}")
        assert r.status_code == 400 and "0 to 40" in r.text
    for p in ("print.pdf", "key.pdf"):
        assert t.c.get(f"/teacher/assignments/{aid}/{p}?extra=2").status_code == 200


def test_the_host_header_is_never_trusted(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "h.sqlite3"), signup="open", public_url="http://10.1.2.3:8000/")
    try:
        t = make_teacher(Client(app), "h@school.example")
        cid, code = make_class(t)
        page = t.c.get(f"/teacher/classes/{cid}", headers={"host": "evil.example"}).text
        assert "evil.example" not in page and "http://10.1.2.3:8000/join" in page
        assert 'id="join-qr" src="data:image/svg+xml' in page
    finally:
        app.state.writer.stop()
        app.state.engine.dispose()


def test_the_server_secret_is_not_in_the_database(app: Any, tmp_path: Path) -> None:
    with app.state.engine.connect() as conn:
        rows = dict(conn.execute(text("select key, value from settings")).tuples().all())
    assert "session_secret" not in rows and set(rows) == {"secret_fingerprint"}
    key = tmp_path / "web.sqlite3.key"
    assert key.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().strip() not in json.dumps(rows)
    assert isinstance(app.state.secret, bytes) and len(app.state.secret) == 32


def test_a_server_with_another_secret_refuses_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from byhand.errors import ByHandError

    db = tmp_path / "s.sqlite3"
    app = create_app(str(db))
    app.state.writer.stop()
    app.state.engine.dispose()
    monkeypatch.setenv("BYHAND_SECRET", "x" * 40)
    with pytest.raises(ByHandError, match="another server secret"):
        create_app(str(db))


def test_hsts_is_an_option(tmp_path: Path, app: Any) -> None:
    assert "strict-transport-security" not in Client(app).get("/").headers
    on = create_app(str(tmp_path / "hsts.sqlite3"), hsts=True)
    try:
        assert Client(on).get("/").headers["strict-transport-security"].startswith("max-age=31536000")
    finally:
        on.state.writer.stop()
        on.state.engine.dispose()


# -- per-blank feedback cannot be guessed through --------------------------------------------------------


def test_attempts_are_limited_in_an_assignment(classroom: dict[str, Any]) -> None:
    """v0.1.0: per-blank feedback with unlimited attempts reached 6/6 in 24 guesses."""
    s1, aid = classroom["s1"], classroom["aid"]
    url = f"/api/student/a/{aid}/0/check"
    assert [s1.api(url, {"answers": {"1": str(i)}}).status_code for i in range(3)] == [200, 200, 200]
    r = s1.api(url, {"answers": {"1": "3"}})
    assert r.status_code == 409 and "attempts" in r.json()["error"]


def test_hints_off_and_closing_are_enforced(new_client: Any, classroom: dict[str, Any]) -> None:
    t, s1, aid = classroom["t"], classroom["s1"], classroom["aid"]
    assert t.form(f"/teacher/assignments/{aid}/edit", {"max_attempts": "5", "credit": "full"}).status_code == 303  # hints unticked
    import time

    time.sleep(0)  # the edit forgets this process's cache at once
    r = s1.api(f"/api/student/a/{aid}/0/hint", {"badge": 1, "level": 1})
    assert r.status_code == 403 and "off" in r.json()["error"]
    assert t.form(f"/teacher/assignments/{aid}/close", {}).status_code == 303
    r = s1.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "1"}})
    assert r.status_code == 409 and "closed" in r.json()["error"]
    assert s1.api(f"/api/student/a/{aid}/0/reveal").status_code == 200  # a closed assignment may show its solution


def test_another_teacher_cannot_use_the_new_tools(app: Any, classroom: dict[str, Any]) -> None:
    t2, cid, aid = classroom["t2"], classroom["cid"], classroom["aid"]
    sid = student_id(app, "Ada")
    for url, data in ((f"/teacher/classes/{cid}/edit", {"name": "x"}), (f"/teacher/classes/{cid}/delete", {"confirm": "10B"}),
                      (f"/teacher/classes/{cid}/roster", {"roster": "Mallory"}), (f"/teacher/students/{sid}", {"action": "reset_pin"}),
                      (f"/teacher/assignments/{aid}/edit", {"max_attempts": "20"}), (f"/teacher/assignments/{aid}/close", {}),
                      (f"/teacher/assignments/{aid}/delete", {"confirm": "yes"})):
        assert t2.form(url, data).status_code == 404, url
    for url in (f"/teacher/students/{sid}/view", f"/teacher/assignments/{aid}/totals.csv"):
        assert t2.c.get(url).status_code == 404, url
    assert classroom["s1"].form(f"/teacher/students/{sid}", {"action": "reset_pin"}).status_code == 401


def test_a_roster_only_class_refuses_squatters(new_client: Any, classroom: dict[str, Any]) -> None:
    t, cid, code = classroom["t"], classroom["cid"], classroom["code"]
    r = t.form(f"/teacher/classes/{cid}/roster", {"roster": "name\nDana Late\nEli Ng\n"})
    pins = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"code\">([A-Z2-9]{6})</td></tr>", r.text))
    assert set(pins) == {"Dana Late", "Eli Ng"}
    assert t.form(f"/teacher/classes/{cid}/edit", {"name": "10B", "roster_only": "on"}).status_code == 303
    assert join(new_client(), code, "Mallory").status_code == 400
    assert join(new_client(), code, "dana late").status_code == 400  # listed: needs the PIN
    assert join(new_client(), code, "dana late", pins["Dana Late"]).status_code == 303


def test_make_assignment_helper_still_works(new_client: Any) -> None:
    t = make_teacher(new_client(), "m@school.example")
    cid, _ = make_class(t)
    assert make_assignment(t, cid, ["dot"], 1) > 0


def test_serve_options_are_checked() -> None:
    from click.testing import CliRunner

    from byhand.cli import cli

    r = CliRunner().invoke(cli, ["serve", "--public-url", "10.0.0.5"])
    assert r.exit_code != 0 and "give the whole address" in str(r.exception)  # main() prints it as one line
    r = CliRunner().invoke(cli, ["serve", "--signup", "sometimes"])
    assert r.exit_code != 0 and "open" in r.output


def test_the_teacher_sees_each_device(new_client: Any, classroom: dict[str, Any]) -> None:
    t, code = classroom["t"], classroom["code"]
    phone = new_client()
    phone.c.headers["user-agent"] = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
    assert join(phone, code, "Ada", classroom["s1"].pin).status_code == 303
    page = t.get(f"/teacher/classes/{classroom['cid']}").text
    assert re.search(r'data-student="Ada">.*?<td>2 devices</td>.*?Chrome on Android, since', page, re.S)


def test_old_sessions_expire(app: Any, new_client: Any, classroom: dict[str, Any]) -> None:
    s1, aid = classroom["s1"], classroom["aid"]
    with app.state.sessions.begin() as s:
        s.execute(text("update login_sessions set created_at = '2001-01-01 00:00:00'"))
    app.state.login_sessions.forget()
    assert s1.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 401
    with app.state.engine.connect() as conn:
        assert conn.execute(text("select count(*) from login_sessions")).scalar() == 4  # of 5: the one met is gone
