"""Next-token sampling, by hand (the published Temperature sheet, made exact).

A language model ends with one logit per word of its vocabulary. To pick the next word:

1. divide the logits by the temperature T (``Z/T``): T = 2 flattens the distribution, T = ½
   sharpens it;
2. softmax with base 3: ``3^(Z/T)``, their ``Σ``, ``P = 3^(Z/T) ÷ Σ`` (exact fractions);
3. sort by probability, the largest first (``P↓``), keeping each word's number (``I``);
4. the cumulative column ``C`` (running totals of ``P↓``): word k owns the range
   ``[C[k−1], C[k])``;
5. a printed random number ``r`` falls in one range: that word is the one sampled.

The published sheet uses base e and r = 0.45. Here the logits are multiples of T so that every
``Z/T`` is a whole number, and base 3 makes every probability a fraction a student can write.
``topk`` (an option) keeps only the k most likely words: their probabilities are renormalised
(÷ their own Σ) before the cumulative column.

Hard hides one logit and prints Σ: the student runs the softmax backwards — the hidden word's
``3^(z/T)`` is Σ minus the others', its exponent is read off (3³ = 27: z/T = 3), and ×T gives z.
"""

from __future__ import annotations

import functools
import random
from fractions import Fraction
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet
from byhand.topics._sampling import Stats

NAME = "sampling"
TITLE = "Next-token sampling"
SUMMARY = (
    "logits ÷ temperature, softmax (3ᶻ, Σ, P), sort by probability, cumulative ranges: "
    "a random number r picks the next word; T = 2 flattens, T = ½ sharpens; top-k as an option"
)
FREE_DENOMINATORS = True  # the probabilities are the lesson, as in the softmax chapter

TEMPERATURES = {"1": Fraction(1), "2": Fraction(2), "1/2": Fraction(1, 2)}
OPTIONS = {
    "vocab": Option(4, 5, 5, "words in the vocabulary (logits)", lo=3, hi=6),
    "temperature": Option("1", "2", "1/2", "T: 2 flattens, 1/2 sharpens", choices=("1", "2", "1/2")),
    "topk": Option(0, 0, 3, "keep only the k most likely words (0: all)", lo=0, hi=5),
    "inverse": Option(0, 0, 1, "1: one logit hidden, found back from the printed Σ: its 3^(z/T) is Σ − the others, "
                      "then log₃ and ×T", lo=0, hi=1),
}
MAX_SUM = 300  # Σ 3^(z/T) at most this: P's denominators stay small enough to divide by hand
MAX_TRIES = 10_000
R_STEP = 20  # r is a multiple of 1/20 (two decimals: 0.05, 0.10, …, 0.95)


def _k(o: dict[str, Any]) -> int:
    k = int(o["topk"])
    return k if 0 < k < o["vocab"] else 0


def build(o: dict[str, Any]) -> Sheet:
    t = o["temperature"]
    n, k = o["vocab"], _k(o)
    nodes: list[Node] = []
    labels = {"I": "word", "PS": "P↓", "C": "C", "W": "sampled", "R": "r"}
    notes = {"I": "the words' numbers, most likely first", "PS": "P sorted, the largest first",
             "C": "cumulative: word k owns [C[k−1], C[k])", "W": "the word r picks"}
    src, cell = "Z", "ᶻ"
    if t != "1":
        nodes.append(Node("scale", ("Z",), "ZT", {"by": str(1 / TEMPERATURES[t])}))
        labels["ZT"] = "Z/T"
        src, cell = "ZT", "^(Z/T)"
    nodes += [
        Node("exp", (src,), "E", {"base": 3}),
        Node("colsum", ("E",), "S"),
        Node("div", ("E", "S"), "P"),
        Node("sort", ("P",), "PS"),
        Node("argsort", ("P",), "I"),
    ]
    labels |= {"E": f"3{cell}", "S": f"Σ 3{cell}"}
    probs = "PS"
    if k:
        nodes += [
            Node("topk", ("PS",), "PK", {"k": k}),
            Node("topk", ("I",), "IK", {"k": k}),
            Node("colsum", ("PK",), "SK"),
            Node("div", ("PK", "SK"), "PN"),
        ]
        labels |= {"PK": f"top {k}", "IK": f"word (top {k})", "SK": "Σ top", "PN": "P′"}
        notes |= {"PK": f"the {k} largest", "PN": f"renormalised: ÷ the Σ of the top {k}"}
        probs = "PN"
    tokens = "IK" if k else "I"
    nodes += [Node("cumsum", (probs,), "C"), Node("pick", ("C", tokens, "R"), "W")]
    first = "raise 3 to each z (3ᶻ)"
    if t != "1":
        first = f"divide each logit by the temperature T = {_t_text(t)} (Z/T), raise 3 to it"
    top = f"keep the {k} most likely words and divide them by their Σ (P′); " if k else ""
    back = ""
    if o["inverse"]:
        back = (" One logit is hidden and Σ is printed: its word's 3" + cell + " is Σ minus the others', "
                "the power of 3 gives its exponent" + (f", and ×{_t_text(t)} the logit." if t != "1" else ", the logit."))
    return Sheet(
        nodes,
        {"Z": (n, 1), "R": (1, 1)},
        f"Pick the next word: {first}, add them up (Σ), divide (P); "
        "sort P, largest first (equal ones keep their order), with the word numbers; "
        f"{top}running totals give the cumulative column C; the random number r picks the word whose range "
        "[C above, C) holds it." + back,
        labels=labels,
        notes=notes,
        roles={"Z": "input", "R": "input"},
        bound=300,
    )


def _t_text(t: str) -> str:
    return "½" if t == "1/2" else t


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    """Whole exponents z/T, distinct unless T = ½ forces ties, Σ 3^(z/T) ≤ 300, then the logits z = T·(z/T);
    r a multiple of 1/20 inside one range, at least 1/20 from its edges, the range drawn first (so
    any word can be the one sampled, not only the most likely)."""
    t = TEMPERATURES[o["temperature"]]
    n, k = o["vocab"], _k(o)
    # the exponents z/T a whole logit z can give: T = ½ doubles z, so only even ones (0, 2, 4)
    allowed = [x for x in range(0, 6) if (x * t).denominator == 1]
    distinct = len(allowed) >= n
    for _ in range(MAX_TRIES):
        stats.drawn += 1
        e = rng.sample(allowed, n) if distinct else [rng.choice(allowed) for _ in range(n)]
        if len(set(e)) < min(n, len(allowed)) or sum(3**x for x in e) > MAX_SUM:
            continue  # ties only where the temperature forces them (T = ½: they keep their order)
        z = [int(x * t) for x in e]
        ws = sorted((3**x for x in e), reverse=True)
        if k and ws[k - 1] == ws[k]:
            continue  # the top k must not cut between two equal probabilities
        ranges = _ranges(tuple(ws[: k or n]))
        if len(ranges) < 2:
            continue
        stats.accepted += 1
        # each rank about equally likely: any word can be sampled
        r = Fraction(rng.choice(rng.choice(ranges)), R_STEP)
        return {"Z": Tensor((n, 1), z), "R": Tensor((1, 1), [r])}
    raise GenerationError(M_("no friendly logits for {n} words at T = {t} after {tries} tries",
                             n=n, t=o["temperature"], tries=MAX_TRIES))


@functools.lru_cache(maxsize=4096)
def _ranges(ws: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """For each rank (weights ``ws`` sorted, largest first) whose range [C[k−1], C[k]) holds a
    multiple m/20 at least 1/20 from both edges: those m. Whole numbers only (m/20 ≥ lo + 1/20 is
    m·Σ ≥ 20·lo·Σ + Σ), and cached — only a few hundred weight sets exist."""
    total = sum(ws)
    out, below = [], 0
    for w in ws:
        above = below + w
        inside = tuple(m for m in range(1, R_STEP)
                       if R_STEP * below + total <= m * total <= R_STEP * above - total)
        if inside:
            out.append(inside)
        below = above
    return tuple(out)


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every step of the method is written by the student, in order: Z/T, 3ᶻ, Σ, P, the sorted
    column and its word numbers, (top-k), the cumulative column and the word sampled."""
    names = [n for n in ("ZT", "E", "S", "P", "PS", "I", "PK", "IK", "SK", "PN", "C", "W") if n in graph.shapes]
    cells: list[Any] = [(name, i) for name in names for i in vals[name].indices()]
    if o["inverse"]:  # one logit hidden, Σ printed: 3^(z/T) = Σ − the others, then its exponent, then ×T
        k = rng.randrange(o["vocab"])
        cells = [c for c in cells if c[0] != "S"] + [("Z", (k, 0))]
    return cells
