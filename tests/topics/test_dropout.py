"""The dropout chapter: a hand-worked example pinned as literal numbers, and what every variant
teaches (a dropped unit that had a value, a kept one, inference without dropout)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

import byhand
from tests.oracle import assert_matches


def test_hand_worked_example() -> None:
    """X = [1, 2, −1], one layer of 3 units, p = ½; r = 0.3, 0.8, 0.5 → drop, keep, keep;
    D = diag(0, 2, 2); A = [3, 0, 4] → A_drop = [0, 0, 8]."""
    values = {
        "X": [[1], [2], [-1]],
        "W1": [[1, 1, 0], [0, -1, 1], [2, 1, 0]],
        "b1": [0, 1, 0],
        "R": ["3/10", "4/5", "1/2"],
    }
    ex = byhand.make("dropout", level="easy", units=3, values=values)
    assert list(ex.values["Z1"].data) == [3, -2, 4]
    assert list(ex.values["A1"].data) == [3, 0, 4]
    assert list(ex.values["M"].data) == [0, 1, 1]  # 0.5 ≥ ½: kept (r < p drops)
    assert list(ex.values["D"].data) == [0, 0, 0, 0, 2, 0, 0, 0, 2]
    assert list(ex.values["AD"].data) == [0, 0, 8]
    assert_matches(ex.to_dict())


def test_inference_has_no_dropout() -> None:
    """Hard: p = ¼, so the kept units ×4/3; Y_infer uses A₁ as it is."""
    ex = byhand.make("dropout", seed=1, level="hard")
    a, ad, m = ex.values["A1"], ex.values["AD"], ex.values["M"]
    rows, cols = a.shape
    for i in range(rows):
        for j in range(cols):
            assert ad[i, j] == (a[i, j] * F(4, 3) if m[(i,)] else 0)
    w2, yi = ex.values["W2"], ex.values["YI"]
    assert yi[0, 0] == sum(w2[0, k] * a[k, 0] for k in range(rows))


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_every_variant_drops_something_that_matters(level: str) -> None:
    for seed in range(60):
        ex = byhand.make("dropout", seed=seed, level=level)
        a, m = ex.values["A1"], ex.values["M"]
        rows, cols = a.shape
        live = [any(a[i, j] for j in range(cols)) for i in range(rows)]
        assert any(live[i] and not m[(i,)] for i in range(rows))  # a unit with a value is dropped
        assert any(live[i] and m[(i,)] for i in range(rows))  # and one is kept
        assert any(v < 0 for v in ex.values["Z1"].data)  # ReLU crosses something out


def test_hard_recovers_a_kept_activation_from_its_scaled_output() -> None:
    """Hard: one bias of a kept, alive unit hidden and one of its A_drop cells printed; the solver
    (a student's steps, one at a time) undoes the scaling, then ReLU, then the layer; medium and
    inverse=0 hide nothing."""
    from fractions import Fraction

    from byhand.engine.solver import solve

    for seed in range(60):
        ex = byhand.make("dropout", seed=seed, level="hard")
        asked = {c for b in ex.blanks for c in b.cells}
        hidden = [c for c in asked if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "b1"
        i = hidden[0][1][0]
        v = ex.values
        printed = [j for j in range(v["AD"].shape[1]) if ("AD", (i, j)) not in asked]
        assert len(printed) == 1
        j = printed[0]
        assert v["M"][(i,)] == 1 and v["A1"][(i, j)] > 0  # kept and alive: the scaling undone gives z
        assert v["AD"][(i, j)] * Fraction(3, 4) == v["A1"][(i, j)]  # p = 1/4: ×4/3 undone
        known = {(n, idx): t[idx] for n, t in v.items() for idx in t.indices() if (n, idx) not in asked}
        sol = solve(ex.graph, known, asked, eliminate=False, check=False)
        assert not sol.undetermined and sol.values[hidden[0]] == v["b1"][(i,)]
        assert "undo the scaling (÷ 4/3)" in ex.instructions
    for ex in (byhand.make("dropout", seed=1, level="medium"), byhand.make("dropout", seed=1, level="hard", inverse=0)):
        assert not any(c[0] in ex.graph.leaves for b in ex.blanks for c in b.cells)


def test_one_sample_has_exactly_one_unit_crossed_out() -> None:
    """With one sample (easy) the layer is drawn row by row with the rule built in: one unit's z is
    negative (ReLU crosses it out) and every other unit's is positive — none dead besides it, none 0."""
    for seed in range(100):
        z = byhand.make("dropout", seed=seed, level="easy").values["Z1"].data
        assert sum(v < 0 for v in z) == 1 and sum(v > 0 for v in z) == len(z) - 1, (seed, z)
