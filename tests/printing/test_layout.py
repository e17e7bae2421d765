"""The print plan of every chapter × level × 20 seeds: nothing overlaps, every floor holds, the legend
lists exactly the roles drawn, box widths never depend on a hidden answer; and on the painted PDF of
each chapter's hardest level the grid's digits are ≥ 10 pt and the badges ≥ 7 pt."""

from __future__ import annotations

import io
import re
import warnings
from fractions import Fraction
from typing import Any

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.printing.layout import (
    LEGEND_TEXT,
    MAX_BAND_H,
    MIN_PITCH_MM,
    PAGE_WIDTH,
    STYLES,
    Rect,
    plan_document,
    plan_exercise,
)
from byhand.printing.render import render_document

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")

TOPICS = [t.name for t in byhand.topics()]
LEVELS = ("easy", "medium", "hard")
SEEDS = range(1, 21)


def items(plan: dict[str, Any]) -> list[tuple[str, Rect]]:
    out = [(f"block {b['label'] or b['tensor']}", Rect(b["x"], b["y"], b["cols"] * b["cw"], b["rows"]))
           for b in plan["blocks"]]
    out += [(f"label {lbl['text']}", Rect(lbl["x"], lbl["y"], lbl["w"], lbl["h"])) for lbl in plan["labels"]]
    out += [(f"symbol {s['text'] or s['kind']}", Rect(s["x"], s["y"], s["w"], s["h"])) for s in plan["symbols"]]
    return out


def check_plan(plan: dict[str, Any], where: str) -> None:
    if "split" in plan:  # the same drawing broken at a layer boundary: held to the same rules
        assert len(plan["split"]["bands"]) >= 2, where
        check_plan({k: v for k, v in {**plan, **plan["split"]}.items() if k != "split"}, f"{where} (split)")
    placed = items(plan)
    arrows = [Rect(a["x"], a["y"], a["w"], a["h"]) for a in plan["arrows"]]
    for i, (na, a) in enumerate(placed):
        for nb, b in placed[i + 1:]:
            assert not a.overlaps(b), f"{where}: {na} overlaps {nb}"
        for r in arrows:
            assert not a.overlaps(r), f"{where}: an arrow runs into {na}"
    assert plan["warnings"] == [], where
    # the floor: at MIN_PITCH_MM the widest plan still fits the page's text width (180 mm)
    assert plan["canvas"]["width"] <= PAGE_WIDTH + 1e-6, where
    assert PAGE_WIDTH * MIN_PITCH_MM <= 180
    for band in plan["bands"]:  # every band fits on a page with the exercise's header
        assert band["h"] <= MAX_BAND_H + 2, where
    # the legend lists exactly the roles drawn (plain white weights and results need none)
    used = {b["style"] for b in plan["blocks"]}
    copied = ["copy"] if plan["copied"] or plan.get("split", {}).get("copied") else []
    assert [e["style"] for e in plan["legend"]] == [s for s in STYLES if s in used and s in LEGEND_TEXT] + copied, where
    # a blank is one numbered box: drawn again (a transpose, the next layer's input on top of a
    # continued page, a copy laid out as a map), it is a grey copy with no number
    badges = [c["badge"] for b in plan["blocks"] for c in b["cells"] if "badge" in c]
    assert len(badges) == len(set(badges)), f"{where}: a badge drawn twice: {sorted(b for b in badges if badges.count(b) > 1)}"
    assert set(badges) == {a["badge"] for a in plan["answers"]}, f"{where}: a blank with no box"
    key = any("v" in c for b in plan["blocks"] for c in b["cells"] if "badge" in c)
    assert key or all("v" not in c for b in plan["blocks"] for c in b["cells"] if "copy" in c), f"{where}: a copy gives its answer"
    # one width for every box of one tensor, wherever it is drawn
    widths: dict[str, set[float]] = {}
    for b in plan["blocks"]:
        if b["tensor"]:
            widths.setdefault(b["tensor"], set()).add(b["cw"])
    assert all(len(w) == 1 for w in widths.values()), (where, widths)


def without_answers(d: dict[str, Any]) -> dict[str, Any]:
    """The exercise with every blank's value replaced by 0: what a box may not depend on."""
    tensors = {k: dict(v) for k, v in d["tensors"].items()}
    for b in d["blanks"]:
        for name, idx in b["cells"]:
            vals = tensors[name]["values"] = _copy(tensors[name]["values"])
            if not idx:
                tensors[name]["values"] = 0
                continue
            for i in idx[:-1]:
                vals = vals[i]
            vals[idx[-1]] = 0
    return {**d, "tensors": tensors}


def _copy(v: Any) -> Any:
    return [_copy(x) for x in v] if isinstance(v, list) else v


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("topic", TOPICS)
def test_plan_of_every_seed(topic: str, level: str) -> None:
    for seed in SEEDS:
        d = byhand.make(topic, seed=seed, level=level).to_dict()
        plan = plan_exercise(d, 1)
        check_plan(plan, f"{topic} {level} seed {seed}")
        blind = plan_exercise(without_answers(d), 1)
        assert [b["cw"] for b in blind["blocks"]] == [b["cw"] for b in plan["blocks"]], \
            f"{topic} {level} seed {seed}: a box's width gives its answer away"


def word_sizes(pdf: bytes) -> list[tuple[str, float, bool]]:
    """(text, size in pt, bold) of every number in the PDF's text layer."""
    out: list[tuple[str, float, bool]] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:

        def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
            t = text.strip()
            if re.fullmatch(r"[−-]?\d+", t):
                sy = ((tm[2] * cm[0] + tm[3] * cm[2]) ** 2 + (tm[2] * cm[1] + tm[3] * cm[3]) ** 2) ** 0.5
                sx = ((tm[0] * cm[0] + tm[1] * cm[2]) ** 2 + (tm[0] * cm[1] + tm[1] * cm[3]) ** 2) ** 0.5
                bold = "Bold" in str(font.get("/BaseFont", "")) if isinstance(font, dict) else False
                out.append((t, size * max(sx, sy), bold))

        page.extract_text(visitor_text=visit)
    return out


@pytest.mark.parametrize("topic", TOPICS)
def test_painted_floors_at_the_hardest_level(topic: str) -> None:
    """The PDF itself: no number on the sheet is smaller than the floors (grid digits ≥ 10 pt;
    badges, answer strip and footer ≥ 7 pt; the diagram's text ≥ 2 mm)."""
    ex = byhand.make(topic, seed=2, level="hard")
    sizes = word_sizes(documents.worksheet(ex)[0])
    assert sizes
    small = [(t, round(s, 1)) for t, s, _ in sizes if s < 2 / 25.4 * 72]
    assert not small, f"{topic}: numbers under 2 mm: {small[:10]}"
    small_badges = [(t, round(s, 1)) for t, s, bold in sizes if bold and s < 7.0]
    assert not small_badges, f"{topic}: badges under 7 pt: {small_badges[:10]}"
    # the grid's digits: on the sheet without its diagram, the regular-weight numbers other than
    # the header's and footer's fixed text sizes
    plan = plan_document([plan_exercise(ex.to_dict(), 1)], paper="a4", answer_strip=True, key=False, title=None)
    sizes = word_sizes(render_document(plan)[0])
    grid = [s for _, s, bold in sizes if not bold and round(s, 1) not in (7.5, 8.5, 9.0, 10.0, 12.0)]
    assert grid and min(grid) >= 10.0 - 1e-6, f"{topic}: grid digits at {min(grid):.1f} pt"


def test_the_time_budget_is_printed_beside_the_title() -> None:
    d = byhand.make("linear", seed=1).to_dict()
    assert plan_exercise({k: v for k, v in d.items() if k != "minutes"}, 1)["minutes"] is None
    plan = plan_exercise({**d, "minutes": 20}, 1)
    assert plan["minutes"] == 20
    doc = plan_document([plan], paper="a4", answer_strip=False, key=False, title=None)
    text = PdfReader(io.BytesIO(render_document(doc)[0])).pages[0].extract_text()
    assert "about 20 min" in text


def _value(d: dict[str, Any], name: str, index: list[int]) -> Fraction:
    v: Any = d["tensors"][name]["values"]
    for i in index:
        v = v[i]
    return Fraction(str(v))


def crossings(plan: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each result block with the blocks on its left (same rows) and on top (same columns), read from
    the placed plan itself: what a student reads across and down."""
    blocks = plan["blocks"]
    out = []
    for r in blocks:
        if r["tensor"] is None or not any(a["dir"] == "right" and abs(a["x"] + a["w"] - r["x"]) < 1e-6
                                          and r["y"] - 1e-6 <= a["y"] < r["y"] + r["rows"] for a in plan["arrows"]):
            continue
        left = sorted((b for b in blocks if abs(b["y"] - r["y"]) < 1e-6 and b["x"] < r["x"] and b is not r
                       and b["style"] != "bias" and b["rows"] >= r["rows"]), key=lambda b: b["x"])
        top = sorted((b for b in blocks if abs(b["x"] - r["x"]) < 1e-6 and b["y"] < r["y"]), key=lambda b: b["y"])
        out.append((r, left, top))
    return out


@pytest.mark.parametrize(("topic", "seeds"), [("backprop", range(1, 6)), ("resnet", range(1, 6))])
def test_every_backward_crossing_multiplies_out(topic: str, seeds: range) -> None:
    """dW = dZ·Aᵀ, dA = Wᵀ·dZ, d[A ; X] = [W | I]ᵀ·dZ and dA = [Wᵀ | I]·[dZ ; skip]: in every
    gradient crossing on the sheet, row i of the left operands times column j of the top ones gives
    the engine's value in cell (i, j) — the layout draws a transpose or a slice, never new maths."""
    for seed in seeds:
        d = byhand.make(topic, seed=seed, level="hard").to_dict()
        plan = plan_exercise(d, 1, key=True)
        checked = 0
        for r, left, top in crossings(plan):
            if r["style"] != "grad":
                continue
            # the left operands side by side make one matrix; the top ones stacked another
            lrow = [b for b in left if b["y"] == r["y"]]
            # keep only the contiguous run of blocks ending at the result (the crossing's left side)
            run: list[dict[str, Any]] = []
            x = r["x"] - 0.4
            for b in sorted(lrow, key=lambda b: -b["x"]):
                if abs(b["x"] + b["cols"] * b["cw"] - x) < 1e-6:
                    run.insert(0, b)
                    x = b["x"]
            tops: list[dict[str, Any]] = []
            y = r["y"] - 0.4
            for b in sorted(top, key=lambda b: -b["y"]):
                if abs(b["y"] + b["rows"] - y) < 1e-6 and b["tensor"] is not None:
                    tops.insert(0, b)
                    y = b["y"]
            if not run or not tops:
                continue

            def at(b: dict[str, Any], i: int, j: int, d: dict[str, Any] = d) -> Fraction:
                cell = next(c for c in b["cells"] if c["r"] == i and c["c"] == j)
                return _value(d, b["tensor"], cell["i"])

            lcols = [(b, j) for b in run for j in range(b["cols"])]
            trows = [(b, i) for b in tops for i in range(b["rows"])]
            if len(lcols) != len(trows):
                continue  # a bias column on the right of W (forward crossing): not a gradient crossing
            for i in range(r["rows"]):
                for j in range(r["cols"]):
                    want = at(r, i, j)
                    got = sum((at(lb, i, lj) * at(tb, ti, j) for (lb, lj), (tb, ti) in zip(lcols, trows)),
                              Fraction(0))
                    assert got == want, (topic, seed, r["tensor"], i, j)
            checked += 1
        assert checked >= 2, (topic, seed)


@pytest.mark.parametrize("seed", range(1, 11))
def test_rnn_gradients_over_time_are_one_crossing(seed: int) -> None:
    """Backprop through time: d[A | B] = [dZ₁ | dZ₂]·[H₀ᵀ X₁ᵀ ; H₁ᵀ X₂ᵀ] — the steps side by side on
    the left, each step's [Hₜ₋₁ ; Xₜ]ᵀ a row on top, as its parts; read off the placed plan, row i of
    the left times column j of the top gives the engine's d[A | B][i, j]. dC = dY₂·H₂ᵀ,
    dH₂ = Cᵀ·dY₂ and d[H₁ ; X₂] = [A | B]ᵀ·dZ₂ are crossings too (none left on the shelf)."""
    d = byhand.make("rnn", seed=seed, level="hard").to_dict()
    plan = plan_exercise(d, 1, key=True)
    check_plan(plan, f"rnn hard seed {seed}")
    blocks = plan["blocks"]
    (r,) = [b for b in blocks if b["tensor"] == "dAB"]
    arrows_in = [a for a in plan["arrows"] if a["dir"] == "right" and abs(a["x"] + a["w"] - r["x"]) < 1e-6
                 and r["y"] - 1e-6 <= a["y"] < r["y"] + r["rows"]]
    assert len(arrows_in) == r["rows"]

    def at(b: dict[str, Any], i: int, j: int) -> Fraction:
        cell = next(c for c in b["cells"] if c["r"] == i and c["c"] == j)
        return _value(d, b["tensor"], cell["i"])

    left = sorted((b for b in blocks if b["tensor"] in ("dZ1", "dZ2") and abs(b["y"] - r["y"]) < 1e-6), key=lambda b: b["x"])
    assert [b["tensor"] for b in left] == ["dZ1", "dZ2"]
    assert abs(left[1]["x"] + left[1]["cw"] * left[1]["cols"] + 0.4 - r["x"]) < 1e-6  # right beside d[A | B]
    rows = []
    for t in (1, 2):
        parts = sorted((b for b in blocks if b["tensor"] in (f"H{t - 1}", f"X{t}") and r["y"] - 3 < b["y"] < r["y"]
                        and b["x"] >= r["x"] - 1e-6 and b["rows"] == 1), key=lambda b: b["x"])
        assert [b["tensor"] for b in parts] == [f"H{t - 1}", f"X{t}"]
        assert parts[0]["label"] == f"{tensor_label_of(d, f'H{t - 1}')}ᵀ"
        assert abs(parts[0]["x"] - r["x"]) < 1e-6
        rows.append([(b, j) for b in parts for j in range(b["cols"])])
    assert rows[0][0][0]["y"] < rows[1][0][0]["y"] < r["y"]
    for i in range(r["rows"]):
        for j in range(r["cols"]):
            got = sum((at(lb, i, 0) * at(tb, 0, tj) for lb, (tb, tj) in zip(left, (row[j] for row in rows))), Fraction(0))
            assert got == at(r, i, j), (seed, i, j)
    drawn = {b["tensor"] for b in blocks}
    assert {"dC", "dH2", "dS2", "dZ1", "dZ2", "dY2"} <= drawn
    shelf = [b for b in blocks if b["tensor"] in ("dC", "dH2", "dS2")]
    for b in shelf:  # each of these is the result of a crossing: arrows run into its rows
        assert any(a["dir"] == "right" and abs(a["x"] + a["w"] - b["x"]) < 1e-6 and b["y"] - 1e-6 <= a["y"] < b["y"] + b["rows"]
                   for a in plan["arrows"]), b["tensor"]


def tensor_label_of(d: dict[str, Any], name: str) -> str:
    from byhand.notation import tensor_label

    return tensor_label(d, name)
@pytest.mark.parametrize(("topic", "level"), [("resnet", "medium"), ("resnet", "hard"), ("deep", "hard"),
                                              ("backprop", "hard"), ("gradient-flow", "medium"),
                                              ("mlp", "hard"), ("wide", "hard")])
def test_the_answer_strip_stays_with_its_exercise(topic: str, level: str) -> None:
    """An exercise that ends near the foot of a page moves its last layer to the next page with its
    answer strip, rather than leave the strip alone on a page (resnet medium used to); one that
    cannot share a page with its strip and the sheet's head is split at a layer (gradient-flow
    medium used to leave page 1 with the name line alone); a grid in one piece that cannot share a page
    with its strip (mlp and wide hard used to) goes on at a layer boundary."""
    for seed in (1, 2):
        ex = byhand.make(topic, seed=seed, level=level)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pdf = documents.worksheet(ex)[0]
        assert not [w for w in caught if "stabilize" in str(w.message) or "converge" in str(w.message)]
        texts = [(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]
        strip = [k for k, t in enumerate(texts) if "Answers to exercise" in t]
        assert len(strip) == 1, (seed, strip)
        page = texts[strip[0]].replace("Answers to exercise", "")
        assert re.search(r"Exercise \d", page), f"{topic} {level} seed {seed}: page {strip[0] + 1} holds only the strip"
        assert all(re.search(r"Exercise \d", t) for t in texts), f"{topic} {level} seed {seed}: a page without its exercise"


@pytest.mark.parametrize("seed", [1, 2])
def test_twin_bands_side_by_side(seed: int) -> None:
    """moe hard: experts 1 and 2 draw the same shapes, so they stand side by side in one band (read
    left to right); expert 3 goes on below; conv hard: Xₚ → C goes on from the padding's line."""
    plan = plan_exercise(byhand.make("moe", seed=seed, level="hard").to_dict(), 1)
    z = {b["tensor"]: b for b in plan["blocks"] if b["tensor"] in ("Z1", "Z2", "Z3") and b["style"] != "grad"}
    first = {t: min((b for b in plan["blocks"] if b["tensor"] == t), key=lambda b: b["y"]) for t in z}
    assert abs(first["Z1"]["y"] - first["Z2"]["y"]) < 1e-6 and first["Z2"]["x"] > first["Z1"]["x"] + 3
    assert first["Z3"]["y"] > first["Z1"]["y"] + 3
    conv = plan_exercise(byhand.make("conv", seed=seed, level="hard").to_dict(), 1)
    xp = [b for b in conv["blocks"] if b["tensor"] == "Xp"]
    (c,) = [b for b in conv["blocks"] if b["tensor"] == "C"]
    assert len(xp) == 1 and abs(xp[0]["y"] - c["y"]) < 1e-6 and c["x"] > xp[0]["x"]


@pytest.mark.parametrize("topic", TOPICS)
def test_every_down_arrow_comes_out_of_the_block_right_above_it(topic: str) -> None:
    """A ↓ into a result's column starts at the bottom of its top operand (or the row of 1s under
    it), never in a gap under another block: a crossing drawn under the last one in the same
    columns (attention's K = Wk·X under Q) names its top operand ("↓ X ↓") instead, so nothing reads
    as Q flowing into K."""
    for level in LEVELS:
        for seed in (1, 2, 3):
            plan = plan_exercise(byhand.make(topic, seed=seed, level=level).to_dict(), 1)
            for a in plan["arrows"]:
                if a["dir"] != "down":
                    continue
                mid = a["x"] + a["w"] / 2
                above = [b for b in plan["blocks"] if b["x"] - 1e-6 <= mid <= b["x"] + b["cols"] * b["cw"] + 1e-6
                         and abs(b["y"] + b["rows"] - a["y"]) < 1e-6]
                assert above, f"{topic} {level} seed {seed}: a ↓ at ({a['x']:.1f}, {a['y']:.1f}) out of a gap"
    plan = plan_exercise(byhand.make("attention", seed=1, level="hard").to_dict(), 1)
    assert [s["text"] for s in plan["symbols"] if s["attrs"].get("small")] == ["↓ X ↓", "↓ X ↓"]
