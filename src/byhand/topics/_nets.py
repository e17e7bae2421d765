"""Chains of layers, shared by the network chapters: ``Z_l = W_l·A_{l−1} + b_l``, ``A_l = ReLU(Z_l)``.

The output of a layer (after its activation) becomes the input on top of the next; the input is
``X`` with one column per sample.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from operator import mul
from typing import Any

from byhand.engine.graph import Node
from byhand.engine.tensor import Shape, Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics._rules import shares, shares_ok
from byhand.topics._sampling import _WEIGHTS, AnswerBudget, Stats, draws, linear_layer, relu_t, vector


def chain(
    sizes: list[int], batch: int, *, act: str = "relu", alpha: str | None = None, last_act: bool = True
) -> tuple[list[Node], dict[str, Shape]]:
    """Nodes and leaf shapes for layers of the given sizes (sizes[0] is the input)."""
    nodes: list[Node] = []
    leaves: dict[str, Shape] = {"X": (sizes[0], batch)}
    prev = "X"
    depth = len(sizes) - 1
    for layer in range(1, depth + 1):
        leaves[f"W{layer}"] = (sizes[layer], sizes[layer - 1])
        leaves[f"b{layer}"] = (sizes[layer],)
        nodes.append(Node("linear", (f"W{layer}", f"b{layer}", prev), f"Z{layer}"))
        prev = f"Z{layer}"
        if layer < depth or last_act:
            attrs = {"alpha": alpha} if act == "leaky_relu" and alpha else {}
            nodes.append(Node(act, (f"Z{layer}",), f"A{layer}", attrs))
            prev = f"A{layer}"
    return nodes, leaves


def softmax_columns(z: str, p: str = "P", *, base: int = 3, temperature: int = 1) -> tuple[list[Node], dict[str, str]]:
    """A softmax written the method's way, column by column, each step a tensor of its own (so any
    of them can be a blank): ``z/T`` (when T ≠ 1), ``3ᶻ``, their ``Σ`` under each column, and
    ``P = 3ᶻ ÷ Σ``. Published: z = [1, 0, 1, 5] → 3, 1, 3, 243 → Σ 250 → P = 3/250, ….
    Returns the nodes and the maths names of the new tensors."""
    nodes: list[Node] = []
    labels: dict[str, str] = {}
    src, cell = z, "ᶻ"
    if temperature != 1:
        nodes.append(Node("scale", (z,), f"{z}T", {"by": f"1/{temperature}"}))
        labels[f"{z}T"] = f"{z}/T"  # written "Z/T = Z/2": the temperature's letter, then its value
        src, cell = f"{z}T", f"^({z}/T)"
    nodes += [
        Node("exp", (src,), "E", {"base": base}),
        Node("colsum", ("E",), "S"),
        Node("div", ("E", "S"), p),
    ]
    labels |= {"E": f"{base}{cell}", "S": f"Σ {base}{cell}"}
    return nodes, labels


def sample_chain(
    rng: random.Random,
    stats: Stats,
    sizes: list[int],
    batch: int,
    *,
    x_range: tuple[int, int] = (-2, 3),
    w: tuple[int, int] = (-2, 2),
    b: tuple[int, int] = (-2, 2),
    bound: int = 12,
    last_act: bool = True,
    alpha: Any = 0,
    even_negatives: bool = False,
    col_limit: int | None = None,
    gain_limit: int | None = None,
    keep: dict[str, Tensor] | None = None,
    budget: bool = False,
) -> dict[str, Tensor]:
    """Hand-friendly leaves for :func:`chain`, drawn layer by layer, row by row. ``budget``: every
    Z and A is an answer, and each row keeps the sheet's zero and repeat rules as it is drawn
    (:class:`AnswerBudget`; ReLU on every layer)."""
    depth = len(sizes) - 1
    x = input_matrix(rng, stats, sizes[0], batch, x_range)
    out: dict[str, Tensor] = {"X": x}
    acts = [x]  # the input of each layer
    layer = 1
    backtracks = 0
    answers = AnswerBudget(2 * sum(sizes[1:]) * batch) if budget and last_act and alpha == 0 else None
    states: list[tuple[int, Counter[Any]]] = []  # the budget before each layer, for a layer drawn again
    while layer <= depth:
        act = layer < depth or last_act
        if answers is not None:
            del states[layer - 1:]
            states.append(answers.snapshot())
        try:
            wt, bt, z = linear_layer(
                rng,
                acts[layer - 1],
                sizes[layer],
                w=w,
                b=b,
                bound=bound,
                stats=stats,
                relu=act,
                even_negatives=even_negatives and act,
                col_limit=col_limit if act else None,
                gain_limit=gain_limit if act else None,
                row_rule=answers.rule(sizes[layer], reserve=depth - layer, spread=True) if answers is not None else None,
            )
        except GenerationError:
            # this layer's input leaves no friendly row: draw the layer before it again
            backtracks += 1
            if layer == 1 or backtracks > 8 * depth:
                raise
            layer -= 1
            acts.pop()
            if answers is not None:
                answers.restore(states[layer - 1])
            continue
        assert bt is not None
        out[f"W{layer}"], out[f"b{layer}"] = wt, bt
        acts.append(relu_t(z, alpha) if act else z)
        layer += 1
    if keep is not None:
        keep["out"] = acts[-1]  # the last layer's output, for a chapter that builds on it
    return out


def input_matrix(rng: random.Random, stats: Stats, rows: int, cols: int, lo_hi: tuple[int, int], nonzero: bool = False) -> Tensor:
    """Samples as columns; no column and (with two or more samples) no row all zeros.
    ``nonzero``: no entry 0 at all (each 0 in X is a 0 in dW1)."""
    if nonzero:
        nz = [v for v in range(lo_hi[0], lo_hi[1] + 1) if v for _ in range(_WEIGHTS.get(v, 1))]
        while True:  # and no two samples alike (ReLU could not tell them apart)
            stats.drawn += 1
            cs = [[rng.choice(nz) for _ in range(rows)] for _ in range(cols)]
            if len({tuple(c) for c in cs}) == cols or rows == 1 and cols > 3:
                stats.accepted += 1
                return Tensor((rows, cols), [cs[j][i] for i in range(rows) for j in range(cols)])
    for _ in range(200):
        cs = [vector(rng, rows, *lo_hi, stats=stats) for _ in range(cols)]
        x = Tensor((rows, cols), [cs[j][i] for i in range(rows) for j in range(cols)])
        if cols == 1 or all(any(x.row(i)) for i in range(rows)):
            return x
    raise GenerationError("no input without an all-zero row; widen the value range")


def all_cells(vals: dict[str, Tensor], names: list[str]) -> list[tuple[str, tuple[int, ...]]]:
    return [(n, i) for n in names for i in vals[n].indices()]


# -- backprop: constructed, not rejected -----------------------------------------------------------
#
# A backprop variant is worth a student's time when every hidden layer crosses something out, no
# hidden unit is dead for every sample (a dead unit makes a whole row of dW and db zero), every
# sample keeps a gradient in every layer, and P − Y has small denominators. Rejecting whole
# exercises until one passes costs time exponential in the depth. Here the ReLU pattern of each
# layer is chosen first and each weight row is drawn for it, the bias chosen from the integers that
# give exactly that pattern; the output is chosen for a friendly P; then one exact backward pass
# (plain integers and fractions, no graph) checks that the gradient reaches every sample.

# P of a two-class softmax₃ column with logits d apart: |d| = 0, 1, 2 → denominators 2, 4, 10.
_CE_DENOMINATOR = {0: 2, 1: 4, 2: 10}
MASKED_ROW_TRIES = 10  # random draws for a row before every row is listed
BELOW_LOGITS = 3  # small activations under the logits: P stays friendly
UNDER = 4
TARGET_TRIES = 12  # targets Y tried on one forward pass (the gradient is linear in Ŷ − Y)


def relu_plan(rng: random.Random, rows: int, batch: int, uniform: bool = False) -> list[str]:
    """What ReLU does to each unit across the samples: ``on`` (passes every sample), ``mixed``
    (blocks one sample or more, passes another) or ``off`` (blocks every sample). One unit is
    crossed out for some sample (two at times in a larger layer), every unit passes some sample, so
    no row of dW is all zero, and the ``on`` units pass every sample its gradient. With one sample
    (or ``uniform``: samples ReLU cannot tell apart) one unit is off."""
    if rows == 1:
        return ["mixed"] if batch > 1 and not uniform else ["on"]
    plan = ["on"] * rows
    if batch == 1 or uniform:
        plan[rng.randrange(rows)] = "off"
        return plan
    n_mixed = 1 if rows * batch < 6 or rows < 3 or rng.random() < 0.7 else 2  # few zeros
    for i in rng.sample(range(rows), n_mixed):
        plan[i] = "mixed"
    return plan


def planned_layer(
    rng: random.Random,
    a: list[list[Any]],
    rows: int,
    plan: list[str] | None,
    w: tuple[int, int],
    b: tuple[int, int],
    bound: int,
    stats: Stats,
    col_limit: int | None,
    nonzero: bool = False,
    offset: list[list[Any]] | None = None,
    seen: Counter[Any] | None = None,
) -> tuple[list[list[int]], list[int], list[list[Any]]]:
    """Weight rows for the input ``a`` (n rows × s samples) whose z follows the ReLU ``plan``
    (``None``: any signs, z ≠ 0 somewhere in each row); the bias is chosen among those that give
    the plan, not drawn and rejected. ``nonzero``: no weight is 0, so a gradient arriving at a unit
    above reaches every unit below. ``offset``: added to z (the skip of a residual block).
    ``seen``: how often each value has been written so far; of the biases that fit, one whose z
    repeats them least is taken, so no one number fills the sheet."""
    nz = [v for v in range(w[0], w[1] + 1) if v for _ in range(_WEIGHTS.get(v, 1))]
    n, s = len(a), len(a[0])
    acols = [[a[k][j] for k in range(n)] for j in range(s)]  # the input's columns, looked up once
    wr_all: list[list[int]] = []
    b_all: list[int] = []
    z_all: list[list[Any]] = []
    col_sum = [0] * n
    ks = range(n)
    b_lo, b_hi = b

    def fits(
        wr: list[int] | tuple[int, ...], i: int, want: str | None, u: list[Any] | None = None
    ) -> tuple[list[Any], list[int]]:
        """z without the bias, and the biases that give the plan (an interval, less a few points)."""
        if u is None:
            u = [sum(map(mul, wr, col)) for col in acols]
        if offset is not None:
            u = [x + y for x, y in zip(u, offset[i])]
        umin, umax = min(u), max(u)
        lo = max(b_lo, -bound - umin)
        hi = min(b_hi, bound - umax)
        if want == "on":
            lo = max(lo, 1 - umin)
        elif want == "off":
            hi = min(hi, -1 - umax)
        elif want == "mixed":
            lo = max(lo, 1 - umax)
            hi = min(hi, -1 - umin)
        if lo > hi:
            return u, []
        if want is None:
            out = [bi for bi in range(lo, hi + 1) if umin != umax or bi != -umin]
        elif want == "mixed":
            out = [bi for bi in range(lo, hi + 1) if -bi not in u]  # no z exactly 0
        else:
            out = list(range(lo, hi + 1))
        if wr_all and list(wr) in wr_all:  # no two rows alike
            taken = {bi for w2, bi in zip(wr_all, b_all) if w2 == list(wr)}
            out = [bi for bi in out if bi not in taken]
        return u, out

    def usable(wr: list[int] | tuple[int, ...]) -> bool:
        if col_limit is None:
            return nonzero or any(wr)  # (no weight 0: never all zero)
        return any(wr) and all(col_sum[k] + abs(wr[k]) <= col_limit for k in ks)

    every_row: list[tuple[tuple[int, ...], list[Any]]] | None = None  # every row and its z less bias
    for i in range(rows):
        want = plan[i] if plan is not None else None
        for _ in range(MASKED_ROW_TRIES):
            wr = [rng.choice(nz) for _ in ks] if nonzero else draws(rng, n, *w)
            stats.drawn += 1
            if not usable(wr):
                continue
            u, bs = fits(wr, i, want)
            if bs:
                bi = _least_seen(rng, u, bs, seen)
                break
        else:
            # a few random draws missed: list every row (few for a small layer) and pick one that fits
            values = sorted(set(nz)) if nonzero else list(range(w[0], w[1] + 1))
            if len(values) ** n > 4096:
                raise GenerationError(M_("no friendly weight row {row} after {tries} tries; lower the depth",
                                         row=i + 1, tries=MASKED_ROW_TRIES))
            if every_row is None:  # the same input for every row of the layer: its products once
                every_row = [(c, [sum(map(mul, c, col)) for col in acols]) for c in itertools.product(values, repeat=n)]
            every = [
                (list(c), bs)
                for c, u0 in every_row
                if usable(c)
                for bs in [fits(c, i, want, u0)[1]]
                if bs
            ]
            stats.drawn += len(values) ** n
            if not every:
                raise GenerationError(M_("no friendly weight row {row} for this input; lower the depth", row=i + 1))
            wr, bs = rng.choice(every)
            u, _ = fits(wr, i, want)
            bi = _least_seen(rng, u, bs, seen)
        stats.accepted += 1
        wr_all.append(wr)
        b_all.append(bi)
        z_all.append([x + bi for x in u])
        if seen is not None:
            seen.update(z_all[-1])
        for k in ks:
            col_sum[k] += abs(wr[k])
    return wr_all, b_all, z_all


def _least_seen(rng: random.Random, u: list[Any], bs: list[int], seen: Counter[Any] | None) -> int:
    if seen is None or len(bs) == 1:
        return rng.choice(bs)
    score = {bi: sum(seen[x + bi] for x in u) for bi in bs}
    low = min(score.values())
    return rng.choice([bi for bi in bs if score[bi] == low])


def _ce_row(
    rng: random.Random,
    a: list[list[Any]],
    w0: list[int],
    b0: int,
    z0: list[Any],
    stats: Stats,
    alive: Callable[[list[list[int]]], bool] | None = None,
) -> tuple[list[int], int, list[Any]] | None:
    """The second logit row, built from the first: w0 + δw, b0 + δb with each column's two logits
    at most 2 apart (P = ½, ¼ | ¾ or 1/10 | 9/10), the columns' denominators dividing one another
    (no sum mixes quarters with tenths), and not every column an even ½ | ½. Every δw_k is ±1: the
    gradient that reaches unit k below is (w0 − w1)_k·(P − Y)₀, so none is blocked there."""
    n, s = len(a), len(a[0])
    signs = list(itertools.product((1, -1), repeat=n)) if n <= 6 else [tuple(rng.choice((1, -1)) for _ in range(n))]
    rng.shuffle(signs)
    for dw in signs:
        stats.drawn += 1
        w1 = [x + y for x, y in zip(w0, dw)]
        if any(abs(v) > 2 for v in w1) or not any(w1):
            continue
        if alive is not None and not alive([w0, w1]):
            continue  # the direction of every sample's gradient is fixed by δw: it must reach the input
        u = [sum(w1[k] * a[k][j] for k in range(n)) for j in range(s)]
        lo = max([-3, b0 - 3] + [z0[j] - u[j] - 2 for j in range(s)])
        hi = min([3, b0 + 3] + [z0[j] - u[j] + 2 for j in range(s)])
        options = []
        for b1 in range(lo, hi + 1):
            d = [abs(z0[j] - u[j] - b1) for j in range(s)]
            if not any(d):
                continue
            if 1 in d and 2 in d:
                continue  # quarters and tenths in one sum
            options.append(b1)
        if options:
            b1 = rng.choice(options)
            stats.accepted += 1
            return w1, b1, [x + b1 for x in u]
    return None


def sample_backprop(
    rng: random.Random,
    stats: Stats,
    sizes: list[int],
    batch: int,
    *,
    loss: str,
    x_range: tuple[int, int] = (-1, 2),
    w: tuple[int, int] = (-1, 2),
    b: tuple[int, int] = (-2, 2),
    bound: int = 6,
    grad_bound: int = 20,
    col_limit: int | None = 2,
    ask: str = "grads",
    gain: int | None = None,
) -> dict[str, Tensor]:
    """Leaves of a backprop exercise (``chain(sizes, batch, last_act=False)`` + a loss) that pass
    the rules; one exact backward pass checks the gradient (``GenerationError`` if it dies, which
    ``make`` answers with a fresh draw).

    ``gain`` (a deep chain, beyond three layers): the gradient's size is kept in view as the layers
    are drawn. Every map from a hidden layer's gradient down to a layer below (the Wᵀ and ReLU
    masks between) keeps each row's absolute sum ≤ ``gain``, or the layer is drawn again at once;
    hidden weights may be 0 (a 0 lets a unit's gradient pass on without doubling; with ±1 only,
    every layer where a sample passes both units doubles it, 2⁹ over ten layers); and the output
    error of each sample (Ŷ − Y, sse) is chosen among all of ±1, ±2 for the smallest gradient that
    reaches every layer, not drawn at random."""
    depth = len(sizes) - 1
    x = input_matrix(rng, stats, sizes[0], batch, x_range, nonzero=True)
    a = [x.row(i) for i in range(sizes[0])]
    for _ in range(8 if gain is not None and batch > 1 else 0):
        if _splittable(a, w, b, bound):
            break  # (else the first layer could never be drawn: samples too alike)
        x = input_matrix(rng, stats, sizes[0], batch, x_range, nonzero=True)
        a = [x.row(i) for i in range(sizes[0])]
    out: dict[str, Tensor] = {"X": x}
    acts = [a]
    masks: list[list[list[bool]]] = []
    weights: list[list[list[int]]] = []
    pre: list[list[list[Any]]] = []  # Z of every layer
    seen: Counter[Any] = Counter()
    # paths[l - 1][j]: for sample j, the maps from the gradient at hidden layer l (dZ) down to
    # each hidden layer k ≤ l (the ReLU masks and Wᵀ between). A layer that would make one of them
    # all zero kills that sample's gradient below it whatever the layers above do, so it is drawn
    # again at once: the cost grows with the depth, not with the chance that a whole sheet lives.
    paths: list[list[list[list[list[int]]]]] = []
    grown: list[list[list[list[int]]]] | None = None
    layer = 1
    backtracks = 0
    while layer <= depth:
        last = layer == depth
        a = acts[-1]
        plan = None if last else relu_plan(rng, sizes[layer], batch)
        ce = last and loss == "ce" and sizes[layer] == 2
        below_ce = loss == "ce" and layer == depth - 1
        for attempt in range(4):
            try:
                wr, br, zr = planned_layer(
                    rng,
                    a,
                    1 if ce else sizes[layer],
                    plan,
                    w,
                    b,
                    min(bound, BELOW_LOGITS) if below_ce else min(bound, UNDER) if loss == "ce" else bound,
                    stats,
                    None if last or layer > 1 else col_limit,  # non-zero weights: the backward pass bounds them
                    nonzero=layer > 1 and (gain is None or last),
                    seen=seen,
                )
                if ce:  # whether the logits can be friendly depends on the layer below only
                    second = _ce_row(
                        rng,
                        a,
                        wr[0],
                        br[0],
                        zr[0],
                        stats,
                        lambda wl: all(_alive(weights + [wl], masks, j, [1, -1]) for j in range(batch)),
                    )
                    if second is None:
                        raise GenerationError("no friendly logits")
                    wr.append(second[0])
                    br.append(second[1])
                    zr.append(second[2])
                if depth > 3 and layer > 1 and (plan is not None or loss == "sse"):  # (shallow: cheap to redraw)
                    # (the read-out has no ReLU: it passes every sample)
                    passes = [[v > 0 for v in r] for r in zr] if plan is not None else [[True] * batch for _ in zr]
                    grown = _paths_grow(paths[-1], wr, passes, batch, gain if plan is not None else None)
                    if grown is None:  # some sample's gradient would die below whatever comes above
                        raise _DeadPath("a dead gradient path")
                if gain is not None and batch > 1 and layer < depth - 1 and not _splittable(
                    [[v if v > 0 else 0 for v in r] for r in zr], w, b, bound
                ):  # the next ReLU must pass one sample and block another: this output leaves it no way
                    raise _DeadPath("samples too alike for the next layer")
                break
            except GenerationError as err:
                if ce:
                    attempt = 99
                    break
                if not last:  # this input cannot give that pattern (e.g. two equal samples): another
                    # (a dead path is the weights' fault, not the input's: a pattern that tells the
                    # samples apart again, not one that blocks a unit for both)
                    dead = isinstance(err, _DeadPath)
                    plan = relu_plan(rng, sizes[layer], batch, uniform=attempt >= 1 and not dead and depth <= 3)
        else:
            attempt = 99
        if attempt == 99:  # this layer's input leaves no friendly row: draw the layer below again
            backtracks += 1
            if layer == 1 or backtracks > 4 * depth:
                raise GenerationError("no friendly layer; lower the depth")
            layer -= 1
            acts.pop()
            weights.pop()
            pre.pop()
            masks.pop()
            del paths[layer - 1:]  # the maps of the layer drawn again go too (paths[-1] is the layer below it)
            continue
        out[f"W{layer}"] = Tensor((sizes[layer], len(a)), [v for r in wr for v in r])
        out[f"b{layer}"] = Tensor((sizes[layer],), br)
        weights.append(wr)
        pre.append(zr)
        if plan is not None:
            if not any(v < 0 for r in zr for v in r):
                raise GenerationError("ReLU has nothing to cross out (one unit, one sample): widen the layer")
            masks.append([[v > 0 for v in r] for r in zr])
            acts.append([[v if v > 0 else 0 for v in r] for r in zr])
            if depth <= 3:
                pass  # no paths kept: a shallow sheet is cheap to draw again
            elif layer == 1:
                paths.append([[_mask_matrix(masks[0], j)] for j in range(batch)])
            else:
                assert grown is not None
                paths.append(grown)
        else:
            acts.append(zr)
        layer += 1
    a = acts[-1]
    yhat = a
    rows = len(yhat)
    forward: list[Any] = []
    p_int: list[list[int]] = []
    if ask == "all":  # the forward cells are answers too (with a softmax, not the logits: its
        # printed 3ᶻ column gives them, so the sheet prints them; ``backprop.blanks`` does the same)
        zs = pre[:-1] if loss == "ce" else pre
        forward = [v for layer_z in zs for r in layer_z for v in r] + [v for layer_a in acts[1:-1] for r in layer_a for v in r]
    errors: list[list[list[int]]] = []
    if loss == "sse" and gain is not None:
        # each sample's own errors, smallest gradient first; tried in pairs of low rank
        per = [_friendly_errors(rng, weights, masks, acts, j, rows, grad_bound) for j in range(batch)]
        if not all(per):
            raise GenerationError("no output error reaches every layer; another draw")
        combos = sorted(itertools.product(*[range(len(c)) for c in per]), key=sum)[:TARGET_TRIES]
        errors = [[per[j][k] for j, k in enumerate(c)] for c in combos]
    if loss == "sse":
        targets: list[Any] = errors or [None] * TARGET_TRIES
    else:
        targets = list(itertools.product(range(rows), repeat=batch))  # the class of each sample
        rng.shuffle(targets)
        targets = targets[:TARGET_TRIES]
        # P in whole numbers of 1/D, D the largest column denominator (the others divide it)
        exps: list[list[int]] = [
            [pow(3, int(yhat[i][j] - min(yhat[k][j] for k in range(rows)))) for i in range(rows)] for j in range(batch)
        ]
        dens: list[int] = [sum(col) for col in exps]
        big: int = max(dens)
        scale = big if all(big % d == 0 for d in dens) else 0
        if scale == 0:
            raise GenerationError("unrelated denominators in P")
        p_int = [[exps[j][i] * (scale // dens[j]) for j in range(batch)] for i in range(rows)]
        forward = [v * scale for v in forward]
    for target in targets:
        stats.drawn += 1
        if loss == "sse":
            # the gradient of sample j is linear in its own Ŷ − Y: choose each column to survive
            cols = target or [_alive_error(rng, weights, masks, j, rows) for j in range(batch)]
            e = [[cols[j][i] for j in range(batch)] for i in range(rows)]
            if batch > 1 and not any(sum(r) for r in e):
                continue  # every db of the read-out would be 0
            y = [[yhat[i][j] - e[i][j] for j in range(batch)] for i in range(rows)]
            dz: list[list[Any]] = e
            scale = 1
        else:
            y = [[int(target[j] == i) for j in range(batch)] for i in range(rows)]
            dz = [[p_int[i][j] - scale * y[i][j] for j in range(batch)] for i in range(rows)]
        answers = _backward(dz, acts, weights, masks, batch, grad_bound * scale, ask)
        if answers is None:
            continue
        if ask == "all":
            answers += forward
        if not shares_ok(shares(answers)):
            continue
        stats.accepted += 1
        out["Y"] = Tensor((rows, batch), [v for r in y for v in r])
        return out
    raise GenerationError("no target gives a gradient that teaches; another draw")


_ERRORS = (1, -1, 1, -1, 2, -2)


class _DeadPath(GenerationError):
    """A layer that would cut some sample's gradient off below it."""


def _splittable(a: list[list[Any]], w: tuple[int, int], b: tuple[int, int], bound: int) -> bool:
    """Can a layer on the input ``a`` (units × samples) have a unit that passes one sample and
    blocks another (weights in ``w``, a bias in ``b``, every |z| ≤ bound, no z = 0)? Each weight
    row is tried, and for each the biases that split the samples form an interval."""
    cols = list(zip(*a))
    for wr in itertools.product(range(w[0], w[1] + 1), repeat=len(a)):
        if not any(wr):
            continue
        u = [sum(map(mul, wr, c)) for c in cols]
        umin, umax = min(u), max(u)
        lo = max(b[0], -bound - umin, 1 - umax)
        hi = min(b[1], bound - umax, -1 - umin)
        if any(-bi not in u for bi in range(lo, hi + 1)):
            return True
    return False


def _mask_matrix(mask: list[list[bool]], j: int) -> list[list[int]]:
    """The diagonal of ReLU's pass (1) or block (0) of sample j, as a matrix."""
    n = len(mask)
    return [[int(mask[r][j]) if r == c else 0 for c in range(n)] for r in range(n)]


def _paths_grow(
    below: list[list[list[list[int]]]], wr: list[list[int]], mask: list[list[bool]], batch: int, gain: int | None = None
) -> list[list[list[list[int]]]] | None:
    """The maps of :data:`paths` one hidden layer up (weights ``wr``, its ReLU ``mask``): each map
    below times Wᵀ·D; ``None`` if one of them is all zero (a sample's gradient cannot get through)."""
    out = []
    rows = len(wr)
    for j in range(batch):
        # Wᵀ·D: column r of it is row r of W where ReLU passes sample j (None: blocked, all 0)
        step = [wr[r] if mask[r][j] else None for r in range(rows)]
        maps = []
        for m in below[j]:
            prod = [[sum(map(mul, mi, wc)) if wc is not None else 0 for wc in step] for mi in m]
            if not any(any(r) for r in prod):
                return None
            if gain is not None and any(sum(map(abs, r)) > gain for r in prod):
                return None
            maps.append(prod)
        maps.append(_mask_matrix(mask, j))
        out.append(maps)
    return out


def _alive(weights: list[list[list[int]]], masks: list[list[list[bool]]], j: int, e: list[Any]) -> bool:
    """Does the gradient ``e`` at the output of sample j reach every hidden layer (with the ReLU
    pattern of that sample)? Only the direction matters, so this is plain integer work."""
    g: list[Any] = e
    for layer in range(len(weights), 1, -1):
        wl = weights[layer - 1]
        mask = masks[layer - 2]
        g = [sum(wl[r][k] * g[r] for r in range(len(g))) if mask[k][j] else 0 for k in range(len(wl[0]))]
        if not any(g):
            return False
    return True


def _alive_error(
    rng: random.Random, weights: list[list[list[int]]], masks: list[list[list[bool]]], j: int, rows: int
) -> list[int]:
    """A column Ŷ − Y for sample j (no entry 0) whose gradient reaches every hidden layer: the
    backward pass of one sample is linear in it, so each sample is chosen on its own."""
    e: list[int] = []
    for _ in range(8):
        e = [rng.choice(_ERRORS) for _ in range(rows)]
        if _alive(weights, masks, j, e):
            return e
    return e  # the full check will refuse it


def _friendly_errors(
    rng: random.Random,
    weights: list[list[list[int]]],
    masks: list[list[list[bool]]],
    acts: list[list[list[Any]]],
    j: int,
    rows: int,
    bound: int,
) -> list[list[int]]:
    """Every column Ŷ − Y for sample j (entries ±1, ±2) whose gradient reaches every hidden layer
    with each dA and this sample's share of each dW within the bound, the smallest first (ties in
    random order). The backward pass of one sample is linear in its error: the pass of each unit
    error is made once, and every error's pass is their sum."""
    depth = len(weights)
    scale: list[Any] = []  # per entry: how much it weighs (a dZ entry times this sample's largest input)
    groups: list[range] = []  # the dZ of each hidden layer: one entry of each must be non-zero
    passes: list[list[Any]] = []
    for r in range(rows):
        g: list[Any] = [int(i == r) for i in range(rows)]
        flat: list[Any] = []
        for layer in range(depth, 0, -1):
            a = max(abs(acts[layer - 1][k][j]) for k in range(len(acts[layer - 1])))
            if r == 0:
                scale += [a] * len(g)
            flat += g
            if layer == 1:
                break
            wl = weights[layer - 1]
            mask = masks[layer - 2]
            da = [sum(wl[q][k] * g[q] for q in range(len(g))) for k in range(len(wl[0]))]
            g = [v if mask[k][j] else 0 for k, v in enumerate(da)]
            if r == 0:
                scale += [1] * len(da)
                groups.append(range(len(flat) + len(da), len(flat) + len(da) + len(g)))
            flat += da
        passes.append(flat)
    cols = list(zip(*passes))
    scored: list[tuple[Any, float, list[int]]] = []
    for e in itertools.product(_ERRORS[:2] + _ERRORS[4:], repeat=rows):
        if e[0] < 0:
            continue  # −e: the same sizes, the same layers reached (taken with e)
        if rows == 2:  # (the usual read-out: two outputs, written out)
            e0, e1 = e
            v = [e0 * x + e1 * y for x, y in cols]
        else:
            v = [sum(map(mul, e, c)) for c in cols]
        top = max(map(abs, map(mul, v, scale)))
        if top <= bound and all(any(v[i] for i in grp) for grp in groups):
            scored += [(top, rng.random(), list(e)), (top, rng.random(), [-x for x in e])]
    scored.sort()
    return [e for _, _, e in scored]


def _backward(
    dz: list[list[Any]],
    acts: list[list[list[Any]]],
    weights: list[list[list[int]]],
    masks: list[list[list[bool]]],
    batch: int,
    grad_bound: int,
    ask: str,
) -> list[Any] | None:
    """One exact backward pass in plain numbers: the answers (dZ, dW, db, dA of every layer, or of
    the last for ``ask="last"``), or ``None`` if a gradient is too large, a gradient tensor is all
    zero, or a sample loses its gradient in a hidden layer."""
    depth = len(weights)
    answers: list[Any] = []
    for layer in range(depth, 0, -1):
        prev = acts[layer - 1]
        db = [sum(r) for r in dz]
        dw = [sum(dz[i][j] * prev[k][j] for j in range(batch)) for i in range(len(dz)) for k in range(len(prev))]
        if not any(db) or not any(dw):
            return None
        if any(abs(v) > grad_bound for v in db) or any(abs(v) > grad_bound for v in dw):
            return None
        answers += [v for r in dz for v in r] + dw + db
        if layer == 1:
            break
        wl = weights[layer - 1]
        mask = masks[layer - 2]
        da = [[sum(wl[r][k] * dz[r][j] for r in range(len(dz))) for j in range(batch)] for k in range(len(prev))]
        if any(abs(v) > grad_bound for r in da for v in r):
            return None
        dz = [[da[k][j] if mask[k][j] else 0 for j in range(batch)] for k in range(len(prev))]
        for j in range(batch):
            if not any(dz[k][j] for k in range(len(prev))):
                return None
        if ask == "last":
            return answers
        answers += [v for r in da for v in r]
    return answers
