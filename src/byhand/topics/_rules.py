"""The rules that make a variant worth a student's time, and the figures ``byhand stress`` reports.

Checked on every sampled variant (a teacher's own ``--values`` are taken as given):

- no gradient tensor is entirely zero, and every hidden layer passes gradient back for every
  sample (each column of a gradient with one column per sample holds a non-zero);
- at most a quarter of the answers are 0 and no one value makes up more than a third of them
  (fewer than 8 blanks: at most half are 0, and not all are the same; a single answer is not 0);
- ReLU has something to cross out in every layer that has one;
- every fraction a student writes has a denominator ≤ 100 (the softmax chapter excepted: its
  probabilities are the lesson).

A chapter about a dead unit may switch the gradient rule off by setting ``DEAD_UNIT_OK = True``
and saying so on the sheet; the softmax chapter sets ``FREE_DENOMINATORS = True``; a chapter whose
sampler builds the rules in and checks them itself sets ``RULES_BUILT_IN = True`` (backprop). The answers are
counted once per badge (copies of one number share a badge).
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from byhand.engine.graph import Graph
from byhand.engine.relations import Cell
from byhand.engine.tensor import Tensor
from byhand.engine.values import Value

MAX_DENOMINATOR = 100
SMALL = 8  # an exercise with fewer blanks than this follows the looser share rule


@dataclass(frozen=True)
class Shares:
    blanks: int
    zeros: int
    top: int  # how often the most common answer occurs

    @property
    def zero_share(self) -> float:
        return self.zeros / self.blanks if self.blanks else 0.0

    @property
    def top_share(self) -> float:
        return self.top / self.blanks if self.blanks else 0.0


def shares(answers: Sequence[Value]) -> Shares:
    if not answers:
        return Shares(0, 0, 0)
    # a Fraction is slow to hash: count it as (numerator, denominator); whole numbers as they are
    counts = Counter((v.numerator, v.denominator) if type(v) is Fraction else v for v in answers)
    return Shares(len(answers), counts.get(0, 0), max(counts.values()))


def shares_ok(s: Shares) -> bool:
    if s.blanks <= 1:
        return s.zeros == 0  # one answer: not 0
    if s.blanks < SMALL:
        return 2 * s.zeros <= s.blanks and s.top < s.blanks
    return 4 * s.zeros <= s.blanks and 3 * s.top <= s.blanks


def denominator(v: Value) -> int:
    return v.denominator if type(v) is Fraction else 1


def gradients_ok(graph: Graph, vals: Mapping[str, Tensor]) -> bool:
    """No gradient tensor all zero; a gradient with one column per sample reaches every sample."""
    if not graph.grad_nodes:
        return True
    x = graph.shapes.get("X")
    samples = x[1] if x is not None and len(x) == 2 else None
    for n in graph.grad_nodes:
        t = vals[n.out]
        if not any(t.data):
            return False
        wrt = n.attrs["wrt"]
        if samples and samples > 1 and len(t.shape) == 2 and t.shape[1] == samples and (wrt == "X" or wrt not in graph.leaves):
            rows, cols = t.shape
            d = t.data
            for j in range(cols):
                if not any(d[i * cols + j] for i in range(rows)):
                    return False
    return True


def relu_ok(graph: Graph, vals: Mapping[str, Tensor]) -> bool:
    """Every ReLU has a negative to cross out."""
    for n in graph.forward_nodes:
        if n.op in ("relu", "leaky_relu") and not any(v < 0 for v in vals[n.ins[0]].data):
            return False
    return True


def violations(
    graph: Graph,
    vals: Mapping[str, Tensor],
    cells: Sequence[Cell],
    *,
    softmax_chapter: bool = False,
    dead_unit_ok: bool = False,
    answers: Sequence[Value] | None = None,
) -> list[str]:
    """The rules this variant breaks (empty: it is worth a student's time). ``answers``: the
    values of ``cells`` (distinct cells) when the caller has them already."""
    out = []
    if answers is None:
        answers = [vals[c[0]][c[1]] for c in _distinct(cells)]
    s = shares(answers)
    if not shares_ok(s):
        out.append(f"zeros {s.zeros}/{s.blanks}, most common {s.top}/{s.blanks}")
    if not dead_unit_ok and not gradients_ok(graph, vals):
        out.append("a gradient is all zero or misses a sample")
    if not relu_ok(graph, vals):
        out.append("a ReLU has nothing to cross out")
    if not softmax_chapter and any(type(v) is Fraction and v.denominator > MAX_DENOMINATOR for v in answers):
        out.append(f"a denominator over {MAX_DENOMINATOR}")
    return out


def _distinct(cells: Sequence[Cell]) -> list[Cell]:
    return list(dict.fromkeys(cells))


# -- the time a student needs ---------------------------------------------------------------------
#
# Estimated from the work, cell by cell: writing a number, plus each term of its step — a product
# of two numbers costs more than adding one; ReLU (copy or cross out) is quick; a softmax entry
# (a power of 3, the sum, a division) is slow; a fraction takes half as long again. Calibrated on
# the published exercises: one cell of [W | b]·[x ; 1] with three inputs takes about half a minute.
READ_SECONDS = 60  # reading the sheet and setting up
WRITE_SECONDS = 10
PRODUCT_SECONDS = 10
ADD_SECONDS = 5
GATE_SECONDS = 3
FUNC_SECONDS = 40
FRACTION_FACTOR = 2
#: Value-dependent steps quicker than a softmax entry: a one-hot of the largest in a column (moe)
#: is a comparison and a 0 or 1; find the next largest (sort, argsort), find the range r falls in
#: (pick), compare r with p (dropmask), a square root of a perfect square.
QUICK_FUNC_SECONDS = {"top_onehot": WRITE_SECONDS, "sort": 10, "argsort": 10, "pick": 20, "dropmask": 5, "sqrt": 10}
#: conv: the largest of a 2×2 window is four comparisons and a write.
QUICK_FUNC_SECONDS["max_pool"] = WRITE_SECONDS + 4 * GATE_SECONDS

_COSTS: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], tuple[float, list[tuple[str, int, float]]]]] = (
    weakref.WeakKeyDictionary()
)


def _cell_seconds(graph: Graph, cell: Cell) -> float:
    from byhand.engine.relations import PolyRelation

    r = graph.relations().get(cell)
    if r is None:  # a hidden given (an inverse problem): found from the relation that uses it
        return WRITE_SECONDS + 4 * PRODUCT_SECONDS
    if not isinstance(r, PolyRelation):
        return QUICK_FUNC_SECONDS.get(r.op, FUNC_SECONDS)
    sec = WRITE_SECONDS
    for t in r.terms:
        if len(t.cells) >= 2 or (t.cells and t.coef not in (1, -1)):
            sec += PRODUCT_SECONDS
        elif t.cells:
            sec += ADD_SECONDS
        elif t.gate is not None:
            sec += GATE_SECONDS
    return sec


def minutes(graph: Graph, vals: Mapping[str, Tensor], cells: Sequence[Cell]) -> int:
    """About how many minutes a student needs for these blanks (reading included)."""
    key = tuple(cells)
    per_graph = _COSTS.get(graph)
    if per_graph is None:
        per_graph = _COSTS[graph] = {}
    costs = per_graph.get(key)
    if costs is None:
        if len(per_graph) > 256:
            per_graph.clear()
        secs = [_cell_seconds(graph, c) for c in key]
        costs = per_graph[key] = (READ_SECONDS + sum(secs),
                                  [(c[0], _flat(graph.shapes[c[0]], c[1]), sec) for c, sec in zip(key, secs)])
    total, where = costs
    extra = FRACTION_FACTOR - 1
    for name, i, sec in where:
        if type(vals[name].data[i]) is Fraction:
            total += sec * extra  # a fraction takes longer to write
    return max(1, round(total / 60))


def _flat(shape: tuple[int, ...], idx: tuple[int, ...]) -> int:
    return idx[0] * shape[1] + idx[1] if len(shape) == 2 else (idx[0] if shape else 0)
