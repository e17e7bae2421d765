"""Chapter 10 — the gradient as change (the workbook's Gradient chapter). The same small network
is drawn twice, before and after a weight changes by ``dW``. The student computes the new output,
the change ``dZ``, and discovers that the ratio ``dZ/dW`` is the input ``X``. Then several weights
at once: the change is ``Σ dW .* X`` — and for a whole matrix, ``dW·X``.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, draw, linear_layer, vector

NAME = "gradient"
TITLE = "Gradient as change"
SUMMARY = "change a weight by dW, see Z change by dZ: dZ/dW = X; several weights: Σ dW.*X"
OPTIONS = {
    "mode": Option(
        "one", "several", "matrix", "one weight, several weights, or a whole matrix", choices=("one", "several", "matrix")
    ),
    "inputs": Option(3, 3, 3, "features (several / matrix)", lo=2, hi=6),
    "outputs": Option(1, 1, 2, "neurons (matrix)", lo=1, hi=4),
    "batch": Option(1, 1, 2, "samples (matrix)", lo=1, hi=3),
}


def build(o: dict[str, Any]) -> Sheet:
    if o["mode"] == "one":
        nodes = [
            Node("mul", ("w", "x"), "p"),
            Node("add", ("p", "b"), "z"),
            Node("add", ("w", "dw"), "w2"),
            Node("mul", ("w2", "x"), "p2"),
            Node("add", ("p2", "b"), "z2"),
            Node("sub", ("z2", "z"), "dz"),
            Node("div", ("dz", "dw"), "r"),
        ]
        return Sheet(
            nodes,
            {"w": (), "x": (), "b": (), "dw": ()},
            "Compute z = w·x + b; change w by dw (w′ = w + dw) and compute z′ = w′·x + b; then dz = z′ − z and the ratio "
            "dz/dw. Compare it with x.",
            labels={"p": "w·x", "w2": "w′", "p2": "w′·x", "z2": "z′", "r": "dz/dw"},
            roles={"w": "weight", "x": "input", "b": "bias", "dw": "given"},
        )
    n = o["inputs"]
    m, s = (1, 1) if o["mode"] == "several" else (o["outputs"], o["batch"])
    nodes = [
        Node("linear", ("W", "b", "X"), "Z"),
        Node("add", ("W", "dW"), "W2"),
        Node("linear", ("W2", "b", "X"), "Z2"),
        Node("sub", ("Z2", "Z"), "dZ"),
    ]
    labels = {"W2": "W′", "Z2": "Z′"}
    if o["mode"] == "several":
        nodes += [Node("transpose", ("X",), "XT"), Node("mul", ("dW", "XT"), "E"), Node("sum", ("E",), "S")]
        labels.update({"E": "dW ⊙ Xᵀ", "S": "Σ (dW ⊙ Xᵀ)"})
        text = (
            "Compute Z = W·X + b, then Z′ with W′ = W + dW; dZ = Z′ − Z is the change. "
            "Multiply dW by Xᵀ entry by entry (dW ⊙ Xᵀ) and add: the same dZ."
        )
    else:
        nodes += [Node("matmul", ("dW", "X"), "G")]
        labels["G"] = "dW·X"
        text = "Compute Z = W·X + b, then Z′ with W′ = W + dW; dZ = Z′ − Z is the change. Then dW·X: the same dZ, cell by cell."
    return Sheet(nodes, {"W": (m, n), "b": (m,), "X": (n, s), "dW": (m, n)}, text, labels=labels, roles={"dW": "given"})


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    if o["mode"] == "one":
        w0 = draw(rng, -3, 3)
        x0 = vector(rng, 1, -3, 3, stats=stats, ok=lambda v: v[0] not in (0, 1))[0]
        b0 = draw(rng, -2, 2)
        dw0 = vector(rng, 1, -2, 2, stats=stats)[0]
        return {"w": Tensor((), [w0]), "x": Tensor((), [x0]), "b": Tensor((), [b0]), "dw": Tensor((), [dw0])}
    n = o["inputs"]
    m, s = (1, 1) if o["mode"] == "several" else (o["outputs"], o["batch"])
    x = input_matrix(rng, stats, n, s, (-2, 3))
    w, b, _ = linear_layer(rng, x, m, bound=12, stats=stats)
    assert b is not None
    dw = Tensor((m, n), [0] * (m * n))
    k = 2 if m * n >= 2 else 1
    for i in rng.sample(range(m * n), k):
        dw.data[i] = rng.choice([1, -1, 2])
    return {"W": w, "b": b, "X": x, "dW": dw}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = [n for n in graph.shapes if n not in graph.leaves and n != "XT"]
    return [(name, i) for name in names for i in vals[name].indices()]
