"""Chapter 9 — cross-entropy after a base-3 softmax, and its gradient: the loss is
``−Σ Y·log₃ P`` (log in the softmax's base), and its gradient with respect to the scores is the
textbook ``P − Y`` — the first backward step every classifier takes.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import softmax_columns
from byhand.topics._sampling import Stats, uniform_vector

NAME = "cross-entropy"
TITLE = "Cross-entropy and P − Y"
SUMMARY = "softmax (base 3), the loss −Σ Y·log P, and its gradient P − Y"
OPTIONS = {
    "classes": Option(4, 3, 4, "classes", lo=2, hi=6),
    "batch": Option(1, 2, 2, "samples (columns)", lo=1, hi=4),
    "show_p": Option(1, 0, 0, "1: give P and ask only for P − Y", lo=0, hi=1),
}


def build(o: dict[str, Any]) -> Sheet:
    n, s = o["classes"], o["batch"]
    nodes, labels = softmax_columns("Z", base=3)  # 3ᶻ, Σ, P = 3ᶻ ÷ Σ: the method's columns
    nodes += [Node("cross_entropy", ("P", "Y"), "L", {"base": 3}), grad_node("L", "Z", "dZ")]
    return Sheet(
        nodes,
        {"Z": (n, s), "Y": (n, s)},
        "P = softmax₃(Z) is given (3ᶻ, their Σ, P = 3ᶻ ÷ Σ). The loss is L = −Σ Y·log₃ P; "
        "its gradient with respect to the scores is dZ = P − Y: subtract Y from P, cell by cell."
        if o["show_p"]
        else "Softmax each column (base 3): 3ᶻ for each z, their sum Σ, then P = 3ᶻ ÷ Σ. "
        "The loss is L = −Σ Y·log₃ P; its gradient with respect to the scores is dZ = P − Y.",
        labels=labels,
        roles={"Z": "input"},
        bound=120,
    )


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n, s = o["classes"], o["batch"]
    ok = lambda v: len(set(v)) > 1 and sum(3**x for x in v) <= 120  # noqa: E731
    cols = [uniform_vector(rng, n, 0, 3, stats, ok) for _ in range(s)]
    z = Tensor((n, s), [cols[j][i] for i in range(n) for j in range(s)])
    y = Tensor((n, s), [0] * (n * s))
    for j in range(s):
        y[rng.randrange(n), j] = 1
    return {"Z": z, "Y": y}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = ["dZ"] if o["show_p"] else ["E", "S", "P", "dZ"]
    return [(name, i) for name in names for i in vals[name].indices()]
