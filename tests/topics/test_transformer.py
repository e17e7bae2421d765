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


# Worked by hand, layer norm (hard: 2 tokens, 4 features). Token 1 attends to itself, token 2 to both.
#   Z = X·A: columns (3,1,1,3) and (4,2,3,3); R = X + Z: (6,2,2,6) and (5,3,5,3)
#   Σ = 16, 16; μ = 4, 4; R − μ: (2,−2,−2,2) and (1,−1,1,−1); squares 4s and 1s; Σ 16, 4
#   σ² = 16/4 = 4 and 4/4 = 1 (÷ 4: the biased variance, as torch); σ = 2, 1
#   R̂ = (R − μ)/σ: (1,−1,−1,1) and (1,−1,1,−1)
#   N = γ·R̂ + β with γ = (2,3,−2,2), β = (1,−1,1,−1): (3,−4,3,1) and (3,−4,−1,−3)
#   U = W₁·N + b₁ = [[2,−2],[6,2]]; H = [[2,0],[6,2]]; F = W₂·H + b₂ = [[3,1],[5,3],[3,1],[7,1]]
#   Y = N + F = [[6,4],[1,−1],[6,0],[8,−2]]
HAND_NORM = {
    "X": [[3, 1], [1, 1], [1, 2], [3, 0]],
    "A": [[1, 1], [0, 1]],
    "GAMMA": [2, 3, -2, 2],
    "BETA": [1, -1, 1, -1],
    "W1": [[1, 0, 0, 1], [0, -1, 1, 0]],
    "b1": [-2, -1],
    "W2": [[1, 0], [-1, 1], [-1, 1], [1, 1]],
    "b2": [1, 1, -1, -1],
}


def test_hand_worked_layer_norm() -> None:
    from tests.oracle import assert_layer_norm, assert_matches

    ex = byhand.make("transformer", level="hard", values=HAND_NORM)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["Z"] == [[3, 4], [1, 2], [1, 3], [3, 3]]
    assert v["R"] == [[6, 5], [2, 3], [2, 5], [6, 3]]
    assert v["RSUM"] == [[16, 16]] and v["MU"] == [[4, 4]]
    assert v["RC"] == [[2, 1], [-2, -1], [-2, 1], [2, -1]]
    assert v["SQ"] == [[4, 1], [4, 1], [4, 1], [4, 1]]
    assert v["SS"] == [[16, 4]] and v["VAR"] == [[4, 1]] and v["SIG"] == [[2, 1]]
    assert v["RH"] == [[1, 1], [-1, -1], [-1, 1], [1, -1]]
    assert v["N"] == [[3, 3], [-4, -4], [3, -1], [1, -3]]
    assert v["U"] == [[2, -2], [6, 2]] and v["H"] == [[2, 0], [6, 2]]
    assert v["F"] == [[3, 1], [5, 3], [3, 1], [7, 1]]
    assert v["Y"] == [[6, 4], [1, -1], [6, 0], [8, -2]]
    steps = {s.cell: s.text for s in ex.steps}
    assert steps[("VAR", (0, 0))] == "16/4 = 4"
    assert steps[("SIG", (0, 0))] == "√4 = 2"
    doc = ex.to_dict()
    assert_matches(doc)
    assert_layer_norm(doc, "R", "RH", "N", "GAMMA", "BETA")


@pytest.mark.parametrize("seed", range(0, 200, 1))
def test_layer_norm_is_exact_and_matches_torch(seed: int) -> None:
    """Every hard seed: μ and σ whole (σ ≥ 1), R̂ = ±1, N whole; torch's layer_norm agrees."""
    from tests.oracle import assert_layer_norm

    ex = byhand.make("transformer", seed=seed, level="hard")
    v = ex.values
    assert all(type(m) is int for m in v["MU"].data)
    assert all(type(s) is int and s >= 1 for s in v["SIG"].data)
    assert all(x in (1, -1) for x in v["RH"].data)
    assert all(type(x) is int and x != 0 for x in v["N"].data)
    n = v["RH"].shape[1]
    assert len({tuple(v["RH"][i, j] for i in range(4)) for j in range(n)}) == n  # no two tokens normalise alike
    assert ex.minutes is not None and ex.minutes <= 45
    assert_layer_norm(ex.to_dict(), "R", "RH", "N", "GAMMA", "BETA")


def test_layer_norm_needs_four_features() -> None:
    from byhand.errors import ByHandError

    with pytest.raises(ByHandError, match="features=4"):
        byhand.make("transformer", level="hard", features=3)


@pytest.mark.parametrize(("level", "leaf", "out"), [("hard", "BETA", "N"), ("medium", "b1", "U")])
def test_the_inverse_blank_is_a_shift_read_back_from_one_printed_cell(level: str, leaf: str, out: str) -> None:
    """With layer norm one βᵢ is hidden and one cell of its row of N printed (medium, by default: one b₁ and
    a cell of U); the solver finds it from that cell alone."""
    from byhand.engine.solver import solve
    from byhand.engine.tensor import indices

    for seed in range(20):
        ex = byhand.make("transformer", seed=seed, level=level, inverse=1)
        blank = set(ex.blank_cells())
        hidden = [c for c in blank if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == leaf, hidden
        (i,) = hidden[0][1]
        printed = [c for c in indices(ex.graph.shapes[out]) if (out, c) not in blank]
        assert len(printed) == 1 and printed[0][0] == i  # one cell of its row shown
        assert f"is hidden: find it from {out}" in ex.instructions
        known = {(n, c): ex.values[n][c] for n in ex.graph.shapes for c in indices(ex.graph.shapes[n]) if (n, c) not in blank}
        sol = solve(ex.graph, known, blank, eliminate=False)
        assert not sol.undetermined and sol.values[hidden[0]] == ex.values[leaf][(i,)]
    default = byhand.make("transformer", seed=0, level=level)
    assert any(c[0] in default.graph.leaves for c in default.blank_cells()) == (level == "medium")  # on at medium


def test_the_hard_diagram_draws_the_layer_norm_and_each_skip_on_its_own_layer() -> None:
    """Y = N + F is the feed-forward's skip (from N), never the scale-and-shift layer's."""
    from byhand.render.diagram import _stages, diagram_svg

    ex = byhand.make("transformer", seed=3, level="hard")
    assert [(s.weight, s.inp, s.skips, s.sum_out, s.norm_of) for s in _stages(ex)] == [
        ("A", "X", ["X"], "R", None),
        ("G", "RH", [], None, "R"),
        ("W1", "N", [], None, None),
        ("W2", "H", ["N"], "Y", None),
    ]
    svg = diagram_svg(ex)
    assert svg is not None and "layer norm" in svg and "skip: + N" in svg and svg.count("<circle") == 2


def test_captions_read_in_the_sheets_language() -> None:
    """The notes under the grids (R's "X + Z: the first residual") are catalogue messages: Hindi and
    Bengali captions, while the exercise file keeps its English words."""
    from byhand.i18n import use_language
    from byhand.notation import tensor_caption

    ex = byhand.make("transformer", seed=3, level="hard")
    with use_language("hi"):
        assert tensor_caption(ex, "R") == "R (X + Z: पहला रेज़िडुअल)"
        assert tensor_caption(ex, "RC") == "R − μ (केंद्रित)"
    with use_language("bn"):
        assert tensor_caption(ex, "R") == "R (X + Z: প্রথম রেসিডুয়াল)"
    assert ex.to_dict()["tensors"]["R"]["note"] == "X + Z: the first residual"
    mh = byhand.make("multi-head", seed=1, level="medium")
    with use_language("hi"):
        assert tensor_caption(mh, "A1") == "A₁ (हेड 1 के भार)"
