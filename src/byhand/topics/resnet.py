"""Chapter 12 — the residual block (ResNet), by hand.

``Z1 = W1·X + b1``, ``A1 = ReLU(Z1)``, ``f(X) = W2·A1 + b2``, ``A2 = ReLU(X + f(X))``. The identity
matrix is drawn beside ``W2`` and ``X`` under ``A1``, so the residual pre-activation is one
crossing: ``[W2 | I | b2]·[A1 ; X ; 1] = W2·A1 + I·X + b2 = f(X) + X``. The skip is the ``I``.

Levels: one block; the same block with and without the skip, side by side on the same numbers
(what the "+" changes), then the published output layer — a linear read-out ``ŷ = W3·A2 + b3``
without ReLU; the gradient back through two blocks, which arrives at each "+" and goes both ways —
down the skip unchanged and back through f — and adds up at the block's input.

The identity ``I`` of the skip is implied: a teacher's values never contain it (:func:`implied`).
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix, planned_layer, relu_plan
from byhand.topics._sampling import AnswerBudget, Stats, linear_layer, relu_t

NAME = "resnet"
TITLE = "Residual block (ResNet)"
SUMMARY = "a skip connection: [W₂ | I]·[A₁ ; X] = f(X) + X, with and without the skip, and its gradient"
OPTIONS = {
    "mode": Option(
        "forward",
        "compare",
        "backward",
        "forward; compare (with and without the skip); backward (the gradient)",
        choices=("forward", "compare", "backward"),
    ),
    "blocks": Option(1, 1, 2, "residual blocks in a row", lo=1, hi=3),
    # two features at medium: the block with and without the skip and the read-out then come to
    # about 16 minutes, within the medium budget of about 20 (three features: about 24; three
    # features with two hidden units make 20, but the sheet is then too tall for one page band)
    "width": Option(3, 2, 3, "features (the skip needs X and f(X) of one size)", lo=2, hi=5),
    "hidden": Option(3, 3, 3, "hidden units of f (rows of W1)", lo=1, hi=5),
    "batch": Option(1, 2, 1, "samples", lo=1, hi=3),
    "head": Option(0, 1, 0, "1: an output layer after the blocks, a linear read-out ŷ = W·A + b (no ReLU)", lo=0, hi=1),
}


def _head(o: dict[str, Any]) -> int:
    """The number of the output layer's weights: W3 after one block, W5 after two …"""
    return 2 * o["blocks"] + 1


def implied(given: dict[str, Tensor]) -> dict[str, Tensor]:
    """The identity of the skip, sized by X: it is part of the block, not a value to type."""
    d = given["X"].shape[0] if "X" in given else 0
    return {"I": Tensor((d, d), [1 if i == j else 0 for i in range(d) for j in range(d)])}


def build(o: dict[str, Any]) -> Sheet:
    d, s = o["width"], o["batch"]
    nodes: list[Node] = []
    leaves: dict[str, Any] = {"X": (d, s), "I": (d, d)}
    labels: dict[str, str] = {}
    notes = {"I": "identity"}
    prev = "X"
    for k in range(1, o["blocks"] + 1):
        wa, wb = 2 * k - 1, 2 * k  # W1, W2 for block 1; W3, W4 for block 2 …
        h = o["hidden"]
        leaves |= {f"W{wa}": (h, d), f"b{wa}": (h,), f"W{wb}": (d, h), f"b{wb}": (d,)}
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
    if o["head"]:
        n = _head(o)
        sn, sp = subscript(str(n)), subscript(prev[1:])
        leaves |= {f"W{n}": (1, d), f"b{n}": (1,)}
        nodes.append(Node("linear", (f"W{n}", f"b{n}", prev), f"Z{n}"))
        labels[f"Z{n}"] = "Ŷ"
        notes[f"Z{n}"] = f"W{sn}·A{sp} + b{sn}, the output"
        text += f" Then the output layer: Ŷ = W{sn}·A{sp} + b{sn}, no ReLU."
        prev = f"Z{n}"
    if o["mode"] == "backward":
        leaves["Y"] = (1 if o["head"] else d, s)
        nodes += [Node("half_sse", (prev, "Y"), "L"), grad_node("L", "X", "dX")]
        text = (
            "Forward through the block, then backward: the gradient at the + goes down the skip unchanged "
            "and back through f; the two add up at X."
        )
        if o["head"]:
            text += f" The output layer Ŷ = W{subscript(str(_head(o)))}·A + b{subscript(str(_head(o)))} has no ReLU."
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"I": "given"}, bound=20)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    d, s, h = o["width"], o["batch"], o["hidden"]
    x = input_matrix(rng, stats, d, s, (-1, 3))
    out: dict[str, Tensor] = {"X": x} | implied({"X": x})
    prev = x
    zeros = _budget(o)
    for k in range(1, o["blocks"] + 1):
        wa, wb = 2 * k - 1, 2 * k
        if o["mode"] == "backward":
            # each ReLU blocks one sample of one unit and passes the rest, so gradients stay alive
            a0 = [prev.row(i) for i in range(d)]
            w1, b1, z1 = planned_layer(rng, a0, h, relu_plan(rng, h, s), (-1, 2), (-1, 1), 8, stats, None)
            a1 = [[v if v > 0 else 0 for v in r] for r in z1]
            w2, b2, z2 = planned_layer(rng, a1, d, relu_plan(rng, d, s), (-2, 2), (-1, 1), 9, stats, None, offset=a0)
            out |= {
                f"W{wa}": Tensor((h, d), [v for r in w1 for v in r]),
                f"b{wa}": Tensor((h,), b1),
                f"W{wb}": Tensor((d, h), [v for r in w2 for v in r]),
                f"b{wb}": Tensor((d,), b2),
            }
            prev = Tensor((d, s), [v if v > 0 else 0 for r in z2 for v in r])
            continue
        later = o["blocks"] - k  # blocks still to come, each needing zeros of its own
        w1t, b1t, z1t = linear_layer(
            rng, prev, h, w=(-1, 2), b=(-1, 1), bound=8, stats=stats, relu=True,
            row_rule=zeros.rule(h, reserve=zeros.per_block * (later + 1)),
        )
        a1t = relu_t(z1t)
        w2t, b2t, z2t = linear_layer(
            rng, a1t, d, w=(-1, 1), b=(-1, 1), bound=9, stats=stats, relu=True, offset=prev,
            row_rule=zeros.rule(d, reserve=zeros.per_block * later, skip=prev if o["mode"] == "compare" else None),
        )
        assert b1t is not None and b2t is not None
        out |= {f"W{wa}": w1t, f"b{wa}": b1t, f"W{wb}": w2t, f"b{wb}": b2t}
        prev = relu_t(z2t)
    if o["head"]:
        n = _head(o)
        w3, b3, prev = linear_layer(
            rng, prev, 1, w=(-1, 1), b=(-2, 2), bound=20, stats=stats,
            row_rule=zeros.rule(1, reserve=0, relu=False) if o["mode"] != "backward" else None,
        )
        assert b3 is not None
        out |= {f"W{n}": w3, f"b{n}": b3}
    if o["mode"] == "backward":  # ŷ − Y: no entry 0, so every output passes a gradient back
        e = [rng.choice((1, -1, 2, -2, 3)) for _ in prev.data]  # varied, so the answers are
        stats.drawn += 1
        stats.accepted += 1
        out["Y"] = Tensor(prev.shape, [a - b for a, b in zip(prev.data, e)])
    return out


def _budget(o: dict[str, Any]) -> AnswerBudget:
    """A forward or compare sheet's answers: Z and A of every layer (and Z′, A′ without the skip),
    and the read-out."""
    s, d, h = o["batch"], o["width"], o["hidden"]
    compare = o["mode"] == "compare"
    answers = o["blocks"] * (2 * h * s + 2 * d * s * (2 if compare else 1)) + (s if o["head"] else 0)
    return AnswerBudget(answers, per_block=3 if compare else 2)  # a crossed-out z in A₁ and A₂ (and A₂′)


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
        acts = {f"A{k}" for k in range(1, 2 * o["blocks"] + 1)}  # once, not once a tensor
        names = [
            n
            for n in graph.shapes
            if n[0] in "ZAPQ"
            and n not in graph.leaves
            and not n.startswith("A")
            or n in acts
        ]
    return [(name, i) for name in names for i in vals[name].indices()]
