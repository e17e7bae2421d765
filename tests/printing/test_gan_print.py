"""The GAN step prints as the method draws it: D's logits as one crossing of [WD | bD] with the real
and the fake sample side by side; every gradient a crossing with its transpose drawn on top; ReLU's
backward as the gate block [ZG > 0]; no internal names on the page, the convention in words."""

from __future__ import annotations

import io
import re

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


def _crossing(by: dict, left: str, top: str, out: str) -> None:
    """``out = left·top``: left on out's row, to its left; top above it, in its columns."""
    o = next(b for b in by[out] if any(lb["y"] == b["y"] and lb["x"] < b["x"] for lb in by[left]))
    lb = next(b for b in by[left] if b["y"] == o["y"] and b["x"] < o["x"])
    tb = next(b for b in by[top] if b["x"] == pytest.approx(o["x"]) and b["y"] < o["y"])
    assert lb["cols"] == tb["rows"] and tb["cols"] == o["cols"]


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_both_samples_in_one_crossing_of_the_discriminator(level: str) -> None:
    ex = byhand.make("gan", seed=1, level=level)
    plan = plan_exercise(ex.to_dict(), 1)
    by = _by(plan)
    (zd,) = by["ZD"]
    assert zd["cols"] == 2  # real and fake, side by side
    wd = next(b for b in by["WD"] if b["y"] == zd["y"])
    (bd,) = [b for b in by["bD"] if b["y"] == zd["y"]]
    assert wd["x"] + wd["cols"] * wd["cw"] == pytest.approx(bd["x"])  # [WD | bD] on ZD's row
    ones = next(b for b in plan["blocks"] if b["tensor"] is None and b["x"] == zd["x"] and b["y"] < zd["y"])
    assert ones["cols"] == 2  # the row of 1s under [x | G(z)]
    badges = {cell["badge"] for b in plan["blocks"] for cell in b["cells"] if "badge" in cell}
    assert badges == {b.badge for b in ex.blanks}


def test_every_gradient_is_a_crossing_and_the_gate_is_drawn() -> None:
    ex = byhand.make("gan", seed=1, level="hard")
    plan = plan_exercise(ex.to_dict(), 1)
    by = _by(plan)
    _crossing(by, "dZD", "Xt", "dWD")  # dWD = dZD·Xᵀ
    _crossing(by, "WDt", "dZf", "dXf")  # dG(z) = WDᵀ·dZf
    _crossing(by, "dZG", "zt", "dWG")  # dWG = dZG·zᵀ
    (gate,) = [b for b in plan["blocks"] if b["style"] == "gate"]
    assert gate["rows"] == 3 and gate["label"] == "[ZG > 0]"
    (dzg,) = by["dZG"][:1]
    assert dzg["y"] == pytest.approx(gate["y"]) and dzg["x"] > gate["x"]  # dG(z) ⊙ [ZG > 0] = dZG, in a row


def test_labels_do_not_overlap() -> None:
    for level in ("easy", "medium", "hard"):
        for seed in (1, 2):
            plan = plan_exercise(byhand.make("gan", seed=seed, level=level).to_dict(), 1)
            rects = [Rect(i["x"], i["y"], i["w"], i["h"]) for i in plan["labels"]]
            assert not any(a.overlaps(b) for i, a in enumerate(rects) for b in rects[i + 1:]), (level, seed)


def test_the_printed_hard_sheet() -> None:
    ex = byhand.make("gan", seed=1, level="hard")
    pdf = documents.worksheet(ex, answer_strip=False)[0]
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    for want in ("hard sigmoid", "z/6 + 1/2", "D − y", "G(z) (the fake sample)", "x (a real sample)", "[ZG > 0]",
                 "dWD", "dWG", "D(G(z))", "column 2 of"):
        assert want in text, want
    for internal in ("Xf", "Xr", "dXf", "WDt", "col_of", "relu_gate", "hard_sigmoid", "YD", "YG"):
        assert not re.search(rf"(?<![\w(]){re.escape(internal)}(?!\w)", text), internal
