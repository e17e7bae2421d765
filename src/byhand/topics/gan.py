"""A tiny GAN step, by hand (Tom Yeh's "GAN by hand"): a generator, a discriminator, and the sign
of each loss's gradient.

The generator G turns noise z into a fake sample, a crossing and ReLU: ``G(z) = ReLU([WG | bG]·[z ; 1])``.
The discriminator D scores a real sample x and the fake one side by side, both columns of one
crossing ``ZD = [WD | bD]·[x  G(z) ; 1  1]``, then ``D = σ(ZD)``: the probability that a sample is
real. σ is not exact, so the sheet uses PyTorch's hard sigmoid and says so (as the LSTM chapter):
``σ(z) = clamp(z/6 + ½, 0, 1)``; the logits are kept between −3 and 3, so every score is a sixth.

The losses are binary cross-entropy. D wants D(x) → 1 and D(G(z)) → 0 (targets ``yᴰ = [1 0]``);
G wants D(G(z)) → 1 (target ``yᴳ = 1``). No logarithm is needed: at a logit the gradient of the
cross-entropy is ``D − y`` — negative where the score should rise, positive where it should fall.
(With the hard σ this is exact, not an approximation: the loss is ``H(z) − y·z`` with H the
integral of the hard σ, the hard version of softplus(z) − y·z; ``tests/topics/test_gan.py``
checks every gradient against torch autograd of that loss.)

Levels. Easy: the forward pass, G then D. Medium: and both losses' gradients at the logits
(``dZD = D − yᴰ`` for D's loss, ``dZf = D(G(z)) − yᴳ`` for G's; on the sheet dT is ∂Lᴰ/∂T on D's
side and ∂Lᴳ/∂T on G's), then D's weight gradient as a crossing, ``dWD = dZD·Xᵀ`` and
``dbD = Σ dZD``. Hard: and the generator's gradient carried back through D into G:
``dG(z) = WDᵀ·dZf``, through ReLU's gate (``⊙ [ZG > 0]``) to ``dZG`` (which is also dbG), and
``dWG = dZG·zᵀ``. The backward steps are written as explicit crossings (transposes drawn), with
the ops ``col_of`` (the fake's score) and ``relu_gate`` (ReLU's backward), because no per-cell
gradient step passes through the hard σ.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet
from byhand.topics._rules import shares, shares_ok
from byhand.topics._sampling import Stats

NAME = "gan"
TITLE = "A tiny GAN step"
SUMMARY = (
    "generator G(z) = ReLU([WG | bG]·[z ; 1]); discriminator D = σ([WD | bD]·[x  G(z) ; 1  1]) on a real and a "
    "fake sample; the losses' gradients at the logits, D − y, and back through D into G"
)
ASKS = ("forward", "discriminator", "generator")
OPTIONS = {
    "noise": Option(2, 2, 2, "entries of the noise z", lo=1, hi=3),
    "features": Option(2, 2, 3, "entries of a sample (rows of x and of G(z))", lo=2, hi=4),
    "ask": Option(
        "forward",
        "discriminator",
        "generator",
        "forward: G, then D on both samples; discriminator: and the losses' gradients at the logits and D's weight "
        "gradient; generator: and the generator's gradient back through D to G's weights",
        choices=ASKS,
    ),
}
CONVENTION = (
    "σ here is the hard sigmoid (PyTorch's hardsigmoid): 0 below −3, 1 above 3, z/6 + 1/2 between."
)
LOSSES = (
    "The losses are binary cross-entropy; at a logit its gradient is D − y, no logarithm needed: "
    "D's targets are yᴰ = [1 0] (x is real, G(z) is fake), G's target is yᴳ = 1 (G wants its fake called real)."
)
MAX_TRIES = 2000
BOUND = 20


def _level(o: dict[str, Any]) -> int:
    return ASKS.index(o["ask"])


def build(o: dict[str, Any]) -> Sheet:
    k, d, lv = o["noise"], o["features"], _level(o)
    leaves: dict[str, Any] = {"z": (k, 1), "WG": (d, k), "bG": (d,), "Xr": (d, 1), "WD": (1, d), "bD": (1,)}
    roles = {"z": "input", "WG": "weight", "bG": "bias", "Xr": "input", "WD": "weight", "bD": "bias"}
    nodes = [
        Node("linear", ("WG", "bG", "z"), "ZG"),
        Node("relu", ("ZG",), "Xf"),
        Node("hstack", ("Xr", "Xf"), "X"),
        Node("linear", ("WD", "bD", "X"), "ZD"),
        Node("hard_sigmoid", ("ZD",), "D"),
    ]
    labels = {"Xr": "x", "Xf": "G(z)", "X": "[x | G(z)]"}
    notes = {"z": "noise", "Xr": "a real sample", "Xf": "the fake sample", "ZG": "generator", "ZD": "logits: real, fake",
             "D": "P(real): real, fake"}
    text = (
        "One GAN step. The generator turns the noise z into a fake sample: ZG = WG·z + bG, G(z) = ReLU(ZG). "
        "The discriminator scores the real sample x and the fake G(z), both in one crossing: "
        "ZD = WD·[x | G(z)] + bD, then D = σ(ZD), the probability that each is real. " + CONVENTION
    )
    if lv >= 1:
        leaves |= {"YD": (1, 2), "YG": (1, 1)}
        roles |= {"YD": "target", "YG": "target"}
        nodes += [
            Node("sub", ("D", "YD"), "dZD"),
            Node("transpose", ("X",), "Xt"),
            Node("matmul", ("dZD", "Xt"), "dWD"),
            Node("sum", ("dZD",), "dbD"),
            Node("col_of", ("D",), "Df", {"col": 1}),
            Node("sub", ("Df", "YG"), "dZf"),
        ]
        roles |= {n: "grad" for n in ("dZD", "dWD", "dbD", "dZf")}
        labels |= {"YD": "yᴰ", "YG": "yᴳ", "Xt": "Xᵀ", "Df": "D(G(z))"}  # the gradients keep their d-names: dWD
        notes |= {"YD": "D's targets: real 1, fake 0", "YG": "G's target: 1", "dZD": "D − yᴰ", "dbD": "Σ dZD",
                  "Df": "the fake's score", "dZf": "D(G(z)) − yᴳ"}
        text += (
            " " + LOSSES + " On D's side dT means ∂Lᴰ/∂T, on G's side ∂Lᴳ/∂T. Write dZD = D − yᴰ (negative: D "
            "should raise that score; positive: lower it) and, at the fake's logit, dZf = D(G(z)) − yᴳ. Then D's "
            "weight gradient, a crossing: dWD = dZD·Xᵀ and dbD = Σ dZD."
        )
    if lv >= 2:
        nodes += [
            Node("transpose", ("WD",), "WDt"),
            Node("matmul", ("WDt", "dZf"), "dXf"),
            Node("relu_gate", ("dXf", "ZG"), "dZG"),
            Node("transpose", ("z",), "zt"),
            Node("matmul", ("dZG", "zt"), "dWG"),
        ]
        roles |= {n: "grad" for n in ("dXf", "dZG", "dWG")}
        labels |= {"WDt": "WDᵀ", "dXf": "dG(z)", "zt": "zᵀ"}
        notes |= {"dXf": "back through D", "dZG": "= dbG"}
        text += (
            " Then the generator's gradient, back through D into G: dG(z) = WDᵀ·dZf, through ReLU's "
            "gate dZG = dG(z) ⊙ [ZG > 0] (which is also dbG), and dWG = dZG·zᵀ."
        )
    return Sheet(nodes, leaves, text, labels=labels, notes=notes, roles=roles, bound=BOUND)


def given(o: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A teacher's numbers by the sheet's names (z, WG, bG, Xr — or x, as the sheet labels it —, WD,
    bD); the sizes are read from them, and the targets (yᴰ = [1 0], yᴳ = 1) are the chapter's,
    filled in when left out."""
    o = dict(o)
    try:
        if "z" in values:
            o["noise"] = len(values["z"])
        if "Xr" in values:
            o["features"] = len(values["Xr"])
    except TypeError:
        pass  # not a list: the general reader says what is wrong
    values = dict(values)
    if "x" in values and "Xr" not in values:  # the real sample by its label on the sheet
        values["Xr"] = values.pop("x")
        if isinstance(values["Xr"], list):
            o["features"] = len(values["Xr"])
    if _level(o) >= 1:
        for name, want, why in (("YD", [[1, 0]], M_("D calls x real, G(z) fake")),
                                ("YG", [[1]], M_("G wants its fake called real"))):
            if values.setdefault(name, want) != want:
                from byhand.errors import FormatError

                raise FormatError(M_("{name} is the chapter's target ({name} = {want}: {why}); leave it out of the values",
                                     name=name, want=want, why=why))
    return o, values


_WG = (-1, 1, 1, 2, -2, 0)
_WD = (-1, 1, 1, -1, 2, -2)


def _g_row(rng: random.Random, z: list[int], dead: bool) -> tuple[list[int], int, int] | None:
    """One row of G's layer (weights, bias, pre-activation): crossed out by ReLU (−6 … −1) when
    ``dead``, else alive and small (1 … 4)."""
    for _ in range(12):
        w = [rng.choice(_WG) for _j in range(len(z))]
        if not any(w):
            continue
        b = rng.choice((-1, 0, 1))
        v = sum(a * c for a, c in zip(w, z)) + b
        if (-6 <= v <= -1) if dead else (1 <= v <= 4):
            return w, b, v
    return None


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """Noise in ±1, ±2; G's weights mostly ±1 (sometimes ±2 or 0), drawn row by row so that ReLU
    crosses exactly one unit out and the rest are from 1 to 4; a real sample from 0 to 3 (every
    feature seen in one of the two samples); D's weights ±1, ±2 (never 0: every feature reaches the
    score) with both logits from −2 to 2 and different, so each score is a sixth strictly between 0
    and 1 and D tells the two apart; no weight of D with a zero gradient. The answers pass the rules
    (few zeros, no value dominating) before the variant is returned."""
    k, d, lv = o["noise"], o["features"], _level(o)
    for _ in range(MAX_TRIES):
        stats.drawn += 1
        z = [rng.choice((-2, -1, 1, 1, 2)) for _i in range(k)]
        dead = rng.randrange(d)
        rows = [_g_row(rng, z, i == dead) for i in range(d)]
        if any(r is None for r in rows):
            continue
        wg = [r[0] for r in rows if r is not None]
        bg = [r[1] for r in rows if r is not None]
        zg = [r[2] for r in rows if r is not None]
        xf = [max(v, 0) for v in zg]
        for _x in range(8):
            xr = [rng.choice((0, 1, 1, 2, 2, 3)) for _i in range(d)]
            if xr.count(0) <= 1 and xr != xf and xr[dead] != 0:
                break  # every feature seen in one sample at least: no weight of D left without a gradient
        else:
            continue
        for _w in range(16):
            wd = [rng.choice(_WD) for _i in range(d)]
            bd = rng.choice((-1, 0, 1))
            zr = sum(w * v for w, v in zip(wd, xr)) + bd
            zf = sum(w * v for w, v in zip(wd, xf)) + bd
            if -3 < zr < 3 and -3 < zf < 3 and zr != zf:
                break
        else:
            continue
        dr, df = Fraction(zr + 3, 6), Fraction(zf + 3, 6)
        answers: list[Any] = zg + xf + [zr, zf, dr, df]
        if lv >= 1:
            g = [dr - 1, df]
            dwd = [g[0] * a + g[1] * b for a, b in zip(xr, xf)]
            if 0 in dwd:
                continue  # the real and the fake pull a weight of D equally: nothing moves there
            answers += g + dwd + [g[0] + g[1], df - 1]
            if lv >= 2:
                dx = [w * (df - 1) for w in wd]
                dzg = [v if u > 0 else 0 for v, u in zip(dx, zg)]
                answers += dx + dzg + [v * c for v in dzg for c in z]
        if any(abs(v) > BOUND for v in answers) or not shares_ok(shares(answers)):
            continue
        stats.accepted += 1
        out = {
            "z": Tensor((k, 1), z),
            "WG": Tensor((d, k), [v for r in wg for v in r]),
            "bG": Tensor((d,), bg),
            "Xr": Tensor((d, 1), xr),
            "WD": Tensor((1, d), wd),
            "bD": Tensor((1,), [bd]),
        }
        if lv >= 1:
            out |= {"YD": Tensor((1, 2), [1, 0]), "YG": Tensor((1, 1), [1])}
        return out
    raise GenerationError(M_("no hand-friendly GAN step after {tries} draws; try fewer features", tries=MAX_TRIES))


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Everything the step computes: G's layer and ReLU, D's logits and scores; then (medium) the
    logits' gradients and D's weight gradient; (hard) the gradient back through D into G. The
    joined and transposed copies (X, Xᵀ, WDᵀ, zᵀ, D(G(z))) are drawn, not asked."""
    names = ["ZG", "Xf", "ZD", "D"]
    if _level(o) >= 1:
        names += ["dZD", "dWD", "dbD", "dZf"]
    if _level(o) >= 2:
        names += ["dXf", "dZG", "dWG"]
    return [(n, i) for n in names for i in vals[n].indices()]
