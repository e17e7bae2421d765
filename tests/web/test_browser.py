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
    page.click("#hint")
    page.wait_for_selector("#step:not([hidden])")
    text = page.inner_text("#step-text")
    assert text == ex.explain(ex.blanks[1].cells[0])
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
    page.click("#new")
    page.wait_for_url(re.compile(r"/practice/linear/medium/\d+$"))
    assert not errors and not outside
    page.close()


def test_phone_screen(server: Server, browser: Any, shots: Path) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server.url + "/practice/mlp/easy/3")
    page.locator("input.blank").first.fill("1")
    page.click("#check")
    page.wait_for_selector("#status:has-text('right')")
    # the page itself does not scroll sideways; only the sheet does, inside its box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
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
    assert s.locator("#hint").count() == 0  # no hints in an assignment
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
    assert "solution" in row.inner_text()
    t.screenshot(path=str(shots / "web-gradebook.png"), full_page=True)
    with t.expect_download() as dl:
        t.click("#csv")
    assert "Noor" in Path(dl.value.path()).read_text()
    sctx.close()
    tctx.close()
