"""The assignment on paper: a class-set PDF with each student's own on-screen variants, and its answer key."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

import byhand
from byhand.web import sheets
from tests.printing.test_print import tokens, unambiguous
from tests.web.conftest import join, make_assignment, make_class, make_teacher

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")

TOPICS = ["softmax", "linear"]  # softmax: fractions, answers that nothing else on a page can print
LEVEL = "medium"


def pages(pdf: bytes) -> list[str]:
    return [(p.extract_text() or "").replace("\u2212", "-") for p in PdfReader(io.BytesIO(pdf)).pages]


def by_student(pdf: bytes) -> dict[str, str]:
    """The text of each student's pages, by the label in the running footer ("Student 2 · Bo")."""
    out: dict[str, str] = {}
    for text in pages(pdf):
        m = re.search(r"Student (\d+(?: · [^\n]+?)?) page \d+ of \d+", text)
        assert m, text[-200:]
        out[m.group(1)] = out.get(m.group(1), "") + text
    return out


def on_screen(c: Any, aid: int, count: int) -> list[byhand.Exercise]:
    """The exercises a student gets on screen, each proven by its grid being the one on their page."""
    out = []
    for k in range(count):
        html = c.get(f"/student/a/{aid}/{k}").text
        found = [
            sheets.exercise(t, seed, LEVEL)
            for t, seed in _candidates(aid, k)
            if f'class="sheet-wrap">{sheets.page_sheet(t, seed, LEVEL)}</div>' in html
        ]
        assert len(found) == 1, k
        out.append(found[0])
    return out


_SALTS: dict[int, tuple[int, list[int]]] = {}


def _candidates(aid: int, k: int) -> list[tuple[str, int]]:
    salt, ids = _SALTS[aid]
    return [(TOPICS[k % len(TOPICS)], sheets.student_seed(salt, sid, k)) for sid in ids]


def remember(app: Any, aid: int) -> None:
    with app.state.engine.connect() as conn:
        salt = conn.exec_driver_sql(f"select salt from assignments where id = {int(aid)}").scalar()
        ids = [r[0] for r in conn.exec_driver_sql("select id from students")]
    _SALTS[aid] = (salt, ids)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def counts(app: Any) -> tuple[int, int]:
    with app.state.engine.connect() as conn:
        return (conn.exec_driver_sql("select count(*) from submissions").scalar(),
                conn.exec_driver_sql("select count(*) from reveals").scalar())


@pytest.fixture
def printed(app: Any, classroom: dict[str, Any]) -> dict[str, Any]:
    t = classroom["t"]
    aid = make_assignment(t, classroom["cid"], TOPICS, 2, LEVEL)
    remember(app, aid)
    return {**classroom, "paid": aid}


def test_the_gradebook_links_to_print(printed: dict[str, Any]) -> None:
    page = printed["t"].get(f"/teacher/assignments/{printed['paid']}").text
    assert f'href="/teacher/assignments/{printed["paid"]}/print.pdf" id="print"' in page
    assert f'href="/teacher/assignments/{printed["paid"]}/key.pdf" id="print-key"' in page
    assert 'name="extra"' in page


def test_each_student_gets_their_screen_exercises_on_paper(app: Any, printed: dict[str, Any]) -> None:
    t, aid = printed["t"], printed["paid"]
    screen = {"Ada": on_screen(printed["s1"], aid, 2), "Bo": on_screen(printed["s2"], aid, 2)}
    before = counts(app)
    r = t.c.get(f"/teacher/assignments/{aid}/print.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="byhand-Homework-class.pdf"'
    assert r.content.startswith(b"%PDF")
    sections = by_student(r.content)
    assert list(sections) == ["1 · Ada", "2 · Bo"]  # the roster, in the gradebook's order, one section each
    for label, text in sections.items():
        name = label.split(" · ")[1]
        assert f"Student {label}" in text and "Name:" in text
        mine, theirs = screen[name], screen["Bo" if name == "Ada" else "Ada"]
        seal = app.state.print_seal
        for ex in mine:  # the sealed code under each exercise: the very variant on the student's screen, never its seed
            assert f"{ex.topic} · code {seal.code(ex.topic, ex.seed, LEVEL)} · level {LEVEL}" in text
            assert str(ex.seed) not in text and "seed" not in text
        for ex in theirs:
            assert seal.code(ex.topic, ex.seed, LEVEL) not in text
        assert "Answers" not in text
        hidden = unambiguous(mine)
        assert hidden and any("/" in a for a in hidden)
        for a in hidden:
            assert a not in tokens(text), f"answer {a} on {name}'s pages"
    assert r.content == t.c.get(f"/teacher/assignments/{aid}/print.pdf").content  # the same paper every time
    assert counts(app) == before  # printing changes nothing

    key = t.c.get(f"/teacher/assignments/{aid}/key.pdf")
    assert key.status_code == 200 and key.headers["content-type"] == "application/pdf"
    assert key.headers["content-disposition"] == 'attachment; filename="byhand-Homework-key.pdf"'
    text = "\n".join(pages(key.content))
    assert "ANSWER KEY" in text and "1 · Ada" in text and "2 · Bo" in text
    rows = flat(text)
    for exs in screen.values():
        for ex in exs:
            assert flat(app.state.print_seal.code(ex.topic, ex.seed, LEVEL)) in rows
        for a in unambiguous(exs):
            assert a in tokens(text), f"the key misses {a}"


def test_extra_copies_continue_the_seeding(app: Any, printed: dict[str, Any]) -> None:
    t, aid = printed["t"], printed["paid"]
    r = t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra=3")
    assert r.status_code == 200
    sections = by_student(r.content)
    assert list(sections) == ["1 · Ada", "2 · Bo", "3", "4", "5"]  # the copies have no name: it is written in
    codes = [s for text in sections.values() for s in re.findall(r"code ([0-9A-Z-]+) · level", text)]
    seeds = [str(app.state.print_seal.open(c).seed) for c in codes]  # only the server's secret opens them
    assert len(seeds) == 5 * 2 and len(set(seeds)) == 10  # every exercise a distinct variant
    plain = by_student(t.c.get(f"/teacher/assignments/{aid}/print.pdf").content)
    same = lambda s: re.sub(r"page \d+ of \d+", "", s)  # noqa: E731
    assert same(plain["1 · Ada"]) == same(sections["1 · Ada"]) and same(plain["2 · Bo"]) == same(sections["2 · Bo"])
    assert t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra=3").content == r.content
    key = "\n".join(pages(t.c.get(f"/teacher/assignments/{aid}/key.pdf?extra=3").content))
    assert all(flat(c) in flat(key) for c in codes) and "3 extra copies" in key
    assert t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra=0").status_code == 200
    for bad in ("-1", "41", "five", "1e3", "2.5"):
        for what in ("print", "key"):
            r = t.c.get(f"/teacher/assignments/{aid}/{what}.pdf?extra={bad}")
            assert r.status_code == 400 and "0 to 40" in r.text and "Traceback" not in r.text, (what, bad)


def test_an_empty_class_prints_only_extra_copies(new_client: Any) -> None:
    t = make_teacher(new_client(), "e@school.example")
    cid, _ = make_class(t)
    aid = make_assignment(t, cid, ["dot"], 1)
    r = t.c.get(f"/teacher/assignments/{aid}/print.pdf")
    assert r.status_code == 400 and "Nobody has joined" in r.text
    r = t.c.get(f"/teacher/assignments/{aid}/print.pdf?extra=2")
    assert r.status_code == 200 and list(by_student(r.content)) == ["1", "2"]


def test_a_name_is_printed_as_text(new_client: Any, classroom: dict[str, Any]) -> None:
    s = new_client()
    name = 'Zoë #panic("x") *b* $y$ <z>'
    assert join(s, classroom["code"], name).status_code == 303
    r = classroom["t"].c.get(f"/teacher/assignments/{classroom['aid']}/print.pdf")
    assert r.status_code == 200
    assert any(label.endswith(name) for label in by_student(r.content))


def test_print_authorization(new_client: Any, printed: dict[str, Any]) -> None:
    aid = printed["paid"]
    for what in ("print.pdf", "key.pdf", "print.pdf?extra=2"):
        url = f"/teacher/assignments/{aid}/{what}"
        assert printed["t2"].get(url).status_code == 404, url  # another teacher: as if it did not exist
        assert printed["t2"].get(f"/teacher/assignments/{printed['aid2'] + 1000}/{what}").status_code == 404
        for who in (printed["s1"], printed["s3"], new_client()):  # a student, another class's student, nobody
            r = who.c.get(url, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/teacher/login", url
            assert not r.content.startswith(b"%PDF")
        assert printed["t"].c.get(url).status_code == 200
    assert printed["t2"].c.get(f"/teacher/assignments/{printed['aid2']}/print.pdf").status_code == 200  # their own
    r = printed["t"].c.post(f"/teacher/assignments/{aid}/print.pdf")
    assert r.status_code == 405
