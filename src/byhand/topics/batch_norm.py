"""Batch statistics and batch normalisation, by hand. Features are rows, the samples of a batch
are columns (X is d×N). Every step is a crossing or a column the student writes:

1. the batch sum of each feature, ``X·1`` (a column of 1s on top);
2. the mean ``μ = sum/N``;
3. the centred batch ``X − μ = [I | −μ]·[X ; 1]`` (the bias column of a linear layer);
4. the squares, their sum through the 1s again, ``σ² = Σ(X − μ)²/N``, and ``σ = √σ²``;
5. ``X̂ = diag(1/σ)·(X − μ)`` — each feature's row divided by its σ;
6. hard: ``Y = [diag γ | β]·[X̂ ; 1]``; one shift β is hidden and one output of its row printed,
   so the student runs the last step backwards: ``β = y − γ·x̂`` (``inverse``).

Each feature's row is built as μ ± σ (two samples above the mean, two below), so μ and σ are
whole numbers (the published post rounds them; here nothing is rounded).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import FormatError
from byhand.i18n import M_
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats

NAME = "batch-norm"
TITLE = "Batch normalisation"
SUMMARY = (
    "the batch sum through a column of 1s, the mean μ, the centred batch X − μ; σ², σ per feature, "
    "X̂ = (X − μ)/σ and [diag γ | β]·[X̂ ; 1]: every mean and σ exact"
)
OPTIONS = {
    "features": Option(2, 2, 3, "features (rows of X)", lo=1, hi=4),
    "stage": Option("batch", "normalise", "affine", "how far: batch statistics, normalise, or scale and shift",
                    choices=("batch", "normalise", "affine")),
    "inverse": Option(0, 0, 1, "1 (with stage=affine): one shift β hidden, found from a printed output y = γ·x̂ + β",
                      lo=0, hi=1),
}
N = 4  # samples per batch: two above the mean and two below, so σ is whole
RULES_BUILT_IN = True
"""Normalising makes answers repeat by design — every X̂ is ±1 and (X − μ)² is σ² in each cell —
so the general "no value more than a third of the answers" rule cannot hold; the sampler keeps
its own: no statistic is 0 (μ ≠ 0, σ ≥ 1; only a Y may be) and no two features alike."""


def given(o: dict[str, Any], values: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """A teacher's X sets the number of features (its rows); it must have N columns."""
    x = values.get("X") if isinstance(values, Mapping) else None
    if isinstance(x, list) and x and all(isinstance(r, list) for r in x):
        if any(len(r) != N for r in x):
            raise FormatError(M_("X must have {n} columns, one per sample of the batch (rows are features)", n=N))
        lo, hi = OPTIONS["features"].lo, OPTIONS["features"].hi
        if not lo <= len(x) <= hi:  # type: ignore[operator]
            raise FormatError(M_("X gives {n} features; use {lo}…{hi}", n=len(x), lo=lo, hi=hi))
        o = dict(o) | {"features": len(x)}
    return o, values


def implied(given: dict[str, Tensor]) -> dict[str, Tensor]:
    """The constants of the method — the column of 1s the sums run through, the identity of
    [I | −μ] (sized by X's features) and the 1 that 1/σ divides — are part of the sheet, not
    values to type: a teacher's file gives X (and γ, β), never these."""
    d = given["X"].shape[0] if "X" in given else 0
    return {
        "ONES": Tensor((N,), [1] * N),
        "I": Tensor((d, d), [1 if i == j else 0 for i in range(d) for j in range(d)]),
        "ONE": Tensor((), [1]),
    }


def build(o: dict[str, Any]) -> Sheet:
    d, stage = o["features"], o["stage"]
    leaves: dict[str, tuple[int, ...]] = {"X": (d, N), "ONES": (N,), "I": (d, d)}
    nodes = [
        Node("matmul", ("X", "ONES"), "SUM"),
        Node("scale", ("SUM",), "MU", {"by": f"1/{N}"}),
        Node("scale", ("MU",), "NMU", {"by": "-1"}),
        Node("linear", ("I", "NMU", "X"), "XC"),
    ]
    labels = {"ONES": "1", "SUM": "Σ", "MU": "μ", "NMU": "−μ", "XC": "X − μ"}
    notes = {"SUM": "the batch sum of each feature", "XC": "the centred batch"}
    roles = {"X": "input", "ONES": "input", "I": "weight"}
    text = f"Features are rows, the {N} samples columns. Add each row through the 1s (Σ), divide by {N} (μ), " \
           "and centre the batch: X − μ = [I | −μ]·[X ; 1]."
    if stage != "batch":
        leaves["ONE"] = ()
        nodes += [
            Node("mul", ("XC", "XC"), "SQ"),
            Node("matmul", ("SQ", "ONES"), "SS"),
            Node("scale", ("SS",), "VAR", {"by": f"1/{N}"}),
            Node("sqrt", ("VAR",), "SIG"),
            Node("div", ("ONE", "SIG"), "SINV"),
            Node("diag", ("SINV",), "DS"),
            Node("matmul", ("DS", "XC"), "XH"),
        ]
        labels |= {"SQ": "(X − μ)²", "SS": "Σ (X − μ)²", "VAR": "σ²", "SIG": "σ", "SINV": "1/σ",
                   "DS": "diag(1/σ)", "XH": "X̂", "ONE": "1"}
        notes |= {"VAR": "the variance of each feature", "XH": "normalised: (X − μ)/σ"}
        roles["ONE"] = "input"
        text += f" Square it, add each row through the 1s and divide by {N} (σ²), take √ (σ), and divide each " \
                "row by its σ: X̂ = diag(1/σ)·(X − μ)."
    if stage == "affine":
        leaves |= {"GAMMA": (d,), "BETA": (d,)}
        nodes += [Node("diag", ("GAMMA",), "G"), Node("linear", ("G", "BETA", "XH"), "Y")]
        labels |= {"GAMMA": "γ", "BETA": "β", "G": "diag γ"}
        notes |= {"Y": "scaled by γ and shifted by β"}
        roles |= {"GAMMA": "weight", "BETA": "bias"}
        text += " Finally scale and shift: Y = [diag γ | β]·[X̂ ; 1]."
        if o["inverse"]:
            text += " One shift β is hidden: run the last step backwards from its printed output, β = y − γ·x̂."
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=40)  # Σ(X − μ)² = 4σ² ≤ 36


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """Per feature: μ and σ whole (μ in −2…3 but not 0, σ in 1…2, or 1…3 with three features;
    distinct σ across features when they can be), the row μ ± σ with two of each sign in a random
    order, no two rows alike."""
    d = o["features"]
    rows: list[list[int]] = []
    choices = [1, 2, 3] if d >= 3 else [1, 2]  # Σ(X − μ)² = 4σ²: 36 only with three features (hard)
    sigmas = rng.sample(choices, min(d, len(choices))) + [rng.choice(choices) for _ in range(max(0, d - len(choices)))]
    while len(rows) < d:
        stats.drawn += 1
        mu, s = rng.randint(-2, 3), sigmas[len(rows)]
        signs = [1, 1, -1, -1]
        rng.shuffle(signs)
        row = [mu + s * g for g in signs]
        if mu == 0 or row in rows:
            continue  # μ = 0 would make centring a no-op
        stats.accepted += 1
        rows.append(row)
    out = {
        "X": Tensor((d, N), [v for row in rows for v in row]),
        "ONES": Tensor((N,), [1] * N),
        "I": Tensor((d, d), [1 if i == j else 0 for i in range(d) for j in range(d)]),
    }
    if o["stage"] != "batch":
        out["ONE"] = Tensor((), [1])
    if o["stage"] == "affine":
        out["GAMMA"] = Tensor((d,), [rng.choice([2, 3, -2]) for _ in range(d)])
        out["BETA"] = Tensor((d,), [rng.choice([-2, -1, 1, 2]) for _ in range(d)])
    return out


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every statistic and every normalised cell; with ``inverse`` (affine stage), one β hidden and
    one output y of its row printed: β = y − γ·x̂, then the rest of the row as usual."""
    names = ["SUM", "MU", "NMU", "XC", "SQ", "SS", "VAR", "SIG", "SINV", "XH", "Y"]
    cells = [(n, i) for n in names if n in graph.shapes for i in vals[n].indices()]
    if "DS" in graph.shapes:
        d = o["features"]
        cells += [("DS", (i, i)) for i in range(d)]
    if o["inverse"] and "Y" in graph.shapes:  # β of one feature hidden, one of its outputs printed
        i, j = rng.randrange(o["features"]), rng.randrange(N)
        cells = [c for c in cells if c != ("Y", (i, j))] + [("BETA", (i,))]
    return cells


