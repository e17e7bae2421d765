"""Embeddings and positions, by hand: the warm-up before attention.

A sentence is a row of word ids; as a one-hot matrix ``T`` (vocabulary × tokens) each column has a
single 1. The embedding matrix ``E`` (features × vocabulary) holds one column per word, so the
lookup is a crossing: ``X = E·T`` — each token's column of ``X`` is its word's column of ``E``.
Then the positions are added cell by cell: ``H = X + P``. A word used twice gets the same
embedding twice, and different inputs only through its positions.

Hard hides one position column: it is found from ``H`` and ``X`` (``P = H − X``).
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats

NAME = "embeddings"
TITLE = "Embeddings and positions"
SUMMARY = "a one-hot matrix times the embedding matrix is a lookup (a crossing), then positions added: H = E·T + P"
OPTIONS = {
    "vocab": Option(3, 3, 4, "words in the vocabulary (columns of E)", lo=2, hi=6),
    "tokens": Option(3, 4, 5, "tokens in the sentence (columns of T); at least the vocabulary, every word used", lo=2, hi=6),
    "features": Option(2, 3, 3, "features of an embedding (rows of E)", lo=1, hi=5),
    "inverse": Option(0, 0, 1, "1: one position column hidden, found from H and X", lo=0, hi=1),
}

_VALUES = (-3, -2, -1, 1, 1, 2, 2, 3, 0)


def build(o: dict[str, Any]) -> Sheet:
    v, n, d = o["vocab"], o["tokens"], o["features"]
    if n < v:
        from byhand.errors import ByHandError

        raise ByHandError(M_("embeddings needs tokens ≥ vocab (every word used): tokens={n}, vocab={v}", n=n, v=v))
    leaves: dict[str, tuple[int, ...]] = {"E": (d, v), "T": (v, n), "P": (d, n)}
    nodes = [Node("matmul", ("E", "T"), "X"), Node("add", ("X", "P"), "H")]
    notes = {
        "E": "a column per word",
        "T": "one-hot: the word of each token",
        "X": "the token embeddings",
        "P": "positions",
        "H": "the transformer's input",
    }
    text = (
        "Tokens are columns. Look up each token's embedding: X = E·T (the 1 in each column of T picks a "
        "column of E). Then add the positions: H = X + P."
    )
    return Sheet(nodes, leaves, text, notes=notes, roles={"T": "input", "E": "weight", "P": "given"}, bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    v, n, d = o["vocab"], o["tokens"], o["features"]
    for _ in range(200):
        stats.drawn += 1
        words = list(range(v)) + [rng.randrange(v) for _ in range(n - v)]  # every word, some twice
        rng.shuffle(words)
        e = [[rng.choice(_VALUES) for _ in range(v)] for _ in range(d)]
        if len({tuple(e[i][w] for i in range(d)) for w in range(v)}) < v or any(not any(r) for r in e):
            continue  # two words with one embedding, or a feature no word has
        p = [[rng.choice((-2, -1, 1, 2, 0)) for _ in range(n)] for _ in range(d)]
        if len({tuple(p[i][j] for i in range(d)) for j in range(n)}) < n:
            continue  # two positions alike
        stats.accepted += 1
        t = [[1 if words[j] == w else 0 for j in range(n)] for w in range(v)]
        return {
            "E": Tensor((d, v), [x for r in e for x in r]),
            "T": Tensor((v, n), [x for r in t for x in r]),
            "P": Tensor((d, n), [x for r in p for x in r]),
        }
    raise GenerationError("no embeddings variant; try a smaller vocabulary")


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """X and H; with ``inverse``, one column of P hidden and H shown in that column."""
    d, n = vals["X"].shape
    cells = [("X", (i, j)) for i in range(d) for j in range(n)]
    if not o["inverse"]:
        return cells + [("H", (i, j)) for i in range(d) for j in range(n)]
    k = rng.randrange(n)
    return cells + [("H", (i, j)) for i in range(d) for j in range(n) if j != k] + [("P", (i, k)) for i in range(d)]
