"""The hardest level of every chapter, as printed: every page holds part of an exercise's grid (never
only its answer strip, never only the sheet's head and name line), and the floors hold on the painted
PDF — grid digits ≥ 10 pt, badges ≥ 7 pt, answer boxes ≥ 8 mm (read from ``pdftotext -bbox``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

import byhand
from byhand import documents
from tests.printing.test_layout import word_sizes

pytestmark = [pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning"),
              pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")]

TOPICS = [t.name for t in byhand.topics()]
PT_PER_MM = 72 / 25.4
NUMBER = re.compile(r"^[−-]?\d+$")
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def pages(pdf: bytes, tmp_path: Path) -> list[tuple[float, list[tuple[float, float, float, float, str]]]]:
    """Per page: its height and its words as (x0, y0, x1, y1, text), in pt from the top left."""
    f = tmp_path / "sheet.pdf"
    f.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(f), "-"], check=True, capture_output=True, text=True).stdout
    return [(float(h), [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(body)])
            for _w, h, body in PAGE.findall(html)]


def line_of(words: list[tuple[float, float, float, float, str]], w: tuple[float, float, float, float, str]) -> str:
    return " ".join(v[4] for v in words if abs(v[3] - w[3]) < 1.5)


@pytest.mark.parametrize("topic", TOPICS)
def test_every_page_of_the_hardest_level_holds_grid_and_the_floors_hold(topic: str, tmp_path: Path) -> None:
    ex = byhand.make(topic, seed=1, level="hard")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdf = documents.worksheet(ex)[0]
    sheet = pages(pdf, tmp_path)
    most = PAGES_AT_MOST.get(topic, len(sheet))  # (a chapter added later: no bound yet)
    assert len(sheet) <= most, f"{topic} hard: {len(sheet)} pages (was {most})"
    checked = 0
    boxed: list[str] = []  # the badges drawn in the grid (not the strip's), on every page
    for k, (height, words) in enumerate(sheet, start=1):
        where = f"{topic} hard, page {k}"
        foot = height - 20 * PT_PER_MM  # the page's footer line lies below this
        strip_top = min((w[1] for w in words if w[4] == "Answers"), default=foot)
        body = [w for w in words if w[3] < strip_top - 2 and w[1] < foot]
        heads = [w for w in body if w[4] == "Exercise"]
        assert heads, f"{where}: no exercise on the page (only {'the strip' if strip_top < foot else 'the head'})"
        # the grid lies under the task ("… bold box; boxes with the same number …") or "continued"
        marks = [w for w in body if w[4] in ("continued", "same", "value.")]
        top = max((w[3] for w in marks), default=min(w[3] for w in heads))
        grid = [w for w in body if NUMBER.match(w[4]) and w[1] > top
                and not re.search(r"seed|code|min\b|level|chapter|Exercise", line_of(words, w))]
        # or the exercise's whiteboard diagram (its foot may go on over the page with the strip)
        legend = re.compile(r"seed|code|\(bar|\(hatched|1s|\(double|\(dotted|\(dashed|\(thick|gate:|continued")
        drawn = [w for w in body if w[1] > top and not legend.search(line_of(words, w))]
        assert grid or (topic in DIAGRAM_TEXT and len(drawn) >= 5), \
            f"{where}: the page holds no part of the grid, only {'its answer strip' if strip_top < foot else 'a head or a name line'}"
        # the answer boxes: two blanks side by side are a cell apart; a cell holds a box ≥ 8 mm
        # (the cell less its inset, 0.14 of it): badges on one line are at least 9.3 mm apart
        # (badges are bold 7.6 pt; one of as many digits, so the text sits the same way in its badge)
        badges = sorted((round(w[3]), len(w[4]), w[0]) for w in grid if 8.55 < w[3] - w[1] < 9.5)
        # (a badge's bold digits are wider for their height than a fraction's or a name's index)
        boxed += [w[4] for w in grid if 8.6 < w[3] - w[1] < 9.5 and (w[2] - w[0]) / len(w[4]) > 0.43 * (w[3] - w[1])]
        pairs = [(x0, x1) for (y0, n0, x0), (y1, n1, x1) in zip(badges, badges[1:]) if (y0, n0) == (y1, n1) and x1 - x0 > 1]
        checked += len(pairs)
        for x0, x1 in pairs:
            assert (x1 - x0) * (1 - 0.14) >= 8 * PT_PER_MM - 0.3, f"{where}: answer boxes {x1 - x0:.1f} pt apart"
    # a student meets each blank once: a block drawn again (on a continued page, transposed) is a grey copy
    assert boxed and len(boxed) == len(set(boxed)), \
        f"{topic} hard: badges drawn twice: {sorted({b for b in boxed if boxed.count(b) > 1})}"
    assert checked or topic in ("dot", "linear", "gradient-flow"), f"{topic}: no two answer boxes side by side found"
    sizes = word_sizes(pdf)
    badges = [s for _t, s, bold in sizes if bold and s < 11.9]
    assert badges and min(badges) >= 7.0 - 1e-6, f"{topic}: badges at {min(badges):.1f} pt"
    grid_pt = [s for _t, s, bold in sizes if not bold and round(s, 1) not in (7.5, 8.5, 9.0, 10.0, 12.0)]
    assert not grid_pt or min(grid_pt) >= 10.0 - 1e-6 or topic in DIAGRAM_TEXT, f"{topic}: digits at {min(grid_pt):.1f} pt"


#: chapters whose whiteboard diagram (under the grid) carries numbers smaller than 10 pt (≥ 2 mm: its floor)
DIAGRAM_TEXT = {t.name for t in byhand.topics() if documents.print_diagram(byhand.make(t.name, seed=1, level="hard"))}


def fills(pdf: bytes, tmp_path: Path) -> list[float]:
    """Per page: how far down its text goes, as a share of the height above the footer."""
    out = []
    for height, words in pages(pdf, tmp_path):
        foot = height - 20 * PT_PER_MM
        out.append(max((w[3] for w in words if w[3] < foot), default=0.0) / foot)
    return out


@pytest.mark.parametrize(("topic", "most"), [("conv", 2), ("moe", 2)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hard_pages_are_used(topic: str, most: int, seed: int, tmp_path: Path) -> None:
    """conv hard: the padding, the patches and the filter's crossing share the first page (Xₚ → C on
    one line, not Xₚ drawn again in a band of its own); moe hard: two experts side by side. Both
    print on two pages (three before), and no page but the last is less than two-thirds full."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdf = documents.worksheet(byhand.make(topic, seed=seed, level="hard"))[0]
    f = fills(pdf, tmp_path)
    assert len(f) <= most, f"{topic} hard seed {seed}: {len(f)} pages"
    assert all(x >= 0.66 for x in f[:-1]), f"{topic} hard seed {seed}: pages filled {f}"


#: pages of each chapter's hard sheet (seed 1, A4, with its strip): a layout change may only lower them
#: (conv and moe were 3 before their first page was filled and their experts stood side by side)
PAGES_AT_MOST = {
    "dot": 1, "matmul": 1, "linear": 1, "relu": 1, "mlp": 1, "deep": 2, "wide": 2, "softmax": 1,
    "cross-entropy": 2, "gradient": 2, "backprop": 3, "resnet": 5, "gradient-flow": 3, "embeddings": 1,
    "attention": 3, "multi-head": 4, "transformer": 4, "sampling": 2, "rnn": 3, "lstm": 2, "batch-norm": 4,
    "dropout": 2, "moe": 2, "autoencoder": 3, "conv": 2, "gan": 3, "connections": 2,
}
