"""Dropout, by hand. A layer's output A (one row per unit, one column per sample); a printed random
number r per unit; the unit is kept where r ≥ p and dropped where r < p (the mask M); the kept
units are scaled by 1/(1 − p) (p = ½: ×2) so the layer's expected output stays the same. The
scaling is a crossing: ``A_drop = D·A`` with ``D = diag(M)·1/(1 − p)`` on the left. At inference
there is no dropout: the same layer passes A on unchanged (hard: the next layer is computed both
ways, with and without dropout).

Hard hides one bias of a kept unit and prints one of its A_drop cells: the student undoes the
scaling (A₁ = A_drop ÷ 1/(1 − p)), then ReLU (a positive output is its input) and the layer
(b₁ = z − W₁·x) — a kept activation recovered from its scaled output.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.engine.values import norm
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet
from byhand.topics._nets import all_cells, chain, input_matrix
from byhand.topics._sampling import Stats, linear_layer

NAME = "dropout"
TITLE = "Dropout"
SUMMARY = (
    "printed random numbers r: keep a unit where r ≥ p, drop it where r < p; the kept units ×1/(1 − p) "
    "as a diagonal matrix crossing; at inference the same layer without dropout"
)
OPTIONS = {
    "inputs": Option(3, 3, 3, "features per sample", lo=2, hi=5),
    "units": Option(4, 4, 4, "units of the layer that dropout acts on", lo=3, hi=6),
    "batch": Option(1, 2, 2, "samples", lo=1, hi=3),
    "p": Option("1/2", "1/2", "1/4", "dropout rate p (1/2: ×2; 1/4: ×4/3)", choices=("1/2", "1/4")),
    "next": Option(0, 0, 1, "1: the next layer, with dropout (training) and without (inference)", lo=0, hi=1),
    "inverse": Option(0, 0, 1, "1: one bias of a kept unit hidden, found back from its printed A_drop (÷ the scale)",
                      lo=0, hi=1),
}
MAX_TRIES = 1000
RULES_BUILT_IN = True
"""Dropout writes zeros by design (a ReLU's, and every dropped unit's: its mask, its D entry, its
row of A_drop): the sampler keeps them to at most a third of the answers, and no other value more
than a third, itself (the general rule allows a quarter)."""


def build(o: dict[str, Any]) -> Sheet:
    p = Fraction(o["p"])
    scale = 1 / (1 - p)
    nodes, leaves = chain([o["inputs"], o["units"]], o["batch"], act="relu")
    leaves["R"] = (o["units"],)
    nodes += [
        Node("dropmask", ("R",), "M", {"p": o["p"]}),
        Node("diag", ("M",), "D", {"by": str(scale)}),
        Node("matmul", ("D", "A1"), "AD"),
    ]
    labels = {"R": "r", "M": "mask", "D": "D", "AD": "A_drop"}
    notes = {"R": "printed random numbers", "M": f"1: r ≥ {o['p']}, keep; 0: drop",
             "D": f"diag(mask)·{scale}", "AD": "training: with dropout"}
    roles = {"R": "input"}
    words = f"×{scale}" if scale.denominator == 1 else f"×{scale.numerator}/{scale.denominator}"
    text = (
        f"Compute Z₁ = W₁·X + b₁ and A₁ = ReLU(Z₁). Dropout with p = {o['p']}: for each unit compare its printed "
        f"random number r with p — keep it (1) where r ≥ p, drop it (0) where r < p; put the mask on the "
        f"diagonal of D, {words} (= 1/(1 − p)), and multiply A_drop = D·A₁."
    )
    if o["next"]:
        leaves["W2"] = (2, o["units"])
        nodes += [Node("matmul", ("W2", "AD"), "Y"), Node("matmul", ("W2", "A1"), "YI")]
        labels |= {"Y": "Y_train", "YI": "Y_infer"}
        notes |= {"Y": "with dropout", "YI": "inference: no dropout, A₁ as it is"}
        roles["W2"] = "weight"
        text += " Then the next layer twice: Y_train = W₂·A_drop (training) and Y_infer = W₂·A₁ (inference: no dropout)."
    if o["inverse"]:
        text += (f" One bias is hidden: a kept unit's A_drop is printed — undo the scaling (÷ {str(scale)}), "
                 "then ReLU (a positive output is its input), then b₁ = z − W₁·x.")
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=30)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """A ReLU layer (something crossed out, nothing dead), then random numbers in tenths that
    keep some units and drop others — a dropped unit that was already 0 after ReLU teaches nothing,
    so at least one dropped unit is alive.

    The layer is drawn row by row with the rules built in (a row rule: every unit alive; one sample:
    exactly one unit, chosen first, negative and the others positive), so a whole layer is not drawn
    again because one unit died."""
    p = Fraction(o["p"])
    m, b = o["units"], o["batch"]
    scale = norm(1 / (1 - p))
    num, den = (1 / (1 - p)).numerator, (1 / (1 - p)).denominator  # 2/1 or 4/3: every denominator ≤ 3
    tenths = _tenths(o["p"])
    swap = 1 if o["inverse"] else 0
    n = 3 * m * b + 2 * m + (4 * b if o["next"] else 0)  # the answers: Z, A, M, D's diagonal, A_drop (Y_train, Y_infer)
    for _ in range(MAX_TRIES):
        x = input_matrix(rng, stats, o["inputs"], b, (-2, 3))
        try:
            w1, b1, zt = linear_layer(rng, x, m, w=(-2, 2), b=(-2, 2), bound=8, stats=stats, relu=b > 1,
                                      row_rule=_alive_rule(rng.randrange(m) if b == 1 else -1))
        except GenerationError:
            continue  # this input leaves no friendly layer: draw it again
        assert b1 is not None
        zd = zt.data
        z = [zd[i * b:(i + 1) * b] for i in range(m)]
        a = [[v if v > 0 else 0 for v in row] for row in z]
        alive = [any(row) for row in a]
        base = Counter(zd)
        base.update(v for row in a for v in row)
        bias = b1.data
        # the zeros the mask adds: a dropped unit's mask, D entry and A_drop row; a kept unit's A_drop zeros
        kept_zeros = [row.count(0) for row in a]
        scaled = [[norm(v * scale) for v in row] for row in a]  # a kept unit's A_drop row
        dropped = [0] * b
        if 3 * (base[0] + 2 + b) > n:
            continue  # too many zeros already, whatever is dropped: draw the layer again
        for _ in range(30):  # the random numbers (and the next layer) for this layer
            picks = [rng.choice(tenths) for _ in range(m)]
            keep = [k for _, k in picks]
            if not any(not keep[i] and alive[i] for i in range(m)) or not any(keep[i] and alive[i] for i in range(m)):
                continue  # a dropped unit with a value, and a kept one
            if 3 * (base[0] + sum(kept_zeros[i] if keep[i] else 2 + b for i in range(m))) > n:
                continue  # zeros only grow from here (the next layer's and the inverse's come on top)
            counts = base.copy()
            ad = [scaled[i] if keep[i] else dropped for i in range(m)]
            counts.update(int(k) for k in keep)
            counts.update(scale if k else 0 for k in keep)
            counts.update(v for row in ad for v in row)
            if o["next"]:
                w2 = [rng.choice((-2, -1, 1, 2)) for _ in range(2 * m)]
                # Y_train = W₂·A_drop = scale · (W₂ over the kept units' A₁): whole numbers until the scale
                yk = [sum(w2[k * m + i] * a[i][j] for i in range(m) if keep[i]) for k in range(2) for j in range(b)]
                yi = [sum(w2[k * m + i] * a[i][j] for i in range(m)) for k in range(2) for j in range(b)]
                if any(abs(v) * num > 30 * den for v in yk) or any(abs(v) > 30 for v in yi):
                    continue
                y = [norm(Fraction(v * num, den)) for v in yk]
                counts.update(y)
                counts.update(yi)
            blanks = sum(counts.values())
            # inverse: a printed A_drop cell (never 0: a kept unit's positive value) gives way to a
            # hidden bias — a 0 only if every kept unit's bias is 0 — which may repeat a value
            zero_swap = swap if not any(bias[i] for i in _kept_alive(a, keep)) else 0
            top = max((c for v, c in counts.items() if v != 0), default=0)
            if 3 * (counts[0] + zero_swap) > blanks or 3 * (top + swap) > blanks:
                continue
            vals = {"X": x, "W1": w1, "b1": b1, "R": Tensor((m,), [r for r, _ in picks])}
            if o["next"]:
                vals["W2"] = Tensor((2, m), w2)
            return vals
    raise GenerationError(M_("no friendly dropout variant after {tries} tries", tries=MAX_TRIES))


@functools.lru_cache(maxsize=8)
def _tenths(p: str) -> list[tuple[Any, bool]]:
    """The printed random numbers (tenths, never p itself), each with whether it keeps its unit (r ≥ p)."""
    q = Fraction(p)
    return [(norm(Fraction(k, 10)), Fraction(k, 10) >= q) for k in range(0, 10) if Fraction(k, 10) != q]


def _alive_rule(dead: int) -> Any:
    """A ``linear_layer`` row rule: every unit alive for some sample; with one sample (``dead`` ≥ 0)
    unit ``dead`` negative (ReLU's crossing out) and every other positive."""

    def rule(i: int, wr: list[int], bi: int, zr: list[Any]) -> bool | None:
        if dead < 0:
            return max(zr) > 0 or None
        return (zr[0] < 0 if i == dead else zr[0] > 0) or None

    rule.test = rule  # type: ignore[attr-defined]  # no side effects: asked while rows are enumerated
    return rule


def _kept_alive(a: list[list[Any]], keep: list[bool]) -> list[int]:
    """The units dropout keeps that have a value after ReLU (their bias is the one hidden)."""
    return [i for i, row in enumerate(a) if keep[i] and any(v > 0 for v in row)]


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = ["Z1", "A1", "M"] + [("D", (i, i)) for i in range(o["units"])] + ["AD"]  # type: ignore[list-item]
    out: list[Any] = []
    for n in names:
        if isinstance(n, tuple):
            out.append(n)
        else:
            out += all_cells(vals, [n])
    if o["next"]:
        out += all_cells(vals, ["Y", "YI"])
    if o["inverse"]:  # a kept unit with a value: its bias hidden, one A_drop cell printed
        a, m, bias = vals["A1"], vals["M"], vals["b1"]
        kept = [(i, j) for i in range(o["units"]) if m[(i,)] == 1 for j in range(o["batch"]) if a[(i, j)] > 0]
        kept = [c for c in kept if bias[(c[0],)] != 0] or kept  # a bias of 0 only if every kept unit's is
        i, j = rng.choice(kept)  # the sampler keeps one kept unit alive
        out = [c for c in out if c != ("AD", (i, j))] + [("b1", (i,))]
    return out
