"""Hand-friendly sampling: small integers, layer by layer and row by row.

Each output row of a linear layer depends only on its own weight row and bias, so a row that
breaks a rule (a value too large, a repeated row, a missing negative for ReLU to cross out) is
drawn again on its own. The cost grows linearly with the depth of a network, not exponentially as
with rejecting whole exercises. :class:`Stats` counts the draws so ``byhand stress`` can report the
acceptance rate.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import mul
from typing import Any

from byhand.engine.tensor import Tensor
from byhand.engine.values import Value
from byhand.errors import GenerationError
from byhand.i18n import M_

MAX_ROW_TRIES = 200
ENUMERATE_AFTER = 24  # missed draws of a row before every row there is is checked once
MAX_ENUMERATED = 1024  # … when there are at most this many

# How often each small integer is drawn: 0, 1, −1 and 2 the most, as in the published workbooks.
_WEIGHTS = {0: 5, 1: 6, -1: 5, 2: 4, -2: 3, 3: 2, -3: 2, 4: 1, -4: 1, 5: 1, -5: 1}


@dataclass
class Stats:
    """Draws made and accepted while sampling one exercise."""

    drawn: int = 0
    accepted: int = 0


_TABLES: dict[tuple[int, int], list[int]] = {}


def _table(lo: int, hi: int) -> list[int]:
    """lo…hi, each value repeated by its weight: one uniform index is one weighted draw."""
    key = (lo, hi)
    t = _TABLES.get(key)
    if t is None:
        t = _TABLES[key] = [v for v in range(lo, hi + 1) for _ in range(_WEIGHTS.get(v, 1))]
    return t


def draw(rng: random.Random, lo: int, hi: int) -> int:
    """One small integer from lo…hi, the friendly ones more often."""
    t = _table(lo, hi)
    return t[int(rng.random() * len(t))]


def draws(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    t = _table(lo, hi)
    k = len(t)
    r = rng.random
    return [t[int(r() * k)] for _ in range(n)]


def vector(
    rng: random.Random, n: int, lo: int, hi: int, *, stats: Stats | None = None, ok: Callable[[list[int]], bool] | None = None
) -> list[int]:
    """A vector that is not all zeros (and passes ``ok``)."""
    for _ in range(MAX_ROW_TRIES):
        v = draws(rng, n, lo, hi)
        if stats:
            stats.drawn += 1
        if any(v) and (ok is None or ok(v)):
            if stats:
                stats.accepted += 1
            return v
    raise GenerationError(M_("no friendly vector of {n} in {lo}…{hi} after {tries} tries; widen the range",
                             n=n, lo=lo, hi=hi, tries=MAX_ROW_TRIES))


def uniform_vector(rng: random.Random, n: int, lo: int, hi: int, stats: Stats, ok: Callable[[list[int]], bool]) -> list[int]:
    """A vector of integers drawn evenly from lo…hi that passes ``ok`` (exponents of softmax)."""
    for _ in range(MAX_ROW_TRIES):
        v = [rng.randint(lo, hi) for _ in range(n)]
        stats.drawn += 1
        if ok(v):
            stats.accepted += 1
            return v
    raise GenerationError(M_("no friendly vector of {n} in {lo}…{hi} after {tries} tries",
                             n=n, lo=lo, hi=hi, tries=MAX_ROW_TRIES))


RowRule = Callable[[int, list[int], int, list[Value]], bool]


def linear_layer(
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
    row_rule: RowRule | None = None,
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
    # the draws below are those of ``draws`` and ``draw`` (the same variants for the same seed),
    # with the tables, the input's columns and the bounds looked up once, not once a row
    tw = _table(*w)
    kw = len(tw)
    tb = _table(*b) if b is not None else None
    kb = len(tb) if tb is not None else 0
    rand = rng.random
    cols = [[xd[k * s + j] for k in range(n)] for j in range(s)]
    od = offset.data if offset is not None else None
    ks = range(n)
    w_rows: list[list[int]] = []
    b_vals: list[int] = []
    z_rows: list[list[Value]] = []
    taken: set[tuple[tuple[int, ...], int]] = set()
    col_sum = [0] * n
    gain = [0] * n
    drawn = 0
    values_w = sorted(set(tw))
    values_b = sorted(set(tb)) if tb is not None else [0]
    space = len(values_w) ** n * len(values_b)  # every row there is
    per_try = n + (1 if tb is not None else 0)  # random numbers a try takes
    products: list[tuple[tuple[int, ...], list[Value]]] | None = None
    rule_test = getattr(row_rule, "test", None)  # the row rule asked without spending (AnswerBudget)
    for i in range(rows):
        off = od[i * s:(i + 1) * s] if od is not None else None

        def check(
            wr: list[int] | tuple[int, ...], bi: int, u: list[Value], i: int = i, off: list[Value] | None = off
        ) -> list[Value] | None:
            """z of the row (``u``: W·x of it) if it keeps every rule but the row rule, else None (no
            side effects)."""
            if not any(wr) or (tuple(wr), bi) in taken:
                return None
            if col_limit is not None and any(col_sum[k] + abs(wr[k]) > col_limit for k in ks):
                return None
            zr = [v + bi for v in u]
            if off is not None:
                zr = [v + o for v, o in zip(zr, off)]
            hi, lo = max(zr), min(zr)
            if hi > bound or lo < -bound or not any(zr):
                return None
            if gain_limit is not None and (not relu or hi > 0) and any(gain[k] + abs(wr[k]) > gain_limit for k in ks):
                return None
            if relu:
                if i == want_neg and not lo < 0:
                    return None
                if i == want_pos and not lo > 0:
                    return None
                if rows == 1 and not hi > 0:
                    return None
            if even_negatives and any(v < 0 and v % 2 for v in zr):
                return None
            return zr

        # Every check is free of side effects until a row is taken (the row rule changes its budget
        # only when it says yes), so a row refused once is refused again this row; and once the
        # random draws have missed a while, every row there is (when they are few) is checked once,
        # the row rule asked without spending (its ``test``):
        # if none can pass, the draws still due are only counted off (the same random numbers are
        # used, so the same variants come out), not checked one by one.
        refused: set[tuple[tuple[int, ...], int]] = set()
        feasible: set[tuple[tuple[int, ...], int]] | None = None
        tries = 0
        zr = None
        while tries < MAX_ROW_TRIES:
            tries += 1
            wr = [tw[int(rand() * kw)] for _ in ks]
            bi = tb[int(rand() * kb)] if tb is not None else 0
            drawn += 1
            key = (tuple(wr), bi)
            if key in refused or (feasible is not None and key not in feasible):
                continue
            # ``check``, written out: this is the hot loop of every chapter drawn row by row
            zr_or_none = None
            if any(wr) and key not in taken and (
                col_limit is None or all(col_sum[k] + abs(wr[k]) <= col_limit for k in ks)
            ):
                zt_ = [sum(map(mul, wr, c)) + bi for c in cols]
                if off is not None:
                    zt_ = [v + o for v, o in zip(zt_, off)]
                hi, lo = max(zt_), min(zt_)
                if (
                    -bound <= lo
                    and hi <= bound
                    and any(zt_)
                    and (
                        gain_limit is None
                        or (relu and hi <= 0)
                        or all(gain[k] + abs(wr[k]) <= gain_limit for k in ks)
                    )
                    and (
                        not relu
                        or (
                            (i != want_neg or lo < 0)
                            and (i != want_pos or lo > 0)
                            and (rows != 1 or hi > 0)
                        )
                    )
                    and not (even_negatives and any(v < 0 and v % 2 for v in zt_))
                ):
                    zr_or_none = zt_
            if zr_or_none is None or (row_rule is not None and not row_rule(i, wr, bi, zr_or_none)):
                refused.add(key)
                if feasible is not None:
                    feasible.discard(key)
                elif tries >= ENUMERATE_AFTER and space <= MAX_ENUMERATED:
                    if products is None:  # W·x of every weight row there is, once a layer
                        products = [
                            (c, [sum(map(mul, c, col)) for col in cols]) for c in itertools.product(values_w, repeat=n)
                        ]
                    # a rule whose test reads only the row's z (``by_z``) is asked once for each z
                    tested: dict[tuple[Value, ...], bool] | None = {} if getattr(rule_test, "by_z", False) else None

                    def keeps(
                        c: tuple[int, ...], b2: int, zc: list[Value], i: int = i,
                        tested: dict[tuple[Value, ...], bool] | None = tested,
                    ) -> bool:
                        if rule_test is None:
                            return True
                        if tested is None:
                            return rule_test(i, list(c), b2, zc) is not None
                        zk = tuple(zc)
                        r = tested.get(zk)
                        if r is None:
                            r = tested[zk] = rule_test(i, list(c), b2, zc) is not None
                        return r

                    feasible = set()
                    for c, u, lo_u, hi_u in _spans(products, off):
                        if not any(c):
                            continue  # (check refuses a row of zeros)
                        # the bounds and ReLU's sign rules first, as the biases they leave (whole
                        # numbers: the row's least and largest z are lo_u + b and hi_u + b), then the
                        # whole check
                        lo_b, hi_b = (_bias_span(lo_u, hi_u, bound, relu, i, want_neg, want_pos, rows)
                                      if lo_u is not None else (None, None))
                        for b2 in values_b:
                            if lo_b is not None and not lo_b <= b2 <= hi_b:  # type: ignore[operator]
                                continue
                            k2 = (c, b2)
                            if k2 not in refused and (zc := check(c, b2, u)) is not None and keeps(c, b2, zc):
                                feasible.add(k2)
                if feasible is not None and not feasible:  # nothing can pass: count the rest off
                    for _ in range((MAX_ROW_TRIES - tries) * per_try):
                        rand()
                    drawn += MAX_ROW_TRIES - tries
                    break
                continue
            zr = zr_or_none
            break
        if zr is None:
            if stats:
                stats.drawn += drawn
            raise GenerationError(M_(
                "no friendly weight row {row} after {tries} tries; widen the value range or lower the depth",
                row=i + 1, tries=MAX_ROW_TRIES,
            ))
        active = not relu or max(zr) > 0
        taken.add(key)
        w_rows.append(wr)
        b_vals.append(bi)
        z_rows.append(zr)
        for k in ks:
            col_sum[k] += abs(wr[k])
            if active:
                gain[k] += abs(wr[k])
    if stats:
        stats.drawn += drawn
        stats.accepted += rows
    wt = Tensor((rows, n), [v for r in w_rows for v in r])
    bt = Tensor((rows,), b_vals) if b is not None else None
    zt = Tensor((rows, s) if len(x.shape) == 2 else (rows,), [v for r in z_rows for v in r])
    return wt, bt, zt


def _spans(
    products: list[tuple[tuple[int, ...], list[Value]]], off: list[Value] | None
) -> Iterator[tuple[tuple[int, ...], list[Value], Any, Any]]:
    """Each weight row's W·x with the least and largest of W·x (+ the offset) when they are whole
    numbers (else None: no shortcut, the full check decides)."""
    for c, u in products:
        v = u if off is None else [a + o for a, o in zip(u, off)]
        if all(type(a) is int for a in v):
            yield c, u, min(v), max(v)
        else:
            yield c, u, None, None


def _bias_span(lo_u: int, hi_u: int, bound: int, relu: bool, i: int, want_neg: int, want_pos: int, rows: int) -> tuple[int, int]:
    """The whole biases b that ``linear_layer``'s check may let through for a row whose z are u + b
    with least lo_u and largest hi_u: its bounds (−bound ≤ z ≤ bound) and ReLU's sign rules (the
    row that must cross out has a z < 0, the row that must pass has every z > 0, a single row a
    z > 0). A necessary condition: a bias outside is refused by the check, one inside is checked."""
    lo_b, hi_b = -bound - lo_u, bound - hi_u
    if relu:
        if i == want_neg:
            hi_b = min(hi_b, -lo_u - 1)
        if i == want_pos:
            lo_b = max(lo_b, 1 - lo_u)
        if rows == 1:
            lo_b = max(lo_b, 1 - hi_u)
    return lo_b, hi_b


class AnswerBudget:
    """The zeros and repeats a forward sheet may hold (its answers: Z and A of every layer), spent
    row by row while the weights are drawn (a :func:`linear_layer` ``row_rule``).

    A z > 0 is written twice (in Z and in A), a z ≤ 0 gives a 0 in A (and a z = 0 one more). At
    most a quarter of the answers may be 0 and no value more than a third of them (``_rules``); so
    a row that would break that, or leave too few zeros for the rows still to come (each ReLU
    crosses something out), is drawn again on its own, instead of the whole sheet being drawn again
    and again. ``per_block``: the zeros to keep for each block of layers still to come."""

    def __init__(self, answers: int, per_block: int = 1) -> None:
        self.left = answers // 4
        self.top = answers // 3
        self.seen: Counter[Any] = Counter()
        self.per_block = per_block

    def snapshot(self) -> tuple[int, Counter[Any]]:
        return self.left, Counter(self.seen)

    def restore(self, state: tuple[int, Counter[Any]]) -> None:
        """Back to a snapshot: the layers drawn since are drawn again."""
        self.left, self.seen = state[0], Counter(state[1])

    def rule(
        self, rows: int, reserve: int, skip: Tensor | None = None, relu: bool = True, spread: bool = False
    ) -> Callable[[int, list[int], int, list[Any]], bool]:
        """A ``linear_layer`` row rule; ``skip``: the X added to f(X), whose row is taken away again
        for the same layer without the skip (Z′ = Z − X), which is a blank too; ``relu=False``: the
        read-out, each value written once."""
        crossed = [False]  # without the skip: has ReLU crossed something out yet?
        layer_crossed = [False]  # has a row of this layer crossed something out?
        # ``spread``: the zeros spread over the layers still to come (``reserve`` of them), so the
        # last layers of a deep chain are not left with none to cross out
        cap = [max(1, self.left // (reserve + 1)) if spread else self.left]

        def test(i: int, wr: list[int], bi: int, zr: list[Any]) -> tuple[list[Any], int, bool, bool] | None:
            """Would the row keep the budget? (its values, zeros, crossing out, and without the skip;
            no side effects)"""
            vs = zr
            skip_crosses = False
            if skip is not None:
                ps = [v - x for v, x in zip(zr, skip.row(i))]
                skip_crosses = any(p < 0 for p in ps)
                if i == rows - 1 and not crossed[0] and not skip_crosses:
                    return None
                vs = zr + ps
            if relu:
                z = sum((v <= 0) + (v == 0) for v in vs)
            else:
                z = sum(v == 0 for v in vs)
            crosses = relu and z > 0
            # a later row of this layer has to cross out if none has yet
            keep = reserve + (1 if i < rows - 1 and not (layer_crossed[0] or crosses) else 0)
            if z > self.left - keep or z > cap[0]:
                return None
            top = self.top
            seen = self.seen.get  # (a Counter's seen[v] calls __missing__ for each new v)
            for v in vs:  # a z > 0 is written twice, in Z and in A
                if v > 0 and relu:
                    if seen(v, 0) + 2 * vs.count(v) > top:
                        return None
                elif v != 0 and seen(v, 0) + vs.count(v) > top:
                    return None
            return vs, z, crosses, skip_crosses

        def ok(i: int, wr: list[int], bi: int, zr: list[Any]) -> bool:
            t = test(i, wr, bi, zr)
            if t is None:
                return False
            vs, z, crosses, skip_crosses = t
            self.left -= z
            cap[0] -= z
            layer_crossed[0] = layer_crossed[0] or crosses
            seen = self.seen
            for v in vs:
                seen[v] = seen.get(v, 0) + (2 if v > 0 and relu else 1)
            if skip_crosses:
                crossed[0] = True
            return True

        test.by_z = True  # type: ignore[attr-defined]  # its verdict reads the row's z (and i) only
        ok.test = test  # type: ignore[attr-defined]  # linear_layer asks without spending
        return ok


def relu_t(z: Tensor, alpha: Value = 0) -> Tensor:
    return Tensor(z.shape, [v if v > 0 else v * alpha for v in z.data])


def pick(rng: random.Random, seq: Sequence[object], k: int) -> list[object]:
    return rng.sample(list(seq), min(k, len(seq)))
