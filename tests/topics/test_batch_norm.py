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
