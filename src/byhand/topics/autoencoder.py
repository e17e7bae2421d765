"""Autoencoder and mean squared error, by hand (Tom Yeh's "Autoencoder (AE) by hand").

The encoder narrows the input to a bottleneck, the decoder widens it back: every layer a crossing
``Z = [W | b]·[A ; 1]`` and ReLU, the output ``Y = ReLU(Z)`` the reconstruction of ``X``. Then the
loss, column by column as on the published sheet: ``Y − X``, the squares, their sum Σ, the mean
``L = Σ/N`` (N = the number of entries), and the gradient ``∂L/∂Y = 2(Y − X)/N`` — with N = 4 or 8,
so 2/N is ½ or ¼ and every answer stays a small fraction.

Levels: one layer each way (4 → 2 → 4), one sample (N = 4: 2/N = ½); two samples (N = 8: ¼);
the published shape 4 → 3 → 2 → 3 → 4 with two samples.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._nets import input_matrix
from byhand.topics._sampling import Stats, linear_layer, relu_t

NAME = "autoencoder"
TITLE = "Autoencoder and mean squared error"
SUMMARY = "encoder to a bottleneck, decoder back; Y − X, the squares, their mean, and the gradient 2(Y − X)/N"
OPTIONS = {
    "inputs": Option(4, 4, 4, "features of X (and of the reconstruction Y)", lo=2, hi=6),
    "bottleneck": Option(2, 2, 2, "units of the bottleneck (the narrowest layer)", lo=1, hi=4),
    "hidden": Option(0, 0, 3, "0: one layer each way; else a hidden layer of this width on each side", lo=0, hi=5),
    "batch": Option(1, 2, 2, "samples (columns of X)", lo=1, hi=3),
    "ask": Option("decoder", "all", "all", "decoder: the encoder is worked for you; all: every layer",
                  choices=("decoder", "all")),
}


def widths(o: dict[str, Any]) -> list[int]:
    d, k, h = o["inputs"], o["bottleneck"], o["hidden"]
    return [d, h, k, h, d] if h else [d, k, d]


def build(o: dict[str, Any]) -> Sheet:
    from byhand.errors import ByHandError

    ws = widths(o)
    if o["bottleneck"] >= o["inputs"]:
        raise ByHandError(M_("option bottleneck={b} must be narrower than inputs={i}", b=o["bottleneck"], i=o["inputs"]))
    n = o["inputs"] * o["batch"]
    leaves: dict[str, Any] = {"X": (ws[0], o["batch"])}
    nodes: list[Node] = []
    notes: dict[str, str] = {}
    prev = "X"
    layers = len(ws) - 1
    for i in range(1, layers + 1):
        leaves |= {f"W{i}": (ws[i], ws[i - 1]), f"b{i}": (ws[i],)}
        out = "Y" if i == layers else f"A{i}"
        nodes += [Node("linear", (f"W{i}", f"b{i}", prev), f"Z{i}"), Node("relu", (f"Z{i}",), out)]
        part = "encoder" if i <= layers // 2 else "decoder"
        notes[f"Z{i}"] = f"{part} {i if part == 'encoder' else i - layers // 2}"
        prev = out
    notes[f"A{layers // 2}"] = "bottleneck"
    notes["Y"] = "the reconstruction"
    two_n = Fraction(2, n)
    nodes += [
        Node("sub", ("Y", "X"), "E"),
        Node("mul", ("E", "E"), "Q"),
        Node("sum", ("Q",), "S"),
        Node("scale", ("S",), "L", {"by": f"1/{n}"}),
        Node("scale", ("E",), "G", {"by": str(two_n)}),
    ]
    labels = {"E": "Y − X", "Q": "(Y − X)²", "S": "Σ", "L": "L", "G": "∂L/∂Y"}
    notes |= {"S": "the sum", "L": f"the mean, Σ/{n}", "G": f"2(Y − X)/{n}"}
    code = " → ".join(str(w) for w in ws)
    if o["ask"] == "decoder":
        code += ", the encoder worked for you"
    half = {Fraction(1, 2): "½", Fraction(1, 4): "¼"}.get(two_n, str(two_n))
    text = (
        f"Encoder and decoder ({code}): each layer Z = W·A + b, then ReLU; Y = ReLU(Z{subscript(str(layers))}) "
        f"rebuilds X. Then the mean squared error over the N = {n} entries: Y − X, each squared, their sum Σ, "
        f"the mean L = Σ/{n}, and the gradient ∂L/∂Y = 2(Y − X)/{n} = {half}·(Y − X)."
    )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, bound=20 if n <= 4 else 30)


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    ws = widths(o)
    x = input_matrix(rng, stats, ws[0], o["batch"], (-1, 3), nonzero=True)
    layers = len(ws) - 1
    for _ in range(20):  # the encoder (and decoder's hidden layer), then the output layer that rebuilds X
        out: dict[str, Tensor] = {"X": x}
        prev = x
        for i in range(1, layers):
            w, b, z = linear_layer(rng, prev, ws[i], w=(-1, 2), b=(-1, 2), bound=9, stats=stats, relu=True)
            assert b is not None
            out |= {f"W{i}": w, f"b{i}": b}
            prev = relu_t(z)
        cols = [tuple(prev.col(j)) for j in range(prev.shape[1])]
        if any(not any(c) for c in cols) or len(set(cols)) < len(cols):
            continue  # a sample lost (all 0) or two alike: no output layer could rebuild both
        for _ in range(3):  # a row chosen early can leave no room for a later one: choose again, same encoder
            try:
                w_last, b_last = _last_layer(rng, prev, x, stats)
            except GenerationError:
                continue
            return out | {f"W{layers}": w_last, f"b{layers}": b_last}
    raise GenerationError("no autoencoder rebuilds X closely enough")


_ROWS: dict[int, list[list[int]]] = {}


def _weight_rows(n: int) -> list[list[int]]:
    """Every weight row of n entries in {−1, 0, 1} but the row of 0s (26 for three inputs)."""
    rows = _ROWS.get(n)
    if rows is None:
        rows = [[]]
        for _ in range(n):
            rows = [r + [v] for r in rows for v in (-1, 0, 1)]
        rows = _ROWS[n] = [r for r in rows if any(r)]
    return rows


def _last_layer(rng: random.Random, a: Tensor, x: Tensor, stats: Stats) -> tuple[Tensor, Tensor]:
    """The decoder's output layer, constructed backwards from the Y it should give: row by row,
    the weight rows in {−1, 0, 1} are taken in a random order and for each the biases are computed
    that make ``z = w·a + b`` land 1 to 3 away from x after ReLU (b = z − w·a) — a weight row is
    never drawn and thrown away for want of a bias. The layer's rules: the reconstruction is near
    X but never equal (|ReLU(z) − x| from 1 to 3 in every cell), the squares add up to 20 at most
    (30 for eight entries), no two weight rows alike, and it is alive: ReLU zeroes at most a
    quarter of Y, and crosses out a negative z at least once (in a row chosen beforehand, so the
    last rows are never left without a way to do it; each row leaves the later ones room)."""
    rows, s = x.shape
    n = a.shape[0]
    ad = a.data
    quota = max(1, rows * s // 4)
    limit = 20 if rows * s <= 4 else 30  # the sum of the squares stays within the sheet's bound
    must = rng.randrange(rows)  # this row's ReLU crosses something out
    dead = squares = 0
    w_rows: list[list[int]] = []
    b_vals: list[int] = []
    # each weight row with its w·a (the same for every row of the layer); shuffled as pairs, which
    # takes the same random numbers as shuffling the rows alone (shuffle reads only the length)
    cands = [(wr, tuple([sum([wr[k] * ad[k * s + j] for k in range(n)]) for j in range(s)])) for wr in _weight_rows(n)]
    for i in range(rows):
        xs = tuple(x.data[i * s : (i + 1) * s])
        room = limit - squares - (rows - 1 - i) * s  # each later cell needs a square of 1 at least
        left = quota - dead - (1 if i < must else 0)  # keep one zero for the chosen row
        rng.shuffle(cands)
        for wr, p in cands:
            stats.drawn += 1
            if wr in w_rows:
                continue
            fits = [(bi, zeros, sq) for bi, zeros, neg, sq in _biases(p, xs)
                    if zeros <= left and sq <= room and (i != must or neg)]
            if fits:
                bi, zeros, sq = rng.choice(fits)
                dead += zeros
                squares += sq
                w_rows.append(wr)
                b_vals.append(bi)
                stats.accepted += 1
                break
        else:
            raise GenerationError("no output row rebuilds X closely enough")
    return Tensor((rows, n), [v for r in w_rows for v in r]), Tensor((rows,), b_vals)


_BIASES: dict[tuple[tuple[int, ...], tuple[int, ...]], list[tuple[int, int, int, int]]] = {}


def _biases(p: tuple[int, ...], xs: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """The biases b in −3…4 (in order) that put every ``z = p + b`` within ±9 and ReLU(z) 1 to 3 away
    from x, each with its zeros, negatives and sum of squares. It depends on the numbers only, so it is
    worked out once for each (w·a, x) met (they are small integers: a few hundred pairs)."""
    key = (p, xs)
    out = _BIASES.get(key)
    if out is None:
        out = []
        for bi in range(-3, 5):
            zeros = neg = sq = 0
            for v, xv in zip(p, xs):
                z = v + bi
                if z > 9 or z < -9:
                    break
                if z <= 0:
                    zeros += 1
                    neg += z < 0
                    e = xv if xv > 0 else -xv
                else:
                    e = z - xv if z > xv else xv - z
                if not 1 <= e <= 3:
                    break
                sq += e * e
            else:
                out.append((bi, zeros, neg, sq))
        if len(_BIASES) > 100_000:
            _BIASES.clear()
        _BIASES[key] = out
    return out


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every cell the published sheet computes: each layer's Z and ReLU, then Y − X, the squares,
    Σ, the mean and the gradient (ask=decoder: the encoder is printed worked, up to the bottleneck)."""
    enc = (len(widths(o)) - 1) // 2
    given = {f"{t}{i}" for t in "ZA" for i in range(1, enc + 1)} if o["ask"] == "decoder" else set()
    return [(n, i) for n in graph.shapes if n not in graph.leaves and n not in given for i in vals[n].indices()]
