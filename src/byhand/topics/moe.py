"""Mixture of experts, by hand: a gate routes each token (a column of X) to its expert.

``S = G·X + c`` (the gate scores, one row per expert), ``M`` = the largest of each column as a
one-hot (top-1; top-2 as an option: the two largest), ``m_k`` = expert k's row of ``M``. Expert k
then sees only its tokens: ``X_k = X ⊙ m_k`` (a routed token's column kept, the others 0), and
its crossing ``Z_k = [E_k | b_k]·[X_k ; m_k]`` — the row under ``X_k`` is ``m_k`` itself, a 1
under each routed token (the usual row of 1s, so the bias is added) and a 0 elsewhere (nothing
at all for a token the gate did not send). ``H = Z_1 + Z_2 + …`` gathers each token's chosen
expert's output (with top-2, the two chosen outputs add up), and ``Y = ReLU(H)``.

Published example (Tom Yeh's "Mixture of Experts by hand"): X = [[2, 3], [1, 1], [3, 2]], gate
[[1, 1, 0], [0, 1, 1]], gives the scores [[3, 4], [4, 3]]: token 1 to expert 2, token 2 to expert 1;
with the published experts Y = [[4, 5], [3, 4], [1, 2], [5, 0]]. A bias left out of a teacher's
values is 0 (:func:`implied`), so ``byhand make moe --values`` takes exactly X, G, E1, E2.
"""

from __future__ import annotations

import random
from collections import Counter
from operator import mul
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.ops import top_rows
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet, _rules
from byhand.topics._sampling import Stats, _table, draws

NAME = "moe"
TITLE = "Mixture of experts"
SUMMARY = "a gate picks each token's expert (the largest score as a one-hot, top-1 or top-2); the chosen [E | b]·[x ; 1], ReLU"
OPTIONS = {
    "experts": Option(2, 2, 3, "experts (rows of the gate G)", lo=2, hi=4),
    "tokens": Option(2, 3, 2, "tokens (columns of X)", lo=1, hi=4),
    "features": Option(3, 3, 3, "features per token (rows of X)", lo=2, hi=4),
    "outputs": Option(2, 3, 3, "outputs of each expert (rows of E)", lo=1, hi=4),
    "top": Option(1, 1, 2, "experts chosen per token: 1 (top-1) or 2 (top-2, their outputs add up)", choices=(1, 2)),
    "bias": Option(0, 1, 1, "1: the gate and the experts have biases; 0: all biases 0", lo=0, hi=1),
}
TRIES = 400
ZERO_SHARE = 5
"""At most a fifth of the answers 0 (the general rule allows a quarter): ReLU's zeros, and an
expert's 0 where a token went elsewhere, are easy marks."""
ROW_TRIES = 30  # draws of one row (a gate row, a token, an expert row) before the whole is drawn again


def _bias_names(o: dict[str, Any]) -> list[str]:
    return ["bG"] + [f"b{k}" for k in range(1, o["experts"] + 1)]


def implied(given: dict[str, Tensor]) -> dict[str, Tensor]:
    """A bias left out of a teacher's values is 0 (the published example has none); one given
    is used as given."""
    out: dict[str, Tensor] = {}
    experts = sorted(int(k[1:]) for k in given if k[:1] == "E" and k[1:].isdigit())
    if "bG" not in given:
        e = given["G"].shape[0] if "G" in given else 0
        out["bG"] = Tensor((e,), [0] * e)
    for k in experts or [1, 2, 3, 4]:
        if f"b{k}" not in given:
            r = given[f"E{k}"].shape[0] if f"E{k}" in given else 0
            out[f"b{k}"] = Tensor((r, 1), [0] * r)
    return out


def build(o: dict[str, Any]) -> Sheet:
    e, t, d, h, top = o["experts"], o["tokens"], o["features"], o["outputs"], o["top"]
    if top >= e:
        from byhand.errors import ByHandError

        raise ByHandError(M_("option top={top} needs more experts than that; use experts={more} or more", top=top, more=top + 1))
    leaves: dict[str, Any] = {"X": (d, t), "G": (e, d), "bG": (e,)}
    nodes = [Node("linear", ("G", "bG", "X"), "S"), Node("top_onehot", ("S",), "M", {"k": top} if top != 1 else {})]
    labels = {"bG": "c"}
    notes = {"bG": "gate bias", "S": "gate scores", "M": f"top-{top} one-hot", "H": "each token's chosen experts"}
    roles = {"X": "input", "G": "weight", "bG": "bias"}
    for k in range(1, e + 1):
        sk = subscript(str(k))
        leaves |= {f"E{k}": (h, d), f"b{k}": (h, 1)}
        roles |= {f"E{k}": "weight", f"b{k}": "bias"}
        nodes += [
            Node("row_of", ("M",), f"m{k}", {"row": k - 1}),
            Node("mul", ("X", f"m{k}"), f"X{k}"),
            Node("hstack", (f"E{k}", f"b{k}"), f"E{k}b"),
            Node("vstack", (f"X{k}", f"m{k}"), f"X{k}m"),
            Node("matmul", (f"E{k}b", f"X{k}m"), f"Z{k}"),
        ]
        notes |= {f"m{k}": f"expert {k}'s row of M", f"X{k}": f"tokens for expert {k}", f"Z{k}": f"expert {k}"}
        labels |= {f"E{k}b": f"[E{sk} | b{sk}]", f"X{k}m": f"[X{sk} ; m{sk}]"}
    prev = "Z1"
    for k in range(2, e + 1):
        out = "H" if k == e else f"H{k}"
        nodes.append(Node("add", (prev, f"Z{k}"), out))
        if out != "H":
            labels[out] = " + ".join(f"Z{subscript(str(i))}" for i in range(1, k + 1))
        prev = out
    nodes.append(Node("relu", ("H",), "Y"))
    choice = "the largest score of each column" if top == 1 else "the two largest scores of each column"
    text = (
        f"Gate: S = G·X + c, one row per expert, one column per token. Mark {choice} with 1 "
        f"(the rest 0): that is M, and mₖ is expert k's row. Expert k gets only its tokens: Xₖ = X ⊙ mₖ, "
        f"and Zₖ = [Eₖ | bₖ]·[Xₖ ; mₖ] (mₖ is the row of 1s, 0 where the token went elsewhere). "
        f"Then H = {' + '.join(f'Z{subscript(str(k))}' for k in range(1, e + 1))} and Y = ReLU(H)."
    )
    if top == 2:
        text += " Each token goes to two experts: their outputs add up in H."
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=20)


Gate = tuple[list[list[int]], list[list[int]], list[int], list[list[int]]]


def _gate(o: dict[str, Any], rng: random.Random, stats: Stats) -> Gate:
    """X, G, c and the routes: distinct tokens, no tie at the cut, the tokens not all routed
    the same way, and no expert idle when there are tokens enough for all.

    Built, not rejected whole: the gate first (each row drawn again on its own until it is not all
    zeros and not a copy of another), then the tokens one by one, each drawn again on its own until
    it is not all zeros, not a copy, and its scores have no tie at the cut; the last token must also
    complete what the whole needs (not every token routed alike, every expert used, no feature all
    zeros)."""
    e, t, d, top, bias = o["experts"], o["tokens"], o["features"], o["top"], o["bias"]
    glo, ghi = (-1, 2) if bias else (0, 1)
    # the draws of ``draws`` (the same random numbers), with the weighted tables looked up once
    rand, tx = rng.random, _table(0, 3)
    kx, dr = len(tx), range(d)
    for _ in range(TRIES // ROW_TRIES):
        stats.drawn += 1
        g: list[list[int]] = []
        for _ in range(e):
            for _ in range(ROW_TRIES):
                row = draws(rng, d, glo, ghi)
                if any(row) and row not in g:
                    g.append(row)
                    break
            else:
                break
        if len(g) < e:
            continue
        bg = draws(rng, e, -1, 1) if bias else [0] * e
        if top == 1 and e == 2 and not (_can_win(g[0], g[1], bg[0] - bg[1]) and _can_win(g[1], g[0], bg[1] - bg[0])):
            continue  # one expert wins every token there is: no routing to teach
        cols: list[list[int]] = []
        routes: list[list[int]] = []
        for j in range(t):
            last = j == t - 1
            for _ in range(ROW_TRIES):
                c = [tx[int(rand() * kx)] for _ in dr]
                if not any(c) or c in cols:
                    continue
                sc = [sum(map(mul, gk, c)) + bk for gk, bk in zip(g, bg)]
                ranked = sorted(sc, reverse=True)
                if top < e and ranked[top - 1] == ranked[top]:
                    continue  # a tie at the cut: the gate could not choose
                route = top_rows(sc, top)  # the gate's choice, as the op makes it
                if last:
                    rs = routes + [route]
                    if len({tuple(r) for r in rs}) < min(t, 2):
                        continue  # the tokens must not all go the same way: routing is the lesson
                    if len({k for r in rs for k in r}) < min(e, t * top):
                        continue  # no expert idle when there are tokens enough for all
                    if t > 1 and any(not any(cc[i] for cc in cols + [c]) for i in range(d)):
                        continue  # no feature all zeros
                cols.append(c)
                routes.append(route)
                break
            else:
                break
        if len(cols) < t:
            continue
        stats.accepted += 1
        pairs = list(zip(cols, routes))
        rng.shuffle(pairs)  # the token drawn last (the one made to differ) may stand anywhere
        cols, routes = [c for c, _ in pairs], [r for _, r in pairs]
        xs = [[cols[j][i] for j in range(t)] for i in range(d)]
        return xs, g, bg, routes
    raise GenerationError("no hand-friendly moe gate")


def _can_win(a: list[int], b: list[int], db: int) -> bool:
    """Is there a token (features 0…3, not all 0) whose gate score a·x + db beats b·x? The best
    token puts 3 on every feature where a outweighs b, or else a single 1 where it loses least."""
    delta = [u - v for u, v in zip(a, b)]
    gain = sum(3 * v for v in delta if v > 0)
    return (gain if gain else max(delta)) + db > 0


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    e, t, d, h, bias = o["experts"], o["tokens"], o["features"], o["outputs"], o["bias"]
    for _ in range(TRIES // 20):
        xs, g, bg, routes = _gate(o, rng, stats)
        scores = [sum(g[k][i] * xs[i][j] for i in range(d)) + bg[k] for k in range(e) for j in range(t)]
        cols = [[xs[i][j] for i in range(d)] for j in range(t)]
        for _ in range(20):  # the experts, for this routing
            stats.drawn += 1
            drawn = _experts(o, rng, cols, routes, scores)
            if drawn is None:
                continue
            ex, bs = drawn
            stats.accepted += 1
            out = {
                "X": Tensor((d, t), [v for r in xs for v in r]),
                "G": Tensor((e, d), [v for r in g for v in r]),
                "bG": Tensor((e,), bg),
            }
            for k in range(e):
                out[f"E{k + 1}"] = Tensor((h, d), [v for r in ex[k] for v in r])
                out[f"b{k + 1}"] = Tensor((h, 1), bs[k] if bias else [0] * h)
            return out
    raise GenerationError("no hand-friendly moe variant")



def _experts(
    o: dict[str, Any], rng: random.Random, cols: list[list[int]], routes: list[list[int]], scores: list[int]
) -> tuple[list[list[list[int]]], list[list[int]]] | None:
    """The experts' weights and biases for this routing, or None. Each row of an expert is drawn on
    its own (no weight row all zeros). With top-1 every answer a row makes is its own — its routed
    tokens' z, in Zₖ, in each partial sum (or a 0 there when the token went to a later expert), in H
    and, through ReLU, in Y — so a row that would spend more than the sheet's share of zeros (or of
    one value) is drawn again on its own, keeping one zero back for ReLU's crossing out; the whole
    set is then checked exactly as the driver will (the same answers as the blanks: S, the routed Z
    cells, the partial sums, H, Y)."""
    e, t, d, h, top, bias = o["experts"], o["tokens"], o["features"], o["outputs"], o["top"], o["bias"]
    mine = [[j for j in range(t) if k in routes[j]] for k in range(e)]
    n = len(scores) + h * t * top + (e - 2) * h * t + 2 * h * t  # S, routed Z, partial sums, H, Y
    zcap, tcap = (n // ZERO_SHARE, n // 3) if n >= _rules.SMALL else (n // 2, n - 1)
    seen = Counter(scores)
    rand, tw = rng.random, _table(-1, 1)  # the draws of ``draws`` and ``draw``, the table looked up once
    kw, dr = len(tw), range(d)
    pk = [sum(1 for m in range(2, e) if k < m) for k in range(e)]  # partial sums that hold expert k's z
    pz = [e - 2 - c for c in pk]  # … and those that hold a 0 in its place
    negative = False
    ex = [[[0] * d for _ in range(h)] for _ in range(e)]
    bs = [[0] * h for _ in range(e)]
    z = [[[0] * t for _ in range(h)] for _ in range(e)]
    for k in range(e):
        for r in range(h):
            for _ in range(ROW_TRIES):
                w = [tw[int(rand() * kw)] for _ in dr]
                if not any(w):
                    continue
                b = tw[int(rand() * kw)] if bias else 0
                vs = [sum(map(mul, w, cols[j])) + b for j in mine[k]]
                if top == 1:  # this row's answers: each z in Z and H, ReLU's in Y, and the partial sums
                    add: dict[int, int] = {}  # (z itself in those before the token's expert, 0 after)
                    zeros, neg = 0, negative
                    for v in vs:
                        if v > 0:
                            add[v] = add.get(v, 0) + 3 + pk[k]
                            zeros += pz[k]
                        elif v == 0:
                            zeros += 3 + pk[k] + pz[k]
                        else:
                            add[v] = add.get(v, 0) + 2 + pk[k]
                            zeros += 1 + pz[k]
                            neg = True
                    if seen[0] + zeros > zcap - (0 if neg else 1) or any(seen[v] + c > tcap for v, c in add.items()):
                        continue
                    seen.update(add)
                    seen[0] += zeros
                    negative = neg
                break
            else:
                return None
            ex[k][r], bs[k][r] = w, b
            for j, v in zip(mine[k], vs):
                z[k][r][j] = v
    flat = [sum(z[k][r][j] for k in routes[j]) for r in range(h) for j in range(t)]
    if any(abs(v) > 20 for v in flat) or not any(v < 0 for v in flat):
        return None  # small, and ReLU has something to cross out
    routed = [z[k][r][j] for k in range(e) for r in range(h) for j in mine[k]]
    partial = [  # Z₁ + Z₂ (+ …) before the last expert is added
        sum(z[k][r][j] for k in routes[j] if k < m) for m in range(2, e) for r in range(h) for j in range(t)
    ]
    sh = _rules.shares(scores + routed + partial + flat + [max(v, 0) for v in flat])
    if not _rules.shares_ok(sh) or (n >= _rules.SMALL and ZERO_SHARE * sh.zeros > n):
        return None  # few zeros, no value dominating (the driver's rule, and the chapter's own on zeros)
    return ex, bs


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """The method's steps: the scores S, each expert's crossing for the tokens routed to it, H and
    the ReLU. The routed tokens X_k are printed (a copy or 0 each), and so is a column of 0s where an
    expert got no token — which shows the routing, so the one-hot M is printed too rather than asked
    (asking it would be asking what the page already shows): the student checks it against the
    scores they computed."""
    m = vals["M"]
    cells: list[Any] = [("S", i) for i in vals["S"].indices()]
    for k in range(1, o["experts"] + 1):
        cells += [(f"Z{k}", (r, j)) for r, j in vals[f"Z{k}"].indices() if m[(k - 1, j)] == 1]
    sums = [n for n in graph.shapes if n[:1] == "H"]  # Z₁ + Z₂, …, H: the partial sums too, else they give Z away
    return cells + [(n, i) for n in sums for i in vals[n].indices()] + [("Y", i) for i in vals["Y"].indices()]
