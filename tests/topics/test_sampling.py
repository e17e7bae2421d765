"""The sampling chapter: a hand-worked example pinned as literal numbers, the temperature's effect,
top-k, and how the sheet is written."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

import byhand
from byhand.errors import ByHandError
from tests.oracle import assert_matches


def _col(ex: byhand.Exercise, name: str) -> list[object]:
    return list(ex.values[name].data)


def test_hand_worked_example() -> None:
    """Z = [2, 4, 3, 0], T = 1, r = 0.1: 3ᶻ = 9, 81, 27, 1, Σ = 118; sorted 81/118, 27/118, 9/118,
    1/118 (words 2, 3, 1, 4); C = 81/118, 54/59, 117/118, 1; 0.1 < 81/118, so word 2."""
    ex = byhand.make("sampling", level="easy", values={"Z": [[2], [4], [3], [0]], "R": [["1/10"]]})
    assert _col(ex, "E") == [9, 81, 27, 1]
    assert _col(ex, "S") == [118]
    assert _col(ex, "P") == [F(9, 118), F(81, 118), F(27, 118), F(1, 118)]
    assert _col(ex, "PS") == [F(81, 118), F(27, 118), F(9, 118), F(1, 118)]
    assert _col(ex, "I") == [2, 3, 1, 4]
    assert _col(ex, "C") == [F(81, 118), F(54, 59), F(117, 118), 1]
    assert _col(ex, "W") == [2]
    # r = 0.7 is past 81/118 ≈ 0.686 and before 54/59 ≈ 0.915: the second range, word 3
    ex = byhand.make("sampling", level="easy", values={"Z": [[2], [4], [3], [0]], "R": [["7/10"]]})
    assert _col(ex, "W") == [3]
    assert_matches(ex.to_dict())


def test_temperature_flattens_and_sharpens() -> None:
    """The same logits: T = 2 halves them (flatter P), T = ½ doubles them (sharper P)."""
    z = {"Z": [[0], [2], [4]], "R": [["1/2"]]}
    flat = byhand.make("sampling", level="medium", vocab=3, values=z)
    sharp = byhand.make("sampling", level="easy", vocab=3, temperature="1/2", values=z)
    plain = byhand.make("sampling", level="easy", vocab=3, values=z)
    assert _col(flat, "ZT") == [0, 1, 2] and _col(flat, "P") == [F(1, 13), F(3, 13), F(9, 13)]
    assert _col(plain, "P") == [F(1, 91), F(9, 91), F(81, 91)]
    assert _col(sharp, "ZT") == [0, 4, 8]
    top = [max(_col(e, "P")) for e in (flat, plain, sharp)]  # type: ignore[type-var]
    assert top == sorted(top) and top[0] < top[2]
    assert _col(flat, "W") == [3] and _col(sharp, "W") == [3]


def test_top_k_renormalises() -> None:
    """Top 2 of [1/13, 3/13, 9/13]: 9/13 and 3/13, Σ 12/13, P′ = 3/4, 1/4; C = 3/4, 1."""
    ex = byhand.make("sampling", level="medium", vocab=3, topk=2, values={"Z": [[0], [2], [4]], "R": [["4/5"]]})
    assert _col(ex, "PK") == [F(9, 13), F(3, 13)]
    assert _col(ex, "IK") == [3, 2]
    assert _col(ex, "SK") == [F(12, 13)]
    assert _col(ex, "PN") == [F(3, 4), F(1, 4)]
    assert _col(ex, "C") == [F(3, 4), 1]
    assert _col(ex, "W") == [2]
    assert_matches(ex.to_dict())


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_every_variant_can_sample_any_rank(level: str) -> None:
    """Over many seeds the word picked is not always the most likely one, and no ties at T = 1, 2."""
    ranks = set()
    for seed in range(60):
        ex = byhand.make("sampling", seed=seed, level=level)
        words = _col(ex, "IK" if "IK" in ex.values else "I")
        ranks.add(words.index(_col(ex, "W")[0]))
        if level != "hard":  # T = 1 and T = 2
            assert len(set(_col(ex, "P"))) == len(_col(ex, "P"))
    assert len(ranks) >= 2


def test_the_sheet_says_what_to_do() -> None:
    from byhand.render.text import render_key, render_text

    ex = byhand.make("sampling", seed=1, level="hard")
    text = render_text(ex) + render_key(ex)
    assert "temperature T = ½" in text and "cumulative column C" in text
    assert "argsort" not in text and "cumsum" not in text and "topk" not in text
    assert "largest of" in text and "is in [" in text  # the steps of the sort and the pick, in words


def test_bad_temperature_is_clear() -> None:
    with pytest.raises(ByHandError, match="choose one of 1, 2, 1/2"):
        byhand.make("sampling", temperature="3")


def test_hard_hides_a_logit_found_back_from_the_printed_sum() -> None:
    """Hard: one logit hidden and Σ printed; the solver (a student's steps, one at a time) takes
    Σ minus the other words' powers, reads the exponent off the power of 3 and multiplies by T;
    medium and inverse=0 hide nothing."""
    from byhand.engine.solver import solve

    for seed in range(60):
        ex = byhand.make("sampling", seed=seed, level="hard")
        asked = {c for b in ex.blanks for c in b.cells}
        hidden = [c for c in asked if c[0] in ex.graph.leaves]
        assert len(hidden) == 1 and hidden[0][0] == "Z" and not any(c[0] == "S" for c in asked)
        v = ex.values
        k = hidden[0][1][0]
        others = sum(v["E"][(i, 0)] for i in range(v["E"].shape[0]) if i != k)
        assert v["E"][(k, 0)] == v["S"].data[0] - others == 3 ** v["ZT"][(k, 0)]
        known = {(n, idx): t[idx] for n, t in v.items() for idx in t.indices() if (n, idx) not in asked}
        sol = solve(ex.graph, known, asked, eliminate=False, check=False)
        assert not sol.undetermined and sol.values[hidden[0]] == v["Z"][(k, 0)]
        assert "Σ is printed" in ex.instructions and "is hidden" in ex.instructions
    for ex in (byhand.make("sampling", seed=1, level="medium"), byhand.make("sampling", seed=1, level="hard", inverse=0)):
        assert not any(c[0] in ex.graph.leaves for b in ex.blanks for c in b.cells)


def test_the_ranges_r_can_fall_in_are_those_of_the_fractions() -> None:
    """The sampler finds the r = m/20 that lie inside a word's range, 1/20 or more from both
    edges, in whole numbers (and caches them); over every weight set the sheets can have (powers of
    3, largest first, up to six words) they are exactly those the Fractions give."""
    import itertools

    from byhand.topics.sampling import R_STEP, _ranges

    for n in range(2, 7):
        for ex in itertools.combinations_with_replacement(range(6), n):
            ws = tuple(sorted((3**x for x in ex), reverse=True))
            total, step, want = sum(ws), F(1, R_STEP), []
            for i in range(n):
                lo, hi = F(sum(ws[:i]), total), F(sum(ws[: i + 1]), total)
                inside = tuple(m for m in range(1, R_STEP) if lo + step <= F(m, R_STEP) <= hi - step)
                if inside:
                    want.append(inside)
            assert _ranges(ws) == tuple(want), ws
