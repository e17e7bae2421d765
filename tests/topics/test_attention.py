"""Self-attention: a hand-worked example pinned as literals, the causal mask, and the construction
that keeps every score even (so ÷ √4 = ÷ 2 is whole) on every seed."""

from __future__ import annotations

from fractions import Fraction

import pytest

import byhand
from byhand.topics import attention

F = Fraction

# Worked by hand (tokens are columns; features f1 = [1,0,1], f2 = [0,1,1], f3 = [1,1,0]):
#   K = Wk·X repeats f1 and f2; Q = Wq·X = [f1+f3, f1+f3, f2+f3, f2+f3]
#   Kᵀ·Q = [[4,2,2],[2,4,2],[6,6,4]], ÷ 2 → [[2,1,1],[1,2,1],[3,3,2]]
#   3ᶻ = [[9,3,3],[3,9,3],[27,27,9]]; causal mask → [[9,3,3],[0,9,3],[0,0,9]]; Σ = [9, 12, 15]
#   A = [[1,1/4,1/5],[0,3/4,1/5],[0,0,3/5]]; V = [f1, f2 − f3]; Z = V·A
HAND = {
    "X": [[1, 0, 1], [0, 1, 1], [1, 1, 0]],
    "WK": [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]],
    "WQ": [[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]],
    "WV": [[1, 0, 0], [0, 1, -1]],
}


def test_hand_worked_example_with_the_causal_mask() -> None:
    ex = byhand.make("attention", level="hard", values=HAND)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["Q"] == [[2, 1, 1], [2, 1, 1], [1, 2, 1], [1, 2, 1]]
    assert v["KT"] == [[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]]
    assert v["S"] == [[4, 2, 2], [2, 4, 2], [6, 6, 4]]
    assert v["SC"] == [[2, 1, 1], [1, 2, 1], [3, 3, 2]]
    assert v["E"] == [[9, 3, 3], [3, 9, 3], [27, 27, 9]]
    assert v["EM"] == [[9, 3, 3], [0, 9, 3], [0, 0, 9]]
    assert v["SUM"] == [[9, 12, 15]]
    assert v["A"] == [[1, F(1, 4), F(1, 5)], [0, F(3, 4), F(1, 5)], [0, 0, F(3, 5)]]
    assert v["Z"] == [[1, F(1, 4), F(4, 5)], [-1, F(-1, 4), F(2, 5)]]
    steps = {s.cell: s.text for s in ex.steps}
    assert steps[("EM", (2, 0))] == "0 (key 3 comes after query 1: crossed out)"
    assert steps[("SC", (2, 0))] == "6/2 = 3"
    assert steps[("A", (1, 1))] == "9 / 12 = 3/4"
    # the future keys' 3ᶻ are given (crossed out anyway), every other step is asked
    asked = {c for b in ex.blanks for c in b.cells}
    assert ("E", (2, 0)) not in asked and ("E", (0, 2)) in asked and ("EM", (2, 0)) in asked


def test_without_the_mask_every_key_counts() -> None:
    ex = byhand.make("attention", level="hard", mask=0, values=HAND)
    assert ex.values["SUM"].to_nested() == [[39, 39, 15]]
    assert "EM" not in ex.values


def test_the_mask_op_needs_square_scores() -> None:
    from byhand.engine.ops import OPS
    from byhand.errors import GraphError

    with pytest.raises(GraphError, match="square"):
        OPS["mask_causal"].check([(2, 3)], {}, ["E"])


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_every_seed_is_exact_and_small(level: str) -> None:
    """200 seeds: whole scaled scores within 0 … 3 (3ᶻ ≤ 27), each column's Σ ≤ 60, every answer exact."""
    for seed in range(200):
        ex = byhand.make("attention", seed=seed, level=level)
        sc = ex.values["SC" if "SC" in ex.values else "S"]
        assert all(type(x) is int and 0 <= x <= attention.SCORE_MAX for x in sc.data), ex.identity
        assert all(x <= attention.SUM_MAX for x in ex.values["SUM"].data)
        assert all(type(b.answer) in (int, Fraction) for b in ex.blanks)
        if "SC" in ex.values:
            assert all(x % 2 == 0 for x in ex.values["S"].data)  # Wkᵀ·Wq even: every score even


def test_levels_grow() -> None:
    """easy: two tokens, d_k = 1; medium: three tokens; hard: Q, K, V computed, scaled, masked."""
    e, m, h = (byhand.make("attention", seed=1, level=lv) for lv in ("easy", "medium", "hard"))
    assert e.values["X"].shape[1] == 2 and "SC" not in e.values
    assert m.values["X"].shape[1] == 3 and "SC" not in m.values
    assert "SC" in h.values and "EM" in h.values
    assert any(c[0] == "Q" for b in h.blanks for c in b.cells)
    assert not any(c[0] == "Q" for b in m.blanks for c in b.cells)
    assert len(e.blanks) < len(m.blanks) < len(h.blanks)


def test_printed_hard_sheet_names_every_step() -> None:
    """The printed sheet (PDF text): the method's names, never the program's."""
    pypdf = pytest.importorskip("pypdf")
    import io

    from byhand.printing.render import render_pdf

    ex = byhand.make("attention", seed=3, level="hard")
    pdf = render_pdf([ex.to_dict()])
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for name in ("Wq", "Wk", "Wv", "Kᵀ", "causal mask", "Σ", "attention weights"):
        assert name in text, name
    for internal in ("EM", "SUM", "mask_causal", "WQ"):
        assert internal not in text.split(), internal


def test_the_whiteboard_diagram_follows_the_graph() -> None:
    """X → Wq·X, Wk·X, Wv·X; Kᵀ·Q → ÷ √dₖ → causal mask → softmax → A; V·A → Z — found by structure."""
    from byhand.documents import print_diagram
    from byhand.render.diagram import attention_parts, attention_svg, diagram_svg

    hard = byhand.make("attention", seed=2, level="hard")
    (h,) = attention_parts(hard)
    assert (h.q, h.k, h.v, h.scores, h.scaled, h.masked, h.a, h.z) == ("Q", "K", "V", "S", "SC", True, "A", "Z")
    svg = attention_svg(hard)
    assert svg is not None and print_diagram(hard) == svg and diagram_svg(hard) == svg
    for word in ("Wq·X", "Wk·X", "Wv·X", "Kᵀ·Q", "÷ √dₖ", "causal mask", "softmax", "V·A"):
        assert word in svg, word
    easy = attention_svg(byhand.make("attention", seed=2, level="easy"))
    assert easy is not None and "causal mask" not in easy and "√dₖ" not in easy
    assert attention_svg(byhand.make("resnet", seed=1, level="easy")) is None


def test_the_hint_for_a_masked_cell_asks_the_question() -> None:
    """Hint 2 for the masked 3ᶻ asks whether the key comes after the query, never gives the answer."""
    from byhand.web.hints import hint

    ex = byhand.make("attention", seed=3, level="hard")
    badge = next(b.badge for b in ex.blanks if b.cells[0] == ("EM", (2, 1)))
    h = hint(ex, badge, 2)
    assert h is not None
    assert h["text"].startswith("The causal mask: row 3 is key 3, column 2 is query 2.") and h["text"].endswith("= ?")


@pytest.mark.parametrize(("level", "options"), [("medium", {}), ("hard", {"inverse": 1})])
def test_one_value_weight_hidden_found_from_a_printed_value(level: str, options: dict[str, int]) -> None:
    """Vᵣⱼ = Σ_f Wvᵣf·X_fj printed, one Wvᵣf hidden (a non-zero weight, X_fj ≠ 0): found from that cell
    alone. On by default at medium (V is given there); at hard, V is asked but for that one cell."""
    from byhand.engine.solver import solve
    from byhand.engine.tensor import indices

    for seed in range(20):
        ex = byhand.make("attention", seed=seed, level=level, **options)
        blank = set(ex.blank_cells())
        hidden = [c for c in blank if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "WV" and ex.values["WV"][hidden[0][1]] != 0
        r, f = hidden[0][1]
        printed = [x for x in indices(ex.graph.shapes["V"]) if ("V", x) not in blank]
        assert any(x[0] == r and ex.values["X"][f, x[1]] != 0 for x in printed)
        assert len(printed) == (1 if level == "hard" else len(ex.values["V"].data))
        assert "is hidden: find it from V" in ex.instructions
        known = {(n, i): ex.values[n][i] for n in ex.graph.shapes for i in indices(ex.graph.shapes[n]) if (n, i) not in blank}
        sol = solve(ex.graph, known, blank, eliminate=False)
        assert not sol.undetermined and sol.values[hidden[0]] == ex.values["WV"][r, f]
