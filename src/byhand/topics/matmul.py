"""Chapter 2 — matrix multiplication ``C = A·B``: ``A`` on the left, ``B`` on top, and cell
(i, j) of ``C`` level with row i of ``A`` and under column j of ``B``. The student never has to
search for which row meets which column.

Hard level adds an inverse problem: one cell of ``B`` is hidden, and column j of ``C`` is given.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, linear_layer

NAME = "matmul"
TITLE = "Matrix multiplication"
SUMMARY = "row i of A meets column j of B: C[i,j] = Σ A[i,k]·B[k,j]"
OPTIONS = {
    "rows": Option(2, 2, 3, "rows of A", lo=1, hi=6),
    "inner": Option(2, 3, 3, "columns of A = rows of B", lo=1, hi=6),
    "cols": Option(2, 2, 3, "columns of B", lo=1, hi=6),
    "inverse": Option(0, 0, 1, "1: hide one cell of B and give a column of C", lo=0, hi=1),
}


def build(o: dict[str, Any]) -> Sheet:
    return Sheet(
        [Node("matmul", ("A", "B"), "C")],
        {"A": (o["rows"], o["inner"]), "B": (o["inner"], o["cols"])},
        "Multiply: each cell of C is the row of A on its left times the column of B above it.",
        roles={"A": "weight", "B": "input"},
    )


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    lo = 0 if o["inner"] <= 2 else -2
    b = input_matrix(rng, stats, o["inner"], o["cols"], (lo, 3))
    a, _, _ = linear_layer(rng, b, o["rows"], w=(lo, 3), b=None, bound=15, stats=stats)
    return {"A": a, "B": b}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    c = [("C", i) for i in vals["C"].indices()]
    if not o["inverse"]:
        return c
    a = vals["A"]
    for _ in range(20):
        j = rng.randrange(o["cols"])
        k = rng.randrange(o["inner"])
        if any(a[i, k] in (1, -1) for i in range(o["rows"])):
            return [("B", (k, j))] + [x for x in c if x[1][1] != j]
    return c
