"""topics/_sampling.py: The answer budget that deep and resnet sheets spend row by row while their weights are drawn."""

from __future__ import annotations

import random
from collections import Counter

from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.topics._nets import sample_chain
from byhand.topics._rules import shares, shares_ok
from byhand.topics._sampling import AnswerBudget, Stats, relu_t


def test_a_row_that_would_spend_too_many_zeros_is_refused() -> None:
    budget = AnswerBudget(16)  # at most 4 zeros, no value more than 5 times
    rule = budget.rule(rows=2, reserve=1)
    assert not rule(0, [1, 1], 0, [-1, -2, -3, 0])  # 5 zeros (A: four; Z: one 0)
    assert rule(0, [1, 1], 0, [-1, 2])  # one 0 in A; the 2 written twice
    assert budget.left == 3 and budget.seen == Counter({2: 2, -1: 1})  # zeros are counted in left
    # the next row of the layer may not leave the later layer nothing to cross out
    assert not rule(1, [1, -1], 0, [-1, -1, -1])
    assert rule(1, [1, -1], 0, [3, 4])


def test_a_value_may_not_fill_more_than_a_third() -> None:
    budget = AnswerBudget(12)  # a value at most 4 times
    rule = budget.rule(rows=3, reserve=0)
    assert rule(0, [1], 0, [1, 1])  # 1 written four times (Z and A)
    assert not rule(1, [1], 0, [1, -2])


def test_snapshot_and_restore() -> None:
    budget = AnswerBudget(40)
    state = budget.snapshot()
    assert budget.rule(rows=1, reserve=0)(0, [1], 0, [-1, 2])
    budget.restore(state)
    assert budget.left == 10 and not budget.seen


def test_a_deep_chain_drawn_with_the_budget_keeps_the_share_rule() -> None:
    """Every Z and A of an 8-layer chain of two samples: the rules hold as drawn. A chain may still
    find no friendly row (``make`` then draws again), but rarely."""
    sizes, batch = [2] * 9, 2
    failed = 0
    for seed in range(200):
        try:
            leaves = sample_chain(random.Random(seed), Stats(), sizes, batch, w=(-1, 1), b=(-1, 1), bound=9, budget=True)
        except GenerationError:
            failed += 1
            continue
        a = leaves["X"]
        answers: list[int] = []
        for layer in range(1, 9):
            w, b = leaves[f"W{layer}"], leaves[f"b{layer}"]
            z = [sum(w.data[i * 2 + k] * a.data[k * batch + j] for k in range(2)) + b.data[i]
                 for i in range(2) for j in range(batch)]
            a = relu_t(Tensor((2, batch), z))
            answers += z + a.data
            assert any(v < 0 for v in z), seed  # ReLU crosses something out in every layer
        assert shares_ok(shares(answers)), seed
    assert failed <= 10
