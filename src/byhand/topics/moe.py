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
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.ops import top_rows
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet, _rules
from byhand.topics._sampling import Stats, draws

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


def _routes(o: dict[str, Any], x: list[list[int]], g: list[list[int]], bg: list[int]) -> list[list[int]] | None:
    """The chosen experts of each token, or None when a column ties at the cut."""
    e, t, d = o["experts"], o["tokens"], o["features"]
    out = []
    for j in range(t):
        col = [sum(g[k][i] * x[i][j] for i in range(d)) + bg[k] for k in range(e)]
        try:
            out.append(top_rows(col, o["top"]))
        except Exception:
            return None
    return out


Gate = tuple[list[list[int]], list[list[int]], list[int], list[list[int]]]


def _gate(o: dict[str, Any], rng: random.Random, stats: Stats) -> Gate:
    """X, G, c and the routes: distinct tokens, no tie at the cut, the tokens not all routed
    the same way, and no expert idle when there are tokens enough for all."""
    e, t, d, top, bias = o["experts"], o["tokens"], o["features"], o["top"], o["bias"]
    for _ in range(TRIES):
        stats.drawn += 1
        xs = [draws(rng, t, 0, 3) for _ in range(d)]
        cols = [tuple(xs[i][j] for i in range(d)) for j in range(t)]
        if any(not any(c) for c in cols) or len(set(cols)) < t or (t > 1 and any(not any(r) for r in xs)):
            continue
        g = [draws(rng, d, -1 if bias else 0, 2 if bias else 1) for _ in range(e)]
        if len({tuple(r) for r in g}) < e or any(not any(r) for r in g):
            continue
        bg = draws(rng, e, -1, 1) if bias else [0] * e
        routes = _routes(o, xs, g, bg)
        if routes is None:
            continue
        if len({tuple(r) for r in routes}) < min(t, 2):
            continue  # the tokens must not all go the same way: routing is the lesson
        if len({k for r in routes for k in r}) < min(e, t * top):
            continue
        stats.accepted += 1
        return xs, g, bg, routes
    raise GenerationError("no hand-friendly moe gate")


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    e, t, d, h, bias = o["experts"], o["tokens"], o["features"], o["outputs"], o["bias"]
    for _ in range(TRIES // 20):
        xs, g, bg, routes = _gate(o, rng, stats)
        scores = [sum(g[k][i] * xs[i][j] for i in range(d)) + bg[k] for k in range(e) for j in range(t)]
        onehot = [1 if k in routes[j] else 0 for k in range(e) for j in range(t)]
        for _ in range(20):  # the experts, for this routing
            stats.drawn += 1
            ex = [[draws(rng, d, -1, 1) for _ in range(h)] for _ in range(e)]
            if any(not any(r) for m in ex for r in m):
                continue
            bs = [draws(rng, h, -1, 1) if bias else [0] * h for _ in range(e)]
            z = [
                [[sum(ex[k][r][i] * xs[i][j] for i in range(d)) + bs[k][r] for j in range(t)] for r in range(h)] for k in range(e)
            ]
            flat = [sum(z[k][r][j] for k in routes[j]) for r in range(h) for j in range(t)]
            if any(abs(v) > 20 for v in flat) or not any(v < 0 for v in flat):
                continue  # small, and ReLU has something to cross out
            routed = [z[k][r][j] for k in range(e) for r in range(h) for j in range(t) if k in routes[j]]
            partial = [  # Z₁ + Z₂ (+ …) before the last expert is added
                sum(z[k][r][j] for k in routes[j] if k < m) for m in range(2, e) for r in range(h) for j in range(t)
            ]
            if not _rules.shares_ok(_rules.shares(scores + onehot + routed + partial + flat + [max(v, 0) for v in flat])):
                continue  # few zeros, no value dominating (the same rule the driver checks)
            stats.accepted += 1
            out = {
                "X": Tensor((d, t), [v for r in xs for v in r]),
                "G": Tensor((e, d), [v for r in g for v in r]),
                "bG": Tensor((e,), bg),
            }
            for k in range(e):
                out[f"E{k + 1}"] = Tensor((h, d), [v for r in ex[k] for v in r])
                out[f"b{k + 1}"] = Tensor((h, 1), bs[k])
            return out
    raise GenerationError("no hand-friendly moe variant")


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
