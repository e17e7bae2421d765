"""Views of an exercise: text (terminal), HTML (lecture deck, web), SVG diagrams. Print lives in
byhand.printing. Every view works from the Exercise alone."""

from __future__ import annotations

from byhand.engine.graph import Node

OP_WORDS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "sigmoid": "σ",
    "softmax": "softmax",
    "add": "+",
    "sub": "−",
    "mul": ".*",
    "div": "/",
    "transpose": "transpose",
    "sum": "Σ",
    "hstack": "hstack",
    "vstack": "vstack",
    "stack": "stack",
}


def formula(n: Node, with_attrs: bool = False) -> str:
    """How a sheet writes an op: ``W1·X + b1``, ``ReLU(Z1)``, ``∂L/∂W1``, ``½ Σ (Z2 − Y)²``."""
    if n.op == "linear":
        return f"{n.ins[0]}·{n.ins[2]} + {n.ins[1]}"
    if n.op in ("dot", "matmul"):
        return f"{n.ins[0]}·{n.ins[1]}"
    if n.op == "grad":
        return f"∂{n.attrs['of']}/∂{n.attrs['wrt']}"
    if n.op in ("add", "sub", "mul", "div"):
        return f"{n.ins[0]} {OP_WORDS[n.op]} {n.ins[1]}"
    if n.op == "half_sse":
        return f"½ Σ ({n.ins[0]} − {n.ins[1]})²"
    if n.op == "cross_entropy":
        return f"−Σ {n.ins[1]}·log {n.ins[0]}"
    attrs = ", ".join(f"{k}={v}" for k, v in n.attrs.items()) if with_attrs else ""
    return f"{OP_WORDS.get(n.op, n.op)}({', '.join(n.ins)}{', ' + attrs if attrs else ''})"
