"""Self-attention, by hand (the published sheet Self-Attention.xlsx, made exact).

Tokens are columns: ``Q = W_Q·X``, ``K = W_K·X``, ``V = W_V·X``; the scores ``Kᵀ·Q`` with ``Kᵀ``
written out as its own block; scaled by ``1/√d_k``; a softmax per column, the method's way (``3ᶻ``,
their ``Σ``, ``A = 3ᶻ ÷ Σ``); and ``Z = V·A``. Each of these is a tensor on the sheet, so any of
them can be a blank.

Exact by construction: base 3, and ``d_k = 4`` so the scale is ``÷ 2`` (``d_k = 1`` at easy: no
scaling). The weights are 0/1 as on the published sheet, and ``W_Q`` is drawn so that
``W_Kᵀ·W_Q`` has only even entries: then every score ``xᵢᵀ·W_Kᵀ·W_Q·xⱼ`` is even for *any* input
and its half is a whole number. Scores are kept small (0 … 3 after scaling), so ``3ᶻ`` ≤ 27 and
each column's ``Σ`` is small.

The causal mask (an option, on at hard): a token attends only to itself and the tokens before it.
Column ``j`` (query ``j``) keeps the rows ``i ≤ j``; the cells below the diagonal are ``−∞`` before
the softmax, so their ``3ᶻ`` is crossed out and written 0, and their weight is 0.
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor, indices
from byhand.errors import GenerationError
from byhand.i18n import N_
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats

NAME = "attention"
TITLE = "Self-attention"
SUMMARY = "Q, K, V = W·X; the scores Kᵀ·Q ÷ √dₖ; softmax per column (3ᶻ, Σ, A); Z = V·A; a causal mask"
FREE_DENOMINATORS = True  # the attention weights are probabilities: each column's Σ is its denominator
OPTIONS = {
    "tokens": Option(2, 3, 3, "tokens (columns of X)", lo=2, hi=5),
    "features": Option(3, 3, 3, "features of a token (rows of X)", lo=2, hi=3),
    "dk": Option(1, 1, 4, "key size dₖ: 1 (no scaling) or 4 (scores ÷ √4 = 2)", choices=(1, 4)),
    "dv": Option(2, 2, 2, "value size dᵥ (rows of V and Z)", lo=1, hi=4),
    "mask": Option(0, 0, 1, "1: the causal mask (a token sees only itself and the tokens before it)", lo=0, hi=1),
    "start": Option(
        "scores",
        "scores",
        "qkv",
        "qkv: compute Q, K, V first; scores: Q, K, V (and Kᵀ) given, start at the scores Kᵀ·Q",
        choices=("qkv", "scores"),
    ),
    "inverse": Option(0, 1, 0, "1: one value weight of Wv hidden, found from one printed cell of V", lo=0, hi=1),
}

SCORE_MAX = 3  # the largest scaled score: 3³ = 27
SUM_MAX = 60  # the largest Σ of a column: the denominator of its weights
TRIES = 400


def build(o: dict[str, Any]) -> Sheet:
    n, d, dk, dv = o["tokens"], o["features"], o["dk"], o["dv"]
    leaves: dict[str, tuple[int, ...]] = {"X": (d, n), "WQ": (dk, d), "WK": (dk, d), "WV": (dv, d)}
    nodes = [
        Node("matmul", ("WQ", "X"), "Q"),
        Node("matmul", ("WK", "X"), "K"),
        Node("matmul", ("WV", "X"), "V"),
        Node("transpose", ("K",), "KT"),
        Node("matmul", ("KT", "Q"), "S"),
    ]
    labels = {"WQ": "Wq", "WK": "Wk", "WV": "Wv", "KT": "Kᵀ", "S": "Kᵀ·Q"}
    notes = {"S": N_("the scores"), "A": N_("attention weights"), "Z": N_("attention weighted features")}
    src = "S"
    if dk != 1:
        nodes.append(Node("scale", ("S",), "SC", {"by": "1/2"}))
        labels["SC"] = "Kᵀ·Q/√dₖ"
        notes["SC"] = N_("scaled: ÷ √4 = 2")
        src = "SC"
    nodes.append(Node("exp", (src,), "E", {"base": 3}))
    labels["E"] = "3ᶻ"
    e = "E"
    if o["mask"]:
        nodes.append(Node("mask_causal", ("E",), "EM"))
        labels["EM"] = "3ᶻ masked"
        notes["EM"] = N_("a future token crossed out: 0")
        e = "EM"
    nodes += [
        Node("colsum", (e,), "SUM"),
        Node("div", (e, "SUM"), "A"),
        Node("matmul", ("V", "A"), "Z"),
    ]
    labels |= {"SUM": "Σ 3ᶻ", "A": "A", "Z": "Z"}
    scale = " ÷ √dₖ = ÷ 2," if dk != 1 else ","
    mask = (
        " Causal mask: a token attends only to itself and the tokens before it; cross out each 3ᶻ below the "
        "diagonal (it is 3^−∞ = 0)."
        if o["mask"]
        else ""
    )
    first = (
        "Compute Q = Wq·X, K = Wk·X and V = Wv·X; write Kᵀ and the scores Kᵀ·Q"
        if o["start"] == "qkv"
        else "Q = Wq·X, K = Wk·X, V = Wv·X and Kᵀ are given; compute the scores Kᵀ·Q"
    )
    text = f"Tokens are columns. {first}{scale} then the softmax of each column (3ᶻ, their Σ, A = 3ᶻ ÷ Σ), and Z = V·A.{mask}"
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"X": "input"}, bound=100)


def _mm(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [[sum(a[i][t] * b[t][j] for t in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _tensor(rows: list[list[int]]) -> Tensor:
    return Tensor((len(rows), len(rows[0])), [v for r in rows for v in r])


_NONZERO_WEIGHT = (0, 1, 6, 12, 20)
_PAIRS: dict[tuple[int, int], list[tuple[list[list[int]], list[list[int]], tuple[tuple[int, ...], ...]]]] = {}
_TOKENS: dict[int, list[tuple[int, ...]]] = {}


def _rows(d: int) -> list[list[int]]:
    """The rows a 0/1 weight may have: one or two features picked."""
    return [[1 if c in (a, b) else 0 for c in range(d)] for a in range(d) for b in range(a, d)]


def _pairs(d: int, dk: int) -> list[tuple[list[list[int]], list[list[int]], tuple[tuple[int, ...], ...]]]:
    """Every (W_K, W_Q, M) with 0/1 weights (each row picking one or two features, W_Q's columns
    not all zero) and ``W_Kᵀ·W_Q`` even, M its half: then ``(Kᵀ·Q)/2 = Xᵀ·M·X`` is whole for any X.
    Listed once per size; for d_k = 1 (no scaling) M = W_Kᵀ·W_Q itself."""
    key = (d, dk)
    if key in _PAIRS:
        return _PAIRS[key]
    import itertools

    rows = _rows(d)
    allowed = {tuple(r) for r in rows}
    out = []
    scale = 2 if dk == 4 else 1
    for wk in itertools.product(rows, repeat=dk):
        if len({tuple(r) for r in wk}) < dk - 1:
            continue  # at most one row repeated
        # the columns c of W_Q with W_Kᵀ·c even (scale 2), or any column (scale 1)
        cols = [
            c
            for c in itertools.product((0, 1), repeat=dk)
            if all(sum(wk[r][f] * c[r] for r in range(dk)) % scale == 0 for f in range(d))
        ]
        for qcols in itertools.product(cols, repeat=d):
            wq = [[qcols[f][r] for f in range(d)] for r in range(dk)]
            if any(tuple(r) not in allowed for r in wq) or len({tuple(r) for r in wq}) < dk - 1 or wq == [list(r) for r in wk]:
                continue
            m = [[sum(wk[r][a] * wq[r][b] for r in range(dk)) for b in range(d)] for a in range(d)]
            if sum(not any(m[a][b] for a in range(d)) for b in range(d)) > (1 if dk == 1 else 0):
                continue  # a feature of a query that no key ever meets (one at most with d_k = 1)
            out.append(([list(r) for r in wk], wq, tuple(tuple(v // scale for v in row) for row in m)))
    _PAIRS[key] = out
    return out


def _tokens(d: int) -> list[tuple[int, ...]]:
    if d not in _TOKENS:
        import itertools

        _TOKENS[d] = [t for t in itertools.product((0, 1, 2), repeat=d) if any(t) and sum(t) <= 3]
    return _TOKENS[d]


@functools.lru_cache(maxsize=1 << 16)
def _form(a: tuple[int, ...], m: tuple[tuple[int, ...], ...], b: tuple[int, ...]) -> int:
    """aᵀ·M·b: the scaled score of key token a and query token b."""
    return sum(a[i] * m[i][j] * b[j] for i in range(len(a)) for j in range(len(b)) if a[i] and b[j])


def _draw_tokens(rng: random.Random, m: tuple[tuple[int, ...], ...], d: int, n: int) -> list[tuple[int, ...]] | None:
    """Tokens (the columns of X) one by one, each among those whose scaled scores with the tokens
    already chosen (both ways, and with itself) stay within 0 … SCORE_MAX."""
    chosen: list[tuple[int, ...]] = []
    pool = [t for t in _tokens(d) if 0 <= _form(t, m, t) <= SCORE_MAX]
    for _ in range(n):
        ok = [
            t
            for t in pool
            if t not in chosen and all(0 <= _form(t, m, c) <= SCORE_MAX and 0 <= _form(c, m, t) <= SCORE_MAX for c in chosen)
        ]
        if not ok:
            return None
        # tokens with more non-zero features first: each 0 in X is a 0 in Q, K and V
        chosen.append(rng.choices(ok, [_NONZERO_WEIGHT[sum(1 for v in t if v)] for t in ok])[0])
    return chosen


def _columns_ok(sc: list[list[int]], mask: bool, distinct: bool = True) -> bool:
    """Each column's Σ small, and columns not all alike (else A is uniform)."""
    n = len(sc)
    varied = 0
    for j in range(n):
        col = [sc[i][j] for i in range(n) if not mask or i <= j]
        if sum(3**v for v in col) > SUM_MAX:
            return False
        if len(set(col)) > 1:
            varied += 1
    if distinct and not mask and len({tuple(sc[i][j] for i in range(n)) for j in range(n)}) < n:
        return False  # two tokens with the same scores: the same weights, a column copied
    return varied >= (n - 1 if not mask else max(1, n - 2))


_Table = tuple[list[tuple[list[list[int]], list[list[int]], tuple[tuple[int, ...], ...]]], list[float],
               dict[tuple[tuple[int, ...], ...], tuple[list[list[tuple[int, ...]]], list[float]]]]
_TABLES: dict[tuple[int, int, int, bool], _Table] = {}
TABLE_TOKENS = 3  # up to this many tokens the friendly token lists are listed once; more are drawn and rejected


def _accepted(m: tuple[tuple[int, ...], ...], d: int, n: int, mask: bool) -> tuple[list[list[tuple[int, ...]]], list[float]]:
    """Every token list ``_draw_tokens`` can draw for M that passes the token rules (each column's Σ
    small, columns varied and distinct, every feature present), with the probability of drawing it:
    the draw one token at a time, replayed exactly, its rejections decided once."""
    toks = _tokens(d)
    form = {a: {b: _form(a, m, b) for b in toks} for a in toks}
    pool = [t for t in toks if 0 <= form[t][t] <= SCORE_MAX]
    fits = {a: {b for b in pool if 0 <= form[a][b] <= SCORE_MAX and 0 <= form[b][a] <= SCORE_MAX} for a in pool}
    power = {a: {b: 3 ** form[a][b] for b in pool} for a in pool}
    weight = {t: _NONZERO_WEIGHT[sum(1 for v in t if v)] for t in pool}
    found: list[list[tuple[int, ...]]] = []
    probs: list[float] = []
    verdict: dict[Any, bool] = {}  # without the mask the rules do not depend on the order: one verdict per set

    def passes(chosen: list[tuple[int, ...]]) -> bool:
        key: Any = tuple(chosen) if mask else frozenset(chosen)
        if key not in verdict:
            sc = [[form[a][b] for b in chosen] for a in chosen]
            verdict[key] = _columns_ok(sc, mask) and all(any(t[f] for t in chosen) for f in range(d))
        return verdict[key]

    def walk(chosen: list[tuple[int, ...]], ok: list[tuple[int, ...]], p: float) -> None:
        total = sum(weight[t] for t in ok)
        last = len(chosen) == n - 1
        for t in ok:
            if mask and sum(power[c][t] for c in chosen) + power[t][t] > SUM_MAX:
                continue  # with the mask, column t is complete once t is chosen: its Σ is known now
            chosen.append(t)
            if not last:
                walk(chosen, [u for u in ok if u != t and u in fits[t]], p * weight[t] / total)
            elif passes(chosen):
                found.append(list(chosen))
                probs.append(p * weight[t] / total)
            chosen.pop()

    walk([], pool, 1.0)
    return found, probs


def _table(d: int, dk: int, n: int, mask: bool) -> _Table:
    """The pairs (W_K, W_Q, M) weighted by how likely a draw of tokens for their M passes, and for each
    M its passing token lists with their cumulative probabilities: choosing from these is the
    rejection sampler's own distribution, made without rejecting (built once per size: 1–80 ms CPU)."""
    key = (d, dk, n, mask)
    if key not in _TABLES:
        pairs = _pairs(d, dk)
        per_m: dict[tuple[tuple[int, ...], ...], tuple[list[list[tuple[int, ...]]], list[float]]] = {}
        worked: list[tuple[tuple[int, ...], ...]] = []  # the M whose lists were worked out; every other M is one of them with
        # its features renamed (M'ᵢⱼ = M_σ(i)σ(j)): its lists are theirs renamed, t' = (t_σ(0), t_σ(1), …), the same
        # scores, rules and draw probabilities
        perms = list(itertools.permutations(range(d)))
        for _wk, _wq, m in pairs:
            if m in per_m:
                continue
            for r, sigma in ((r, sg) for r in worked for sg in perms):
                if all(m[i][j] == r[sigma[i]][sigma[j]] for i in range(d) for j in range(d)):
                    found, probs = per_m[r]
                    per_m[m] = ([[tuple(t[sigma[i]] for i in range(d)) for t in toks] for toks in found], probs)
                    break
            else:
                per_m[m] = _accepted(m, d, n, mask)
                worked.append(m)
        kept, mass = [], []
        for pair in pairs:
            found, probs = per_m[pair[2]]
            if found:
                kept.append(pair)
                mass.append(sum(probs))
        _TABLES[key] = (kept, list(itertools.accumulate(mass)),
                        {m: (found, list(itertools.accumulate(probs))) for m, (found, probs) in per_m.items() if found})
    return _TABLES[key]


def _draw(o: dict[str, Any], rng: random.Random) -> tuple[list[list[int]], list[list[int]], tuple[tuple[int, ...], ...],
                                                          list[tuple[int, ...]]] | None:
    """A pair and its tokens, passing the token rules (None: try again)."""
    n, d, dk = o["tokens"], o["features"], o["dk"]
    if n <= TABLE_TOKENS:
        pairs, cum, per_m = _table(d, dk, n, bool(o["mask"]))
        if not pairs:
            return None
        wk, wq, m = rng.choices(pairs, cum_weights=cum)[0]
        found, fcum = per_m[m]
        return wk, wq, m, rng.choices(found, cum_weights=fcum)[0]
    wk, wq, m = rng.choice(_pairs(d, dk))
    toks = _draw_tokens(rng, m, d, n)
    if toks is None:
        return None
    sc = [[_form(toks[i], m, toks[j]) for j in range(n)] for i in range(n)]  # kᵢ·qⱼ/2 = xᵢᵀ·M·xⱼ
    if not _columns_ok(sc, bool(o["mask"])) or any(not any(t[f] for t in toks) for f in range(d)):
        return None
    return wk, wq, m, toks


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n, d, dv = o["tokens"], o["features"], o["dv"]
    for _ in range(TRIES):
        stats.drawn += 1
        drawn = _draw(o, rng)
        if drawn is None:
            continue
        wk, wq, _m, toks = drawn
        x = [[toks[j][i] for j in range(n)] for i in range(d)]
        if any(not any(r) for r in _mm(wq, x)) or any(not any(r) for r in _mm(wk, x)):
            continue  # a row of Q or K all zero: a feature that never matters
        wv = [[rng.choice((0, 1, 1, 2, -1)) for _ in range(d)] for _ in range(dv)]
        if any(not any(r) for r in _mm(wv, x)):
            continue
        stats.accepted += 1
        return {"X": _tensor(x), "WQ": _tensor(wq), "WK": _tensor(wk), "WV": _tensor(wv)}
    raise GenerationError("no hand-friendly attention variant; try fewer tokens or features")


_BLANKS: dict[tuple[Any, ...], list[tuple[str, tuple[int, ...]]]] = {}


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every step of the method is written by the student: Q, K, V (unless given), Kᵀ, the scores,
    their scaled half, 3ᶻ (and masked), Σ, A and Z."""
    key = (o["start"], o["mask"], graph.shapes["X"], graph.shapes["WQ"], graph.shapes["WV"])  # every shape follows
    base = _BLANKS.get(key)
    if base is None:
        names = [n for n in ("Q", "K", "V", "KT", "S", "SC", "E", "EM", "SUM", "A", "Z") if n in graph.shapes]
        if o["start"] == "scores":
            names = names[4:]  # Q, K, V and Kᵀ given
        base = [(name, i) for name in names for i in indices(graph.shapes[name])]
        if o["mask"]:  # a future key is crossed out anyway: its score, scaled score and 3ᶻ are given, not
            # asked (and a printed 3ᶻ would give its scaled score away, so they go together)
            base = [c for c in base if not (c[0] in ("S", "SC", "E") and c[1][0] > c[1][1])]
        _BLANKS[key] = base  # the same cells for every variant of these options
    cells = list(base)
    if o.get("inverse"):  # a value weight read back from one printed value: Vᵣⱼ = Σ_f Wvᵣf·X_fj, one Wvᵣf unknown
        wv, x = vals["WV"], vals["X"]
        picks = [(r, f, j) for r in range(wv.shape[0]) for f in range(wv.shape[1]) if wv[r, f]
                 for j in range(x.shape[1]) if x[f, j]]
        r, f, j = picks[rng.randrange(len(picks))]
        if ("V", (r, j)) in cells:  # V is asked (hard): that one cell is printed
            cells.remove(("V", (r, j)))
        cells.append(("WV", (r, f)))
    return cells
