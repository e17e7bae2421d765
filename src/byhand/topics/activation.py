"""Chapter 4 — activation: a linear layer followed by ReLU, done by crossing out each negative and
writing 0; positives pass unchanged. Hard level uses LeakyReLU with slope 1/2 instead
(negatives are halved; they are even, so answers stay whole numbers).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph
from byhand.engine.tensor import Tensor
from byhand.topics import Option, Sheet
from byhand.topics._nets import all_cells, chain, sample_chain

NAME = "relu"
TITLE = "Activation: ReLU"
SUMMARY = "a linear layer, then ReLU: cross out each negative and write 0 (LeakyReLU: halve it)"
OPTIONS = {
    "inputs": Option(3, 3, 3, "features per sample", lo=1, hi=8),
    "outputs": Option(3, 3, 4, "neurons", lo=2, hi=8),
    "batch": Option(1, 2, 2, "samples", lo=1, hi=6),
    "activation": Option("relu", "relu", "leaky_relu", "relu or leaky_relu (slope 1/2)", choices=("relu", "leaky_relu")),
    "show_z": Option(1, 0, 0, "1: give Z and ask only for the activation", lo=0, hi=1),
}


def build(o: dict[str, Any]) -> Sheet:
    alpha = "1/2"
    nodes, leaves = chain([o["inputs"], o["outputs"]], o["batch"], act=o["activation"], alpha=alpha)
    if o["activation"] == "relu":
        act = "A₁ = ReLU(Z₁): cross out each negative and write 0 beside it; positives stay"
    else:  # said the way the graph's slope acts on a negative
        how = "halve each negative" if alpha == "1/2" else f"multiply each negative by {alpha}"
        act = f"A₁ = LeakyReLU(Z₁): {how} (slope {alpha}); positives stay"
    return Sheet(nodes, leaves, f"Compute Z₁ = W₁·X + b₁, then {act}.", bound=15)


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    leaky = o["activation"] == "leaky_relu"
    return sample_chain(
        rng, stats, [o["inputs"], o["outputs"]], o["batch"], bound=12, alpha=Fraction(1, 2) if leaky else 0, even_negatives=leaky
    )


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    return all_cells(vals, ["A1"] if o["show_z"] else ["Z1", "A1"])
