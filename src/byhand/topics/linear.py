"""Chapter 3 — a linear layer ``Z = W·X + b``, drawn as ``[W | b]·[X ; 1]``: weights on the left,
inputs on top with one column per sample, the bias a grey column at the right edge of ``W`` and a
row of 1s under ``X``.

Hard level adds an inverse problem: one bias is hidden and its row of ``Z`` is given.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import sample_chain

NAME = "linear"
TITLE = "Linear layer"
SUMMARY = "W·X + b as [W | b]·[X ; 1]: one column per sample, the bias added to each"
OPTIONS = {
    "inputs": Option(3, 3, 4, "features per sample (columns of W)", lo=1, hi=8),
    "outputs": Option(2, 3, 3, "neurons (rows of W)", lo=1, hi=8),
    "batch": Option(1, 2, 2, "samples (columns of X)", lo=1, hi=6),
    "inverse": Option(0, 0, 1, "1: hide one bias and give its row of Z", lo=0, hi=1),
}


def build(o: dict[str, Any]) -> Sheet:
    return Sheet(
        [Node("linear", ("W", "b", "X"), "Z")],
        {"W": (o["outputs"], o["inputs"]), "b": (o["outputs"],), "X": (o["inputs"], o["batch"])},
        "Compute Z = W·X + b: each row of [W | b] times each column of [X ; 1].",
        bound=15,
    )


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    v = sample_chain(rng, stats, [o["inputs"], o["outputs"]], o["batch"], last_act=False, bound=15)
    return {"W": v["W1"], "b": v["b1"], "X": v["X"]}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    z = [("Z", i) for i in vals["Z"].indices()]
    if not o["inverse"]:
        return z
    i = rng.randrange(o["outputs"])
    return [("b", (i,))] + [c for c in z if c[1][0] != i]
