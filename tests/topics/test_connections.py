"""The connections chapter: a hand-worked example pinned as literal numbers, the four kinds of
wiring as the sampler makes them, and the wires drawn from the same 0/1 matrices."""

from __future__ import annotations

import re

import pytest

import byhand
from byhand.render.diagram import wiring_svg
from tests.oracle import assert_matches

X = [[2], [-1], [3]]
W = {
    "W1": [[0, 0, 1], [1, 0, 0], [0, 1, 0]],  # one-to-one: x₃, x₁, x₂
    "W2": [[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]],  # one-to-many: x₁ feeds z₁ and z₃
    "W3": [[1, 1, 0], [0, 0, 1]],  # many-to-one: z₁ = x₁ + x₂
    "W4": [[1, 1, 1], [1, 1, 1]],  # dense: every output the sum of all inputs
}


def test_hand_worked_example() -> None:
    ex = byhand.make("connections", level="easy", values={"X": X, **W})
    col = {k: list(ex.values[k].data) for k in ("Z1", "Z2", "Z3", "Z4")}
    assert col == {"Z1": [3, 2, -1], "Z2": [2, 3, 2, -1], "Z3": [1, 3], "Z4": [4, 4]}
    assert_matches(ex.to_dict())


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_the_four_kinds_of_wiring(level: str) -> None:
    for seed in range(40):
        ex = byhand.make("connections", seed=seed, level=level)
        n = ex.values["X"].shape[0]

        def rows(name: str, ex: byhand.Exercise = ex) -> list[list[object]]:
            t = ex.values[name]
            return [list(t.row(i)) for i in range(t.shape[0])]

        def cols(name: str, n: int = n) -> list[list[object]]:
            r = rows(name)
            return [[row[j] for row in r] for j in range(n)]

        w1, w2, w3, w4 = (rows(f"W{k}") for k in range(1, 5))
        assert all(sum(r) == 1 for r in w1) and all(sum(c) == 1 for c in cols("W1"))  # type: ignore[arg-type]
        assert w1 != [[int(i == j) for j in range(n)] for i in range(n)]  # a permutation that moves something
        assert all(sum(r) == 1 for r in w2) and all(sum(c) >= 1 for c in cols("W2"))  # type: ignore[arg-type]
        assert any(sum(c) >= 2 for c in cols("W2"))  # type: ignore[arg-type]  # one input fans out
        assert all(sum(c) == 1 for c in cols("W3")) and all(sum(r) >= 1 for r in w3)  # type: ignore[arg-type]
        assert any(sum(r) >= 2 for r in w3)  # type: ignore[arg-type]  # one output adds inputs
        assert all(v == 1 for r in w4 for v in r)


def test_the_wires_are_the_ones() -> None:
    """One line per 1 of each matrix, a circle per input and output, captions with the kind."""
    ex = byhand.make("connections", level="easy", values={"X": X, **W})
    svg = wiring_svg(ex)
    assert svg is not None
    ones = sum(v for k in W for row in W[k] for v in row)
    assert svg.count("<line") == ones
    assert svg.count("<circle") == sum(len(W[k]) + 3 for k in W)
    for kind in ("one-to-one", "one-to-many", "many-to-one", "dense"):
        assert kind in svg
    assert re.search(r"font-size='(\d+)'", svg) and min(int(s) for s in re.findall(r"font-size='(\d+)'", svg)) >= 14
    assert wiring_svg(byhand.make("matmul", seed=1)) is None  # not 0/1 weights: no wiring picture


def test_hard_reads_a_hidden_input_back_through_its_one_to_one_wire() -> None:
    """Hard: one input hidden and the one-to-one output its wire feeds printed (equal to it); the
    solver finds it there and uses it for every other kind; medium and inverse=0 hide nothing."""
    from byhand.engine.solver import solve

    for seed in range(60):
        ex = byhand.make("connections", seed=seed, level="hard")
        asked = {c for b in ex.blanks for c in b.cells}
        hidden = [c for c in asked if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "X"
        t, j = hidden[0][1]
        v = ex.values
        (i,) = [r for r in range(v["W1"].shape[0]) if v["W1"][(r, t)] == 1]
        assert ("Z1", (i, j)) not in asked and v["Z1"][(i, j)] == v["X"][(t, j)]
        assert [c for c in ("Z1", "Z2", "Z3", "Z4") for idx in v[c].indices() if (c, idx) not in asked] == ["Z1"]
        known = {(n, idx): x[idx] for n, x in v.items() for idx in x.indices() if (n, idx) not in asked}
        sol = solve(ex.graph, known, asked, eliminate=False, check=False)
        assert not sol.undetermined and sol.values[hidden[0]] == v["X"][(t, j)]
        assert "follow the wire" in ex.instructions
        assert ex.explain(hidden[0]).startswith(f"X[{t + 1},{j + 1}] is hidden: find it from Z₁[{i + 1},{j + 1}] = ")
    for ex in (byhand.make("connections", seed=1, level="medium"), byhand.make("connections", seed=1, level="hard", inverse=0)):
        assert not any(c[0] in ex.graph.leaves for b in ex.blanks for c in b.cells)


def test_the_proof_fails_when_the_wire_that_shows_the_input_is_blank_too() -> None:
    """The uniqueness proof (the solver from the shown cells only, cut short once the hidden cells
    are found) can fail: with the one-to-one output that shows the hidden input blank as well,
    nothing shown determines it (the dense and many-to-one sums are blanks)."""
    from byhand.topics import prove_unique

    for seed in range(20):
        ex = byhand.make("connections", seed=seed, level="hard")
        asked = sorted({c for b in ex.blanks for c in b.cells})
        assert prove_unique(ex.graph, ex.values, asked)
        (hidden,) = [c for c in asked if c[0] == "X"]
        t, j = hidden[1]
        w = ex.values["W1"]
        (i,) = [r for r in range(w.shape[0]) if w[(r, t)] == 1]
        assert not prove_unique(ex.graph, ex.values, asked + [("Z1", (i, j))])
