"""Multi-head attention, by hand (the published sheet Multihead-Attention.xlsx, made exact).

Two heads look at the same tokens ``X`` with their own weights: head h computes ``Q_h``, ``K_h``,
``V_h``, the scores ``Kₕᵀ·Qₕ``, a softmax per column (``3ᶻ``, ``Σ``, ``A_h``) and ``Zₕ = Vₕ·Aₕ``
— exactly the self-attention chapter, with d_k = 1 so no scaling. The heads' outputs are stacked,
``[Z₁ ; Z₂]``, and multiplied by ``W_O``: ``O = W_O·[Z₁ ; Z₂]``.

Levels start at a later step: easy gives the heads' outputs (stack them, then ``W_O``); medium
gives the attention weights ``A_h`` (``Zₕ = Vₕ·Aₕ`` first); hard starts at the scores.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
from collections import Counter
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor, indices
from byhand.errors import GenerationError
from byhand.i18n import N_
from byhand.topics import Option, Sheet, _rules
from byhand.topics._sampling import Stats
from byhand.topics.attention import SCORE_MAX, SUM_MAX, TABLE_TOKENS, _draw, _draw_tokens, _pairs, _tensor, _tokens

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
Column = tuple[list[int], int]  # a column j of a head's 3ᶻ as [Σᵢ tᵢ·3^(kᵢ·qⱼ)] (one sum a feature) and its Σ
HeadInfo = tuple[list[list[int]], list[list[int]], dict[tuple[int, ...], Column]]  # Wq, Wk, each query token's column
_KQ: dict[int, list[tuple[list[list[int]], list[list[int]], dict[tuple[int, ...], tuple[int, int]]]]] = {}
_HEADS: dict[tuple[int, frozenset[tuple[int, ...]]], list[HeadInfo]] = {}


def _dot(w: list[int], toks: list[tuple[int, ...]]) -> list[int]:
    return [sum(map(operator.mul, w, t)) for t in toks]


def _kq(d: int) -> list[tuple[list[list[int]], list[list[int]], dict[tuple[int, ...], tuple[int, int]]]]:
    """Each (Wq, Wk) with every token's key k = Wk·t and query q = Wq·t (d_k = 1: a score is kᵢ·qⱼ)."""
    if d not in _KQ:
        _KQ[d] = [(wq, wk, {t: (sum(map(operator.mul, wk[0], t)), sum(map(operator.mul, wq[0], t))) for t in _tokens(d)})
                  for wk, wq, _m in _pairs(d, 1)]
    return _KQ[d]


def _heads(toks: list[tuple[int, ...]], d: int) -> list[HeadInfo]:
    """Every (Wq, Wk), one row each, whose scores on these tokens stay within 0 … SCORE_MAX with each
    column's Σ ≤ SUM_MAX and all columns but one varied (attention's rule for a head), with the
    Σ of the column each token makes as a query. The rules and the columns do not depend on the
    tokens' order: worked out once per set of tokens."""
    key = (d, frozenset(toks))
    if key not in _HEADS:
        if len(_HEADS) > 4096:
            _HEADS.clear()
        n = len(toks)
        out: list[HeadInfo] = []
        for wq, wk, kq in _kq(d):
            ks = [kq[t][0] for t in toks]
            qs = [kq[t][1] for t in toks]
            if max(ks) * max(qs) > SCORE_MAX or len(set(ks)) == 1 or sum(1 for q in qs if q) < n - 1:
                continue  # a score too big, or too few varied columns (a column varies iff qⱼ ≠ 0 and k varies)
            sums = {t: sum(3 ** (k * q) for k in ks) for t, q in zip(toks, qs)}
            if max(sums.values()) <= SUM_MAX:
                out.append((wq, wk, {t: ([], total) for t, total in sums.items()}))  # the sums over tokens: on first use
        _HEADS[key] = out
    return _HEADS[key]


MAX_DENOMINATOR = 100
_WV = (0, 1, 1, 2, -1)  # a value weight: 1 most often, a few 0s, 2 and −1
_WO = (1, 1, 2, -1, 0)
_WEIGHTS: dict[int, list[list[int]]] = {}
Fr = tuple[int, int]  # a reduced fraction (numerator, denominator), in whole numbers: fast to build and count


def _columns(head: HeadInfo, toks: list[tuple[int, ...]]) -> list[Column]:
    """The head's column for each token as a query, in the tokens' order; each column's sums over the
    tokens, [Σᵢ tᵢ·3^(kᵢ·qⱼ)], worked out on first use."""
    wq, wk, cols = head
    out = []
    keys = None
    for t in toks:
        g_col, total = cols[t]
        if not g_col:
            if keys is None:
                keys, features = _dot(wk[0], toks), list(zip(*toks))
            q = sum(map(operator.mul, wq[0], t))
            e = [3 ** (k * q) for k in keys]
            g_col[:] = [sum(map(operator.mul, f, e)) for f in features]
        out.append((g_col, total))
    return out


def _z(cols: list[Column], wv: list[int]) -> list[Fr]:
    """Zₕ[j] = Σᵢ vᵢ·3^(kᵢqⱼ) / Σᵢ 3^(kᵢqⱼ) = Wv·(Σᵢ tᵢ·3^(kᵢqⱼ)) / Σⱼ, reduced."""
    out = []
    for g_col, den in cols:
        num = sum(map(operator.mul, wv, g_col))
        g = math.gcd(num, den)
        out.append((num // g, den // g))
    return out


def _weights(d: int) -> list[list[int]]:
    """Every row of d value weights, each weight drawn from _WV: one draw picks a whole row."""
    if d not in _WEIGHTS:
        _WEIGHTS[d] = [list(w) for w in itertools.product(_WV, repeat=d)]
    return _WEIGHTS[d]


def _mix(wo: list[list[int]], z1: list[Fr], z2: list[Fr]) -> list[Fr]:
    """O = Wo·[Z₁ ; Z₂], reduced."""
    out = []
    for r0, r1 in wo:
        for (n1, d1), (n2, d2) in zip(z1, z2):
            common = d1 * d2 // math.gcd(d1, d2)
            num = r0 * n1 * (common // d1) + r1 * n2 * (common // d2)
            g = math.gcd(num, common)
            out.append((num // g, common // g))
    return out


def _shares_ok(answers: list[Fr]) -> bool:
    """Few zeros and no value dominating among Z₁, Z₂ and O: the answers of easy and medium (the
    inverse blank swaps one cell of O for a weight of Wo), checked before the graph is evaluated."""
    counts = Counter(answers)
    return _rules.shares_ok(_rules.Shares(len(answers), counts.get((0, 1), 0), max(counts.values())))


def _draw_tokens_for_heads(o: dict[str, Any], rng: random.Random) -> list[tuple[int, ...]] | None:
    """Tokens, every feature present, whose scores stay small for one (Wq, Wk): up to TABLE_TOKENS
    tokens from attention's table (friendly to one head with varied, distinct columns), more drawn
    one by one (the rule on columns is then left to the heads: no 4 tokens of 2 features meet it)."""
    n, d = o["tokens"], o["features"]
    if n <= TABLE_TOKENS:
        drawn = _draw(o, rng)
        return None if drawn is None else drawn[3]
    _wk, _wq, m = rng.choice(_pairs(d, 1))
    toks = _draw_tokens(rng, m, d, n)
    if toks is None or any(not any(t[f] for t in toks) for f in range(d)):
        return None
    return toks


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n, d = o["tokens"], o["features"]
    token_options = {"tokens": n, "features": d, "dk": 1, "mask": 0}
    for _ in range(TRIES):
        stats.drawn += 1
        toks = _draw_tokens_for_heads(token_options, rng)
        if toks is None:
            continue
        heads = _heads(toks, d)
        if len(heads) < 2:
            continue
        weights = _weights(d)
        columns: list[list[Column] | None] = [None] * len(heads)  # each head's columns in the tokens' order
        for _second_try in range(12):  # the heads (and Wo) drawn again, on the same tokens
            first = rng.randrange(len(heads))
            wv1 = weights[rng.randrange(len(weights))]
            if not any(_dot(wv1, toks)):
                continue  # a head whose values are all 0 (its queries are not: its columns vary)
            c1 = columns[first]
            if c1 is None:
                c1 = columns[first] = _columns(heads[first], toks)
            z1 = _z(c1, wv1)
            for _ in range(16):  # the second head (two alike would teach nothing) and its values
                second = rng.randrange(len(heads) - 1)
                second += second >= first
                wv2 = weights[rng.randrange(len(weights))]
                # a row of O mixing both heads has the lcm of the two Zⱼ's denominators as its own:
                # kept ≤ 100 here, every denominator of O is (each divides that lcm); decided column
                # by column, before anything else is worked out (most draws fail here)
                c2 = columns[second]
                if c2 is None:
                    c2 = columns[second] = _columns(heads[second], toks)
                for (g_col, den), (_a, b) in zip(c2, z1):
                    e = den // math.gcd(sum(map(operator.mul, wv2, g_col)), den)
                    if b * e // math.gcd(b, e) > MAX_DENOMINATOR:
                        break
                else:
                    if any(_dot(wv2, toks)):
                        break
            else:
                continue
            z2 = _z(c2, wv2)
            zs = [z1, z2]
            chosen: list[Head] = [(heads[first][0], heads[first][1], [wv1]), (heads[second][0], heads[second][1], [wv2])]
            wo = [rng.choices(_WO, k=HEADS) for _ in range(o["out"])]
            if any(not any(r) for r in wo) or any(all(r[c] == 0 for r in wo) for c in range(HEADS)):
                continue  # each row mixes the heads, each head reaches the output
            mixed = _mix(wo, zs[0], zs[1])
            if o["start"] != "scores" and not _shares_ok(zs[0] + zs[1] + mixed):
                continue
            stats.accepted += 1
            x = [[toks[c][f] for c in range(n)] for f in range(d)]
            out = {"X": _tensor(x), "WO": _tensor(wo)}
            for h, (q, k, v) in enumerate(chosen, 1):
                out |= {f"WQ{h}": _tensor(q), f"WK{h}": _tensor(k), f"WV{h}": _tensor(v)}
            return out
    raise GenerationError("no hand-friendly multi-head variant; try fewer tokens")


_BLANKS: dict[tuple[Any, ...], list[tuple[str, tuple[int, ...]]]] = {}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    key = (o["start"], graph.shapes["O"], graph.shapes["S1"])
    base = _BLANKS.get(key)
    if base is None:
        per_head = {"outputs": (), "weights": ("Z",), "scores": ("S", "E", "SUM", "A", "Z")}[o["start"]]
        names = [f"{p}{h}" for h in range(1, HEADS + 1) for p in per_head] + ["ZS", "O"]
        base = _BLANKS[key] = [(name, i) for name in names for i in indices(graph.shapes[name])]  # the same for every variant
    cells = list(base)
    if o.get("inverse"):  # Oᵣⱼ = Woᵣ₁·Z₁ⱼ + Woᵣ₂·Z₂ⱼ with one Wo unknown: how much of that head reaches output r
        wo, zs = vals["WO"], vals["ZS"]
        picks = [(r, c, j) for r in range(wo.shape[0]) for c in range(wo.shape[1]) if wo[r, c]
                 for j in range(zs.shape[1]) if zs[c, j]]
        r, c, j = picks[rng.randrange(len(picks))]
        cells.remove(("O", (r, j)))  # printed
        cells.append(("WO", (r, c)))
    return cells
