"""Chapter 1 — the dot product: one vector as a row on the left, the other as a column on top,
the result where they cross. ``a = [2, 3]``, ``b = [1, 1]`` → ``a·b = 5``.

Hard level: an inverse problem — one entry of ``b`` is hidden and the product is given.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats, vector

NAME = "dot"
TITLE = "Dot product"
SUMMARY = "multiply two vectors entry by entry and add: a·b = Σ aᵢbᵢ"
OPTIONS = {
    "n": Option(3, 4, 5, "length of the vectors", lo=2, hi=8),
    "inverse": Option(0, 0, 1, "1: hide one entry of b and give a·b (an inverse problem)", lo=0, hi=1),
}


def build(o: dict[str, Any]) -> Sheet:
    return Sheet(
        [Node("dot", ("a", "b"), "c")],
        {"a": (o["n"],), "b": (o["n"],)},
        "Multiply a and b entry by entry and add the products: c = a·b."
        if not o["inverse"]
        else "Find the missing entry of b so that a·b is the product given.",
        labels={"c": "a·b"},
        roles={"a": "input", "b": "weight"},
    )


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    lo = 0 if o["n"] <= 3 and not o["inverse"] else -3
    a = vector(rng, o["n"], lo, 3, stats=stats, ok=lambda v: any(x in (1, -1, 2, -2) for x in v))
    b = vector(
        rng,
        o["n"],
        lo,
        3,
        stats=stats,
        ok=lambda v: 0 < abs(sum(x * y for x, y in zip(a, v))) <= 20 or (o["n"] <= 3 and sum(x * y for x, y in zip(a, v)) != 0),
    )
    return {"a": Tensor((o["n"],), a), "b": Tensor((o["n"],), b)}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    if o["inverse"]:
        a = vals["a"].data
        ks = [k for k in range(len(a)) if a[k] in (1, -1, 2, -2)]
        return [("b", (rng.choice(ks),))]
    return [("c", ())]
