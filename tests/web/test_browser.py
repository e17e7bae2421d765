"""End to end in headless Chromium (Playwright driving Debian's chromium): a learner, a teacher, a student.

Skipped when Playwright or /usr/bin/chromium is missing. Screenshots go to the test's temp dir;
set BYHAND_SCREENSHOTS=DIR to keep them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byhand.web import sheets
from tests.web.server import Server

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("BYHAND_CHROMIUM", "/usr/bin/chromium")
if not shutil.which(CHROMIUM):
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("web") / "e2e.sqlite3")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    d = Path(os.environ.get("BYHAND_SCREENSHOTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def offline(page: Any, base: str) -> list[str]:
    """Fail any request that leaves byhand's own server (no CDN, nothing from the internet)."""
    outside: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside


def test_learner_fills_checks_and_takes_a_hint(server: Server, browser: Any, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    outside = offline(page, server.url)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.select_option("#topic", "linear")
    page.select_option("#level", "medium")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/practice/linear/medium/\d+$"))
    seed = int(page.url.rsplit("/", 1)[1])
    ex = sheets.exercise("linear", seed, "medium")
    answers = {str(k): v for k, v in ex.answers().items()}
    first = page.locator('input.blank[data-badge="1"]').first
    assert page.evaluate("document.activeElement.dataset.badge") == "1"  # the first box has the focus
    first.fill(str(answers["1"]))
    first.press("Enter")  # Enter moves to the next box
    assert page.evaluate("document.activeElement.dataset.badge") == "2"
    page.keyboard.type(str(int(answers["2"]) + 1))  # wrong on purpose
    page.keyboard.press("Tab")
    page.keyboard.type("abc")
    page.click("#check")
    page.wait_for_selector('td.ok[data-badge="1"]')
    assert page.locator('td.bad[data-badge="2"]').count() >= 1
    assert page.locator('td.nan[data-badge="3"]').count() >= 1
    assert "1 of 6 right" in page.inner_text("#status")
    page.locator('input.blank[data-badge="2"]').first.focus()
    # the hint ladder: where to look (highlighted), the expression without its result, the step
    page.click("#hint")
    page.wait_for_selector("#step:not([hidden])")
    assert page.inner_text("#step-count").startswith("Hint 1 of 3 for [2]")
    assert page.inner_text("#step-text") == "For Z[1,2], look where row 1 of W meets column 2 of X, and at b[1]."
    assert page.locator('td.uses[data-cell="W:0,0"]').count() == 1 and page.locator('td.uses[data-cell="X:0,1"]').count() == 1
    assert page.locator('td.uses[data-cell="W:1,0"]').count() == 0
    page.screenshot(path=str(shots / "web-hint-1.png"))
    page.click("#more")
    page.wait_for_selector("#step-count:has-text('Hint 2 of 3')")
    two = page.inner_text("#step-text")
    assert two.startswith("Z[1,2] = ") and two.endswith("= ?")
    page.screenshot(path=str(shots / "web-hint-2.png"))
    page.click("#more")
    page.wait_for_selector("#step-count:has-text('Hint 3 of 3')")
    step = ex.step_for(ex.blanks[1].cells[0])
    assert step is not None and page.inner_text("#step-text") == f"Z[1,2] = {step.text}"
    assert page.locator("#more").is_hidden()
    page.screenshot(path=str(shots / "web-practice.png"))
    # the hint's answer makes the blank right
    page.locator('input.blank[data-badge="2"]').first.fill(str(answers["2"]))
    page.click("#check")
    page.wait_for_selector('td.ok[data-badge="2"]')
    # Reveal walks through the worked solution
    page.click("#reveal")
    page.wait_for_selector("#step-count:has-text('[1/')")
    page.click("#next")
    assert page.inner_text("#step-count").startswith("[2/")
    page.click("#all")
    assert page.locator("td.shown").count() == len(ex.blank_cells())
    assert page.locator("td.shown.bad, td.shown.nan").count() == 0  # the revealed value replaces an old ✗
    page.click("#new")
    page.wait_for_url(re.compile(r"/practice/linear/medium/\d+$"))
    assert not errors and not outside
    page.close()


NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("url", ["/", "/join", "/teacher/login", "/practice/backprop/hard/5", "/practice/resnet/hard/2",
                                 "/practice/softmax/hard/1"])
def test_phone_pages_do_not_scroll_sideways(server: Server, browser: Any, url: str) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server.url + url)
    assert page.evaluate(NO_OVERFLOW), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    ctx.close()


GRID_URLS = ["/practice/backprop/hard/5", "/practice/resnet/hard/2", "/practice/gradient-flow/hard/3",
             "/practice/softmax/hard/1", "/practice/conv/hard/1", "/practice/lstm/hard/1", "/practice/moe/hard/1",
             "/practice/attention/hard/1", "/practice/batch-norm/hard/1"]
#: every block (a table), every label and every word or symbol of the grid, with what it is
PLACED_JS = """() => [...document.querySelectorAll('.plan > table, .plan > .lbl, .plan > .sym')].map(t => {
    const b = t.getBoundingClientRect();
    let r = [b.left, b.top, b.right, b.bottom];
    if (!t.matches('table')) {  // a label or a word: the box of its ink (its text), not of its slot
      const range = document.createRange(); range.selectNodeContents(t);
      const k = range.getBoundingClientRect();
      if (k.width > 0) r = t.matches('.sym.act') ? r : [k.left, k.top, k.right, k.bottom];
    }
    return [t.matches('table') ? 'block' : t.matches('.lbl') ? 'label' : 'word', t.textContent.slice(0, 30), ...r]; })"""


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("url", GRID_URLS)
def test_the_grid_is_laid_out_as_printed(server: Server, browser: Any, url: str, width: int) -> None:
    """The blocks stand where the plan puts them: the page's security policy must not drop their
    positions (it once did, and the whole grid collapsed into one corner, blocks on top of each other);
    at desktop and phone width no two blocks overlap, and no label or word runs into a block or
    another label (a function box's input row once drew wider than the plan: conv's ``Y ) = M``)."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600, has_touch=width < 600)
    page = ctx.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server.url + url)
    placed = page.evaluate(PLACED_JS)
    # each block exactly as wide as the plan made it (its cells × their width, borders included)
    wider = page.evaluate("""() => { const d = document.createElement('div'); d.style.width = 'var(--u)';
        document.querySelector('.sheet').appendChild(d); const u = d.getBoundingClientRect().width; d.remove();
        return [...document.querySelectorAll('.plan > table')].map(t => [t.textContent.slice(0, 20),
          t.getBoundingClientRect().width - t.rows[0].cells.length * parseFloat(t.style.getPropertyValue('--cw')) * u])
          .filter(x => x[1] > 1); }""")
    plan = page.evaluate("(() => { const b = document.querySelector('.plan').getBoundingClientRect(); return [b.width, b.height]; })()")
    ctx.close()
    assert not blocked, blocked[:3]
    assert not wider, wider[:3]
    boxes = [p for p in placed if p[0] == "block"]
    assert len(boxes) >= 3 and plan[0] > 300 and plan[1] > 200, plan
    gap = 6  # blocks that touch (W beside its b, a crossing's parts) share a border of a few pixels
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[2] < b[4] - gap and b[2] < a[4] - gap and a[3] < b[5] - gap and b[3] < a[5] - gap]
    assert not overlaps, overlaps[:2]
    # a label or a word may touch a block's border (it sits beside it), never run into its cells or another label
    ink = 2
    clashes = [(a[:2], b[:2]) for i, a in enumerate(placed) for b in placed[i + 1:]
               if (a[0] != "block" or b[0] != "block")
               and a[2] < b[4] - ink and b[2] < a[4] - ink and a[3] < b[5] - ink and b[3] < a[5] - ink]
    assert not clashes, clashes[:3]


def test_phone_screen(server: Server, browser: Any, shots: Path) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server.url + "/practice/softmax/hard/1")
    box = page.locator("input.blank").first
    box.fill("243/280")
    # the whole answer fits its box: "243/280" is never cut to "43/280"
    assert page.evaluate("(i) => i.scrollWidth <= i.clientWidth", box.element_handle())
    page.click("#check")
    page.wait_for_selector("#status:has-text('right')")
    # the page itself does not scroll sideways; only the sheet does, inside its box
    assert page.evaluate(NO_OVERFLOW)
    box = page.locator("#check").bounding_box()
    assert box and box["height"] >= 40  # a finger-sized button
    page.screenshot(path=str(shots / "web-phone.png"), full_page=True)
    ctx.close()


def test_teacher_class_student_gradebook(server: Server, browser: Any, shots: Path) -> None:
    tctx = browser.new_context(viewport={"width": 1100, "height": 800})
    t = tctx.new_page()
    offline(t, server.url)
    t.goto(server.url + "/teacher/signup")
    t.fill("#name", "Ms Rivera")
    t.fill("#email", "rivera@school.example")
    t.fill("#password", "a long password")
    t.click("button[type=submit]")
    t.wait_for_url(re.compile(r"/teacher/login"))
    t.fill("#email", "rivera@school.example")
    t.fill("#password", "a long password")
    t.click("button[type=submit]")
    t.wait_for_url(server.url + "/teacher")
    t.fill("#class-name", "Year 11 AI")
    t.click("text=Create class")
    t.wait_for_url(re.compile(r"/teacher/classes/\d+$"))
    code = t.inner_text("#join-code")
    t.check("input[value=dot]")
    t.check("input[value=linear]")
    t.select_option("#level", "easy")
    t.fill("#count", "2")
    t.fill("#title", "Dot and linear")
    t.click("text=Create assignment")
    t.wait_for_url(re.compile(r"/teacher/assignments/\d+$"))

    sctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    s = sctx.new_page()
    s.goto(server.url + "/join?code=" + code)
    s.fill("#name", "Noor")
    s.click("button[type=submit]")
    s.wait_for_url(server.url + "/student")
    s.click("text=Exercise 1")
    s.wait_for_selector("input.blank")
    n = s.locator("input.blank").count()
    for i in range(n):
        s.locator("input.blank").nth(i).fill("0")
    assert s.locator("#hint").count() == 1  # hints are on unless the teacher turns them off
    s.click("#hint")
    s.wait_for_selector("#step-count:has-text('Hint 1 of 3')")
    s.click("#more")
    s.wait_for_selector("#step-count:has-text('Hint 2 of 3')")
    s.click("#check")
    s.wait_for_selector("#status:has-text('Saved')")
    # the solution opens only after submitting, and closes the exercise
    s.on("dialog", lambda d: d.accept())
    s.click("#reveal")
    s.wait_for_selector("#step-count:has-text('[1/')")
    assert s.locator("#check").is_disabled()

    t.reload()
    row = t.locator('tr[data-student="Noor"]')
    assert row.count() == 1
    assert re.search(r"\d+/\d+", row.inner_text())
    assert "solution" in row.inner_text() and "hint ×2 (≤2)" in row.inner_text()  # the hint use is recorded
    t.screenshot(path=str(shots / "web-gradebook.png"), full_page=True)
    with t.expect_download() as dl:
        t.click("#csv")
    assert "Noor" in Path(dl.value.path()).read_text()
    sctx.close()
    tctx.close()


def test_chapter_links_keep_the_level(server: Server, browser: Any) -> None:
    page = browser.new_page()
    page.goto(server.url + "/")
    page.select_option("#level", "hard")
    page.click('#chapters a[data-topic="mlp"]')
    page.wait_for_url(re.compile(r"/practice/mlp/hard/\d+$"))
    page.close()


def test_carried_forward_marking(server: Server, browser: Any, shots: Path) -> None:
    """A wrong Z, then every later box computed from it: those boxes are marked "follows from your answer"."""
    from byhand import credit

    ex = sheets.exercise("mlp", 4, "medium")
    cells = ex.blank_cells()
    right = {b: str(v) for b, v in ex.answers().items()}
    first = next(b for b in ex.blanks if credit.carried_values(ex, {**right, str(b.badge): str(b.answer + 1)}))
    wrong = str(first.badge)
    ans = {**right, wrong: str(first.answer + 1)}
    for _ in range(len(ex.blanks)):
        fill = credit.carried_values(ex, ans)
        new = {**right, wrong: ans[wrong], **{str(cells[c]): str(v) for c, v in fill.items() if str(cells[c]) != wrong}}
        if new == ans:
            break
        ans = new
    follows = {str(m.badge) for m in credit.mark(ex, ans) if m.verdict == "follows"}
    assert follows
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server.url + "/practice/mlp/medium/4")
    for b, v in ans.items():
        page.locator(f'input.blank[data-badge="{b}"]').first.fill(v)
    page.click("#check")
    page.wait_for_selector("td.follows")
    got = set(page.eval_on_selector_all("td.follows", "tds => [...new Set(tds.map(t => t.dataset.badge))]"))
    assert got == follows
    assert page.locator(f'td.bad[data-badge="{wrong}"]').count() >= 1
    assert "follow" in page.inner_text("#status") and "method is right" in page.inner_text("#status")
    page.screenshot(path=str(shots / "web-carried.png"))
    page.close()


def test_teacher_edits_and_the_student_sees_them(server: Server, browser: Any, shots: Path) -> None:
    tctx = browser.new_context(viewport={"width": 1100, "height": 900})
    t = tctx.new_page()
    t.goto(server.url + "/teacher/signup")
    t.fill("#name", "Mr Okafor")
    t.fill("#email", "okafor@school.example")
    t.fill("#password", "another long password")
    t.click("button[type=submit]")
    t.wait_for_url(re.compile(r"/teacher/login"))
    t.fill("#email", "okafor@school.example")
    t.fill("#password", "another long password")
    t.click("button[type=submit]")
    t.wait_for_url(server.url + "/teacher")
    t.fill("#class-name", "Year 12")
    t.click("text=Create class")
    t.wait_for_url(re.compile(r"/teacher/classes/\d+$"))
    class_url = t.url
    code = t.inner_text("#join-code")
    assert t.locator("#join-qr").get_attribute("src").startswith("data:image/svg+xml")
    t.fill("#roster", "Dana Late\nEli Ng")
    t.click('button:has-text("Add students")')
    t.wait_for_selector("#pins")
    pins = dict(zip(t.locator("#pins td:first-child").all_inner_texts(), t.locator("#pins td.code").all_inner_texts()))
    t.screenshot(path=str(shots / "web-class.png"), full_page=True)
    t.check("input[value=mlp]")
    t.fill("#count", "1")
    t.fill("#title", "MLP")
    t.click("text=Create assignment")
    t.wait_for_url(re.compile(r"/teacher/assignments/\d+$"))
    # the teacher turns hints off and allows 2 attempts
    t.uncheck("#edit-form input[name=hints]")
    t.fill("#edit-form input[name=max_attempts]", "2")
    t.fill("#edit-title", "MLP, no hints")
    t.click("#edit-form button[type=submit]")
    t.wait_for_selector("h1:has-text('MLP, no hints')")
    assert "hints off" in t.inner_text("main") and "2 attempts" in t.inner_text("main")

    sctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    s = sctx.new_page()
    s.goto(server.url + "/join?code=" + code)
    s.fill("#name", "  dana   LATE ")
    s.click("button[type=submit]")
    s.wait_for_selector(".error")  # a listed name needs its PIN
    s.fill("#pin", pins["Dana Late"])
    s.click("button[type=submit]")
    s.wait_for_url(server.url + "/student")
    assert "Hello Dana Late" in s.inner_text("main")
    s.click("text=Exercise 1")
    s.wait_for_selector("input.blank")
    assert s.locator("#hint").count() == 0 and "hints are off" in s.inner_text("#attempts-left")
    s.locator("input.blank").first.fill("999")
    s.click("#check")
    s.wait_for_selector("#status:has-text('Saved')")
    s.reload()  # the marks of the saved check come back
    s.wait_for_selector('td.bad[data-badge="1"]')
    assert s.evaluate(NO_OVERFLOW)
    s.screenshot(path=str(shots / "web-phone-assignment.png"), full_page=True)
    # the teacher renames the student; the student's page shows it
    t.goto(class_url)
    row = t.locator('tr[data-student="Dana Late"]')
    row.locator("summary").click()
    row.locator("input[name=name]").fill("Dana Late-Okoro")
    row.locator("text=Rename").click()
    t.wait_for_selector("#note:has-text('Renamed to Dana Late-Okoro')")
    s.wait_for_timeout(5500)  # another process would see it within the session cache's 5 s; this one at once
    s.goto(server.url + "/student")
    assert "Hello Dana Late-Okoro" in s.inner_text("main")
    sctx.close()
    tctx.close()


def test_gradebook_of_a_big_class_on_desktop_and_phone(browser: Any, shots: Path, tmp_path: Path) -> None:
    """55 students (two gradebook pages): "blanks most often wrong" counts all of them on every page, and the teacher's
    page does not scroll sideways on a phone (only the gradebook table does, inside its box)."""
    server = Server(tmp_path / "big.sqlite3")  # its own: the module's server has met this address's signup limit
    try:
        _big_class(server, browser, shots)
    finally:
        server.stop()


def _big_class(server: Server, browser: Any, shots: Path) -> None:
    import httpx

    from tests.web.server import token

    t = httpx.Client(base_url=server.url, timeout=30)
    r = t.post("/teacher/signup", data={"csrf": token(t, "/teacher/signup"), "name": "Mr Okafor",
                                        "email": "okafor@school.example", "password": "a long password"})
    assert r.status_code == 303
    t.post("/teacher/login", data={"csrf": token(t, "/teacher/login"), "email": "okafor@school.example",
                                   "password": "a long password"})
    r = t.post("/teacher/classes", data={"csrf": token(t, "/teacher"), "name": "Year 12 AI"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r'id="join-code">([A-Z0-9]+)<', t.get(f"/teacher/classes/{cid}").text).group(1)  # type: ignore[union-attr]
    r = t.post(f"/teacher/classes/{cid}/assignments", data={
        "csrf": token(t, f"/teacher/classes/{cid}"), "level": "medium", "count": "3", "topics": ["linear", "relu"],
        "title": "Layers", "max_attempts": "3", "hints": "on", "credit": "half", "settings": "1"})
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    for i in range(55):
        c = httpx.Client(base_url=server.url, timeout=30)
        r = c.post("/join", data={"csrf": token(c, "/join"), "name": f"Student {i:02d}", "code": code})
        assert r.status_code == 303
        c.headers["x-csrf-token"] = token(c, "/student")
        ans = {str(b): str((i + b) % 4) for b in range(1, 7)}
        assert c.post(f"/api/student/a/{aid}/{i % 3}/check", json={"answers": ans}).status_code == 200
        c.close()
    t.close()

    for width, name in ((1100, "web-gradebook-big.png"), (390, "web-gradebook-phone.png")):
        ctx = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 500)
        page = ctx.new_page()
        offline(page, server.url)
        page.goto(server.url + "/teacher/login")
        page.fill("#email", "okafor@school.example")
        page.fill("#password", "a long password")
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/teacher")
        page.goto(server.url + f"/teacher/assignments/{aid}?page=2")
        assert page.locator("#gradebook tbody tr").count() == 5  # students 51–55
        assert "all 55 students" in page.inner_text("section.card h2")
        counts = [int(x) for x in re.findall(r"(\d+) of \d+", page.inner_text("#worst"))]
        of = [int(x) for x in re.findall(r"\d+ of (\d+)", page.inner_text("#worst"))]
        assert counts and max(of) > 5 and sum(of) > 55  # counted over every student, not the 5 on this page
        assert page.evaluate(NO_OVERFLOW), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=str(shots / name), full_page=True)
        ctx.close()
