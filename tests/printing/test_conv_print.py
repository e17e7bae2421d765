"""The convolution prints as the method draws it: the filter's row crossing the patches, the row
of 1s under them; the filter's gradient as the crossing ∂L/∂Y · Cᵀ; no internal names on the page."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.printing.layout import Rect, plan_exercise

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")


def _by(plan: dict) -> dict[str | None, list[dict]]:
    by: dict[str | None, list[dict]] = {}
    for b in plan["blocks"]:
        by.setdefault(b["tensor"], []).append(b)
    return by


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_the_convolution_is_one_crossing(level: str) -> None:
    ex = byhand.make("conv", seed=1, level=level)
    plan = plan_exercise(ex.to_dict(), 1)
    by = _by(plan)
    ys = {b["y"] for b in by["Y"]}  # (Y is drawn again as the map's input, F as K read row by row)
    (f,) = [b for b in by["F"] if b["y"] in ys]
    (y,) = [b for b in by["Y"] if b["y"] == f["y"]]
    (bias,) = [b for b in by["b"] if b["y"] == y["y"]]
    assert f["x"] + f["cols"] * f["cw"] == pytest.approx(bias["x"])  # [F | b] on Y's row, touching
    c = next(b for b in by["C"] if b["x"] == y["x"] and b["y"] < y["y"])  # C on top of Y, in its columns
    assert c["cols"] == y["cols"] and c["rows"] == 9
    ones = next(b for b in plan["blocks"] if b["tensor"] is None and b["x"] == y["x"] and b["y"] == pytest.approx(c["y"] + c["rows"]))
    assert ones["cols"] == y["cols"]
    badges = {cell["badge"] for b in plan["blocks"] for cell in b["cells"] if "badge" in cell}
    assert badges == {b.badge for b in ex.blanks}


def test_the_filters_gradient_is_a_crossing() -> None:
    ex = byhand.make("conv", seed=1, level="hard")
    by = _by(plan_exercise(ex.to_dict(), 1))
    df = next(b for b in by["dF"] if any(d["y"] == b["y"] and d["x"] < b["x"] for d in by["dY"]))  # (again as dK's input)
    dy = next(b for b in by["dY"] if b["y"] == df["y"] and b["x"] < df["x"])  # ∂L/∂Y on its left
    ct = next(b for b in by["Ct"] if b["x"] == df["x"] and b["y"] < df["y"])  # Cᵀ on top
    assert dy["cols"] == ct["rows"] and ct["cols"] == df["cols"] == 9


def test_labels_do_not_overlap() -> None:
    for level in ("easy", "medium", "hard"):
        plan = plan_exercise(byhand.make("conv", seed=1, level=level).to_dict(), 1)
        rects = [Rect(i["x"], i["y"], i["w"], i["h"]) for i in plan["labels"]]
        assert not any(a.overlaps(b) for i, a in enumerate(rects) for b in rects[i + 1:]), level


def test_the_printed_hard_sheet() -> None:
    ex = byhand.make("conv", seed=1, level="hard")
    pdf = documents.worksheet(ex, answer_strip=False)[0]
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    for want in ("im2col", "∂L/∂F", "∂L/∂K", "the 3×3 filter", "K row by row", "2×2 max-pool", "padded with 0s"):
        assert want in text, want
    for internal in ("row_to_map", "map_to_row", "pad_zeros", "max_pool", "Ct", "Xp"):
        assert internal not in text, internal
