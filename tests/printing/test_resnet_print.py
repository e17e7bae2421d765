"""The residual block prints in the published layout, and the whiteboard diagram prints under the grid."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.printing.layout import Rect, plan_exercise

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")


def text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_resnet_is_one_crossing_with_the_parts(level: str) -> None:
    ex = byhand.make("resnet", seed=1, level=level, blocks=1)  # (two blocks: the same crossing twice)
    plan = plan_exercise(ex.to_dict(), 1)
    by: dict[str | None, list[dict]] = {}
    for b in plan["blocks"]:
        by.setdefault(b["tensor"], []).append(b)
    assert "W2I" not in by and "A1X" not in by  # the joined copies are not drawn
    assert not any("hstack" in str(f) or "vstack" in str(f) for f in plan["formulas"])
    (z2,) = by["Z2"]
    (w2,) = [b for b in by["W2"] if b["y"] == z2["y"]]
    (ident,) = [b for b in by["I"] if b["y"] == z2["y"] and b["label"] is None]  # (the backward draws I again)
    (b2,) = [b for b in by["b2"] if b["y"] == z2["y"]]
    # [W2 | I | b2] left of Z2, on its rows, in that order, touching
    assert w2["x"] + w2["cols"] * w2["cw"] == pytest.approx(ident["x"])
    assert ident["x"] + ident["cols"] * ident["cw"] == pytest.approx(b2["x"])
    assert ident["y"] == z2["y"]
    # [A1 ; X ; 1] on top of Z2, in its columns
    a1 = next(b for b in by["A1"] if b["x"] == z2["x"] and b["y"] < z2["y"])
    x = next(b for b in by["X"] if b["x"] == z2["x"] and b["y"] == a1["y"] + a1["rows"])
    ones = next(b for b in plan["blocks"] if b["tensor"] is None and b["x"] == z2["x"] and b["y"] == x["y"] + x["rows"])
    assert ones["y"] + 1 < z2["y"]
    # every badge of the exercise is still on the sheet
    badges = {c["badge"] for b in plan["blocks"] for c in b["cells"] if "badge" in c}
    assert badges == {b.badge for b in ex.blanks}


def test_resnet_no_skip_labels_do_not_overlap() -> None:
    plan = plan_exercise(byhand.make("resnet", seed=1, level="medium").to_dict(), 1)
    assert plan["warnings"] == []
    rects = [Rect(i["x"], i["y"], i["w"], i["h"]) for i in plan["labels"]]
    rects += [Rect(b["x"], b["y"], b["cols"] * b["cw"], b["rows"]) for b in plan["blocks"]]
    assert not any(a.overlaps(b) for i, a in enumerate(rects) for b in rects[i + 1:])


def test_diagram_prints_under_the_grid_without_answers() -> None:
    ex = byhand.make("resnet", seed=1, level="hard")
    student = text(documents.worksheet(ex, answer_strip=False)[0])
    assert "skip: + X" in student
    assert "dX = [?, ?, ?]" in student  # the gradient numbers are answers: hidden on the student's sheet
    key = text(documents.worksheet(ex, key=True)[0])
    assert "dX = [" in key and "dX = [?" not in key
    flow = byhand.make("gradient-flow", seed=1, level="easy")
    assert "plain path" in text(documents.worksheet(flow)[0])
    assert documents.print_diagram(byhand.make("mlp", seed=1)) is None  # a plain network: no diagram
    assert documents.worksheet(ex)[0] == documents.worksheet(ex)[0]
