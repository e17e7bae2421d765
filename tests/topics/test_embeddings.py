"""Embeddings: the lookup as a crossing, positions added, and the hidden position column."""

from __future__ import annotations

import byhand

# Worked by hand: words "a b a" → T = [[1,0,1],[0,1,0]]; E = [[2,−1],[1,3]] (a = (2,1), b = (−1,3))
#   X = E·T = [[2,−1,2],[1,3,1]]; P = [[1,0,−1],[0,1,2]]; H = X + P = [[3,−1,1],[1,4,3]]
HAND = {"E": [[2, -1], [1, 3]], "T": [[1, 0, 1], [0, 1, 0]], "P": [[1, 0, -1], [0, 1, 2]]}


def test_hand_worked_lookup_and_positions() -> None:
    ex = byhand.make("embeddings", level="easy", vocab=2, tokens=3, values=HAND)
    assert ex.values["X"].to_nested() == [[2, -1, 2], [1, 3, 1]]
    assert ex.values["H"].to_nested() == [[3, -1, 1], [1, 4, 3]]
    steps = {s.cell: s.text for s in ex.steps}
    assert steps[("X", (0, 2))] == "2·1 + (−1)·0 = 2"  # the one-hot's 1 picks word a
    assert steps[("H", (1, 2))] == "1 + 2 = 3"
    # the same word twice: the same embedding, different inputs only through the positions
    assert ex.values["X"].to_nested()[0][0] == ex.values["X"].to_nested()[0][2]
    assert ex.values["H"].to_nested()[0][0] != ex.values["H"].to_nested()[0][2]


def test_every_seed_uses_every_word_and_hard_hides_a_position() -> None:
    for seed in range(200):
        for level in ("easy", "medium", "hard"):
            ex = byhand.make("embeddings", seed=seed, level=level)
            t = ex.values["T"]
            assert all(sum(t[i, j] for i in range(t.shape[0])) == 1 for j in range(t.shape[1]))  # one-hot columns
            assert all(any(t.row(i)) for i in range(t.shape[0]))  # every word used
            hidden = {c for b in ex.blanks for c in b.cells if c[0] == "P"}
            assert bool(hidden) == (level == "hard")
            if hidden:
                (k,) = {c[1][1] for c in hidden}
                asked_h = {c for b in ex.blanks for c in b.cells if c[0] == "H"}
                assert not any(c[1][1] == k for c in asked_h)  # that column of H is shown


def test_tokens_fewer_than_words_is_refused() -> None:
    import pytest

    from byhand.errors import ByHandError

    with pytest.raises(ByHandError, match="every word used"):
        byhand.make("embeddings", vocab=4, tokens=3)
