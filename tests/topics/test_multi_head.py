"""Multi-head attention: a hand-worked example pinned as literals and the levels' starting steps."""

from __future__ import annotations

from fractions import Fraction

import pytest

import byhand

F = Fraction

# Worked by hand (tokens x₁ = (1,0), x₂ = (0,1)):
#   head 1: Q₁ = [1,1], K₁ = [1,0], V₁ = [2,1]; K₁ᵀ·Q₁ = [[1,1],[0,0]] → 3ᶻ [[3,3],[1,1]], Σ [4,4]
#           A₁ = [[3/4,3/4],[1/4,1/4]], Z₁ = [7/4, 7/4]
#   head 2: Q₂ = [0,1], K₂ = [1,1], V₂ = [1,2]; K₂ᵀ·Q₂ = [[0,1],[0,1]] → 3ᶻ [[1,3],[1,3]], Σ [2,6]
#           A₂ = [[1/2,1/2],[1/2,1/2]], Z₂ = [3/2, 3/2]
#   O = Wo·[Z₁ ; Z₂] with Wo = [[1,1],[2,−1]] → [[13/4,13/4],[2,2]]
HAND = {
    "X": [[1, 0], [0, 1]],
    "WQ1": [[1, 1]], "WK1": [[1, 0]], "WV1": [[2, 1]],
    "WQ2": [[0, 1]], "WK2": [[1, 1]], "WV2": [[1, 2]],
    "WO": [[1, 1], [2, -1]],
}


def test_hand_worked_two_heads() -> None:
    ex = byhand.make("multi-head", level="hard", tokens=2, features=2, values=HAND)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["S1"] == [[1, 1], [0, 0]] and v["E1"] == [[3, 3], [1, 1]] and v["SUM1"] == [[4, 4]]
    assert v["A1"] == [[F(3, 4), F(3, 4)], [F(1, 4), F(1, 4)]]
    assert v["Z1"] == [[F(7, 4), F(7, 4)]]
    assert v["SUM2"] == [[2, 6]] and v["Z2"] == [[F(3, 2), F(3, 2)]]
    assert v["ZS"] == [[F(7, 4), F(7, 4)], [F(3, 2), F(3, 2)]]
    assert v["O"] == [[F(13, 4), F(13, 4)], [2, 2]]
    steps = {s.cell: s.text for s in ex.steps}
    assert steps[("O", (0, 0))] == "1·(7/4) + 1·(3/2) = 13/4"


@pytest.mark.parametrize(("level", "first"), [("easy", "ZS"), ("medium", "Z1"), ("hard", "S1")])
def test_levels_start_later_or_earlier(level: str, first: str) -> None:
    ex = byhand.make("multi-head", seed=4, level=level)
    asked = [c[0] for b in ex.blanks for c in b.cells]
    if level == "medium":  # the inverse blank, a weight of Wo found from one printed cell of O, comes first
        assert asked[0] == "WO" and asked.count("WO") == 1
        asked = asked[1:]
    assert asked[0] == first and asked[-1] == "O"
    assert all(type(b.answer) in (int, Fraction) for b in ex.blanks)
    assert ex.values["WQ1"] != ex.values["WQ2"] or ex.values["WK1"] != ex.values["WK2"]  # two different heads


def test_sheet_names_the_heads() -> None:
    from byhand.render.text import render_text

    out = render_text(byhand.make("multi-head", seed=1, level="hard"))
    for name in ("Wq₁", "Wk₂", "K₁ᵀ·Q₁", "Σ₂", "[Z₁ ; Z₂]", "Wo"):
        assert name in out, name


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_the_diagram_draws_two_heads_stacked_then_wo(level: str) -> None:
    """X → each head's Wq·X, Wk·X, Wv·X → Kᵀ·Q → softmax → A → V·A = Zₕ; [Z₁ ; Z₂] → Wo·[Z₁ ; Z₂] → O,
    found by structure and printed under the grid (every level: the heads exist even when given)."""
    from byhand.documents import print_diagram
    from byhand.render.diagram import attention_svg, multi_head_svg

    ex = byhand.make("multi-head", seed=4, level=level)
    svg = multi_head_svg(ex)
    assert svg is not None and print_diagram(ex) == svg
    for word in ("Wq₁·X", "Wk₂·X", "Wv₁·X", "K₁ᵀ·Q₁", "K₂ᵀ·Q₂", "V₁·A₁", "V₂·A₂", "[Z₁ ; Z₂]", "Wo·[Z₁ ; Z₂]",
                 "head 1", "head 2", "softmax", "stack"):
        assert word in svg, word
    assert svg.count("softmax") == 2
    assert attention_svg(ex) is None  # the one-head drawing does not claim it
    assert multi_head_svg(byhand.make("attention", seed=2, level="hard")) is None
    assert multi_head_svg(byhand.make("resnet", seed=1, level="easy")) is None


def test_medium_hides_one_weight_of_wo_found_from_one_printed_cell_of_o() -> None:
    from byhand.engine.solver import solve
    from byhand.engine.tensor import indices

    for seed in range(20):
        ex = byhand.make("multi-head", seed=seed, level="medium")
        blank = set(ex.blank_cells())
        hidden = [c for c in blank if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "WO" and ex.values["WO"][hidden[0][1]] != 0
        r, c = hidden[0][1]
        printed = [x for x in indices(ex.graph.shapes["O"]) if ("O", x) not in blank]
        assert len(printed) == 1 and printed[0][0] == r and ex.values["ZS"][c, printed[0][1]] != 0
        assert "is hidden: find it from O" in ex.instructions
        known = {(n, i): ex.values[n][i] for n in ex.graph.shapes for i in indices(ex.graph.shapes[n]) if (n, i) not in blank}
        sol = solve(ex.graph, known, blank, eliminate=False)
        assert not sol.undetermined and sol.values[hidden[0]] == ex.values["WO"][r, c]
    for level in ("easy", "hard"):
        ex = byhand.make("multi-head", seed=0, level=level)
        assert not any(c[0] in ex.graph.leaves for c in ex.blank_cells())
