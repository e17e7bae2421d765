"""Chapter 8 — softmax, by hand: base 3 instead of e, so ``x = [1, 0, 1, 5]`` gives
``[3, 1, 3, 243]``, sum 250, probabilities ``[3/250, 1/250, 3/250, 243/250]``. Each column (sample)
is its own softmax. Hard level divides by a temperature of 2 first; base e is an option, for
comparison (answers then to three decimals).
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import softmax_columns
from byhand.topics._sampling import Stats, uniform_vector

NAME = "softmax"
TITLE = "Softmax (base 3)"
SUMMARY = "3ᶻ, their Σ, P = 3ᶻ ÷ Σ per column: exact fractions by hand; temperature (z/T first); base e to compare"
FREE_DENOMINATORS = True  # the probabilities are the lesson: sums up to 3^5 + …, written to 3 decimals
OPTIONS = {
    "classes": Option(4, 4, 4, "entries per column", lo=2, hi=6),
    "batch": Option(1, 2, 2, "columns (samples)", lo=1, hi=4),
    "base": Option("3", "3", "3", "3 (by hand) or e (to compare)", choices=("3", "e")),
    "temperature": Option(1, 1, 2, "divide z by this first", lo=1, hi=3),
}


def build(o: dict[str, Any]) -> Sheet:
    base: Any = 3 if o["base"] == "3" else "e"
    attrs: dict[str, Any] = {"base": base}
    if o["temperature"] != 1:
        attrs["temperature"] = o["temperature"]
    t = o["temperature"]
    if base == "e":  # for comparison: the softmax in one step, answers to three decimals
        return Sheet(
            [Node("softmax", ("Z",), "P", attrs)],
            {"Z": (o["classes"], o["batch"])},
            "For each column: raise e to each z" + (f"/{t}" if t != 1 else "") + ", add them up, divide each by the sum.",
            roles={"Z": "input"},
            bound=1,
        )
    nodes, labels = softmax_columns("Z", base=3, temperature=t)
    first = f"divide each z by the temperature T = {t} (z/T), then raise 3 to it" if t != 1 else "raise 3 to each z (3ᶻ)"
    return Sheet(
        nodes,
        {"Z": (o["classes"], o["batch"])},
        f"For each column: {first}, add them up (Σ), then divide each by the Σ of its column: "
        f"P = {labels['E']} ÷ {labels['S']}.",
        labels=labels,
        roles={"Z": "input"},
        bound=300,
    )


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    t = o["temperature"]
    n, s = o["classes"], o["batch"]

    def ok(v: list[int]) -> bool:
        if len(set(v)) == 1:
            return False
        return sum(3**x for x in v) <= 300

    cols = [[x * t for x in uniform_vector(rng, n, 0, 5, stats, ok)] for _ in range(s)]
    return {"Z": Tensor((n, s), [cols[j][i] for i in range(n) for j in range(s)])}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every column of the method is written by the student: z/T, 3ᶻ, Σ and P."""
    names = [n for n in ("ZT", "E", "S", "P") if n in graph.shapes]
    return [(name, i) for name in names for i in vals[name].indices()]
