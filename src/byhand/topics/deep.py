"""Chapter 6 — deep: many narrow layers. The same crossing, again and again; the numbers stay small
because every layer is drawn row by row within bounds.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import all_cells, chain, sample_chain

NAME = "deep"
TITLE = "Deep network: many narrow layers"
SUMMARY = "four to eight layers of two neurons: the same grid, cascaded"
OPTIONS = {
    "depth": Option(4, 6, 8, "layers", lo=2, hi=16),
    "width": Option(2, 2, 2, "neurons per layer", lo=2, hi=4),
    "batch": Option(1, 1, 2, "samples", lo=1, hi=3),
}


def build(o: dict[str, Any]) -> Sheet:
    nodes, leaves = chain([o["width"]] * (o["depth"] + 1), o["batch"])
    return Sheet(nodes, leaves, f"Run all {o['depth']} layers forward: [W | b]·[A ; 1], then ReLU, layer after layer.", bound=15)


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    return sample_chain(rng, stats, [o["width"]] * (o["depth"] + 1), o["batch"], w=(-1, 1), b=(-1, 1), bound=9, budget=True)


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    return all_cells(vals, [n for n in graph.shapes if n[0] in "ZA" and n not in graph.leaves])
