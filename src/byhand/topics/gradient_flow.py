"""Chapter 13 — gradient flow, traced with a highlighter: why deep plain networks stop learning and
skip connections fix it.

A chain of n layers with local derivatives d₁ … dₙ (ReLU off: 0). Without skips there is one path
and the gradient reaching the first layer is the product d₁·d₂·…·dₙ — with a factor 1/2 per layer
it shrinks fast, and one ReLU that is off kills it. With a skip around each layer, each layer's
factor is 1 + dᵢ: the gradient goes down the skip unchanged *and* through the layer. Multiplied
out, that is a sum over paths — a chain with k skips has 2^k paths — and the path that skips
everything carries the gradient through whole.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats


def sub(i: int) -> str:
    return subscript(str(i))


NAME = "gradient-flow"
TITLE = "Gradient flow: with and without skips"
SUMMARY = "multiply along the paths: one path without skips (it shrinks or dies), 2^k paths with k skips"
OPTIONS = {
    "mode": Option(
        "chain",
        "paths",
        "paths",
        "chain: layer by layer, plain beside residual; paths: every path, summed",
        choices=("chain", "paths"),
    ),
    "layers": Option(4, 3, 4, "layers in the chain", lo=2, hi=5),
}

# local derivatives a student multiplies easily: halves and quarters, a dead ReLU (0), and a few others
_FACTORS: list[Fraction | int] = [
    Fraction(1, 2),
    Fraction(1, 3),
    Fraction(1, 4),
    Fraction(2, 3),
    Fraction(3, 4),
    0,
    1,
    2,
    Fraction(-1, 2),
    Fraction(-1, 3),
]


def build(o: dict[str, Any]) -> Sheet:
    n = o["layers"]
    d = [f"d{i}" for i in range(1, n + 1)]
    leaves: dict[str, Any] = {name: () for name in d}
    labels: dict[str, str] = {}
    notes = {name: f"∂h{sub(i)}/∂h{sub(i - 1)}" for i, name in enumerate(d, start=1)}
    nodes: list[Node] = []
    if o["mode"] == "chain":
        leaves["one"] = ()
        labels["one"] = "1"
        notes["one"] = "skip"
        prev_p, prev_r = d[-1], None
        for i in range(n, 0, -1):
            nodes.append(Node("add", ("one", f"d{i}"), f"s{i}"))
            labels[f"s{i}"] = f"1 + d{sub(i)}"
        prev_r = f"s{n}"
        for i in range(n - 1, 0, -1):
            nodes += [Node("mul", (prev_p, f"d{i}"), f"g{i}"), Node("mul", (prev_r, f"s{i}"), f"r{i}")]
            labels[f"g{i}"] = f"∂L/∂h{sub(i - 1)} plain"
            labels[f"r{i}"] = f"∂L/∂h{sub(i - 1)} with skips"
            prev_p, prev_r = f"g{i}", f"r{i}"
        text = (
            f"Backward through {n} layers, from the loss to the input. Plain: multiply by each dᵢ. "
            f"With a skip around each layer: multiply by 1 + dᵢ. Compare what reaches the input."
        )
    else:
        paths: list[str] = []
        for size in range(n + 1):
            for subset in itertools.combinations(range(1, n + 1), size):
                name = "p" + ("".join(map(str, subset)) if subset else "0")
                if size == 0:
                    leaves[name] = ()
                    labels[name] = "1"
                    notes[name] = "skips all"
                elif size == 1:
                    name = f"d{subset[0]}"
                else:
                    prev = "p" + "".join(map(str, subset[:-1])) if size > 2 else f"d{subset[0]}"
                    nodes.append(Node("mul", (prev, f"d{subset[-1]}"), name))
                    labels[name] = "·".join(f"d{sub(i)}" for i in subset)
                    if size == n:
                        notes[name] = "the plain path"
                paths.append(name)
        nodes += [Node("stack", tuple(paths), "paths"), Node("sum", ("paths",), "total")]
        labels |= {"paths": f"the {2**n} paths", "total": f"∂L/∂h{sub(0)} with skips"}
        notes["total"] = "the sum of all paths"
        text = (
            f"A chain of {n} layers, each with a skip: list all {2**n} paths from the loss to the input "
            "(each path multiplies the dᵢ of the layers it goes through), then add them. "
            "A plain network has only one of these paths: the one through every layer."
        )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={k: "given" for k in leaves}, bound=20)


def _stark(ds: tuple[Fraction | int, ...]) -> bool:
    """The contrast must be stark: the plain gradient small (or dead), the one with skips not."""
    plain: Fraction = Fraction(1)
    residual: Fraction = Fraction(1)
    for v in ds:
        plain *= v
        residual *= 1 + v
    halves = sum(v == Fraction(1, 2) for v in ds)
    return abs(plain) <= Fraction(1, 8) and 1 <= abs(residual) <= 20 and halves >= 1 and residual.denominator <= 64


def space(o: dict[str, Any]) -> list[dict[str, Tensor]]:
    """Every chain of friendly factors with a stark contrast (a few thousand at most)."""
    out = []
    for ds in itertools.product(_FACTORS, repeat=o["layers"]):
        if _stark(ds):
            leaves = {
                f"d{i}": Tensor((), [v.numerator if isinstance(v, Fraction) and v.denominator == 1 else v])
                for i, v in enumerate(ds, start=1)
            }
            leaves["one" if o["mode"] == "chain" else "p0"] = Tensor((), [1])
            out.append(leaves)
    return out


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    sp = space(o)
    return sp[rng.randrange(len(sp))]


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = [n for n in graph.shapes if n not in graph.leaves and n != "paths"]
    return [(name, i) for name in names for i in vals[name].indices()]
