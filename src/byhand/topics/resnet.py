"""Chapter 12 — the residual block (ResNet), by hand.

``Z1 = W1·X + b1``, ``A1 = ReLU(Z1)``, ``f(X) = W2·A1 + b2``, ``A2 = ReLU(X + f(X))``. The identity
matrix is drawn beside ``W2`` and ``X`` under ``A1``, so the residual pre-activation is one
crossing: ``[W2 | I | b2]·[A1 ; X ; 1] = W2·A1 + I·X + b2 = f(X) + X``. The skip is the ``I``.

Levels: one block; the same block with and without the skip, side by side on the same numbers
(what the "+" changes); the gradient back through two blocks, which arrives at each "+" and goes
both ways — down the skip unchanged and back through f — and adds up at the block's input.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, draws, linear_layer, relu_t

NAME = "resnet"
TITLE = "Residual block (ResNet)"
SUMMARY = "a skip connection: [W2 | I]·[A1 ; X] = f(X) + X, with and without the skip, and its gradient"
OPTIONS = {
    "mode": Option(
        "forward",
        "compare",
        "backward",
        "forward; compare (with and without the skip); backward (the gradient)",
        choices=("forward", "compare", "backward"),
    ),
    "blocks": Option(1, 1, 2, "residual blocks in a row", lo=1, hi=3),
    "width": Option(3, 3, 2, "features (the skip needs X and f(X) of one size)", lo=2, hi=5),
    "batch": Option(1, 2, 1, "samples", lo=1, hi=3),
}


def build(o: dict[str, Any]) -> Sheet:
    d, s = o["width"], o["batch"]
    nodes: list[Node] = []
    leaves: dict[str, Any] = {"X": (d, s), "I": (d, d)}
    labels: dict[str, str] = {}
    notes = {"I": "identity"}
    prev = "X"
    for k in range(1, o["blocks"] + 1):
        wa, wb = 2 * k - 1, 2 * k  # W1, W2 for block 1; W3, W4 for block 2 …
        leaves |= {f"W{wa}": (d, d), f"b{wa}": (d,), f"W{wb}": (d, d), f"b{wb}": (d,)}
        nodes += [
            Node("linear", (f"W{wa}", f"b{wa}", prev), f"Z{wa}"),
            Node("relu", (f"Z{wa}",), f"A{wa}"),
            Node("hstack", (f"W{wb}", "I"), f"W{wb}I"),
            Node("vstack", (f"A{wa}", prev), f"A{wa}{prev}"),
            Node("linear", (f"W{wb}I", f"b{wb}", f"A{wa}{prev}"), f"Z{wb}"),
            Node("relu", (f"Z{wb}",), f"A{wb}"),
        ]
        x = "X" if prev == "X" else f"A{subscript(prev[1:])}"
        notes[f"Z{wb}"] = f"f({x}) + {x}"
        if o["mode"] == "compare":
            nodes += [Node("linear", (f"W{wb}", f"b{wb}", f"A{wa}"), f"P{wb}"), Node("relu", (f"P{wb}",), f"Q{wb}")]
            labels |= {f"P{wb}": f"Z{subscript(str(wb))}′", f"Q{wb}": f"A{subscript(str(wb))}′"}
            notes |= {f"P{wb}": "no skip", f"Q{wb}": "no skip"}
        prev = f"A{wb}"
    text = "Compute the block: Z₁ = W₁·X + b₁, A₁ = ReLU(Z₁); then Z₂ = [W₂ | I]·[A₁ ; X] + b₂ = f(X) + X and A₂ = ReLU(Z₂)."
    if o["mode"] == "compare":
        text += " Then the same without the skip (Z₂′, A₂′) and compare A₂ with A₂′: the difference is what the + adds."
    if o["mode"] == "backward":
        leaves["Y"] = (d, s)
        nodes += [Node("half_sse", (prev, "Y"), "L"), grad_node("L", "X", "dX")]
        text = (
            "Forward through the block, then backward: the gradient at the + goes down the skip unchanged "
            "and back through f; the two add up at X."
        )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"I": "given"}, bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    d, s = o["width"], o["batch"]
    x = input_matrix(rng, stats, d, s, (-1, 3))
    out: dict[str, Tensor] = {"X": x, "I": Tensor((d, d), [1 if i == j else 0 for i in range(d) for j in range(d)])}
    prev = x
    for k in range(1, o["blocks"] + 1):
        wa, wb = 2 * k - 1, 2 * k
        w1, b1, z1 = linear_layer(rng, prev, d, w=(-1, 2), b=(-1, 1), bound=8, stats=stats, relu=True)
        a1 = relu_t(z1)
        w2, b2, z2 = linear_layer(rng, a1, d, w=(-1, 1), b=(-1, 1), bound=9, stats=stats, relu=True, offset=prev)
        assert b1 is not None and b2 is not None
        out |= {f"W{wa}": w1, f"b{wa}": b1, f"W{wb}": w2, f"b{wb}": b2}
        prev = relu_t(z2)
    if o["mode"] == "backward":
        while True:
            e = draws(rng, d * s, -1, 1)
            stats.drawn += 1
            if any(e):
                stats.accepted += 1
                break
        out["Y"] = Tensor(prev.shape, [a - b for a, b in zip(prev.data, e)])
    return out


def accept(o: dict[str, Any], vals: dict[str, Tensor]) -> bool:
    """Backward: the gradient must reach the input (else the skip has nothing to show), and
    something must come down the skip of the last block."""
    if o["mode"] != "backward":
        return True
    last = 2 * o["blocks"]
    return any(vals["dX"].data) and any(vals[f"dZ{last}"].data)


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    if o["mode"] == "backward":
        names = [n for n in graph.shapes if graph.roles[n] == "grad" and n != f"dA{2 * o['blocks']}"]
    else:
        names = [
            n
            for n in graph.shapes
            if n[0] in "ZAPQ"
            and n not in graph.leaves
            and not n.startswith("A")
            or n in {f"A{k}" for k in range(1, 2 * o["blocks"] + 1)}
        ]
    return [(name, i) for name in names for i in vals[name].indices()]
