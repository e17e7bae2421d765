"""The batch-norm chapter: a hand-worked example pinned as literal numbers; every μ and σ exact."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

import byhand
from tests.oracle import assert_matches


def test_hand_worked_example() -> None:
    """Feature 1: 3, 1, 3, 1 → Σ 8, μ 2, X − μ = 1, −1, 1, −1, σ² 1, σ 1, X̂ = 1, −1, 1, −1.
    Feature 2: 0, 4, 4, 0 → Σ 8, μ 2, X − μ = −2, 2, 2, −2, σ² 4, σ 2, X̂ = −1, 1, 1, −1.
    γ = [3, 2], β = [1, −1]: Y = 4, −2, 4, −2 and −3, 1, 1, −3."""
    values = {"X": [[3, 1, 3, 1], [0, 4, 4, 0]], "GAMMA": [3, 2], "BETA": [1, -1],
              "ONES": [1, 1, 1, 1], "I": [[1, 0], [0, 1]], "ONE": 1}
    ex = byhand.make("batch-norm", level="hard", features=2, values=values)
    v = {k: list(ex.values[k].data) for k in ("SUM", "MU", "XC", "VAR", "SIG", "SINV", "XH", "Y")}
    assert v["SUM"] == [8, 8] and v["MU"] == [2, 2]
    assert v["XC"] == [1, -1, 1, -1, -2, 2, 2, -2]
    assert v["VAR"] == [1, 4] and v["SIG"] == [1, 2] and v["SINV"] == [1, F(1, 2)]
    assert v["XH"] == [1, -1, 1, -1, -1, 1, 1, -1]
    assert v["Y"] == [4, -2, 4, -2, -3, 1, 1, -3]
    assert_matches(ex.to_dict())


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_mean_and_sigma_are_whole(level: str) -> None:
    for seed in range(60):
        ex = byhand.make("batch-norm", seed=seed, level=level)
        assert all(type(m) is int and m != 0 for m in ex.values["MU"].data)
        if "SIG" in ex.values:
            assert all(type(s) is int and s >= 1 for s in ex.values["SIG"].data)
            assert all(x in (1, -1) for x in ex.values["XH"].data)


def _asked(ex: byhand.Exercise) -> set[tuple[str, tuple[int, ...]]]:
    return {c for b in ex.blanks for c in b.cells}


def test_hard_hides_one_shift_found_back_from_a_printed_output() -> None:
    """Hard: one β hidden and exactly one output y of its row printed; the solver (a student's
    steps, one at a time, no elimination) finds β = y − γ·x̂ from it; medium and inverse=0 hide nothing."""
    from byhand.engine.solver import solve
    from byhand.topics import prove_unique

    for seed in range(60):
        ex = byhand.make("batch-norm", seed=seed, level="hard")
        asked = _asked(ex)
        hidden = [c for c in asked if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "BETA"
        i = hidden[0][1][0]
        printed = [j for j in range(4) if ("Y", (i, j)) not in asked]
        assert len(printed) == 1
        j = printed[0]
        v = ex.values
        assert v["BETA"][(i,)] == v["Y"][(i, j)] - v["GAMMA"][(i,)] * v["XH"][(i, j)]
        assert prove_unique(ex.graph, v, sorted(asked))
        known = {(n, idx): t[idx] for n, t in v.items() for idx in t.indices() if (n, idx) not in asked}
        sol = solve(ex.graph, known, asked, eliminate=False, check=False)
        assert not sol.undetermined and sol.values[hidden[0]] == v["BETA"][(i,)]
        assert "β = y − γ·x̂" in ex.instructions and "is hidden" in ex.instructions
        assert f"find it from Y[{i + 1},{j + 1}] = " in ex.explain(hidden[0])  # the printed output, not a blank
    for ex in (byhand.make("batch-norm", seed=1, level="medium"), byhand.make("batch-norm", seed=1, level="hard", inverse=0)):
        assert not any(c[0] in ex.graph.leaves for c in _asked(ex))


def test_a_teachers_values_need_only_x_gamma_and_beta() -> None:
    """The 1s, the identity of [I | −μ] and the 1 of 1/σ are the method's constants (as resnet's
    identity): implied, sized by X; given wrong they are refused; X sets the features and must
    have one column per sample."""
    values = {"X": [[1, 3, 1, 3], [4, 0, 0, 4]], "GAMMA": [2, 3], "BETA": [1, -1]}
    ex = byhand.make("batch-norm", level="hard", values=values, inverse=0)
    assert ex.values["MU"].data == [2, 2] and ex.values["SIG"].data == [1, 2]
    assert ex.values["Y"].to_nested() == [[-1, 3, -1, 3], [2, -4, -4, 2]]
    assert ex.values["I"].to_nested() == [[1, 0], [0, 1]] and ex.values["ONES"].data == [1, 1, 1, 1]
    easy = byhand.make("batch-norm", level="easy", values={"X": values["X"]})
    assert easy.values["SUM"].data == [8, 8]
    with pytest.raises(byhand.ByHandError, match="ONES is implied by the chapter"):
        byhand.make("batch-norm", level="easy", values={"X": values["X"], "ONES": [1, 2, 1, 1]})
    with pytest.raises(byhand.ByHandError, match="X must have 4 columns"):
        byhand.make("batch-norm", level="easy", values={"X": [[1, 2, 3]]})
    with pytest.raises(byhand.ByHandError, match="the values lack GAMMA, BETA; give every one of: X .*, GAMMA .*, BETA"):
        byhand.make("batch-norm", level="hard", values={"X": values["X"]})
