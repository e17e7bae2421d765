"""One layout, several painters: the PDF, the HTML and the text view put the same value in the same
cell, because all three paint the one print plan."""

from __future__ import annotations

import io
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import pytest
from pypdf import PdfReader

import byhand
from byhand.engine.values import fmt
from byhand.printing.layout import MAX_PITCH_MM, MIN_PITCH_MM, plan_document, plan_exercise
from byhand.printing.render import render_document
from byhand.render.html import sheet_html
from byhand.render.text import cell_spots, paint

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")

TOPICS = [t.name for t in byhand.topics()]
MM = 72 / 25.4


class Tds(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, list[str]] = {}
        self._cur: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("data-cell"):
            self._cur, self._text = a["data-cell"], ""

    def handle_data(self, data: str) -> None:
        if self._cur:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cur:
            self.cells.setdefault(self._cur, []).append(self._text.strip())
            self._cur = None


def key_of(b: dict[str, Any], cell: dict[str, Any]) -> str:
    return f"{b['tensor']}:{','.join(map(str, cell['i']))}"


def expected(ex: byhand.Exercise, plan: dict[str, Any]) -> Counter[str]:
    """Every tensor cell the plan draws (a copy drawn twice counts twice), with its value."""
    out: Counter[str] = Counter()
    for b in plan["blocks"]:
        for cell in b["cells"]:
            if b["tensor"]:
                out[f"{key_of(b, cell)}={fmt(ex.values[b['tensor']][tuple(cell['i'])], ex.precision)}"] += 1
    return out


def html_cells(ex: byhand.Exercise) -> Counter[str]:
    p = Tds()
    p.feed(sheet_html(ex, hidden=set()))
    out: Counter[str] = Counter()
    for k, texts in p.cells.items():
        for t in texts:
            out[f"{k}={t.split()[-1]}"] += 1  # a ReLU output shows the struck input first
    return out


def text_cells(ex: byhand.Exercise, plan: dict[str, Any]) -> Counter[str]:
    text, sx = paint(ex, plan, answers=True)
    lines = text.split("\n")
    out: Counter[str] = Counter()
    for b, cell, col, w, line in cell_spots(plan, sx):
        if b["tensor"]:
            row = lines[line] if line < len(lines) else ""
            out[f"{key_of(b, cell)}={row[col:col + w].strip()}"] += 1
    return out


def pdf_cells(ex: byhand.Exercise, plan: dict[str, Any]) -> Counter[str]:
    """Read each cell's value back from the PDF's text layer at the cell's place on the page."""
    doc = plan_document([plan_exercise(ex.to_dict(), 1, key=True, with_answers=False)], paper="a4",
                        answer_strip=False, key=True, title=None)
    page = PdfReader(io.BytesIO(render_document(doc)[0])).pages[0]
    height = float(page.mediabox.height)
    runs: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        bold = isinstance(font, dict) and "Bold" in str(font.get("/BaseFont", ""))
        if text.strip() and not bold:  # badges and names are bold; values are not
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((text.strip(), x, height - y, size * (tm[3] * cm[3]) if tm[3] else size))

    page.extract_text(visitor_text=visit)
    w = plan["canvas"]["width"]
    p = max(MIN_PITCH_MM, min(MAX_PITCH_MM, 180 / w)) * MM
    x0 = 15 * MM + (180 * MM - w * p) / 2
    cells = [(b, c) for b in plan["blocks"] if b["tensor"] for c in b["cells"]]
    # the grid's top: the offset that lands the most values in cells holding them
    votes: Counter[float] = Counter()
    for t, x, y, _ in runs:
        for b, c in cells:
            cx = x0 + (b["x"] + c["c"] * b["cw"]) * p
            if cx <= x <= cx + b["cw"] * p and fmt(ex.values[b["tensor"]][tuple(c["i"])], ex.precision) == t:
                votes[round(y - (b["y"] + c["r"]) * p, 0)] += 1
    y0 = votes.most_common(1)[0][0] - 0.65 * p
    out: Counter[str] = Counter()
    for b, c in cells:
        cx, cy = x0 + (b["x"] + c["c"] * b["cw"]) * p, y0 + (b["y"] + c["r"]) * p
        inside = [t for t, x, y, _ in runs if cx - 0.5 <= x <= cx + b["cw"] * p and cy <= y <= cy + p]
        out[f"{key_of(b, c)}={inside[-1] if inside else ''}"] += 1
    return out


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
@pytest.mark.parametrize("topic", TOPICS)
def test_html_and_text_paint_the_plan(topic: str, level: str) -> None:
    ex = byhand.make(topic, seed=1, level=level)
    plan = plan_exercise(ex.to_dict(), 1, key=True, with_answers=False)
    want = expected(ex, plan)
    assert html_cells(ex) == want
    assert text_cells(ex, plan) == want


@pytest.mark.parametrize("topic", ["dot", "matmul", "linear", "relu", "mlp", "deep", "wide"])
def test_the_pdf_holds_the_same_values_in_the_same_cells(topic: str) -> None:
    """Integer sheets that fit one page: every cell read back from the PDF at its planned place."""
    ex = byhand.make(topic, seed=1, level="easy")
    plan = plan_exercise(ex.to_dict(), 1, key=True, with_answers=False)
    assert plan["canvas"]["height"] <= 18  # one piece on the first page
    got = pdf_cells(ex, plan)
    assert got == expected(ex, plan) == html_cells(ex)
