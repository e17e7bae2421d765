"""A transformer block, by hand (the published sheet Transformer.xlsx, "Small").

Tokens are columns of ``X`` (features × tokens). The attention is the published fixed 0/1 matrix
``A`` (tokens × tokens; column j says which tokens token j attends to): ``Z = X·A`` sums those
tokens' features. Then the block's two residual "+": ``R = X + Z``; the position-wise feed-forward
network, two layers with a ReLU between them, ``H = ReLU(W₁·R + b₁)``, ``F = W₂·H + b₂``; and
``Y = R + F``. Every number is a whole number.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, linear_layer, relu_t

NAME = "transformer"
TITLE = "Transformer block"
SUMMARY = "attention Z = X·A (a fixed 0/1 A), the residual R = X + Z, a two-layer ReLU feed-forward F, and Y = R + F"
OPTIONS = {
    "tokens": Option(2, 3, 4, "tokens (columns of X); the published sheet has 5", lo=2, hi=6),
    "features": Option(2, 3, 3, "features of a token (rows of X); the published sheet has 4", lo=2, hi=5),
    "hidden": Option(2, 2, 3, "hidden units of the feed-forward network (rows of W₁)", lo=2, hi=5),
}

BOUND = 20


def build(o: dict[str, Any]) -> Sheet:
    n, d, h = o["tokens"], o["features"], o["hidden"]
    leaves: dict[str, tuple[int, ...]] = {"X": (d, n), "A": (n, n), "W1": (h, d), "b1": (h,), "W2": (d, h), "b2": (d,)}
    nodes = [
        Node("matmul", ("X", "A"), "Z"),
        Node("add", ("X", "Z"), "R"),
        Node("linear", ("W1", "b1", "R"), "U"),
        Node("relu", ("U",), "H"),
        Node("linear", ("W2", "b2", "H"), "F"),
        Node("add", ("R", "F"), "Y"),
    ]
    notes = {
        "A": "attention weights",
        "Z": "attention weighted features",
        "R": "X + Z: the first residual",
        "U": "the feed-forward's first layer",
        "F": "the feed-forward's output",
        "Y": "R + F: the second residual",
    }
    labels = {"W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂"}
    text = (
        "Tokens are columns. Attention: Z = X·A (column j of A picks the tokens that token j attends to). "
        "First residual: R = X + Z. Feed-forward: U = W₁·R + b₁, H = ReLU(U), F = W₂·H + b₂. "
        "Second residual: Y = R + F."
    )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"X": "input", "A": "given"}, bound=BOUND)


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
    n, d, h = o["tokens"], o["features"], o["hidden"]
    for _ in range(50):
        x = input_matrix(rng, stats, d, n, (-1, 3))
        a = _attention(rng, n)
        z = _mm(x, a)
        r = Tensor(x.shape, [p + q for p, q in zip(x.data, z.data)])
        if any(abs(v) > 9 for v in r.data):
            continue
        try:
            w1, b1, u = linear_layer(rng, r, h, w=(-1, 1), b=(-2, 2), bound=12, stats=stats, relu=True)
            w2, b2, _f = linear_layer(rng, relu_t(u), d, w=(-1, 1), b=(-2, 2), bound=12, stats=stats, offset=r)
        except GenerationError:
            continue
        assert b1 is not None and b2 is not None
        return {"X": x, "A": a, "W1": w1, "b1": b1, "W2": w2, "b2": b2}
    raise GenerationError("no hand-friendly transformer block; try fewer tokens or features")


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every step: Z, R, U, H, F and Y."""
    return [(name, i) for name in ("Z", "R", "U", "H", "F", "Y") for i in vals[name].indices()]
