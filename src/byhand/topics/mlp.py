"""Chapter 5 — a small multi-layer perceptron, forward: layers cascade, the activation of one layer
is the input on top of the next, with a fresh row of 1s for the next bias.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import all_cells, chain, sample_chain

NAME = "mlp"
TITLE = "Multi-layer perceptron"
SUMMARY = "two or three layers in a row: each layer's ReLU output is the next layer's input"
OPTIONS = {
    "depth": Option(2, 2, 3, "layers", lo=1, hi=6),
    "width": Option(2, 3, 3, "neurons per hidden layer", lo=2, hi=6),
    "inputs": Option(2, 3, 3, "features per sample", lo=1, hi=6),
    "batch": Option(1, 2, 2, "samples", lo=1, hi=4),
}


def sizes(o: dict[str, Any]) -> list[int]:
    return [o["inputs"]] + [o["width"]] * (o["depth"] - 1) + [2]


def build(o: dict[str, Any]) -> Sheet:
    nodes, leaves = chain(sizes(o), o["batch"])
    return Sheet(nodes, leaves, "Run the network forward: each layer is [W | b]·[A ; 1], then ReLU.", bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    return sample_chain(rng, stats, sizes(o), o["batch"], bound=12, w=(-1, 2))


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = [n for n in graph.shapes if n[0] in "ZA" and n not in graph.leaves]
    return all_cells(vals, names)
