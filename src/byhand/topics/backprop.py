"""Chapter 11 — backpropagation through a small MLP with a loss. Forward as before; then the
gradients run the other way: ``∂L/∂Ŷ = Ŷ − Y`` (½ sum of squared error) or ``P − Y`` (softmax +
cross-entropy), then for each layer ``dW = dZ·Aᵀ``, ``db = Σ dZ``, ``dA = Wᵀ·dZ`` and ReLU's
backward, which passes the gradient where ``Z > 0`` and blocks it elsewhere.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from byhand.errors import ByHandError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._nets import chain, sample_backprop, softmax_columns
from byhand.topics._sampling import Stats

NAME = "backprop"
TITLE = "Backpropagation"
SUMMARY = "forward, then gradients back through every layer: dW = dZ·Aᵀ, dA = Wᵀ·dZ, ReLU passes or blocks"
RULES_BUILT_IN = True  # the sampler checks the rules on its own exact backward pass (tests/topics/test_rules.py)
OPTIONS = {
    "depth": Option(2, 2, 3, "layers (up to 10: deeper, gradients of ±20 at most and few zeros cannot all hold)", lo=1, hi=10),
    "width": Option(2, 2, 2, "neurons per hidden layer (two at least: ReLU blocks one and passes another)", lo=2, hi=6),
    "inputs": Option(2, 3, 2, "features per sample", lo=1, hi=6),
    "batch": Option(1, 2, 2, "samples (two: ReLU can block one sample and pass the other)", lo=1, hi=3),
    "ask": Option(
        "last",
        "all",
        "all",
        "blanks: the last layer's gradients, every gradient, or all cells",
        choices=("last", "grads", "all"),
    ),
    "loss": Option(
        "sse", "sse", "ce", "sse (½ sum of squared error) or ce (softmax base 3 + cross-entropy)", choices=("sse", "ce")
    ),
}


# Beyond three layers the gradient's size is kept in view as the layers are drawn (see
# ``sample_backprop``): no map from a hidden layer's gradient to a layer below it has a row whose
# absolute sum exceeds this, so the gradient cannot double from layer to layer on its way down.
_GAIN = 4


def sizes(o: dict[str, Any]) -> list[int]:
    out = 2 if o["loss"] == "ce" or o["depth"] > 1 else 1
    return [o["inputs"]] + [o["width"]] * (o["depth"] - 1) + [out]


def build(o: dict[str, Any]) -> Sheet:
    d = o["depth"]
    nodes, leaves = chain(sizes(o), o["batch"], last_act=False)
    out = f"Z{d}"
    leaves["Y"] = (sizes(o)[-1], o["batch"])
    labels: dict[str, str] = {}
    if o["loss"] == "sse":
        nodes.append(Node("half_sse", (out, "Y"), "L"))
        head = "L = ½ Σ (Ŷ − Y)², so dŶ = Ŷ − Y"
    else:
        soft, labels = softmax_columns(out, base=3)  # 3ᶻ, Σ, P = 3ᶻ ÷ Σ: the method's columns
        nodes += [*soft, Node("cross_entropy", ("P", "Y"), "L", {"base": 3})]
        head = f"P = softmax₃(Z{subscript(str(d))}), L = −Σ Y·log₃ P, so dZ{subscript(str(d))} = P − Y"
    for layer in range(d, 0, -1):
        nodes += [grad_node("L", f"W{layer}", f"dW{layer}"), grad_node("L", f"b{layer}", f"db{layer}")]
    labels = {out: "Ŷ"} if o["loss"] == "sse" else labels
    notes = {out: f"Z{subscript(str(d))}, the output"} if o["loss"] == "sse" else {}
    text = f"Forward, then backward: {head}; dW = dZ·Aᵀ, db = Σ dZ, dA = Wᵀ·dZ."
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    if o["batch"] == 1 and o["depth"] > 1 and o["ask"] != "last":
        # One sample: the unit its ReLU crosses out zeroes its dZ, its db and a whole row of dW, so
        # with every gradient asked more than a quarter of the answers would be 0 (the rule). A
        # teacher's own numbers (--values) are not drawn, so they are not refused.
        raise ByHandError(M_("with one sample (batch=1) the unit ReLU crosses out makes a whole row of dW zero, "
                             "too many zeros when every gradient is asked; use batch=2, or ask=last"))
    deep = o["depth"] > 3
    return sample_backprop(
        rng,
        stats,
        sizes(o),
        o["batch"],
        loss=o["loss"],
        w=(-1, 2) if not deep else (-1, 1),
        b=(-2, 2) if not deep else (-3, 3),  # deep: a unit's inputs may sit at 3 and 4; a bias of −3 still splits them
        bound=6 if not deep else 4,
        col_limit=2,
        ask=o["ask"],
        gain=_GAIN if deep else None,
    )


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    grads = [n for n in graph.shapes if graph.roles[n] == "grad"]
    d = o["depth"]
    if o["loss"] == "ce":
        grads = [n for n in grads if n != "dP"]
    if o["ask"] == "last":
        names = [f"dZ{d}" if f"dZ{d}" in graph.shapes else f"d{d}", f"dW{d}", f"db{d}"]
    elif o["ask"] == "grads":
        names = grads
    else:
        names = [n for n in graph.shapes if n[0] in "ZA" and n not in graph.leaves]
        if o["loss"] == "ce":
            # the logits are given: the printed 3ᶻ column (3ᶻ, Σ and P are the softmax chapter's
            # work) would give them away through an invertible step
            names.remove(f"Z{d}")
        names += grads
    return [(name, i) for name in names for i in vals[name].indices()]
