"""Chains of layers, shared by the network chapters: ``Z_l = W_l·A_{l−1} + b_l``, ``A_l = ReLU(Z_l)``.

The output of a layer (after its activation) becomes the input on top of the next; the input is
``X`` with one column per sample.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Node
from byhand.engine.tensor import Shape, Tensor
from byhand.errors import GenerationError
from byhand.topics._sampling import Stats, linear_layer, relu_t, vector


def chain(
    sizes: list[int], batch: int, *, act: str = "relu", alpha: str | None = None, last_act: bool = True
) -> tuple[list[Node], dict[str, Shape]]:
    """Nodes and leaf shapes for layers of the given sizes (sizes[0] is the input)."""
    nodes: list[Node] = []
    leaves: dict[str, Shape] = {"X": (sizes[0], batch)}
    prev = "X"
    depth = len(sizes) - 1
    for layer in range(1, depth + 1):
        leaves[f"W{layer}"] = (sizes[layer], sizes[layer - 1])
        leaves[f"b{layer}"] = (sizes[layer],)
        nodes.append(Node("linear", (f"W{layer}", f"b{layer}", prev), f"Z{layer}"))
        prev = f"Z{layer}"
        if layer < depth or last_act:
            attrs = {"alpha": alpha} if act == "leaky_relu" and alpha else {}
            nodes.append(Node(act, (f"Z{layer}",), f"A{layer}", attrs))
            prev = f"A{layer}"
    return nodes, leaves


def softmax_columns(z: str, p: str = "P", *, base: int = 3, temperature: int = 1) -> tuple[list[Node], dict[str, str]]:
    """A softmax written the method's way, column by column, each step a tensor of its own (so any
    of them can be a blank): ``z/T`` (when T ≠ 1), ``3ᶻ``, their ``Σ`` under each column, and
    ``P = 3ᶻ ÷ Σ``. Published: z = [1, 0, 1, 5] → 3, 1, 3, 243 → Σ 250 → P = 3/250, ….
    Returns the nodes and the maths names of the new tensors."""
    nodes: list[Node] = []
    labels: dict[str, str] = {}
    src, cell = z, "ᶻ"
    if temperature != 1:
        nodes.append(Node("scale", (z,), f"{z}T", {"by": f"1/{temperature}"}))
        labels[f"{z}T"] = f"{z}/T"  # written "Z/T = Z/2": the temperature's letter, then its value
        src, cell = f"{z}T", f"^({z}/T)"
    nodes += [
        Node("exp", (src,), "E", {"base": base}),
        Node("colsum", ("E",), "S"),
        Node("div", ("E", "S"), p),
    ]
    labels |= {"E": f"{base}{cell}", "S": f"Σ {base}{cell}"}
    return nodes, labels


def sample_chain(
    rng: random.Random,
    stats: Stats,
    sizes: list[int],
    batch: int,
    *,
    x_range: tuple[int, int] = (-2, 3),
    w: tuple[int, int] = (-2, 2),
    b: tuple[int, int] = (-2, 2),
    bound: int = 12,
    last_act: bool = True,
    alpha: Any = 0,
    even_negatives: bool = False,
    col_limit: int | None = None,
    gain_limit: int | None = None,
    keep: dict[str, Tensor] | None = None,
) -> dict[str, Tensor]:
    """Hand-friendly leaves for :func:`chain`, drawn layer by layer, row by row."""
    depth = len(sizes) - 1
    x = input_matrix(rng, stats, sizes[0], batch, x_range)
    out: dict[str, Tensor] = {"X": x}
    acts = [x]  # the input of each layer
    layer = 1
    backtracks = 0
    while layer <= depth:
        act = layer < depth or last_act
        try:
            wt, bt, z = linear_layer(
                rng,
                acts[layer - 1],
                sizes[layer],
                w=w,
                b=b,
                bound=bound,
                stats=stats,
                relu=act,
                even_negatives=even_negatives and act,
                col_limit=col_limit if act else None,
                gain_limit=gain_limit if act else None,
            )
        except GenerationError:
            # this layer's input leaves no friendly row: draw the layer before it again
            backtracks += 1
            if layer == 1 or backtracks > 8 * depth:
                raise
            layer -= 1
            acts.pop()
            continue
        assert bt is not None
        out[f"W{layer}"], out[f"b{layer}"] = wt, bt
        acts.append(relu_t(z, alpha) if act else z)
        layer += 1
    if keep is not None:
        keep["out"] = acts[-1]  # the last layer's output, for a chapter that builds on it
    return out


def input_matrix(rng: random.Random, stats: Stats, rows: int, cols: int, lo_hi: tuple[int, int]) -> Tensor:
    """Samples as columns; no column and (with two or more samples) no row all zeros."""
    for _ in range(200):
        cs = [vector(rng, rows, *lo_hi, stats=stats) for _ in range(cols)]
        x = Tensor((rows, cols), [cs[j][i] for i in range(rows) for j in range(cols)])
        if cols == 1 or all(any(x.row(i)) for i in range(rows)):
            return x
    raise GenerationError("no input without an all-zero row; widen the value range")


def all_cells(vals: dict[str, Tensor], names: list[str]) -> list[tuple[str, tuple[int, ...]]]:
    return [(n, i) for n in names for i in vals[n].indices()]
