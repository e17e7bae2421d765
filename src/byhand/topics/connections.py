"""Connections (the workbook's chapter 7): what a 0/1 weight matrix means. A 1 in row i, column j
of W is a wire from input j to output i; a 0 is no wire. Four kinds, each a crossing ``Z = W·X``
on the same inputs X, and each drawn as the whiteboard draws it (inputs on the left, outputs on
the right, one line per 1):

* **one-to-one** — a permutation: each input wired to exactly one output, each output fed by
  exactly one input; Z is X re-ordered;
* **one-to-many** — one 1 in every row: each output copies one input, and an input may feed
  several outputs (it fans out);
* **many-to-one** — one 1 in every column: each input goes to one output, an output may add up
  several inputs;
* **dense** — every entry 1: every input to every output, each output the sum of all inputs.

Hard hides one input and prints the one-to-one output its wire feeds: the student follows the
wire backwards (the 1 in that output's row names the input), then uses the input everywhere else.
"""

from __future__ import annotations

import random
from operator import mul
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.tensor import Tensor
from byhand.errors import GenerationError
from byhand.i18n import M_
from byhand.topics import Option, Sheet, _rules
from byhand.topics._sampling import MAX_ROW_TRIES, Stats, _table

NAME = "connections"
TITLE = "Connections"
SUMMARY = (
    "0/1 weight matrices: one-to-one, one-to-many, many-to-one and dense wiring, "
    "each the crossing Z = W·X and the same wires drawn from inputs to outputs"
)
KINDS = ("one-to-one", "one-to-many", "many-to-one", "dense")
OPTIONS = {
    "inputs": Option(3, 3, 4, "inputs (rows of X)", lo=3, hi=5),
    "batch": Option(1, 2, 2, "columns of X (samples)", lo=1, hi=3),
    "inverse": Option(0, 0, 1, "1: one input hidden, read back through its one-to-one wire from a printed output",
                      lo=0, hi=1),
}
MAX_TRIES = 1000


def _rows(kind: str, n: int) -> int:
    return {"one-to-one": n, "one-to-many": n + 1, "many-to-one": n - 1, "dense": 2}[kind]


def build(o: dict[str, Any]) -> Sheet:
    n, b = o["inputs"], o["batch"]
    nodes: list[Node] = []
    leaves: dict[str, tuple[int, ...]] = {"X": (n, b)}
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    roles = {"X": "input"}
    for k, kind in enumerate(KINDS, start=1):
        w, z = f"W{k}", f"Z{k}"
        leaves[w] = (_rows(kind, n), n)
        nodes.append(Node("matmul", (w, "X"), z))
        notes[w] = kind
        roles[w] = "weight"
    return Sheet(
        nodes,
        leaves,
        "A 1 in row i, column j of W is a wire from input j to output i; a 0 is no wire. For each "
        "kind of connection, multiply Z = W·X: each output adds up the inputs wired to it."
        + (" One input is hidden: follow the wire of its printed one-to-one output backwards." if o["inverse"] else ""),
        labels=labels,
        notes=notes,
        roles=roles,
        bound=20,
    )


def _wiring(kind: str, n: int, rng: random.Random) -> list[list[int]]:
    m = _rows(kind, n)
    if kind == "one-to-one":  # a permutation that moves something (not the identity)
        while True:
            p = rng.sample(range(n), n)
            if p != list(range(n)):
                return [[1 if j == p[i] else 0 for j in range(n)] for i in range(m)]
    if kind == "one-to-many":  # one 1 per row; every input used; one input feeds two outputs
        src = rng.sample(range(n), n) + [rng.randrange(n)]
        rng.shuffle(src)
        return [[1 if j == src[i] else 0 for j in range(n)] for i in range(m)]
    if kind == "many-to-one":  # one 1 per column; every output fed; one output adds two inputs
        dst = rng.sample(range(m), m) + [rng.randrange(m)] * (n - m)
        rng.shuffle(dst)
        return [[1 if dst[j] == i else 0 for j in range(n)] for i in range(m)]
    return [[1] * n for _ in range(m)]


def _inputs(rng: random.Random, stats: Stats, n: int, b: int) -> list[int]:
    """X as :func:`input_matrix` draws it (the same random numbers, the same counts), written out
    flat: variants are made thousands a second, and X is drawn a few times a variant. (Its redraw of
    an X with an all-zero row is left to the caller, which refuses every X with a 0 and draws the
    next one from the same random numbers.)"""
    t = _table(-3, 4)
    k = len(t)
    r = rng.random
    cs = []
    for _ in range(b):  # vector(): a column that is not all zeros
        for _ in range(MAX_ROW_TRIES):
            v = [t[int(r() * k)] for _ in range(n)]
            stats.drawn += 1
            if any(v):
                stats.accepted += 1
                break
        else:
            raise GenerationError(M_("no friendly vector of {n} in {lo}…{hi} after {tries} tries; widen the range",
                                     n=n, lo=-3, hi=4, tries=MAX_ROW_TRIES))
        cs.append(v)
    return [cs[j][i] for i in range(n) for j in range(b)] if b > 1 else cs[0]


def sample(o: dict[str, Any], rng: random.Random, stats: Stats) -> dict[str, Tensor]:
    n, b = o["inputs"], o["batch"]
    for _ in range(MAX_TRIES):
        xd = _inputs(rng, stats, n, b)
        if 0 in xd or len(set(xd)) < min(len(xd) - 1, 5):
            continue  # no zero input (a wire carrying 0 shows nothing), values (nearly) distinct
        out: dict[str, Tensor] = {"X": Tensor((n, b), xd)}
        xcols = [xd[j::b] for j in range(b)]
        answers: list[int] = []
        ok = True
        for k, kind in enumerate(KINDS, start=1):
            w = _wiring(kind, n, rng)
            out[f"W{k}"] = Tensor((len(w), n), [v for row in w for v in row])
            sums = [sum(map(mul, row, col)) for row in w for col in xcols]
            if kind in ("many-to-one", "dense") and any(s == 0 or abs(s) > 20 for s in sums):
                ok = False  # a sum of 0 hides whether the wires were read
            answers += sums
        if ok and _rules.shares_ok(_rules.shares(answers)):  # copies repeat X: no value a third of the answers
            return out
    raise GenerationError(M_("no friendly inputs for {n} inputs after {tries} tries", n=n, tries=MAX_TRIES))


def blanks(o: dict[str, Any], graph: Graph, vals: dict[str, Tensor], rng: random.Random) -> list[Any]:
    """Every output; with ``inverse``, one input hidden and the one-to-one output it feeds printed."""
    cells = [(f"Z{k}", i) for k in range(1, len(KINDS) + 1) for i in vals[f"Z{k}"].indices()]
    if not o["inverse"]:
        return cells
    n, b = o["inputs"], o["batch"]
    t, j = rng.randrange(n), rng.randrange(b)
    w = vals["W1"]  # one-to-one: input t is wired to exactly one output
    i = next(r for r in range(n) if w[(r, t)] == 1)
    return [c for c in cells if c != ("Z1", (i, j))] + [("X", (t, j))]
