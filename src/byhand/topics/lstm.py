"""Long short-term memory (LSTM) cell, one time step — by hand.

As on the published sheet (Tom Yeh's "LSTM"): one column ``[Xₜ ; Hₜ₋₁ ; 1]`` — the input, the
short-term memory (hidden state) carried in, and a 1 for the bias — meets four weight blocks, one
per gate, each ``[W | U | b]``: the forget gate ``F``, the candidate memory ``G``, the input gate
``I`` and the output gate ``O``. Then

    Cₜ = F ⊙ Cₜ₋₁ + I ⊙ G      (the long-term memory, the cell state)
    Hₜ = O ⊙ tanh(Cₜ)          (the new hidden state)

σ and tanh are not exact, so the sheet uses PyTorch's piecewise-linear versions and says so:
the hard sigmoid σ(z) = clamp(z/6 + ½, 0, 1) (0 for z ≤ −3, 1 for z ≥ 3, z/6 + ½ between) and the
hard tanh tanh(z) = clamp(z, −1, 1). Every value is then exact: the gates are 0, 1 or sixths, and
torch (``F.hardsigmoid``, ``F.hardtanh``) computes the same numbers. Forward only; two steps as
an option (the new state carried to the next column).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.engine.values import norm
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.notation import subscript
from byhand.topics import Option, Sheet
from byhand.topics._rules import shares, shares_ok

NAME = "lstm"
TITLE = "LSTM cell"
SUMMARY = "forget, input, output gates and candidate: [W | U | b]·[Xₜ ; Hₜ₋₁ ; 1]; Cₜ = F ⊙ Cₜ₋₁ + I ⊙ G, Hₜ = O ⊙ tanh(Cₜ)"
OPTIONS = {
    "steps": Option(1, 1, 1, "time steps (the new H and C carried to the next column)", lo=1, hi=2),
    "hidden": Option(1, 2, 2, "hidden units (rows of each gate)", lo=1, hi=3),
    "inputs": Option(1, 2, 3, "input features (rows of Xₜ)", lo=1, hi=4),
}

# the published order of the blocks: forget, candidate, input, output
GATES = (("f", "F", "hard_sigmoid", "forget gate"), ("g", "G", "hard_tanh", "candidate memory"),
         ("i", "I", "hard_sigmoid", "input gate"), ("o", "O", "hard_sigmoid", "output gate"))
CONVENTION = (
    "σ here is the hard sigmoid: 0 below −3, 1 above 3, z/6 + 1/2 between; "
    "tanh is the hard tanh: −1 below −1, 1 above 1, z between (PyTorch's hardsigmoid and hardtanh)."
)
MAX_TRIES = 4000
BOUND = 20


def _s(t: int) -> str:
    return subscript(str(t))


def build(o: dict[str, Any]) -> Sheet:
    h, d, n = o["hidden"], o["inputs"], o["steps"]
    leaves: dict[str, Any] = {"H0": (h, 1), "C0": (h, 1)}
    labels: dict[str, str] = {}
    notes: dict[str, str] = {"H0": "short-term memory carried in", "C0": "long-term memory carried in"}
    nodes: list[Node] = []
    for k, _big, _op, what in GATES:
        leaves |= {f"W{k}": (h, d), f"U{k}": (h, h), f"b{k}": (h,)}
        nodes.append(Node("hstack", (f"W{k}", f"U{k}"), f"WU{k}"))
        notes[f"W{k}"] = what
    for t in range(1, n + 1):
        s = _s(t)
        leaves[f"X{t}"] = (d, 1)
        nodes.append(Node("vstack", (f"X{t}", f"H{t - 1}"), f"S{t}"))
        for k, big, op, what in GATES:
            nodes += [Node("linear", (f"WU{k}", f"b{k}", f"S{t}"), f"Z{k}{t}"), Node(op, (f"Z{k}{t}",), f"{big}{t}")]
            labels[f"Z{k}{t}"] = f"Z{k}{s}" if n > 1 else f"Z{k}"
            labels[f"{big}{t}"] = f"{big}{s}" if n > 1 else big
            notes[f"{big}{t}"] = what
        nodes += [
            Node("mul", (f"F{t}", f"C{t - 1}"), f"FC{t}"),
            Node("mul", (f"I{t}", f"G{t}"), f"IG{t}"),
            Node("add", (f"FC{t}", f"IG{t}"), f"C{t}"),
            Node("hard_tanh", (f"C{t}",), f"T{t}"),
            Node("mul", (f"O{t}", f"T{t}"), f"H{t}"),
        ]
        f, i, g, oo = (labels[f"{b}{t}"] for b in "FIGO")
        labels[f"FC{t}"] = f"{f} ⊙ C{_s(t - 1)}"
        labels[f"IG{t}"] = f"{i} ⊙ {g}"
        labels[f"T{t}"] = f"tanh(C{s})"
        notes[f"C{t}"] = "the new long-term memory"
        notes[f"H{t}"] = "the new short-term memory, the output"
    text = (
        "One LSTM step: each gate's block [W | U | b] meets the column [Xₜ ; Hₜ₋₁ ; 1]; "
        "F = σ(Zf) forget gate, G = tanh(Zg) candidate memory, I = σ(Zi) input gate, O = σ(Zo) output gate. "
        "Then Cₜ = F ⊙ Cₜ₋₁ + I ⊙ G and Hₜ = O ⊙ tanh(Cₜ) (⊙: entry by entry). " + CONVENTION
    )
    if n > 1:
        text = text.replace("One LSTM step", f"{n} LSTM steps (H and C carried to the next column)")
    roles = {"H0": "given", "C0": "given"}
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=BOUND)


def _hs(z: Fraction) -> Fraction:
    return Fraction(0) if z <= -3 else Fraction(1) if z >= 3 else z / 6 + Fraction(1, 2)


def _ht(z: Fraction) -> Fraction:
    return Fraction(-1) if z <= -1 else Fraction(1) if z >= 1 else z


_ACT = {"hard_sigmoid": _hs, "hard_tanh": _ht}
_W = (-1, 0, 1, 1, -1, 2, -2)  # weights: mostly ±1, a 0, sometimes ±2
_STATE = (-1, 1, 1, 2, -2, 3)
_X = (-2, -1, 1, 2, 0, 1)  # inputs
_B = (-1, 0, 1)  # biases
assert len(_W) == 7


_TABLE = {op: {z: f(Fraction(z)) for z in range(-6, 7)} for op, f in _ACT.items()}  # whole z within ±6
_O_FIRST = (GATES[3], GATES[0], GATES[1], GATES[2])
_TABLE6 = {op: {z: int(6 * v) for z, v in t.items()} for op, t in _TABLE.items()}  # six times each: whole
assert all(6 * v == v6 for op, t in _TABLE.items() for v, v6 in zip(t.values(), _TABLE6[op].values()))


def _step(
    w: dict[str, list[int]], h: int, d: int, x: list[int], hp: list[Fraction], cp: list[Fraction],
    whole_h: bool = False,
) -> tuple[list[Fraction], list[Fraction], list[Fraction]] | None:
    """One step in plain fractions: (all the answers, new H, new C), or None if not hand-friendly.
    ``whole_h``: the new H is carried to another step, whose pre-activations must stay whole, so
    the output gate must saturate (O = 0 or 1, tested first: most draws end there at once)."""
    col: list[Any] = list(x) + [int(v) if v.denominator == 1 else v for v in hp]  # whole numbers stay ints (fast)
    zs: dict[str, list[Any]] = {}
    six: dict[str, list[int]] = {}  # each activation times 6, a whole number: the rules below in ints
    for k, big, op, _w in _O_FIRST if whole_h else GATES:
        wk, uk, bk = w[f"W{k}"], w[f"U{k}"], w[f"b{k}"]
        z = [sum([v * c for v, c in zip(wk[r * d:(r + 1) * d] + uk[r * h:(r + 1) * h], col)], bk[r]) for r in range(h)]
        for v in z:
            if (type(v) is not int and v.denominator != 1) or not -6 <= v <= 6:
                return None  # whole pre-activations within ±6: σ lands on a sixth
            if whole_h and k == "o" and -3 < v < 3:
                return None  # O strictly between 0 and 1 would carry a fraction of tanh(C) on
        zs[k] = z = [int(v) for v in z]
        t6 = _TABLE6[op]
        six[big] = [t6[v] for v in z]
    gates = six["F"] + six["I"] + six["O"]
    if not any(0 < v < 6 for v in gates) or not any(v in (0, 6) for v in gates) or len(set(gates)) < 2:
        return None  # some gates saturate, some do not: both halves of σ are used
    if not any(0 < abs(v) < 1 for v in zs["g"]) and not any(v in (6, -6) for v in six["G"]):
        return None
    acts = {big: [_TABLE[op][v] for v in zs[k]] for k, big, op, _w in GATES}
    fc = [f * c for f, c in zip(acts["F"], cp)]
    ig = [i * g for i, g in zip(acts["I"], acts["G"])]
    c = [a + b for a, b in zip(fc, ig)]
    th = [_ht(v) for v in c]
    hn = [oo * t for oo, t in zip(acts["O"], th)]
    if any(v.denominator > 6 for v in hn) or not any(hn) or any(abs(v) > BOUND for v in c):
        return None
    answers = [v for k, big, _op, _w in GATES for v in zs[k] + acts[big]] + fc + ig + c + th + hn
    return answers, hn, c


def _saturate_output_gate(rng: random.Random, w: dict[str, list[int]], h: int, d: int, x: list[int], hp: list[Fraction]) -> bool:
    """Before a step whose H is carried on (the first of two): the output gate's rows are drawn
    for this input, row by row, until each pre-activation is 3 to 6 from 0 — O saturates at 0 or
    1, so H = O ⊙ tanh(C) can stay whole — instead of drawing inputs until one happens to do it.
    The weights are shared by the steps, so this is done before the first step only."""
    col = list(x) + [int(v) for v in hp]  # the state carried in is whole
    wo, uo, bo = list(w["Wo"]), list(w["Uo"]), list(w["bo"])
    for r in range(h):
        for _ in range(20):
            wr, ur, br = rng.choices(_W, k=d), rng.choices(_W[:5], k=h), rng.choice((-1, 0, 1))
            if not any(wr) and not any(ur):
                continue
            z = sum(a * c for a, c in zip(wr + ur, col)) + br
            if 3 <= abs(z) <= 6:
                wo[r * d:(r + 1) * d], uo[r * h:(r + 1) * h], bo[r] = wr, ur, br
                break
        else:
            return False
    w["Wo"], w["Uo"], w["bo"] = wo, uo, bo
    return True


def _carries_whole(w: dict[str, list[int]], h: int, hn: list[Fraction]) -> bool:
    """Does the hidden state carried to the next step keep its pre-activations whole? U·H must be
    whole in every gate whatever the next input is, so a step whose H would make the next one
    fractional is drawn again at once, not found out after a dozen inputs for the next step."""
    if all(v.denominator == 1 for v in hn):
        return True
    for k in "fgio":
        uk = w[f"U{k}"]
        for r in range(h):
            if sum(uk[r * h + c] * hn[c] for c in range(h)).denominator != 1:
                return False
    return True


def sample(o: dict[str, Any], rng: random.Random, stats: Any) -> dict[str, Tensor]:
    """Weights in {−2 … 2} (mostly ±1), inputs in {−2 … 2}, the state carried in small and
    nonzero; each step's input drawn on its own until the step is hand-friendly (whole
    pre-activations, some gates saturated and some not, H in sixths)."""
    h, d, n = o["hidden"], o["inputs"], o["steps"]
    for _ in range(MAX_TRIES):
        stats.drawn += 1
        w: dict[str, list[int]] = {}
        # rng.choice(seq) is seq[rng._randbelow(len(seq))]: the same draws, without a call each
        below = rng._randbelow  # type: ignore[attr-defined]
        for k, _b, _op, _w in GATES:
            w[f"W{k}"] = [_W[below(7)] for _i in range(h * d)]
            w[f"U{k}"] = [_W[below(5)] for _i in range(h * h)]
            w[f"b{k}"] = [_B[below(3)] for _i in range(h)]
        if any(not any(w[f"W{k}"][r * d:(r + 1) * d] + w[f"U{k}"][r * h:(r + 1) * h]) for k in "fgio" for r in range(h)):
            continue  # a gate row of 0s ignores its input: nothing to cross
        hp = [Fraction(rng.choice((-1, 1, 1, 0))) for _i in range(h)]
        cp = [Fraction(rng.choice(_STATE)) for _i in range(h)]
        h0, c0 = list(hp), list(cp)
        xs: list[list[int]] = []
        answers: list[Fraction] = []
        for _t in range(n):
            for _x in range(12):
                x = rng.choices(_X, k=d)
                if _t < n - 1 and not _saturate_output_gate(rng, w, h, d, x, hp):
                    continue
                r = _step(w, h, d, x, hp, cp, whole_h=_t < n - 1)
                if r is not None and (_t == n - 1 or _carries_whole(w, h, r[1])):
                    break
            else:
                break
            xs.append(x)
            answers += r[0]
            hp, cp = r[1], r[2]
        if len(xs) < n or not shares_ok(shares([norm(v) for v in answers])):  # Fraction(1) counts as the 1 it prints
            continue
        out = {name: Tensor((h, h) if name[0] == "U" else (h,) if name[0] == "b" else (h, d), v) for name, v in w.items()}
        out |= {"H0": Tensor((h, 1), [int(v) for v in h0]), "C0": Tensor((h, 1), [int(v) for v in c0])}
        out |= {f"X{t + 1}": Tensor((d, 1), xs[t]) for t in range(n)}
        stats.accepted += 1
        return out
    raise GenerationError(M_("no hand-friendly LSTM step after {tries} draws; try fewer inputs or hidden units", tries=MAX_TRIES))


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    names = []
    for t in range(1, o["steps"] + 1):
        for k, big, _op, _w in GATES:
            names += [f"Z{k}{t}", f"{big}{t}"]
        names += [f"FC{t}", f"IG{t}", f"C{t}", f"T{t}", f"H{t}"]
    return [(name, i) for name in names for i in vals[name].indices()]
