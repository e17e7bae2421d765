"""The transformer block: a hand-worked example pinned as literals, whole numbers on every seed,
and the diagram with its two skips."""

from __future__ import annotations

import pytest

import byhand

# Worked by hand: token 1 attends to itself, token 2 to both.
#   Z = X·A = [[1,1],[2,3]]; R = X + Z = [[2,1],[4,4]]
#   U = W₁·R + b₁ = [[0,1],[−1,−2]]; H = ReLU(U) = [[0,1],[0,0]]
#   F = W₂·H + b₂ = [[0,2],[1,0]]; Y = R + F = [[2,3],[5,4]]
HAND = {
    "X": [[1, 0], [2, 1]],
    "A": [[1, 1], [0, 1]],
    "W1": [[-1, 1], [1, -1]],
    "b1": [-2, 1],
    "W2": [[2, 1], [-1, 1]],
    "b2": [0, 1],
}


def test_hand_worked_block() -> None:
    ex = byhand.make("transformer", level="easy", values=HAND)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["Z"] == [[1, 1], [2, 3]]
    assert v["R"] == [[2, 1], [4, 4]]
    assert v["U"] == [[0, 1], [-1, -2]]
    assert v["H"] == [[0, 1], [0, 0]]
    assert v["F"] == [[0, 2], [1, 0]]
    assert v["Y"] == [[2, 3], [5, 4]]
    steps = {s.cell: s.text for s in ex.steps}
    assert steps[("U", (0, 1))] == "(−1)·1 + 1·4 + (−2) = 1"
    assert steps[("Z", (1, 1))] == "2·1 + 1·1 = 3"
    assert steps[("Y", (1, 0))] == "4 + 1 = 5"


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_every_seed_is_whole_and_the_attention_is_not_trivial(level: str) -> None:
    for seed in range(200):
        ex = byhand.make("transformer", seed=seed, level=level)
        assert all(type(v) is int for t in ex.values.values() for v in t.data), ex.identity
        a = ex.values["A"]
        n = a.shape[0]
        assert set(a.data) <= {0, 1}
        assert any(a[i, j] != (1 if i == j else 0) for i in range(n) for j in range(n))  # not the identity
        assert all(any(a.row(i)) for i in range(n))  # every token attended to
        assert any(v < 0 for v in ex.values["U"].data)  # ReLU crosses something out
        assert ex.minutes is not None and ex.minutes <= {"easy": 12, "medium": 25, "hard": 50}[level]


def test_the_diagram_draws_both_skips() -> None:
    from byhand.documents import print_diagram
    from byhand.render.diagram import _stages, diagram_svg

    ex = byhand.make("transformer", seed=3, level="medium")
    st = _stages(ex)
    assert [(s.weight, s.inp, s.skips, s.sum_out) for s in st] == [
        ("A", "X", ["X"], "R"),
        ("W1", "R", [], None),
        ("W2", "H", ["R"], "Y"),
    ]
    svg = diagram_svg(ex)
    assert svg is not None and print_diagram(ex) == svg
    assert svg.count("<circle") == 2 and "skip: + X" in svg and "skip: + R" in svg and "X·A" in svg
