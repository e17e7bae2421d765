"""Convolution and max-pooling, by hand (Tom Yeh's "Convolution by hand"), written as im2col.

The image ``X`` (with a border of ``pad`` zeros if asked: ``Xₚ``) is cut into its 3×3 patches,
moving ``stride`` cells at a time; each patch, read row by row, is one column of ``C = im2col(X)``.
The filter ``F``, read row by row too, is one row, so the convolution is the familiar crossing
``Y = [F | b]·[C ; 1]`` — every output is a patch's column met by the filter's row, plus the bias
(the row of 1s). ``Y`` laid out row by row is the output map ``M``, and the 2×2 max-pool ``P``
keeps the largest of each window (sampled so that no window has its largest value twice).

Hard: the gradient of the filter. Given ``dY = ∂L/∂Y`` (printed), ``dF = dY·Cᵀ`` — the same
patches again, now as rows — and ``db = Σ dY``. The pool is drawn forward only: the gradient
starts at the convolution's output.
"""

from __future__ import annotations

import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.ops import conv_out
from byhand.engine.tensor import Tensor
from byhand.errors import ByHandError, GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet, _rules
from byhand.topics._sampling import Stats, draws

NAME = "conv"
TITLE = "Convolution and max-pooling"
SUMMARY = "a 3×3 filter over an image as im2col: [F | b]·[C ; 1], every column a patch; 2×2 max-pool; hard: dF = dY·Cᵀ"
OPTIONS = {
    "size": Option(4, 4, 4, "the image's side (a square image)", lo=3, hi=6),
    "pad": Option(0, 1, 1, "rows and columns of 0s around the image", lo=0, hi=1),
    "stride": Option(1, 2, 2, "how far the filter moves each time", lo=1, hi=2),
    "image": Option("binary", "small", "small", "binary: pixels 0 or 1; small: pixels 0 to 3",
                    choices=("binary", "small")),
    "patches": Option(0, 1, 1, "columns of im2col the student writes (the patches, from the image)", lo=0, hi=2),
    "grad": Option(0, 0, 1, "1: the gradient of the filter, dF = dY·Cᵀ and db = Σ dY, from a given dY", lo=0, hi=1),
}
K = 3  # the filter's side
TRIES = 400


def geometry(o: dict[str, Any]) -> tuple[int, int]:
    """The output map's rows and columns (a square map)."""
    side = o["size"] + 2 * o["pad"]
    if side < K:
        raise ByHandError(M_("option size={size} is too small for a 3×3 filter; use size=3 or more", size=o["size"]))
    n = conv_out(side, K, o["stride"])
    return n, n


def build(o: dict[str, Any]) -> Sheet:
    ho, wo = geometry(o)
    if ho < 2:
        raise ByHandError(M_(
            "the output map is {ho}×{wo}: too small for a 2×2 max-pool; use a larger size or stride=1", ho=ho, wo=wo,
        ))
    p = ho * wo
    if p > 16:
        raise ByHandError(M_("the image has {p} patches; at most 16 fit on a sheet: use a smaller size or stride=2", p=p))
    leaves: dict[str, Any] = {"X": (o["size"], o["size"]), "K": (K, K), "b": (1,)}
    roles = {"X": "input", "K": "weight", "b": "bias"}
    nodes: list[Node] = [Node("map_to_row", ("K",), "F")]
    src = "X"
    labels = {"Xp": "Xₚ", "C": "C", "M": "M", "P": "P"}
    notes = {"K": "the 3×3 filter", "F": "K row by row", "C": "im2col: a patch per column", "Y": "per patch",
             "M": "output map", "P": "2×2 max-pool"}
    if o["pad"]:
        nodes.append(Node("pad_zeros", ("X",), "Xp", {"pad": o["pad"]}))
        notes["Xp"] = "padded with 0s"
        src = "Xp"
    attrs: dict[str, Any] = {"size": K} | ({"stride": o["stride"]} if o["stride"] != 1 else {})
    nodes += [
        Node("im2col", (src,), "C", attrs),
        Node("linear", ("F", "b", "C"), "Y"),
        Node("row_to_map", ("Y",), "M", {"rows": ho}),
        Node("max_pool", ("M",), "P", {"size": 2}),
    ]
    moves = "one cell" if o["stride"] == 1 else f"{o['stride']} cells"
    padded = " First the image gets a border of 0s (Xₚ)." if o["pad"] else ""
    text = (
        f"Convolve the {o['size']}×{o['size']} image X with the 3×3 filter K, read row by row as the row F, "
        f"moving {moves} at a time.{padded} Each 3×3 patch, read row by row, is a column of C = im2col; "
        f"then Y = [F | b]·[C ; 1] gives one output per patch ({p} in all). Y laid out row by row is the "
        f"{ho}×{wo} map M; the 2×2 max-pool P keeps the largest of each window."
    )
    if o["grad"]:
        leaves["dY"] = (1, p)
        roles["dY"] = "grad"
        nodes += [
            Node("transpose", ("C",), "Ct"),
            Node("matmul", ("dY", "Ct"), "dF"),
            Node("row_to_map", ("dF",), "dK", {"rows": K}),
            Node("sum", ("dY",), "db"),
        ]
        labels |= {"Ct": "Cᵀ", "dY": "∂L/∂Y", "dF": "∂L/∂F", "dK": "∂L/∂K", "db": "∂L/∂b"}
        notes |= {"dY": "given", "Ct": "patches as rows", "dF": "dY·Cᵀ", "dK": "as the filter", "db": "Σ dY"}
        roles |= {"dF": "grad", "dK": "grad", "db": "grad"}
        text += (
            " Then the gradient of the filter, from the given ∂L/∂Y: ∂L/∂F = ∂L/∂Y·Cᵀ (each patch, now a row, "
            "weighted by its output's gradient), laid out 3×3 as ∂L/∂K, and ∂L/∂b = Σ ∂L/∂Y."
        )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=20)


def _patches(x: list[list[int]], o: dict[str, Any]) -> list[list[int]]:
    pad, s = o["pad"], o["stride"]
    n = o["size"]
    xp = [[0] * (n + 2 * pad) for _ in range(pad)] + [[0] * pad + r + [0] * pad for r in x]
    xp += [[0] * (n + 2 * pad) for _ in range(pad)]
    ho, wo = geometry(o)
    return [
        [xp[pi * s + di][pj * s + dj] for di in range(K) for dj in range(K)] for pi in range(ho) for pj in range(wo)
    ]


def _no_ties(y: list[int], ho: int, wo: int) -> bool:
    for i in range(ho // 2):
        for j in range(wo // 2):
            w = [y[(2 * i + di) * wo + 2 * j + dj] for di in range(2) for dj in range(2)]
            if w.count(max(w)) > 1:
                return False
    return True


def _asked_patches(cols: list[list[Any]], k: int) -> list[int]:
    """The ``k`` patches the student cuts out: those with the fewest 0s (the padding's border is
    a poor exercise), the first of equals."""
    return sorted(sorted(range(len(cols)), key=lambda j: (sum(v == 0 for v in cols[j]), j))[:k])


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n = o["size"]
    hi = 1 if o["image"] == "binary" else 3
    ho, wo = geometry(o)
    for _ in range(TRIES):
        stats.drawn += 1
        x = [draws(rng, n, 0, hi) for _ in range(n)]
        cols = _patches(x, o)
        if any(not any(c) for c in cols) or len({tuple(c) for c in cols}) < len(cols):
            continue  # every patch sees something, and no two patches alike
        asked = [v for j in _asked_patches(cols, o["patches"]) for v in cols[j]]
        for _ in range(10):  # filters for this image
            stats.drawn += 1
            f = draws(rng, K * K, -1, 1)
            if f.count(0) > 3 or 1 not in f or -1 not in f:
                continue  # a filter that weighs: few 0s, some +, some −
            b = rng.choice((-1, 0, 1))
            y = [sum(fv * cv for fv, cv in zip(f, c)) + b for c in cols]
            if any(abs(v) > 12 for v in y) or not _no_ties(y, ho, wo) or max(y) <= 0:
                continue
            if 2 * max(y.count(v) for v in y) > len(y):
                continue  # the outputs vary: no value in more than half of them
            pooled = [max(y[(2 * i + di) * wo + 2 * j + dj] for di in range(2) for dj in range(2))
                      for i in range(ho // 2) for j in range(wo // 2)]
            if not _rules.shares_ok(_rules.shares(asked + y + pooled)):
                continue
            out = {
                "X": Tensor((n, n), [v for r in x for v in r]),
                "K": Tensor((K, K), f),
                "b": Tensor((1,), [b]),
            }
            if o["grad"]:
                dy = draws(rng, len(y), -2, 2)
                df = [sum(g * c[r] for g, c in zip(dy, cols)) for r in range(K * K)]
                if dy.count(0) > 1 or any(abs(v) > 12 for v in df) or not _rules.shares_ok(_rules.shares(df + [sum(dy)])):
                    continue
                out["dY"] = Tensor((1, len(y)), dy)
            stats.accepted += 1
            return out
    raise GenerationError("no hand-friendly convolution")


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """The outputs Y (the map M is their copy), the pool; the first ``patches`` columns of im2col
    (the student cuts those patches out of the image); at hard the filter's gradient."""
    cells: list[Any] = []
    c = vals["C"]
    cols = [list(c.col(j)) for j in range(c.shape[1])]
    for j in _asked_patches(cols, o["patches"]):
        cells += [("C", (r, j)) for r in range(c.shape[0])]
    cells += [("Y", i) for i in vals["Y"].indices()] + [("P", i) for i in vals["P"].indices()]
    if o["grad"]:
        cells += [("dF", i) for i in vals["dF"].indices()] + [("db", i) for i in vals["db"].indices()]
    return cells
