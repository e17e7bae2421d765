"""Multi-head attention, by hand (the published sheet Multihead-Attention.xlsx, made exact).

Two heads look at the same tokens ``X`` with their own weights: head h computes ``Q_h``, ``K_h``,
``V_h``, the scores ``Kₕᵀ·Qₕ``, a softmax per column (``3ᶻ``, ``Σ``, ``A_h``) and ``Zₕ = Vₕ·Aₕ``
— exactly the self-attention chapter, with d_k = 1 so no scaling. The heads' outputs are stacked,
``[Z₁ ; Z₂]``, and multiplied by ``W_O``: ``O = W_O·[Z₁ ; Z₂]``.

Levels start at a later step: easy gives the heads' outputs (stack them, then ``W_O``); medium
gives the attention weights ``A_h`` (``Zₕ = Vₕ·Aₕ`` first); hard starts at the scores.
"""

from __future__ import annotations

import math
import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import N_
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats
from byhand.topics.attention import SCORE_MAX, _columns_ok, _draw_tokens, _form, _mm, _pairs, _tensor

NAME = "multi-head"
TITLE = "Multi-head attention"
SUMMARY = "two heads of self-attention on the same tokens, their outputs stacked [Z₁ ; Z₂] and multiplied by W_O"
FREE_DENOMINATORS = True  # the heads' weights are probabilities: each column's Σ is a denominator
OPTIONS = {
    "tokens": Option(3, 3, 3, "tokens (columns of X)", lo=2, hi=4),
    "features": Option(3, 3, 3, "features of a token (rows of X)", lo=2, hi=3),
    "out": Option(2, 2, 2, "rows of W_O (the output's features)", lo=1, hi=3),
    "start": Option(
        "outputs",
        "weights",
        "scores",
        "outputs: the heads' Z given; weights: each head's A given; scores: each head from Kᵀ·Q on",
        choices=("outputs", "weights", "scores"),
    ),
    "inverse": Option(0, 1, 0, "1: one weight of Wo hidden, found from one printed cell of O (how much of a head "
                      "reaches an output)", lo=0, hi=1),
}
HEADS = 2
_SUB = "₀₁₂₃₄₅₆₇₈₉"
TRIES = 400


def build(o: dict[str, Any]) -> Sheet:
    n, d = o["tokens"], o["features"]
    leaves: dict[str, tuple[int, ...]] = {"X": (d, n)}
    nodes: list[Node] = []
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    for h in range(1, HEADS + 1):
        s = _SUB[h]
        leaves |= {f"WQ{h}": (1, d), f"WK{h}": (1, d), f"WV{h}": (1, d)}
        nodes += [
            Node("matmul", (f"WQ{h}", "X"), f"Q{h}"),
            Node("matmul", (f"WK{h}", "X"), f"K{h}"),
            Node("matmul", (f"WV{h}", "X"), f"V{h}"),
            Node("transpose", (f"K{h}",), f"KT{h}"),
            Node("matmul", (f"KT{h}", f"Q{h}"), f"S{h}"),
            Node("exp", (f"S{h}",), f"E{h}", {"base": 3}),
            Node("colsum", (f"E{h}",), f"SUM{h}"),
            Node("div", (f"E{h}", f"SUM{h}"), f"A{h}"),
            Node("matmul", (f"V{h}", f"A{h}"), f"Z{h}"),
        ]
        labels |= {
            f"WQ{h}": f"Wq{s}",
            f"WK{h}": f"Wk{s}",
            f"WV{h}": f"Wv{s}",
            f"KT{h}": f"K{s}ᵀ",
            f"S{h}": f"K{s}ᵀ·Q{s}",
            f"E{h}": f"3ᶻ{s}",
            f"SUM{h}": f"Σ{s}",
        }
        notes |= {f"A{h}": N_("head {0}'s weights").format(h), f"Z{h}": N_("head {0}").format(h)}
    leaves["WO"] = (o["out"], HEADS)
    nodes += [Node("vstack", ("Z1", "Z2"), "ZS"), Node("matmul", ("WO", "ZS"), "O")]
    labels |= {"WO": "Wo", "O": "O"}
    notes |= {"O": N_("the multi-head output")}
    first = {
        "outputs": "The heads' outputs Z₁ and Z₂ are given: ",
        "weights": "Each head's attention weights Aₕ are given: compute Zₕ = Vₕ·Aₕ, then ",
        "scores": "For each head h: the scores Kₕᵀ·Qₕ, the softmax of each column (3ᶻ, Σ, Aₕ = 3ᶻ ÷ Σ), "
        "Zₕ = Vₕ·Aₕ; then ",
    }[o["start"]]
    text = f"Two heads, tokens as columns. {first}stack them, [Z₁ ; Z₂], and compute O = Wo·[Z₁ ; Z₂]."
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"X": "input"}, bound=100)


Head = tuple[list[list[int]], list[list[int]], list[list[int]]]


def _head(rng: random.Random, x_cols: list[tuple[int, ...]], d: int) -> Head | None:
    """Wq, Wk (one row each) whose scores on the given tokens stay within 0 … SCORE_MAX, and a Wv."""
    n = len(x_cols)
    pairs = _pairs(d, 1)
    for _ in range(40):
        wk, wq, m = rng.choice(pairs)
        sc = [[_form(x_cols[i], m, x_cols[j]) for j in range(n)] for i in range(n)]
        if any(v < 0 or v > SCORE_MAX for r in sc for v in r) or not _columns_ok(sc, False, distinct=False):
            continue
        wv = [[rng.choice((0, 1, 1, 2, -1)) for _ in range(d)]]
        return wq, wk, wv
    return None


MAX_DENOMINATOR = 100


def _denominator(x: list[list[int]], heads: Any, wo: list[list[int]]) -> int:
    """The largest denominator in Z_h and O = Wo·[Z₁ ; Z₂], in whole numbers (Z_h[j] = Σᵢ vᵢ·3^(kᵢqⱼ) / Σᵢ 3^(kᵢqⱼ))."""
    n = len(x[0])
    zs = []
    worst = 1
    for q, k, v in heads:
        qv, kv, vv = _mm(q, x)[0], _mm(k, x)[0], _mm(v, x)[0]
        z = []
        for j in range(n):
            e = [3 ** (kv[i] * qv[j]) for i in range(n)]
            num, den = sum(vv[i] * e[i] for i in range(n)), sum(e)
            worst = max(worst, den // math.gcd(num, den))
            z.append((num, den))
        zs.append(z)
    for r in wo:
        for j in range(n):
            (n1, d1), (n2, d2) = zs[0][j], zs[1][j]
            common = d1 * d2 // math.gcd(d1, d2)
            num = r[0] * n1 * (common // d1) + r[1] * n2 * (common // d2)
            worst = max(worst, common // math.gcd(num, common))
    return worst


def _alive(head: tuple[list[list[int]], ...], x: list[list[int]]) -> bool:
    q, _k, v = head
    return all(any(r) for r in _mm(v, x)) and all(any(r) for r in _mm(q, x))


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n, d = o["tokens"], o["features"]
    for _ in range(TRIES):
        stats.drawn += 1
        _wk, _wq, m = rng.choice(_pairs(d, 1))
        toks = _draw_tokens(rng, m, d, n)
        if toks is None:
            continue
        x = [[toks[j][i] for j in range(n)] for i in range(d)]
        if any(not any(r) for r in x):
            continue
        first = _head(rng, toks, d)
        if first is None or not _alive(first, x):
            continue
        for _second_try in range(12):  # the second head (and Wo) drawn again, on the same tokens
            second = _head(rng, toks, d)
            if second is None or second[:2] == first[:2] or not _alive(second, x):
                continue  # two heads alike would teach nothing
            wo = [[rng.choice((1, 1, 2, -1, 0)) for _ in range(HEADS)] for _ in range(o["out"])]
            if any(not any(r) for r in wo) or any(all(r[c] == 0 for r in wo) for c in range(HEADS)):
                continue  # each row mixes the heads, each head reaches the output
            if _denominator(x, (first, second), wo) > MAX_DENOMINATOR:
                continue  # O mixes the heads: its denominators are the two columns' Σ together
            stats.accepted += 1
            out = {"X": _tensor(x), "WO": _tensor(wo)}
            for h, (q, k, v) in ((1, first), (2, second)):
                out |= {f"WQ{h}": _tensor(q), f"WK{h}": _tensor(k), f"WV{h}": _tensor(v)}
            return out
    raise GenerationError("no hand-friendly multi-head variant; try fewer tokens")


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    per_head = {"outputs": (), "weights": ("Z",), "scores": ("S", "E", "SUM", "A", "Z")}[o["start"]]
    names = [f"{p}{h}" for h in range(1, HEADS + 1) for p in per_head] + ["ZS", "O"]
    cells = [(name, i) for name in names for i in vals[name].indices()]
    if o.get("inverse"):  # Oᵣⱼ = Woᵣ₁·Z₁ⱼ + Woᵣ₂·Z₂ⱼ with one Wo unknown: how much of that head reaches output r
        wo, zs = vals["WO"], vals["ZS"]
        picks = [(r, c, j) for r in range(wo.shape[0]) for c in range(wo.shape[1]) if wo[r, c]
                 for j in range(zs.shape[1]) if zs[c, j]]
        r, c, j = picks[rng.randrange(len(picks))]
        cells = [x for x in cells if x != ("O", (r, j))] + [("WO", (r, c))]
    return cells
