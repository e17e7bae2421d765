"""Chapter 7 — wide: few layers, many neurons. Long rows of W meet the same column of X."""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import all_cells, chain, sample_chain

NAME = "wide"
TITLE = "Wide network: few wide layers"
SUMMARY = "two layers of five to eight neurons"
OPTIONS = {
    "width": Option(5, 6, 8, "neurons in the hidden layer", lo=3, hi=10),
    "inputs": Option(3, 4, 4, "features per sample", lo=2, hi=8),
    "batch": Option(1, 1, 2, "samples", lo=1, hi=3),
}


def build(o: dict[str, Any]) -> Sheet:
    nodes, leaves = chain([o["inputs"], o["width"], 2], o["batch"])
    return Sheet(nodes, leaves, "Run the two wide layers forward: [W | b]·[A ; 1], then ReLU.", bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    return sample_chain(rng, stats, [o["inputs"], o["width"], 2], o["batch"], w=(-1, 1), b=(-1, 1), bound=9)


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    return all_cells(vals, ["Z1", "A1", "Z2", "A2"])
