"""A transformer block, by hand (the published sheet Transformer.xlsx, "Small").

Tokens are columns of ``X`` (features × tokens). The attention is the published fixed 0/1 matrix
``A`` (tokens × tokens; column j says which tokens token j attends to): ``Z = X·A`` sums those
tokens' features. Then the block's two residual "+": ``R = X + Z``; the position-wise feed-forward
network, two layers with a ReLU between them, ``H = ReLU(W₁·R + b₁)``, ``F = W₂·H + b₂``; and
``Y = R + F``. Every number is a whole number.

Layer normalisation (the option ``norm``, on at hard) sits where the published full-stack sheet
(Transformer-Full-Stack.xlsx) puts it: after the first residual "+" (post-norm), "Normalize" then
"Scale & Shift". Each token — a column of ``R`` — is normalised over its 4 features: the column's
``Σ``, ``μ = Σ/4``, the centred column ``R − μ``, its squares, ``σ² = Σ(R − μ)²/4`` (the biased
variance, as ``torch.nn.functional.layer_norm``: divided by 4, not 3), ``σ = √σ²``,
``R̂ = (R − μ)/σ``; then ``N = [diag γ | β]·[R̂ ; 1]``, and the feed-forward and the second residual
work on ``N``: ``Y = N + F``.

Exact by design, not by rejection: each column of ``R`` is built as ``μ ± σ`` (two features above
its mean, two below, σ whole), and ``X`` is solved from it. The attention is then causal (token j
attends to itself and/or earlier tokens), so ``R = X·(I + A)`` is solved token by token:
``xⱼ = rⱼ − Σ xᵢ`` (or half of it when token j attends to itself), choosing each column's μ, σ and
signs among those that make ``xⱼ`` whole and small.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import ByHandError, GenerationError
from byhand.i18n import M_, N_
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, linear_layer, relu_t

NAME = "transformer"
TITLE = "Transformer block"
SUMMARY = "attention Z = X·A (a fixed 0/1 A), the residual R = X + Z, a two-layer ReLU feed-forward F, and Y = R + F"
OPTIONS = {
    "tokens": Option(2, 3, 2, "tokens (columns of X); the published sheet has 5", lo=2, hi=6),
    "features": Option(2, 3, 4, "features of a token (rows of X); the published sheet has 4", lo=2, hi=5),
    "hidden": Option(2, 2, 2, "hidden units of the feed-forward network (rows of W₁)", lo=2, hi=5),
    "norm": Option(0, 0, 1, "1: layer normalisation after the first residual (each token over its 4 features), "
                   "then scaled by γ and shifted by β; needs features=4", lo=0, hi=1),
    "inverse": Option(0, 1, 0, "1: one shift β (with norm) or one bias b₁ (without) hidden, found from one printed "
                      "cell of N (or U)", lo=0, hi=1),
}
LN_FEATURES = 4  # μ ± σ: two features above the mean and two below, so μ and σ are whole

BOUND = 20


def build(o: dict[str, Any]) -> Sheet:
    n, d, h = o["tokens"], o["features"], o["hidden"]
    norm = bool(o["norm"])
    if norm and d != LN_FEATURES:
        raise ByHandError(M_("layer normalisation (norm=1) needs features={need} (each token's 4 features: "
                             "two above the mean, two below, so μ and σ are exact); got features={d}", need=LN_FEATURES, d=d))
    leaves: dict[str, tuple[int, ...]] = {"X": (d, n), "A": (n, n), "W1": (h, d), "b1": (h,), "W2": (d, h), "b2": (d,)}
    nodes = [
        Node("matmul", ("X", "A"), "Z"),
        Node("add", ("X", "Z"), "R"),
    ]
    ffn_in = "R"
    notes = {
        "A": N_("attention weights"),
        "Z": N_("attention weighted features"),
        "R": N_("X + Z: the first residual"),
        "U": N_("the feed-forward's first layer"),
        "F": N_("the feed-forward's output"),
        "Y": N_("R + F: the second residual"),
    }
    labels = {"W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂"}
    roles = {"X": "input", "A": "given"}
    attention = "Z = X·A (column j of A picks the tokens that token j attends to)"
    if norm:
        leaves |= {"GAMMA": (d,), "BETA": (d,)}
        nodes += [
            Node("colsum", ("R",), "RSUM"),
            Node("scale", ("RSUM",), "MU", {"by": f"1/{d}"}),
            Node("sub", ("R", "MU"), "RC"),
            Node("mul", ("RC", "RC"), "SQ"),
            Node("colsum", ("SQ",), "SS"),
            Node("scale", ("SS",), "VAR", {"by": f"1/{d}"}),
            Node("sqrt", ("VAR",), "SIG"),
            Node("div", ("RC", "SIG"), "RH"),
            Node("diag", ("GAMMA",), "G"),
            Node("linear", ("G", "BETA", "RH"), "N"),
        ]
        labels |= {"RSUM": "Σ", "MU": "μ", "RC": "R − μ", "SQ": "(R − μ)²", "SS": "Σ (R − μ)²", "VAR": "σ²",
                   "SIG": "σ", "RH": "R̂", "GAMMA": "γ", "BETA": "β", "G": "diag γ", "N": "N"}
        notes |= {
            "RSUM": N_("Σ of each token"),
            "RC": N_("centred"),
            "VAR": N_("biased, as torch"),
            "RH": N_("normalised"),
            "N": N_("scaled and shifted"),
            "Y": N_("N + F: the second residual"),
        }
        roles |= {"GAMMA": "weight", "BETA": "bias"}
        ffn_in = "N"
    nodes += [
        Node("linear", ("W1", "b1", ffn_in), "U"),
        Node("relu", ("U",), "H"),
        Node("linear", ("W2", "b2", "H"), "F"),
        Node("add", (ffn_in, "F"), "Y"),
    ]
    if norm:
        text = (
            f"Tokens are columns. Attention: {attention}. First residual: R = X + Z. "
            f"Layer norm of each token (a column, over its {d} features): Σ, μ = Σ/{d}, R − μ, (R − μ)², "
            f"σ² = Σ(R − μ)²/{d}, σ = √σ², R̂ = (R − μ)/σ. "
            "Scale and shift: N = [diag γ | β]·[R̂ ; 1]. "
            "Feed-forward: U = W₁·N + b₁, H = ReLU(U), F = W₂·H + b₂. Second residual: Y = N + F."
        )
    else:
        text = (
            f"Tokens are columns. Attention: {attention}. "
            "First residual: R = X + Z. Feed-forward: U = W₁·R + b₁, H = ReLU(U), F = W₂·H + b₂. "
            "Second residual: Y = R + F."
        )
    # layer norm: Σ = 4μ and Σ(R − μ)² = 4σ² ≤ 36 are the largest numbers written (as in batch-norm)
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=40 if norm else BOUND)


def _attention(rng: random.Random, n: int) -> Tensor:
    """Each token attends to one or two tokens (itself or others); not the identity, no two columns
    alike (so Z is not X again), and every token attended to by some token."""
    while True:
        cols = []
        for _ in range(n):
            k = rng.choice((1, 2, 2))
            cols.append(set(rng.sample(range(n), k)))
        if len({frozenset(c) for c in cols}) < n:
            continue
        if all(c == {j} for j, c in enumerate(cols)):
            continue
        if sum(len(c) for c in cols) < n + 1:
            continue
        if any(all(i not in c for c in cols) for i in range(n)):
            continue  # a token nobody attends to: a row of A all 0
        return Tensor((n, n), [1 if i in cols[j] else 0 for i in range(n) for j in range(n)])


def _mm(x: Tensor, a: Tensor) -> Tensor:
    m, k = x.shape
    n = a.shape[1]
    return Tensor((m, n), [sum(x.data[i * k + t] * a.data[t * n + j] for t in range(k)) for i in range(m) for j in range(n)])


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    if o["norm"]:
        return _sample_norm(o, rng, stats)
    n, d, h = o["tokens"], o["features"], o["hidden"]
    for _ in range(50):
        x = input_matrix(rng, stats, d, n, (-1, 3))
        a = _attention(rng, n)
        z = _mm(x, a)
        r = Tensor(x.shape, [p + q for p, q in zip(x.data, z.data)])
        if any(abs(v) > 9 for v in r.data):
            continue
        try:
            w1, b1, w2, b2 = _feed_forward(rng, r, h, d, stats)
        except GenerationError:
            continue
        return {"X": x, "A": a, "W1": w1, "b1": b1, "W2": w2, "b2": b2}
    raise GenerationError("no hand-friendly transformer block; try fewer tokens or features")


def _ordered_attention(rng: random.Random, n: int) -> tuple[list[int], list[list[int]]]:
    """For layer norm: an order of the tokens and the tokens each attends to — itself and/or tokens
    before it in that order (one or two), so ``R = X·(I + A)`` is solved token by token in that
    order. No two tokens alike, not the identity, every token attended to by some token."""
    while True:
        order = list(range(n))
        rng.shuffle(order)
        cols: list[list[int]] = [[] for _ in range(n)]
        for k, j in enumerate(order):
            cols[j] = sorted(order[i] for i in rng.sample(range(k + 1), min(k + 1, rng.choice((1, 2, 2)))))
        if len({tuple(c) for c in cols}) < n or all(c == [j] for j, c in enumerate(cols)):
            continue
        if any(all(i not in c for c in cols) for i in range(n)):
            continue
        return order, cols


_SIGNS = [(1, 1, -1, -1), (1, -1, 1, -1), (1, -1, -1, 1), (-1, 1, 1, -1), (-1, 1, -1, 1), (-1, -1, 1, 1)]
_X_RANGE = (-2, 3)
_MU = (-4, 6)  # Σ = 4μ stays within the sheet's bound


@functools.lru_cache(maxsize=1 << 14)
def _token_options(s: tuple[int, ...], c: int) -> tuple[tuple[tuple[int, ...], tuple[int, ...], int, tuple[int, ...]], ...]:
    """Every (r, x, σ, signs) with r = μ + σ·signs (μ ≠ 0, σ 1 … 3) and x = (r − s)/c whole, in
    range and with at most one 0. For each σ and signs the μ that keep every x in range form an
    interval: only those are tried. Cached: the sums s repeat."""
    if c == 2 and len({v % 2 for v in s}) > 1:
        return ()  # r − s must be even in every feature, and r's features share a parity
    lo, hi = _X_RANGE
    out = []
    for sig in (1, 2, 3):
        for signs in _SIGNS:
            off = [sig * g - v for g, v in zip(signs, s)]  # r − s = μ + off
            for mu in range(max(_MU[0], max(lo * c - t for t in off)), min(_MU[1], min(hi * c - t for t in off)) + 1):
                if mu == 0 or (mu + off[0]) % c:
                    continue
                x = tuple((mu + t) // c for t in off)
                if x.count(0) <= 1:
                    out.append((tuple(mu + sig * g for g in signs), x, sig, signs))
    return tuple(out)


def _token(rng: random.Random, s: list[int], twice: bool, used: list[tuple[int, ...]]) -> tuple[list[int], list[int]] | None:
    """A column r = μ + σ·signs of R (signs not used by an earlier token, and a σ of its own when
    one fits) whose token xⱼ = (r − s)/c is whole and small (c = 2 when the token attends to
    itself, else 1); None when there is none. ``s`` is the sum of the other tokens it attends to."""
    options = [t for t in _token_options(tuple(s), 2 if twice else 1) if t[3] not in used]
    if not options:
        return None
    fresh = [t for t in options if (t[2],) not in used]  # a σ no earlier token has, when there is one
    r, x, _sig, _signs = rng.choice(fresh or options)
    return list(r), list(x)


def _sample_norm(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """R built column by column as μ ± σ (exact by design), X solved from it token by token."""
    n, d, h = o["tokens"], o["features"], o["hidden"]
    for _ in range(50):
        stats.drawn += 1
        order, cols = _ordered_attention(rng, n)
        xs: dict[int, list[int]] = {}
        rs: dict[int, list[int]] = {}
        used: list[tuple[int, ...]] = []
        for j in order:
            att = cols[j]
            s = [sum(xs[i][f] for i in att if i != j) for f in range(d)]
            got = _token(rng, s, j in att, used)
            if got is None:
                break
            r, x = got
            mu = sum(r) // d
            used += [tuple((v - mu) // abs(r[0] - mu) for v in r), (abs(r[0] - mu),)]
            rs[j], xs[j] = r, x
        else:
            x_t = Tensor((d, n), [xs[j][f] for f in range(d) for j in range(n)])
            if any(not any(x_t.row(f)) for f in range(d)):
                continue  # a feature no token has
            a = Tensor((n, n), [1 if i in cols[j] else 0 for i in range(n) for j in range(n)])
            rh = [[(rs[j][f] - sum(rs[j]) // d) // abs(rs[j][0] - sum(rs[j]) // d) for f in range(d)] for j in range(n)]
            gamma = [rng.choice((2, 3, -2)) for _ in range(d)]
            beta = [rng.choice([b for b in (-2, -1, 1, 2) if abs(b) != abs(g)]) for g in gamma]  # N = ±γ + β ≠ 0
            nn = Tensor((d, n), [gamma[f] * rh[j][f] + beta[f] for f in range(d) for j in range(n)])
            try:
                w1, b1, w2, b2 = _feed_forward(rng, nn, h, d, stats)
            except GenerationError:
                continue
            stats.accepted += 1
            return {"X": x_t, "A": a, "GAMMA": Tensor((d,), gamma), "BETA": Tensor((d,), beta),
                    "W1": w1, "b1": b1, "W2": w2, "b2": b2}
    raise GenerationError("no hand-friendly transformer block with layer norm; try fewer tokens")


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every step: Z, R, (the layer norm: Σ, μ, R − μ, its squares, their Σ, σ², σ, R̂, N), U, H, F and Y.

    ``inverse``: one shift βᵢ hidden and one cell of its row of N printed — βᵢ = Nᵢⱼ − γᵢ·R̂ᵢⱼ, the
    "shift" of scale-and-shift read back from an output (without layer norm: one bias b₁ and a cell
    of its row of U)."""
    names = ("Z", "R", "RSUM", "MU", "RC", "SQ", "SS", "VAR", "SIG", "RH", "N", "U", "H", "F", "Y")
    cells = [(name, i) for name in names if name in graph.shapes for i in vals[name].indices()]
    if o["inverse"]:
        leaf, out = ("BETA", "N") if "N" in graph.shapes else ("b1", "U")
        rows, cols = vals[out].shape
        i, j = rng.randrange(rows), rng.randrange(cols)
        cells = [c for c in cells if c != (out, (i, j))] + [(leaf, (i,))]
    return cells


def _feed_forward(rng: random.Random, r: Tensor, h: int, d: int, stats: Stats) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The two-layer ReLU feed-forward on R (ReLU crossing something out, the second layer's output
    added to R within bounds): W₁, b₁, W₂, b₂; GenerationError when no friendly pair is found."""
    w1, b1, u = linear_layer(rng, r, h, w=(-1, 1), b=(-2, 2), bound=12, stats=stats, relu=True)
    w2, b2, _f = linear_layer(rng, relu_t(u), d, w=(-1, 1), b=(-2, 2), bound=12, stats=stats, offset=r)
    assert b1 is not None and b2 is not None
    return w1, b1, w2, b2
