"""The solver: which unknown cells do the shown cells determine, and are the shown cells consistent?

Two stages, repeated until nothing changes:

1. **Propagation** — a relation with exactly one unknown cell is solved for it (forward: evaluate;
   backward: one linear equation, or ReLU's inverse when its output is positive). This is what a
   student does with a pencil, so the generator accepts only blanks this stage determines.
2. **Elimination** — every relation that is linear in the remaining unknowns goes into one exact
   linear system (fractions, Gauss–Jordan); an unknown is determined when its row in the reduced
   system has no other free unknown. This catches teacher files whose cells are determined only
   jointly.

A cell that neither stage determines is *under-determined*; a relation whose cells are all known
but disagree is *inconsistent*.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from byhand.engine.graph import Graph
from byhand.engine.relations import Cell, NotLinear, Relation, cell_str
from byhand.engine.values import Value, fmt, norm
from byhand.errors import GraphError, LimitError
from byhand.i18n import M_
from byhand.limits import MAX_DIGITS, MAX_ELIMINATION, check_value, limit

ELIMINATION_WORK = 3_000_000
"""Entry updates the exact eliminations of one solve may make before it gives up with a LimitError."""


@dataclass
class Solution:
    values: dict[Cell, Value]
    how: dict[Cell, Relation | None] = field(default_factory=dict)  # None: by elimination
    undetermined: list[Cell] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.undetermined and not self.inconsistent


def _close(a: Value, b: Value, precision: int) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 0.5 * 10 ** (-precision) + 1e-9
    return a == b


_SMALL = 10**9
_TOUCHING: weakref.WeakKeyDictionary[Graph, dict[Cell, list[Relation]]] = weakref.WeakKeyDictionary()


def _touching(graph: Graph, rels: Mapping[Cell, Relation]) -> dict[Cell, list[Relation]]:
    """Every cell's relations (those it is computed by or used in). A graph never changes once
    built, so this is listed once per graph, not once per solve (a hidden cell's proof while a
    variant is made)."""
    t = _TOUCHING.get(graph)
    if t is None:
        t = {}
        for r in rels.values():
            for c in (r.out, *r.uses):
                t.setdefault(c, []).append(r)
        _TOUCHING[graph] = t
    return t


def solve(
    graph: Graph,
    known: Mapping[Cell, Value],
    unknown: Iterable[Cell],
    *,
    eliminate: bool = True,
    precision: int = 3,
    check: bool = True,
    until: Iterable[Cell] | None = None,
    never: Iterable[Cell] = (),
    ordered: bool = True,
) -> Solution:
    """Determine ``unknown`` cells from ``known`` ones through the graph's relations. ``until``:
    stop propagating once these cells are found (the rest may be left undetermined); ``never``:
    unknown cells not worth finding (they cannot lead to the ``until`` cells), left unknown;
    ``ordered=False``: the undetermined cells in no particular order (a caller that only asks
    whether a cell is among them)."""
    wanted = set(until) if until is not None else None
    skip = set(never)
    rels = graph.relations()
    vals: dict[Cell, Value] = dict(known)
    unknown = list(dict.fromkeys(unknown))  # a fixed order: diagnoses never depend on hashing
    todo: set[Cell] = set(unknown)
    sol = Solution(vals)
    touching = _touching(graph, rels)

    def get(c: Cell) -> Value:
        return vals[c]

    def is_unknown(c: Cell) -> bool:
        return c in todo

    checked: set[Cell] = set()

    def check_rel(r: Relation) -> None:
        if r.out in checked:
            return
        checked.add(r.out)
        expect = _evaluate(r, get)
        if not _close(expect, vals[r.out], precision):
            sol.inconsistent.append(M_("{cell} is {value} but {relation}", cell=cell_str(r.out),
                                       value=fmt(vals[r.out], precision), relation=r.text(get, precision)))

    def propagate(queue: list[Relation]) -> None:
        seen_q: set[Cell] = set()
        while queue:
            if wanted is not None and not wanted & todo:
                return
            r = queue.pop()
            seen_q.discard(r.out)
            unk = [c for c in (r.out, *r.uses) if c in todo]
            unk = list(dict.fromkeys(unk))
            if len(unk) != 1:
                continue
            x = unk[0]
            if x in skip:
                continue
            try:
                v = r.solve_single(x, get) if x != r.out else r.evaluate(get)
            except ZeroDivisionError:
                raise GraphError(
                    M_("{cell}: its {op} step divides by zero; change the value it divides by", cell=cell_str(r.out), op=r.op)
                ) from None
            except OverflowError:
                raise LimitError(M_("{cell}: the value overflows {limit}",
                                    cell=cell_str(x), limit=limit('digits of a value', MAX_DIGITS))) from None
            if v is None:
                continue
            v = norm(v)
            if type(v) is not int or not -_SMALL < v < _SMALL:  # the name is written only for a message
                check_value(v, cell_str(x))
            vals[x] = v
            todo.discard(x)
            sol.how[x] = r
            for r2 in touching.get(x, []):
                if r2.out not in seen_q:
                    seen_q.add(r2.out)
                    queue.append(r2)

    budget = [ELIMINATION_WORK]  # entry updates left for every elimination of this solve
    start = list({r.out: r for c in unknown for r in touching.get(c, [])}.values())  # each relation once
    propagate(start)
    while eliminate and todo:
        found = _eliminate(rels.values(), todo, get, is_unknown, budget)
        if not found:
            break
        for c, v in found.items():
            check_value(v, cell_str(c))
            vals[c] = v
            todo.discard(c)
            sol.how[c] = None
        propagate([r for c in found for r in touching.get(c, [])])
    if check:
        for r in rels.values():
            if r.out in vals and all(c in vals for c in r.uses) and r.out not in sol.how:
                check_rel(r)
    if todo and not ordered:
        sol.undetermined = list(todo)
    elif todo:
        order = {name: k for k, name in enumerate(graph.shapes)}  # sheet order, as the shapes list it
        sol.undetermined = sorted(todo, key=lambda c: (order.get(c[0], 0), c[1]))
    return sol


def _evaluate(r: Relation, get) -> Value:  # type: ignore[no-untyped-def]
    try:
        return r.evaluate(get)
    except ZeroDivisionError:
        raise GraphError(M_("{cell}: its {op} step divides by zero; change the value it divides by",
                            cell=cell_str(r.out), op=r.op)) from None
    except OverflowError:
        raise LimitError(M_("{cell}: the value overflows {limit}",
                            cell=cell_str(r.out), limit=limit('digits of a value', MAX_DIGITS))) from None


def _peel(rows: list[dict[Cell, Fraction]], consts: list[Fraction]) -> tuple[list[dict[Cell, Fraction]], list[Fraction]]:
    """Drop every equation with an unknown that no other equation has (and, in turn, the equations
    that this frees): such an unknown absorbs its equation, which then pins nothing else. It is found
    later by propagation if the rest of its equation is. What is left is the truly joint core, often
    empty, so the exact elimination stays small."""
    occ: dict[Cell, list[int]] = {}
    for i, row in enumerate(rows):
        for c in row:
            occ.setdefault(c, []).append(i)
    alive = [True] * len(rows)
    stack = [i for i, row in enumerate(rows) if len(row) >= 2 and any(len(occ[c]) == 1 for c in row)]
    while stack:
        i = stack.pop()
        if not alive[i] or len(rows[i]) < 2 or not any(len(occ[c]) == 1 for c in rows[i]):
            continue
        alive[i] = False
        for c in rows[i]:
            occ[c].remove(i)
            if len(occ[c]) == 1 and alive[occ[c][0]]:
                stack.append(occ[c][0])
    return [r for r, a in zip(rows, alive) if a], [k for k, a in zip(consts, alive) if a]


def _eliminate(rels: Iterable[Relation], todo: set[Cell], get, is_unknown, budget: list[int]) -> dict[Cell, Value]:  # type: ignore[no-untyped-def]
    """Exact Gauss–Jordan over every relation linear in the unknowns; the pinned unknowns."""
    rows: list[dict[Cell, Fraction]] = []
    consts: list[Fraction] = []
    for r in rels:
        if not any(c in todo for c in (r.out, *r.uses)):
            continue
        try:
            coefs, k = r.linear_form(get, is_unknown)
        except (NotLinear, KeyError, ZeroDivisionError):
            continue
        if any(isinstance(v, float) for v in coefs.values()) or isinstance(k, float):
            continue  # elimination is exact or not at all
        row = {c: Fraction(v) for c, v in coefs.items() if v != 0}
        if row:
            rows.append(row)
            consts.append(Fraction(k))
    rows, consts = _peel(rows, consts)
    found: dict[Cell, Value] = {}
    for part in _components(rows):
        found.update(_gauss_jordan([rows[i] for i in part], [consts[i] for i in part], budget))
    return found


def _components(rows: list[dict[Cell, Fraction]]) -> list[list[int]]:
    """The rows grouped into independent systems (no unknown shared between groups), in order."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for row in rows:
        cs = list(row)
        for c in cs[1:]:
            a, b = find(cs[0]), find(c)
            if a != b:
                parent[b] = a
    groups: dict[Cell, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(find(next(iter(row))), []).append(i)
    return list(groups.values())


def _gauss_jordan(rows: list[dict[Cell, Fraction]], consts: list[Fraction], budget: list[int]) -> dict[Cell, Value]:
    """Exact Gauss–Jordan on one connected system; the unknowns it pins."""
    if not rows:
        return {}
    cols = sorted({c for row in rows for c in row}, key=lambda c: (c[0], c[1]))
    if len(cols) > MAX_ELIMINATION:
        raise LimitError(
            M_("{cols} unknown cells are tied together in one linear system; give more cells {limit}",
               cols=len(cols), limit=limit('unknowns solved jointly', MAX_ELIMINATION))
        )
    m = [[row.get(c, Fraction(0)) for c in cols] + [-k] for row, k in zip(rows, consts)]
    big = 10 ** (4 * MAX_DIGITS)
    pivots: list[int] = []
    rank = 0
    for j in range(len(cols)):
        p = next((i for i in range(rank, len(m)) if m[i][j] != 0), None)
        if p is None:
            continue
        m[rank], m[p] = m[p], m[rank]
        inv = 1 / m[rank][j]
        m[rank] = [v * inv for v in m[rank]]
        pr = m[rank]
        nz = [k for k, b in enumerate(pr) if b != 0]  # rows are sparse: touch only what changes
        for i in range(len(m)):
            if i != rank and m[i][j] != 0:
                f = m[i][j]
                row = m[i]
                for k in nz:
                    row[k] = row[k] - f * pr[k]
                budget[0] -= len(nz)
        if budget[0] < 0 or any(v.numerator >= big or v.denominator >= big for v in pr if v):
            raise LimitError(
                M_("the linear system of {cols} unknown cells is too large to solve exactly {limit}",
                   cols=len(cols), limit=limit('unknowns solved jointly', MAX_ELIMINATION))
            )
        pivots.append(j)
        rank += 1
        if rank == len(m):
            break
    found: dict[Cell, Value] = {}
    for i, j in enumerate(pivots):
        if all(m[i][k] == 0 for k in range(len(cols)) if k != j):
            found[cols[j]] = norm(m[i][-1])
    return found
