"""Lecture mode: frame k shows exactly steps 1…k; the last frame is the answer key."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import byhand
from byhand.engine.values import fmt
from byhand.printing.layout import plan_exercise
from byhand.render.html import deck_html, key
from byhand.slides import frames

CHAPTERS = [t.name for t in byhand.topics()]


@pytest.mark.parametrize("group", ["cell", "row", "layer"])
@pytest.mark.parametrize("topic", CHAPTERS)
def test_frames_follow_the_steps(topic: str, group: str) -> None:
    ex = byhand.make(topic, seed=5, level="medium")
    fs = frames(ex, group)
    steps = ex.steps
    assert fs[0].kind == "title" and fs[-1].kind == "final"
    body = fs[1:-1]
    # the number of frames equals the number of steps at this granularity
    from byhand.engine.ops import OPS

    real = [s for s in steps if not OPS.get(s.op, OPS["add"]).copies]
    if group == "cell":
        assert len(body) == len(real)
    elif group == "row":
        assert len(body) == len({(s.cell[0], s.cell[1][:1]) for s in real})
    else:
        assert len(body) == len({s.cell[0] for s in real})
    # frame k shows exactly the values of steps 1…k
    from byhand.slides import _copy_sources

    copies = _copy_sources(ex)
    seen: list[tuple[str, tuple[int, ...]]] = []
    for f in body:
        seen += f.new
        assert f.revealed - set(copies) == set(seen)
        assert f.text
        for c in f.uses:
            assert c not in f.new
    assert seen == [s.cell for s in steps if s.cell not in copies]  # copies appear with their source, not as steps
    for f in body:
        for c, src in copies.items():
            if src in f.revealed:
                assert c in f.revealed
    # the last frame is the answer key: every blank is shown, with its answer
    assert set(ex.blank_cells()) <= fs[-1].revealed


def test_bad_group() -> None:
    with pytest.raises(byhand.ByHandError, match="cell, row or layer"):
        frames(byhand.make("dot"), "word")


class Cells(HTMLParser):
    """The text of every data-cell td, and whether it is hidden."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, tuple[bool, str]] = {}
        self._cur: str | None = None
        self._hidden = False
        self._text = ""
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.attrs = a
        if tag == "td" and "data-cell" in a:
            self._cur, self._hidden, self._text = a["data-cell"], "hidden" in a.get("class", "").split(), ""

    def handle_data(self, data: str) -> None:
        if self._cur:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cur:
            self.cells.setdefault(self._cur, (self._hidden, self._text.strip()))
            self._cur = None


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize(("topic", "group"), [("mlp", "cell"), ("backprop", "row"), ("resnet", "layer")])
def test_deck_dom_in_chromium(tmp_path: Path, topic: str, group: str) -> None:
    ex = byhand.make(topic, seed=2, level="easy")
    page = tmp_path / "deck.html"
    page.write_text(deck_html(ex, group))
    fs = frames(ex, group)
    # a joined copy ([W₂ | I], [A₁ ; X]) is drawn as its parts: it has no cells of its own
    copies = set(plan_exercise(ex.to_dict(), 1)["copies"])
    computed = {key((n, i)) for n in ex.graph.shapes if n not in ex.graph.leaves for i in ex.values[n].indices()} - copies
    for k in (0, 1, len(fs) // 2, len(fs) - 1):
        dom = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                f"file://{page}#{k}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        p = Cells()
        p.feed(dom)
        assert p.attrs.get("data-frame") == str(k), "the deck opened the frame named in the URL"
        shown = {c for c, (hidden, _) in p.cells.items() if not hidden}
        revealed = {key(c) for c in fs[k].revealed} - copies
        assert {c for c in shown if c in computed} == revealed & computed
        for c in revealed:
            hidden, text = p.cells[c]
            name, idx = c.split(":")
            v = ex.values[name][tuple(int(i) for i in idx.split(",")) if idx else ()]
            assert not hidden and text.endswith(fmt(v)), (c, text)
