"""Recurrent network (ReLU RNN), unrolled in time — by hand.

``H_t = ReLU(A·H_{t−1} + B·X_t)``, ``Y_t = C·H_t``. Each time step is one crossing: the weights
side by side, ``[A | B]``, meet the column ``[H_{t−1} ; X_t]`` — the hidden state carried over from
the previous column on top of the new input. ``H₀ = 0``. The same ``A``, ``B`` and ``C`` are used
at every step: that is what makes the network recurrent.

The published names are kept: ``A`` (hidden → hidden), ``B`` (input → hidden), ``C`` (hidden →
output), the input sequence ``X`` (one column per time step) and the outputs ``Y``. A teacher's
``--values`` give ``X`` as one matrix (or a flat list for one input feature); :func:`given` splits
it into the columns ``X₁ … X_T`` the sheet is drawn with, takes the sizes from the matrices, and
fills in ``H₀ = 0`` when it is left out. Published example: A = [[1, −1], [1, 1]], B = [[1], [2]], C = [[−1, 1]], X = 3, 4, 5, 6 →
Y = 3, 16, 28, 40.

Hard: backpropagation through time over two steps, with the loss at the last output
``L = ½ (Y₂ − Y₂*)²``. The gradient reaches ``H₁`` only through ``A`` at step 2, and the
gradients of ``A`` and ``B`` add up over the two steps, one crossing each.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from byhand.errors import FormatError, GenerationError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._rules import shares, shares_ok
from byhand.topics._sampling import Stats, draws

MAX_STEPS = 6
NAME = "rnn"
TITLE = "Recurrent network (RNN), unrolled"
SUMMARY = "Hₜ = ReLU([A | B]·[Hₜ₋₁ ; Xₜ]), Yₜ = C·Hₜ: one crossing per step, the state carried on; backprop through time"
OPTIONS = {
    "mode": Option(
        "forward",
        "forward",
        "backward",
        "forward (the sequence through the network); backward (backprop through time, loss at the last step)",
        choices=("forward", "backward"),
    ),
    "steps": Option(3, 4, 2, "time steps (columns X₁ … X_T)", lo=2, hi=MAX_STEPS),
    "hidden": Option(2, 2, 2, "hidden units (rows of A)", lo=1, hi=4),
    "inputs": Option(1, 2, 1, "input features (rows of each Xₜ)", lo=1, hi=3),
    "outputs": Option(1, 1, 1, "outputs (rows of C)", lo=1, hi=2),
}

MAX_TRIES = 2000
BOUND = 20


def _s(t: int) -> str:
    return subscript(str(t))


def build(o: dict[str, Any]) -> Sheet:
    h, d, q, n = o["hidden"], o["inputs"], o["outputs"], o["steps"]
    leaves: dict[str, Any] = {"A": (h, h), "B": (h, d), "C": (q, h), "H0": (h, 1)}
    leaves |= {f"X{t}": (d, 1) for t in range(1, n + 1)}
    nodes: list[Node] = [Node("hstack", ("A", "B"), "AB")]
    labels: dict[str, str] = {}
    notes: dict[str, str] = {"H0": "the state before the first step"}
    if o["mode"] == "backward":
        notes["H0"] = "the state carried in"
    for t in range(1, n + 1):
        nodes += [
            Node("vstack", (f"H{t - 1}", f"X{t}"), f"S{t}"),
            Node("matmul", ("AB", f"S{t}"), f"Z{t}"),
            Node("relu", (f"Z{t}",), f"H{t}"),
            Node("matmul", ("C", f"H{t}"), f"Y{t}"),
        ]
    notes[f"Y{n}"] = "the last output"
    text = (
        f"Run the sequence {'X₁, X₂' if n == 2 else f'X₁ … X{_s(n)}'} through the network, one column per time step: "
        f"Zₜ = [A | B]·[Hₜ₋₁ ; Xₜ] = A·Hₜ₋₁ + B·Xₜ, Hₜ = ReLU(Zₜ), Yₜ = C·Hₜ. "
        "H₀ = 0; each Hₜ is carried to the top of the next column."
    )
    if o["mode"] == "backward":
        leaves[f"T{n}"] = (q, 1)
        labels[f"T{n}"] = f"Y{_s(n)}*"
        notes[f"T{n}"] = "the target"
        nodes += [Node("half_sse", (f"Y{n}", f"T{n}"), "L")]
        nodes += [grad_node("L", "C", "dC"), grad_node("L", "AB", "dAB")]  # d[A | B] = [dA | dB]: one crossing
        text = text.replace("H₀ = 0", "H₀ is the state carried in from the steps before")
        text += (
            f" Then backprop through time with L = ½ (Y{_s(n)} − Y{_s(n)}*)²: dY{_s(n)} = Y{_s(n)} − Y{_s(n)}*, "
            "back through each step (ReLU passes where Z > 0), and add the gradients of A and B over the steps."
        )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles={"H0": "given"}, bound=BOUND)


def given(o: dict[str, Any], values: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """A teacher's values by the published names. The sizes come from the matrices (rows of A:
    hidden units, columns of B: input features, rows of C: outputs, columns of X: time steps);
    ``X`` (inputs × steps, or a flat list of one feature) is split into the step columns
    ``X₁ … X_T``; ``H0`` defaults to 0; at the backward level the target of the last output is
    ``target``."""
    if not isinstance(values, Mapping):
        return o, values  # the driver says what is wrong
    out = dict(values)
    o = dict(o)
    if "X" in out:
        raw = out.pop("X")
        rows = raw if isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw) else [raw]
        if not all(isinstance(r, list) and r and len(r) == len(rows[0]) for r in rows) or len(rows[0]) > MAX_STEPS:
            raise FormatError(M_(
                "X must be the input sequence, one column per time step: a flat list such as [3, 4, 5, 6] "
                "for one feature, or a list of rows of equal length (at most {steps} steps)", steps=MAX_STEPS,
            ))
        o["steps"], o["inputs"] = len(rows[0]), len(rows)
        for t in range(o["steps"]):
            out[f"X{t + 1}"] = [[r[t]] for r in rows]
    for key, opt, axis in (("A", "hidden", 0), ("B", "inputs", 1), ("C", "outputs", 0)):
        m = out.get(key)
        if isinstance(m, list) and m and all(isinstance(r, list) for r in m):
            size = len(m) if axis == 0 else len(m[0])
            if not OPTIONS[opt].lo <= size <= OPTIONS[opt].hi:  # type: ignore[operator]
                raise FormatError(M_("{key} gives {size} {opt}; use {lo}…{hi}",
                                     key=key, size=size, opt=opt, lo=OPTIONS[opt].lo, hi=OPTIONS[opt].hi))
            o[opt] = size
    if "H0" not in out:
        out["H0"] = [[0] for _ in range(o["hidden"])]
    _check_sizes(out, o["hidden"])
    if "target" in out:
        out[f"T{o['steps']}"] = out.pop("target")
    elif o["mode"] == "backward":
        raise FormatError(M_(
            'the backward level needs the target of the last output {y}*: add "target": {example} (your numbers) '
            "to the values", y=f'Y{_s(o["steps"])}', example=[[0] for _ in range(o["outputs"])],
        ))
    return o, out


def _rows_cols(m: Any) -> tuple[int, int] | None:
    if isinstance(m, list) and m and all(isinstance(r, list) and len(r) == len(m[0]) for r in m):
        return len(m), len(m[0])
    return None


def _check_sizes(values: Mapping[str, Any], h: int) -> None:
    """Sizes that do not fit, said in the sheet's names (not as a failed crossing)."""
    sizes = {k: _rows_cols(values.get(k)) for k in ("A", "B", "C", "H0")}
    wants = {
        "A": (lambda r, c: r == c == h, f"A must be square, {h}×{h} (hidden × hidden)"),
        "B": (lambda r, c: r == h, f"B must have {h} rows, one per hidden unit (the rows of A)"),
        "C": (lambda r, c: c == h, f"C must have {h} columns, one per hidden unit (the rows of A)"),
        "H0": (lambda r, c: r == h and c == 1, f"H0 must be one column of {h} (the hidden state), e.g. {[[0]] * h}"),
    }
    for k, (ok, msg) in wants.items():
        rc = sizes[k]
        if rc is not None and not ok(*rc):
            raise FormatError(msg)


def _backward(
    a: list[int],
    c: list[int],
    xs: list[list[int]],
    zs: list[list[int]],
    hs: list[list[int]],
    e: list[int],
    h: int,
    d: int,
    q: int,
) -> list[int]:
    """Backprop through time in plain integers, the answers in the order of the blanks: dY, dC,
    then dH and dZ per step going back, then dA and dB (summed over the steps)."""
    out = list(e)
    out += [e[i] * hs[-1][k] for i in range(q) for k in range(h)]  # dC = dY·Hᵀ
    dh = [sum(c[i * h + k] * e[i] for i in range(q)) for k in range(h)]  # dH = Cᵀ·dY
    da = [0] * (h * h)
    db = [0] * (h * d)
    for t in range(len(xs) - 1, -1, -1):
        dz = [g if zv > 0 else 0 for g, zv in zip(dh, zs[t])]
        out += dh + dz
        for i in range(h):
            for k in range(h):
                da[i * h + k] += dz[i] * hs[t][k]
            for k in range(d):
                db[i * d + k] += dz[i] * xs[t][k]
        dh = [sum(a[i * h + k] * dz[i] for i in range(h)) for k in range(h)]  # dH = Aᵀ·dZ
    return out + da + db


_XS = [v for v in range(-3, 4) if v]
_NZ = (-1, 1, 1, 2)


def _nonzero(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    v = draws(rng, n, lo, hi)
    while not any(v):
        v = draws(rng, n, lo, hi)
    return v


def _inputs(rng: random.Random, d: int) -> list[list[int]]:
    """The candidate inputs of one step, in a random order: every small nonzero value (one
    feature), or a few draws (several)."""
    if d == 1:
        xs = [[v] for v in _XS]
        rng.shuffle(xs)
        return xs
    return [_nonzero(rng, d, -2, 3) for _ in range(12)]


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """A, B, C (and H₀) first; then each step's input is chosen on its own so the step is good
    (bounded, something for ReLU to cross out, a state that is not all 0) — the cost grows with
    the number of steps, not exponentially."""
    h, d, q, n = o["hidden"], o["inputs"], o["outputs"], o["steps"]
    back = o["mode"] == "backward"
    for _ in range(MAX_TRIES):
        stats.drawn += 1
        # backward: no 0 in A or H₀, else whole rows of the gradients are 0 (the rules allow a quarter)
        a = [rng.choice(_NZ) for _i in range(h * h)] if back else _nonzero(rng, h * h, -1, 1)
        b = [v for _i in range(h) for v in _nonzero(rng, d, -2 if back else -1, 2)]
        if back and h > 1 and (min(b) > 0 or max(b) < 0):
            b[rng.randrange(h * d)] *= -1  # one input pushes some units up and others down: each step can cross out another
        c = [v for _i in range(q) for v in _nonzero(rng, h, -1, 2)]
        h0 = [rng.choice(_NZ[1:]) for _i in range(h)] if back else [0] * h  # backward: two steps from mid-sequence
        xs: list[list[int]] = []
        zs: list[list[int]] = []
        hs: list[list[int]] = [h0]
        ys: list[list[int]] = []
        for _t in range(n):
            hp = hs[-1]
            base = [sum(a[i * h + k] * hp[k] for k in range(h)) for i in range(h)]  # A·Hₜ₋₁, then B·x per candidate
            for x in _inputs(rng, d):
                z = [base[i] + sum(b[i * d + k] * x[k] for k in range(d)) for i in range(h)]
                if max(z) <= 0 or min(z) >= 0 or max(z) > BOUND or min(z) < -BOUND:
                    continue  # ReLU must cross something out and pass something, every step
                if back and zs and [v > 0 for v in z] == [v > 0 for v in zs[-1]]:
                    continue  # backward: another unit passes at each step, so no row of d[A | B] is all 0
                hn = [v if v > 0 else 0 for v in z]
                y = [sum(c[i * h + k] * hn[k] for k in range(h)) for i in range(q)]
                if not any(y) or any(abs(v) > BOUND for v in y):
                    continue
                break
            else:
                break
            xs.append(x)
            zs.append(z)
            hs.append(hn)
            ys.append(y)
        fwd = [v for z in zs for v in z] + [v for y in ys for v in y]
        if len(xs) < n or not shares_ok(shares(fwd)):
            continue
        out = {
            "A": Tensor((h, h), a),
            "B": Tensor((h, d), b),
            "C": Tensor((q, h), c),
            "H0": Tensor((h, 1), h0),
        } | {f"X{t + 1}": Tensor((d, 1), xs[t]) for t in range(n)}
        if back:
            e = [rng.choice((1, -1, 2, -2, 3, -3)) for _ in range(q)]  # Y − Y*: never 0, so a gradient flows
            grads = _backward(a, c, xs, zs, hs, e, h, d, q)
            if any(abs(v) > BOUND for v in grads) or not shares_ok(shares(fwd + [v for hv in hs[1:] for v in hv] + grads)):
                continue
            out[f"T{n}"] = Tensor((q, 1), [y - err for y, err in zip(ys[-1], e)])
        stats.accepted += 1
        return out
    raise GenerationError(M_("no hand-friendly RNN after {tries} draws; try fewer steps or hidden units", tries=MAX_TRIES))


def accept(o: dict[str, Any], vals: dict[str, Tensor]) -> bool:
    """Backward: the gradient must travel back in time — reach step 1 (dZ₁ not all 0)."""
    if o["mode"] != "backward":
        return True
    h = vals["A"].shape[0]
    dab = vals["dAB"]
    cols = dab.shape[1]
    da = [dab.data[i * cols + k] for i in range(h) for k in range(h)]
    db = [dab.data[i * cols + k] for i in range(h) for k in range(h, cols)]
    return any(vals["dZ1"].data) and any(da) and any(db)


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    n = o["steps"]
    names = [m for t in range(1, n + 1) for m in (f"Z{t}", f"H{t}", f"Y{t}")]
    if o["mode"] == "backward":  # forward, then backward (as backprop at hard)
        names += [m for m in graph.shapes if graph.roles[m] == "grad"]  # copies share a badge
    return [(name, i) for name in names for i in vals[name].indices()]
