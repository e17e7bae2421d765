"""linear_layer draws the same rows as the plain rejection loop it replaced (the same random numbers,
the same rows accepted, the same rows refused, the same failures): it only skips re-checking rows
refused once, and counts off the draws of a row that no row there is can fill. The reference below
is the loop as it was (commit 64a97c8), kept here so the shortcut can be checked against it."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

import byhand
from byhand.engine.tensor import Tensor
from byhand.engine.values import Value
from byhand.errors import GenerationError
from byhand.topics._sampling import MAX_ROW_TRIES, AnswerBudget, Stats, draw, draws, linear_layer


def reference_linear_layer(
    rng: random.Random,
    x: Tensor,
    rows: int,
    *,
    w: tuple[int, int] = (-2, 2),
    b: tuple[int, int] | None = (-2, 2),
    bound: int = 12,
    stats: Stats | None = None,
    relu: bool = False,
    even_negatives: bool = False,
    col_limit: int | None = None,
    gain_limit: int | None = None,
    offset: Tensor | None = None,
    row_rule: Callable[[int, list[int], int, list[Any]], bool] | None = None,
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Sample ``W`` (rows × n) and ``b`` for ``Z = W·X + b`` row by row; return W, b, Z.

    Every |z| ≤ bound; no weight row all zeros, no two rows alike, no Z row all zeros.
    ``relu``: one row (chosen at random) must hold a negative to cross out and another must be
    positive in every column, so no sample dies. ``even_negatives``: negatives of Z even (LeakyReLU
    with slope 1/2 then keeps integers). ``col_limit``: the absolute sum of each weight column
    stays ≤ it, which bounds how much gradients can grow on the way back. ``gain_limit``: the same,
    counting only the rows ReLU lets a gradient through (a row with some z > 0); rows that ReLU
    blocks are always allowed, so row-by-row sampling never paints itself into a corner.
    """
    n = x.shape[0]
    s = x.shape[1] if len(x.shape) == 2 else 1
    xd = x.data
    want_neg = rng.randrange(rows) if relu else -1
    want_pos = -1
    if relu and rows > 1:
        want_pos = rng.choice([r for r in range(rows) if r != want_neg])
    elif relu:
        want_neg = -1  # a single row cannot hold both; the row still may not be all negative
    w_rows: list[list[int]] = []
    b_vals: list[int] = []
    z_rows: list[list[Value]] = []
    col_sum = [0] * n
    gain = [0] * n
    for i in range(rows):
        for _ in range(MAX_ROW_TRIES):
            wr = draws(rng, n, *w)
            bi = draw(rng, *b) if b is not None else 0
            if stats:
                stats.drawn += 1
            if not any(wr) or (wr, bi) in zip(w_rows, b_vals):
                continue
            if col_limit is not None and any(col_sum[k] + abs(wr[k]) > col_limit for k in range(n)):
                continue
            zr = [
                sum(wr[k] * xd[k * s + j] for k in range(n)) + bi + (offset.data[i * s + j] if offset is not None else 0)
                for j in range(s)
            ]
            if any(abs(v) > bound for v in zr) or not any(zr):
                continue
            active = not relu or any(v > 0 for v in zr)
            if gain_limit is not None and active and any(gain[k] + abs(wr[k]) > gain_limit for k in range(n)):
                continue
            if relu:
                if i == want_neg and not any(v < 0 for v in zr):
                    continue
                if i == want_pos and not all(v > 0 for v in zr):
                    continue
                if rows == 1 and not any(v > 0 for v in zr):
                    continue
            if even_negatives and any(v < 0 and v % 2 for v in zr):
                continue
            if row_rule is not None and not row_rule(i, wr, bi, zr):
                continue
            break
        else:
            raise GenerationError(
                f"no friendly weight row {i + 1} after {MAX_ROW_TRIES} tries; widen the value range or lower the depth"
            )
        if stats:
            stats.accepted += 1
        w_rows.append(wr)
        b_vals.append(bi)
        z_rows.append(zr)
        for k in range(n):
            col_sum[k] += abs(wr[k])
            if not relu or any(v > 0 for v in zr):
                gain[k] += abs(wr[k])
    wt = Tensor((rows, n), [v for r in w_rows for v in r])
    bt = Tensor((rows,), b_vals) if b is not None else None
    zt = Tensor((rows, s) if len(x.shape) == 2 else (rows,), [v for r in z_rows for v in r])
    return wt, bt, zt


def _run(fn: Any, seed: int, spec: dict[str, Any], budgeted: bool) -> tuple[Any, float]:
    rng = random.Random(seed)
    x = Tensor(spec["shape"], [rng.randint(-2, 3) for _ in range(spec["shape"][0] * spec["shape"][1])])
    kw = {k: v for k, v in spec.items() if k not in ("shape", "rows", "answers", "skip")}
    if budgeted:
        budget = AnswerBudget(spec.get("answers", 12))
        kw["row_rule"] = budget.rule(spec["rows"], reserve=1, skip=x if spec.get("skip") else None)
        if spec.get("skip"):
            kw["offset"] = x
    stats = Stats()
    try:
        w, b, z = fn(rng, x, spec["rows"], stats=stats, **kw)
        out: Any = (w.data, b.data if b is not None else None, z.data, stats.drawn, stats.accepted)
    except GenerationError:
        out = ("failed", stats.drawn)
    return out, rng.random()  # the random numbers used after: the same stream either way


SPECS = [
    {"shape": (2, 1), "rows": 2, "w": (-1, 1), "b": (-1, 1), "bound": 9, "relu": True},
    {"shape": (2, 2), "rows": 2, "w": (-1, 1), "b": (-1, 1), "bound": 9, "relu": True, "answers": 8},
    {"shape": (3, 2), "rows": 3, "w": (-1, 2), "b": (-1, 1), "bound": 8, "relu": True, "answers": 10},
    {"shape": (3, 2), "rows": 3, "w": (-1, 2), "b": (-1, 1), "bound": 8, "relu": True, "skip": True, "answers": 12},
    {"shape": (2, 2), "rows": 2, "w": (-2, 2), "b": (-2, 2), "bound": 4, "relu": True, "col_limit": 2},
    {"shape": (3, 2), "rows": 3, "w": (-2, 2), "b": None, "bound": 6, "relu": True, "gain_limit": 3},
    {"shape": (2, 2), "rows": 2, "w": (-2, 2), "b": (-2, 2), "bound": 6, "relu": True, "even_negatives": True},
]


@pytest.mark.parametrize("budgeted", [False, True])
@pytest.mark.parametrize("k", range(len(SPECS)))
def test_the_same_rows_as_the_plain_loop(k: int, budgeted: bool) -> None:
    spec = SPECS[k]
    if spec.get("skip") and not budgeted:
        spec = {key: v for key, v in spec.items() if key != "skip"}
    failed = 0
    for seed in range(300):
        new = _run(linear_layer, seed, spec, budgeted)
        old = _run(reference_linear_layer, seed, spec, budgeted)
        assert new == old, (seed, spec)
        failed += new[0][0] == "failed"
    assert failed < 300  # the specs are not all impossible


def test_a_row_no_draw_can_fill_fails_as_before() -> None:
    """An impossible layer (every z over the bound) fails after the same draws, without checking them."""
    rng_new, rng_old = random.Random(5), random.Random(5)
    x = Tensor((2, 1), [9, 9])
    for fn, rng in ((linear_layer, rng_new), (reference_linear_layer, rng_old)):
        stats = Stats()
        with pytest.raises(GenerationError):
            fn(rng, x, 2, w=(1, 2), b=(0, 1), bound=3, stats=stats)
        assert stats.drawn == MAX_ROW_TRIES
    assert rng_new.random() == rng_old.random()


@pytest.mark.parametrize("depth", [8, 10])
def test_deep_backprop_keeps_the_rules(depth: int) -> None:
    """Beyond three layers a layer that cuts a sample's gradient off is drawn again at once; the
    sheets still keep every rule (the rule test covers the levels; this, the deep options)."""
    from tests.topics.test_rules import broken_rules

    for seed in range(12):
        ex = byhand.make("backprop", seed=seed, depth=depth, width=2)
        assert not broken_rules(ex), (seed, broken_rules(ex))
