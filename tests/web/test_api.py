"""Every route through Starlette's TestClient: the learner, the student, the teacher, who may see what, and bad input."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import select

import byhand
from byhand.web import sheets
from tests.web.conftest import join, make_assignment, make_class, make_teacher

P = "/practice/linear/medium/7"
API = "/api" + P


def right_answers(topic: str, seed: int, level: str) -> dict[str, str]:
    ex = sheets.exercise(topic, seed, level)
    return {b: str(v) for b, v in ex.answers().items()}


# -- the learner ---------------------------------------------------------------------------------


def test_home_lists_every_chapter(new_client: Any) -> None:
    r = new_client().get("/")
    assert r.status_code == 200
    for t in byhand.topics():
        assert f"/practice/{t.name}/medium/new" in r.text  # the level the picker shows
    assert "/practice/dot/hard/new" in new_client().get("/?level=hard").text


def test_practice_picks_a_variant(new_client: Any) -> None:
    c = new_client()
    r = c.c.get("/practice?topic=mlp&level=hard", follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/practice/mlp/hard/\d+", r.headers["location"])
    r = c.c.get("/practice/dot/easy/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/practice/dot/easy/")
    for bad in ("/practice?topic=nope&level=easy", "/practice?topic=dot&level=insane", "/practice/nope/easy/new"):
        assert c.get(bad).status_code == 404


def test_practice_page_has_inputs_and_no_answers(new_client: Any) -> None:
    r = new_client().get(P)
    assert r.status_code == 200
    ex = sheets.exercise("linear", 7, "medium")
    badges = {int(b) for b in re.findall(r'<input[^>]*class="blank" data-badge="(\d+)"', r.text)}
    assert badges == {b.badge for b in ex.blanks}
    assert "data-show" not in r.text and "answer" not in r.text.split("<main>")[1].split("</main>")[0].lower().replace(
        "your answers", "")


@pytest.mark.parametrize("topic", [t.name for t in byhand.topics()])
def test_no_chapter_leaks_an_answer_into_the_page(topic: str) -> None:
    for level in ("easy", "medium", "hard"):
        for seed in range(3):
            ex = sheets.exercise(topic, seed, level)
            html = sheets.page_sheet(topic, seed, level)
            assert "data-show" not in html
            blanks = {sheets.key(c) for c in ex.blank_cells()}
            for cell, inner in re.findall(r'<td [^>]*data-cell="([^"]+)"[^>]*>(.*?)</td>', html):
                if cell in blanks:  # an empty box: the badge and the input only
                    assert re.fullmatch(r'<span class="badge">\d+</span><input [^>]*>', inner), (topic, level, seed, inner)
                elif "<s>" in inner:  # a crossed-out ReLU input shown beside its 0: never a blank's value
                    node = next(n for n in ex.graph.forward_nodes if n.out == cell.split(":")[0])
                    assert sheets.key((node.ins[0], sheets._parse(cell)[1])) not in blanks


def test_check_marks_each_blank(new_client: Any) -> None:
    c = new_client()
    c.get(P)
    right = right_answers("linear", 7, "medium")
    r = c.api(API + "/check", {"answers": right})
    assert r.status_code == 200 and r.json()["correct"] == r.json()["total"] == len(right)
    r = c.api(API + "/check", {"answers": {"1": "6", "2": "99", "3": "abc", "4": "", "9": "1"}}).json()
    assert [r["badges"][b]["verdict"] for b in "12345"] == ["correct", "wrong", "not a number", "blank", "blank"]
    assert "answer" not in str(r)  # verdicts only, never the right values
    assert c.api(API + "/check", {"answers": {"1": 6}}).json()["badges"]["1"]["verdict"] == "correct"
    assert c.api(API + "/check", {"answers": {"2": "−2"}}).json()["badges"]["2"]["verdict"] == "correct"


def test_hint_and_reveal(new_client: Any) -> None:
    c = new_client()
    c.get(P)
    h = c.api(API + "/hint", {"badge": 2, "level": 3}).json()
    assert h["cell"] == "Z:0,1" and h["text"].startswith("Z[1,2] = ") and h["text"].endswith("= −2") and "X:0,1" in h["uses"]
    sol = c.api(API + "/reveal").json()
    ex = sheets.exercise("linear", 7, "medium")
    assert len(sol["steps"]) == len(ex.steps)
    assert {s["cell"] for s in sol["steps"]} >= set(sol["blanks"])
    for bad in ({"badge": 99}, {"badge": "1"}, {"badge": True}, {}, {"badge": 1, "level": 4}, {"badge": 1, "level": True}):
        assert c.api(API + "/hint", bad).status_code == 400


def test_reveal_covers_an_inverse_blank(new_client: Any) -> None:
    c = new_client()
    c.get("/practice/dot/hard/1")
    sol = c.api("/api/practice/dot/hard/1/reveal").json()
    assert sol["steps"][-1]["text"].endswith("so b[4] = −1")


def test_script_calls_need_the_csrf_token(new_client: Any) -> None:
    c = new_client()
    c.get(P)
    assert c.api(API + "/check", {"answers": {}}, csrf=False).status_code == 403
    r = c.c.post(API + "/check", json={"answers": {}}, headers={"x-csrf-token": "forged-token-forged-token"})
    assert r.status_code == 403 and r.json()["error"]
    other = new_client()
    other.get("/")
    r = c.c.post(API + "/check", json={}, headers={"x-csrf-token": other.token})  # someone else's token
    assert r.status_code == 403


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"answers": [1, 2]}', 400),
        (b'{"answers": {"1": {"x": 1}}}', 400),
        (b'{"answers": {"1": true}}', 400),
        (b'{"answers": {"1": "' + b"9" * 41 + b'"}}', 400),
        (b'{"answers": {"1234567": "1"}}', 400),
        (b"\xff\xfe", 400),
    ],
)
def test_bad_json_is_refused_clearly(new_client: Any, body: bytes, status: int) -> None:
    c = new_client()
    c.get(P)
    r = c.c.post(API + "/check", content=body, headers={"x-csrf-token": c.token, "content-type": "application/json"})
    assert r.status_code == status and r.json()["error"]


def test_huge_bodies_are_refused(new_client: Any) -> None:
    c = new_client()
    c.get(P)
    big = {"answers": {str(i): "1" for i in range(401)}}
    assert c.api(API + "/check", big).status_code == 400
    r = c.c.post(API + "/check", content=b"x" * (65 * 1024), headers={"x-csrf-token": c.token})
    assert r.status_code == 413

    def stream() -> Any:  # no Content-Length: the limit counts the bytes as they come
        for _ in range(100):
            yield b"y" * 1024

    r = c.c.post(API + "/check", content=stream(), headers={"x-csrf-token": c.token})
    assert r.status_code == 413
    r = c.c.post("/join", content=b"name=" + b"a" * 70000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_unknown_things_are_404_pages_not_tracebacks(new_client: Any) -> None:
    c = new_client()
    for url in ("/practice/linear/medium/99999999999", "/practice/nope/easy/1", "/practice/linear/extreme/1", "/nothing",
                "/practice/linear/medium/-1", "/teacher/classes/abc"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert "Traceback" not in r.text
    r = c.get("/api/practice/linear/medium/7/check")
    assert r.status_code == 405 and r.json()["error"]
    assert c.api("/api/practice/linear/medium/7/nothing").status_code == 404


def test_a_server_error_is_a_clear_page(new_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    c = new_client()
    c.get(P)

    def boom(*a: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sheets, "solution", boom)
    r = c.api(API + "/reveal")
    assert r.status_code == 500 and "secret internals" not in r.text and "try again" in r.json()["error"]


def test_headers_and_cookie_flags(new_client: Any) -> None:
    r = new_client().c.get("/")
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


def test_every_asset_is_served_locally(new_client: Any) -> None:
    c = new_client()
    page = c.get(P).text
    refs = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert refs and not [u for u in refs if u.startswith(("http:", "https:", "//"))]
    for u in ("/sheet.css", "/static/app.css", "/static/byhand.js", "/static/favicon.svg"):
        assert c.get(u).status_code == 200, u
    assert c.get("/static/../app.py").status_code == 404
    assert c.get("/healthz").text == "ok"


# -- students ------------------------------------------------------------------------------------


def test_join_with_a_forged_code(new_client: Any, classroom: dict[str, Any]) -> None:
    c = new_client()
    for code in ("ZZZZZZ", "", "' OR 1=1 --", "x" * 200, classroom["code"][:-1]):
        r = join(c, code, "Eve")
        assert r.status_code == 400 and "error" in r.text, code
    assert c.get("/student", follow_redirects=False).status_code == 303
    r = join(c, classroom["code"].lower(), "  Eve   Smith ")  # the code is not case-sensitive; the name is tidied
    assert r.status_code == 303
    assert "Hello Eve Smith" in c.get("/student").text


def test_join_codes_cannot_be_guessed_for_long(app: Any, new_client: Any) -> None:
    c = new_client()
    for _ in range(200):  # a whole class behind one address may mistype; a guesser of 32⁶ codes gets nowhere
        assert join(c, "AAAAAA", "Eve").status_code == 400
    assert join(c, "AAAAAA", "Eve").status_code == 429


def test_a_taken_name_needs_its_pin(new_client: Any, classroom: dict[str, Any]) -> None:
    pin = classroom["s1"].pin  # shown once, right after joining
    c = new_client()
    assert join(c, classroom["code"], "Ada").status_code == 400
    assert join(c, classroom["code"], "Ada", "WRONG").status_code == 400
    assert join(c, classroom["code"], "Ada", pin).status_code == 303
    assert "Hello Ada" in c.get("/student").text


def test_a_student_does_the_assignment(classroom: dict[str, Any]) -> None:
    s1, aid = classroom["s1"], classroom["aid"]
    home = s1.get("/student").text
    assert f"/student/a/{aid}/0" in home and f"/student/a/{aid}/1" in home
    page = s1.get(f"/student/a/{aid}/0")
    assert page.status_code == 200 and "data-show" not in page.text and 'id="hint"' in page.text
    url = f"/api/student/a/{aid}/0"
    assert s1.api(url + "/reveal").status_code == 403  # not before submitting
    assert s1.api(url + "/hint", {"badge": 1}).status_code == 200  # hints are on by default, and recorded
    r = s1.api(url + "/check", {"answers": {"1": "0"}})
    assert r.status_code == 200 and r.json()["saved"] is True and r.json()["submission"] > 0
    assert "1/" in s1.get("/student").text or "0/" in s1.get("/student").text
    sol = s1.api(url + "/reveal")
    assert sol.status_code == 200 and sol.json()["steps"]
    assert s1.api(url + "/check", {"answers": {"1": "0"}}).status_code == 409  # closed after the solution
    assert 'data-revealed="yes"' in s1.get(f"/student/a/{aid}/0").text


def test_each_student_gets_their_own_variant(classroom: dict[str, Any]) -> None:
    aid = classroom["aid"]
    a = classroom["s1"].get(f"/student/a/{aid}/0").text
    b = classroom["s2"].get(f"/student/a/{aid}/0").text
    sheet = lambda t: t.split('class="sheet-wrap">')[1].split("</div>")[0]  # noqa: E731
    assert sheet(a) != sheet(b)
    assert sheet(a) == sheet(classroom["s1"].get(f"/student/a/{aid}/0").text)  # and it stays the same


def test_student_authorization(new_client: Any, classroom: dict[str, Any]) -> None:
    s1, s3, aid, aid2, cid = classroom["s1"], classroom["s3"], classroom["aid"], classroom["aid2"], classroom["cid"]
    # another class's assignment, an item out of range, an id that does not exist
    for url in (f"/student/a/{aid2}/0", f"/student/a/{aid}/2", f"/student/a/{aid}/31", "/student/a/999999/0"):
        assert s1.get(url).status_code == 404, url
    for url in (f"/api/student/a/{aid2}/0/check", f"/api/student/a/{aid}/5/check", f"/api/student/a/{aid2}/0/reveal"):
        assert s1.api(url, {"answers": {}}).status_code == 404, url
    assert s3.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 404
    # a student is not a teacher
    for url in ("/teacher", f"/teacher/classes/{cid}", f"/teacher/assignments/{aid}"):
        r = s1.c.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/teacher/login", url
    assert s1.c.get(f"/teacher/assignments/{aid}/gradebook.csv").status_code == 401
    assert s1.form(f"/teacher/classes/{cid}/assignments", {"level": "easy", "count": "1", "topics": "dot"}).status_code == 401
    # nobody at all
    anon = new_client()
    assert anon.c.get(f"/student/a/{aid}/0", follow_redirects=False).headers["location"] == "/join"
    assert anon.api(f"/api/student/a/{aid}/0/check", {"answers": {}}).status_code == 401
    assert anon.c.get("/student", follow_redirects=False).headers["location"] == "/join"


def test_a_student_never_sees_another_students_work(classroom: dict[str, Any]) -> None:
    s1, s2, aid = classroom["s1"], classroom["s2"], classroom["aid"]
    s1.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "12345"}})
    assert "12345" not in s2.get(f"/student/a/{aid}/0").text
    assert "12345" in s1.get(f"/student/a/{aid}/0").text  # their own saved answer comes back
    assert s2.api(f"/api/student/a/{aid}/0/reveal").status_code == 403  # s1's submission does not count for s2


def test_leaving_forgets_the_student(classroom: dict[str, Any]) -> None:
    s1 = classroom["s1"]
    s1.get("/student")
    assert s1.form("/student/leave", {}, csrf=False).status_code == 403
    assert s1.form("/student/leave", {}).status_code == 303
    assert s1.c.get("/student", follow_redirects=False).status_code == 303


def test_late_answers_are_kept_and_marked(new_client: Any) -> None:
    t = make_teacher(new_client())
    cid, code = make_class(t)
    aid = make_assignment(t, cid, ["dot"], 1, due="2001-01-01T12:00")
    s = new_client()
    join(s, code, "Late")
    s.get("/student")
    r = s.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "1"}}).json()
    assert r["saved"] and r["late"]
    assert "late" in t.get(f"/teacher/assignments/{aid}").text


# -- teachers ------------------------------------------------------------------------------------


def test_signup_validation(new_client: Any) -> None:
    c = new_client()
    c.get("/teacher/signup")
    for data in ({"name": "", "email": "a@b.c", "password": "longenough"}, {"name": "T", "email": "nope", "password": "longenough"},
                 {"name": "T", "email": "a@b.c", "password": "short"}, {"name": "T", "email": "a@b.c", "password": "x" * 201}):
        r = c.form("/teacher/signup", data)
        assert r.status_code == 400 and 'class="error"' in r.text
    assert c.form("/teacher/signup", {"name": "T", "email": "a@b.c", "password": "longenough"}, csrf=False).status_code == 403
    make_teacher(c, "a@b.c")
    d = new_client()
    r = d.form("/teacher/signup", {"name": "T", "email": "A@B.C", "password": "longenough"})
    assert r.status_code == 303 and r.headers["location"] == "/teacher/login?made=1"  # as for a new e-mail: no enumeration


def test_passwords_are_stored_with_scrypt(app: Any, new_client: Any) -> None:
    make_teacher(new_client(), "k@school.example")
    with app.state.engine.connect() as conn:
        stored = conn.exec_driver_sql("select password_hash from teachers").scalar()
    assert stored.startswith("scrypt$131072$8$1$") and "correct horse" not in stored


def test_login_logout_and_limits(new_client: Any) -> None:
    make_teacher(new_client(), "l@school.example")
    c = new_client()
    c.get("/teacher/login")
    r = c.form("/teacher/login", {"email": "l@school.example", "password": "wrong password"})
    assert r.status_code == 400 and "do not match" in r.text
    r = c.form("/teacher/login", {"email": "nobody@school.example", "password": "wrong password"})
    assert r.status_code == 400 and "do not match" in r.text  # the same words: no hint that an account exists
    assert c.form("/teacher/login", {"email": "l@school.example", "password": "correct horse"}, csrf=False).status_code == 403
    r = c.form("/teacher/login", {"email": "L@school.example ", "password": "correct horse"})
    assert r.status_code == 303 and r.headers["location"] == "/teacher"
    assert c.get("/teacher").status_code == 200
    assert c.form("/teacher/logout", {}).status_code == 303
    assert c.c.get("/teacher", follow_redirects=False).status_code == 303
    c.get("/teacher/login")  # logging out renews the CSRF token
    for _ in range(9):
        c.form("/teacher/login", {"email": "l@school.example", "password": "guess guess"})
    assert c.form("/teacher/login", {"email": "l@school.example", "password": "correct horse"}).status_code == 429


def test_teacher_authorization(classroom: dict[str, Any]) -> None:
    t2, cid, aid = classroom["t2"], classroom["cid"], classroom["aid"]
    assert t2.get(f"/teacher/classes/{cid}").status_code == 404
    assert t2.get(f"/teacher/assignments/{aid}").status_code == 404
    assert t2.c.get(f"/teacher/assignments/{aid}/gradebook.csv").status_code == 404
    r = t2.form(f"/teacher/classes/{cid}/assignments", {"level": "easy", "count": "1", "topics": "dot"})
    assert r.status_code == 404
    assert t2.get("/teacher/classes/999999").status_code == 404
    assert classroom["code"] not in t2.get("/teacher").text
    # the teacher does see their own
    assert classroom["t"].get(f"/teacher/classes/{cid}").status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"level": "easy", "count": "1"},  # no chapter
        {"level": "easy", "count": "1", "topics": "nope"},
        {"level": "impossible", "count": "1", "topics": "dot"},
        {"level": "easy", "count": "0", "topics": "dot"},
        {"level": "easy", "count": "31", "topics": "dot"},
        {"level": "easy", "count": "three", "topics": "dot"},
        {"level": "easy", "count": "1", "topics": "dot", "due": "next tuesday"},
    ],
)
def test_assignment_bad_input(classroom: dict[str, Any], data: dict[str, str]) -> None:
    r = classroom["t"].form(f"/teacher/classes/{classroom['cid']}/assignments", data)
    assert r.status_code == 400 and "Traceback" not in r.text


def test_gradebook_and_csv(classroom: dict[str, Any]) -> None:
    t, s1, s2, aid = classroom["t"], classroom["s1"], classroom["s2"], classroom["aid"]
    # Ada: exercise 1 all right; Bo: exercise 1 with a wrong answer and a non-number
    page = s1.get(f"/student/a/{aid}/0").text
    badges = sorted({int(b) for b in re.findall(r'data-badge="(\d+)"', page)})
    r = s1.api(f"/api/student/a/{aid}/0/check", {"answers": {str(b): "0" for b in badges}}).json()
    assert r["saved"]
    s2.get(f"/student/a/{aid}/0")
    s2.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": "999", "2": "=1+1"}})
    g = t.get(f"/teacher/assignments/{aid}")
    assert g.status_code == 200
    assert 'data-student="Ada"' in g.text and 'data-student="Bo"' in g.text
    assert 'class="mark wrong"' in g.text and 'class="mark not-a-number"' in g.text
    assert 'id="worst"' in g.text
    r = t.c.get(f"/teacher/assignments/{aid}/gradebook.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    bo = [x for x in rows if x["student"] == "Bo" and x["exercise"] == "1"]
    assert {x["verdict"] for x in bo} >= {"wrong", "not a number"}
    assert "'=1+1" in {x["given"] for x in bo}  # a formula is never live in a spreadsheet
    assert [x for x in rows if x["student"] == "Bo" and x["exercise"] == "2"][0]["verdict"] == "not submitted"


def test_a_formula_name_is_defused_in_csv(new_client: Any, classroom: dict[str, Any]) -> None:
    s = new_client()
    join(s, classroom["code"], "=HYPERLINK(1)")
    r = classroom["t"].c.get(f"/teacher/assignments/{classroom['aid']}/gradebook.csv")
    assert "'=HYPERLINK(1)" in r.text


def test_forms_need_the_csrf_token(classroom: dict[str, Any], new_client: Any) -> None:
    t = classroom["t"]
    assert t.form("/teacher/classes", {"name": "X"}, csrf=False).status_code == 403
    assert t.form(f"/teacher/classes/{classroom['cid']}/assignments", {"level": "easy", "count": "1", "topics": "dot"},
                  csrf=False).status_code == 403
    c = new_client()
    c.get("/join")
    assert c.form("/join", {"name": "X", "code": classroom["code"]}, csrf=False).status_code == 403
    r = c.c.post("/join", data={"name": "X", "code": classroom["code"], "csrf": "forged-but-long-enough-token"})
    assert r.status_code == 403 and "expired" in r.text


def test_class_page_shows_code_students_and_assignments(classroom: dict[str, Any]) -> None:
    page = classroom["t"].get(f"/teacher/classes/{classroom['cid']}").text
    assert classroom["code"] in page and "Ada" in page and "Bo" in page and "Homework" in page and "Cy" not in page
    assert "class-name" in classroom["t"].get("/teacher").text
    assert classroom["t"].form("/teacher/classes", {"name": "   "}).status_code == 400


def test_control_characters_long_emails_and_huge_ids(new_client: Any, classroom: dict[str, Any]) -> None:
    """What PostgreSQL would refuse (NUL, text longer than its column, ids beyond 32 bits) is handled the same on SQLite."""
    c = new_client()
    r = c.form("/teacher/signup", {"name": "T", "email": "a" * 64 + "@" + "b" * 190, "password": "correct horse"})
    assert r.status_code == 400
    assert c.form("/teacher/login", {"email": "t\u0000@school.example", "password": "correct horse"}).status_code == 400
    s = new_client()
    assert join(s, classroom["code"], "Dee\u0000\u0007").status_code == 303
    assert "Hello Dee." in s.get("/student").text
    t = classroom["t"]
    for big in (2**31, 2**62):
        assert t.get(f"/teacher/assignments/{big}").status_code == 404
        assert s.get(f"/student/a/{big}/0").status_code == 404


# -- hints that teach, credit for the method, the teacher's tools ------------------------------------------


def test_the_hint_ladder_in_practice(new_client: Any) -> None:
    c = new_client()
    c.get(P)
    ex = sheets.exercise("linear", 7, "medium")
    answer = sheets.fmt(ex.blanks[1].answer, ex.precision)
    one, two, three = (c.api(API + "/hint", {"badge": 2, "level": n}).json() for n in (1, 2, 3))
    assert one["text"] == "For Z[1,2], look where row 1 of W meets column 2 of X, and at b[1]."
    assert set(one["uses"]) >= {"W:0,0", "X:0,1"} and one["levels"] == 3
    assert two["text"].startswith("Z[1,2] = ") and two["text"].endswith("= ?") and not two["text"].endswith(answer)
    assert three["text"].endswith(f"= {answer}")


def test_every_chapters_second_hint_keeps_the_result_back() -> None:
    from byhand.web import hints

    for t in byhand.topics():
        ex = sheets.exercise(t.name, 2, "hard")
        for b in ex.blanks:
            h = hints.hint(ex, b.badge, 2)
            assert h is not None and "?" in h["text"], (t.name, b.badge, h)
            if ex.step_for(b.cells[0]) is not None:
                assert h["text"].rstrip().endswith("?"), (t.name, h["text"])
            # a gradient through a ReLU gate: its step reads "3 (passed: Z₂[1,2] = 4 > 0)", the answer first
            answer = sheets.fmt(b.answer, ex.precision)
            assert not h["text"].startswith(f"{h['name']} = {answer} ("), (t.name, h["text"])
            assert "(passed:" not in h["text"] and "(blocked:" not in h["text"], (t.name, h["text"])


def test_hints_in_an_assignment_are_a_ladder_and_recorded(app: Any, classroom: dict[str, Any]) -> None:
    t, s1, aid = classroom["t"], classroom["s1"], classroom["aid"]
    url = f"/api/student/a/{aid}/0/hint"
    assert s1.api(url, {"badge": 1, "level": 3}).json()["level"] == 1  # a rung only after the one below
    assert s1.api(url, {"badge": 1, "level": 2}).json()["level"] == 2
    assert s1.api(url, {"badge": 1, "level": 3}).json()["level"] == 3
    page = t.get(f"/teacher/assignments/{aid}").text
    assert "hint ×3 (≤3)" in page
    rows = list(csv.DictReader(io.StringIO(t.c.get(f"/teacher/assignments/{aid}/totals.csv").text)))
    assert {r["student"]: r["hints"] for r in rows} == {"Ada": "3", "Bo": "0"}


def test_credit_for_the_method_in_an_assignment(app: Any, classroom: dict[str, Any]) -> None:
    from byhand import credit
    from byhand.web.models import Assignment, Student

    t, s1 = classroom["t"], classroom["s1"]
    aid = make_assignment(t, classroom["cid"], ["mlp"], 1, "medium")
    with app.state.sessions() as s:
        a = s.get(Assignment, aid)
        sid = s.scalar(select(Student.id).where(Student.name == "Ada"))
        topic, seed, level = a.topics[0], sheets.student_seed(a.salt, sid, 0), a.level
    ex = sheets.exercise(topic, seed, level)
    cells = ex.blank_cells()
    first = next(b for b in ex.blanks if credit.carried_values(ex, {**right_ans(ex), str(b.badge): str(b.answer + 1)}))
    ans = {**right_ans(ex), str(first.badge): str(first.answer + 1)}
    for c, v in credit.carried_values(ex, ans).items():
        ans[str(cells[c])] = str(v)
    r = s1.api(f"/api/student/a/{aid}/0/check", {"answers": ans}).json()
    assert r["follows"] >= 1 and r["badges"][str(first.badge)]["verdict"] == "wrong"
    assert r["correct"] + r["follows"] == r["total"] - 1
    page = s1.get(f"/student/a/{aid}/0").text
    assert "follows" in page and "data-verdicts=" in page  # a reload keeps the marks
    g = t.get(f"/teacher/assignments/{aid}").text
    assert f"{r['correct']}/{r['total']}" in g and f"{r['correct'] + r['follows']}/{r['total']}" in g
    rows = list(csv.DictReader(io.StringIO(t.c.get(f"/teacher/assignments/{aid}/totals.csv").text)))
    ada = next(x for x in rows if x["student"] == "Ada")
    assert ada["follows"] == str(r["follows"]) and float(ada["score (half)"]) == r["correct"] + r["follows"] / 2
    assert t.form(f"/teacher/assignments/{aid}/edit", {"max_attempts": "3", "credit": "full", "hints": "on"}).status_code == 303
    rows = list(csv.DictReader(io.StringIO(t.c.get(f"/teacher/assignments/{aid}/totals.csv").text)))
    assert float(next(x for x in rows if x["student"] == "Ada")["score (full)"]) == r["correct"] + r["follows"]


def right_ans(ex: Any) -> dict[str, str]:
    return {b: str(v) for b, v in ex.answers().items()}


def test_teacher_renames_merges_and_deletes(app: Any, classroom: dict[str, Any]) -> None:
    from sqlalchemy import func

    from byhand.web.models import HintUse, Student, Submission

    t, s1, s2, cid, aid = classroom["t"], classroom["s1"], classroom["s2"], classroom["cid"], classroom["aid"]
    for c, v in ((s1, "6"), (s2, "7"), (s1, "8")):  # both students tried exercise 2 (and asked the same hint)
        assert c.api(f"/api/student/a/{aid}/1/check", {"answers": {"1": v}}).status_code == 200
        assert c.api(f"/api/student/a/{aid}/1/hint", {"badge": 1, "level": 1}).status_code == 200
    with app.state.sessions() as s:
        ids = dict(s.execute(select(Student.name, Student.id)).tuples().all())
    r = t.form(f"/teacher/students/{ids['Ada']}", {"action": "rename", "name": "  ada   LOVELACE "})
    assert r.status_code == 200 and "Renamed to Ada Lovelace" in r.text
    assert t.form(f"/teacher/students/{ids['Bo']}", {"action": "rename", "name": "ada lovelace"}).status_code == 400
    r = t.form(f"/teacher/students/{ids['Bo']}", {"action": "merge", "into": str(ids["Ada"])})
    assert r.status_code == 200 and "now belongs to Ada Lovelace" in r.text
    g = t.get(f"/teacher/assignments/{aid}").text
    assert 'data-student="Bo"' not in g and 'data-student="Ada Lovelace"' in g and "0/" in g or "1/" in g
    assert s2.c.get("/student", follow_redirects=False).status_code == 303  # Bo's device is signed out with Bo
    with app.state.sessions() as s:  # their attempts, renumbered in the order they were saved, under one student
        rows = s.execute(select(Submission.attempt, Submission.answers).where(
            Submission.student_id == ids["Ada"], Submission.item == 1).order_by(Submission.id)).all()
        assert [(n, a["1"]) for n, a in rows] == [(1, "6"), (2, "7"), (3, "8")]
        assert s.scalar(select(func.count()).select_from(HintUse).where(HintUse.student_id == ids["Ada"])) == 1
    view = t.get(f"/teacher/students/{ids['Ada']}/view").text
    assert 'id="preview"' in view and "Hello Ada Lovelace" in view and 'id="leave"' not in view and 'id="pin"' not in view
    assert t.form(f"/teacher/students/{ids['Ada']}", {"action": "delete"}).status_code == 400  # unconfirmed
    assert t.form(f"/teacher/students/{ids['Ada']}", {"action": "delete", "confirm": "yes"}).status_code == 200
    assert s1.c.get("/student", follow_redirects=False).status_code == 303
    assert t.form(f"/teacher/classes/{cid}/edit", {"name": "10C"}).status_code == 303
    assert "<h1>10C</h1>" in t.get(f"/teacher/classes/{cid}").text
    assert t.form(f"/teacher/assignments/{aid}/delete", {"confirm": "yes"}).status_code == 303
    assert t.get(f"/teacher/assignments/{aid}").status_code == 404
    assert t.form(f"/teacher/classes/{cid}/delete", {"confirm": "wrong"}).status_code == 400
    assert t.form(f"/teacher/classes/{cid}/delete", {"confirm": "10C"}).status_code == 303
    assert t.get(f"/teacher/classes/{cid}").status_code == 404


def test_roster_csv_import() -> None:
    from byhand.web.teacher import roster_names

    assert roster_names("Dana Late\n  eli   NG \n\nDana Late\n") == ["Dana Late", "Eli Ng"]
    assert roster_names("first name,last name,email\nDana,Late,d@x\nEli,Ng,e@x\n") == ["Dana Late", "Eli Ng"]
    assert roster_names("id,Name\n1,Zoë Ü\n2,=cmd()\n") == ["Zoë Ü", "=cmd()"]


def test_check_applies_the_answer_limits_before_computing(new_client: Any) -> None:
    """`1e999999999` (11 characters) hung the check endpoint: now a 400 naming the limit, at once (issue 11)."""
    import time

    c = new_client()
    c.get(P)
    t = time.perf_counter()
    r = c.api(API + "/check", {"answers": {"1": "1e999999999"}})
    assert r.status_code == 400 and "answer exponent" in r.text
    assert time.perf_counter() - t < 2
    token = c.token
    r = c.c.post(API + "/check", content=b'{"answers": {"1": "6", "1": "5"}}', headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 400 and "appears twice" in r.text
    r = c.c.post(API + "/check", content=b"[" * 5000 + b"]" * 5000, headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 400


def test_blanks_most_often_wrong_cover_every_page(monkeypatch: Any, classroom: dict[str, Any]) -> None:
    """The gradebook shows a page of students, but "most often wrong" counts every student's latest answers."""
    from byhand.web import teacher

    t, s1, s2, aid = classroom["t"], classroom["s1"], classroom["s2"], classroom["aid"]
    monkeypatch.setattr(teacher, "PAGE", 1)  # Ada on page 1, Bo on page 2
    for c, tries in ((s1, ["999"]), (s2, ["998", "997"])):  # Bo's earlier try is not counted, only his latest
        for v in tries:
            assert c.api(f"/api/student/a/{aid}/0/check", {"answers": {"1": v}}).status_code == 200
    g = t.get(f"/teacher/assignments/{aid}").text
    assert 'data-student="Ada"' in g and 'data-student="Bo"' not in g
    worst = re.search(r'<table class="worst" id="worst">(.*?)</table>', g, re.S)
    assert worst and "all 2 students" in g
    assert re.search(r"<td>\[1\][^<]*</td><td>2 of 2 answers</td>", worst.group(1))  # badge 1: both students wrong, once each
    g2 = t.get(f"/teacher/assignments/{aid}?page=2").text
    assert 'data-student="Bo"' in g2 and re.search(r"<td>\[1\][^<]*</td><td>2 of 2 answers</td>", g2)
