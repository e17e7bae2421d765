"""Hints that teach, as a ladder: 1) where to look, 2) the expression with the numbers and no result, 3) the step.

Level 1 names the rows and columns that meet in the cell (and highlights them on the grid); level 2 is the
step's arithmetic with its result replaced by "?"; level 3 is the whole step (which gives that one answer).
"""

from __future__ import annotations

import re
from collections import defaultdict
from fractions import Fraction
from typing import Any

from byhand.engine.relations import Cell
from byhand.engine.values import fmt
from byhand.exercise import Exercise
from byhand.notation import names
from byhand.render.html import key

LEVELS = (1, 2, 3)


def _ordinal_list(xs: list[int]) -> str:
    xs = [x + 1 for x in sorted(set(xs))]
    return ", ".join(map(str, xs[:-1])) + (" and " if len(xs) > 1 else "") + str(xs[-1])


def where_to_look(ex: Exercise, cell: Cell, uses: tuple[Cell, ...]) -> str:
    """"Look where row 2 of W1 meets column 1 of X, and at b1[2]": the cells a step uses, by row and column."""
    nm = names(ex)
    by: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    for c in uses:
        by[c[0]].append(c[1])
    parts: list[str] = []
    for name, idxs in by.items():
        label = nm.label(name)
        shape = ex.graph.shapes[name]
        full = len(set(idxs))
        if len(shape) == 2 and full > 1 and len({i[0] for i in idxs}) == 1:
            parts.append(f"row {idxs[0][0] + 1} of {label}")
        elif len(shape) == 2 and full > 1 and len({i[1] for i in idxs}) == 1:
            parts.append(f"column {idxs[0][1] + 1} of {label}")
        elif len(shape) == 1 and full > 1:
            n = shape[0]
            parts.append(label if full == n else f"entries {_ordinal_list([i[0] for i in idxs])} of {label}")
        elif full == 1:
            parts.append(nm.cell(name, idxs[0]))
        else:
            parts.append(label)
    target = nm.cell(*cell)
    if not parts:
        return f"{target} is found from the other values on the sheet: which relation contains it?"
    if len(parts) >= 2 and parts[0].startswith("row") and parts[1].startswith("column"):
        rest = parts[2:]
        head = f"where {parts[0]} meets {parts[1]}"
        return f"For {target}, look {head}" + (f", and at {', '.join(rest)}." if rest else ".")
    return f"For {target}, look at {', '.join(parts[:-1]) + ' and ' if len(parts) > 1 else ''}{parts[-1]}."


def expression(text: str, result: str) -> str | None:
    """The step's arithmetic with its result left out: ``2·3 + 1 = 7`` → ``2·3 + 1 = ?`` (and ``81 / 112`` in
    ``… = 81 / 112 = 81/112`` is a result too: everything after the first "=" goes)."""
    t = text.rstrip()
    if " = " in t:
        return t.split(" = ")[0] + " = ?"
    if result and t.endswith(result) and len(t) > len(result):
        return t[: len(t) - len(result)].rstrip() + " ?"
    return None


SENTINEL = Fraction(987654321)
_GATE_STEP = re.compile(r"\S+ \((passed|blocked): |.* \(.+ ≤ 0\)$")


def _gate(ex: Exercise, step: Any) -> Fraction | None:
    """The slope below 0 (0 for ReLU) when ``step`` is a gradient through a ReLU gate (it uses the gradient
    above and the gate's Z), else None."""
    if len(step.uses) != 2 or not _GATE_STEP.match(step.text) or step.uses[1][0] == step.cell[0]:
        return None
    z = step.uses[1][0]
    for node in ex.graph.nodes:
        if node.op in ("relu", "leaky_relu") and node.ins and node.ins[0] == z:
            return Fraction(str(node.attrs.get("alpha", "1/2"))) if node.op == "leaky_relu" else Fraction(0)
    return Fraction(0) if "(passed: " in step.text or "(blocked: " in step.text else None


def _inverse(ex: Exercise, c: Cell) -> tuple[Cell, tuple[Cell, ...], str] | None:
    """For a hidden given value (an inverse problem): a known cell whose relation uses it, that relation's cells,
    and its arithmetic with the hidden value as "?"."""
    blanks = ex.blank_cells()
    for out, rel in ex.graph.relations().items():
        if c in rel.uses and out not in blanks and sum(u in blanks for u in rel.uses) == 1:
            text = rel.text(lambda u: SENTINEL if u == c else ex.value(u), ex.precision)
            expr = text.split(" = ")[0].replace(fmt(SENTINEL, ex.precision), "?")
            return out, rel.uses, f"{names(ex).cell(*out)} = {expr} = {fmt(ex.value(out), ex.precision)}"
    return None


def hint(ex: Exercise, badge: int, level: int) -> dict[str, Any] | None:
    """The hint of ``level`` (1–3) for one blank, or None if there is no such blank."""
    b = next((b for b in ex.blanks if b.badge == badge), None)
    if b is None or level not in LEVELS:
        return None
    c = b.cells[0]
    nm = names(ex)
    cell_str = lambda u: nm.cell(*u)  # 1-based maths names: Z₁[1,2]
    step = ex.step_for(c)
    uses = step.uses if step is not None else ()
    out: dict[str, Any] = {"badge": badge, "cell": key(c), "name": cell_str(c), "uses": [key(u) for u in uses],
                           "level": level, "levels": len(LEVELS)}
    inv = _inverse(ex, c) if step is None else None
    if inv is not None:
        out["uses"] = [key(u) for u in inv[1]]
    if level == 1:
        if inv is not None:
            out["text"] = f"{cell_str(c)} is not given, but {cell_str(inv[0])} is, and it uses {cell_str(c)}. " + \
                where_to_look(ex, inv[0], inv[1])
        else:
            out["text"] = where_to_look(ex, c, uses)
    elif level == 2:
        expr = expression(step.text, fmt(step.value, ex.precision)) if step is not None else None
        node = ex.graph.nodes[ex.graph.defined_by[c[0]]] if c[0] in ex.graph.defined_by else None
        if step is not None and node is not None and node.op in ("relu", "leaky_relu") and step.uses:
            # "2 (2 > 0: stays)" gives the result first: ask the question instead
            z = cell_str(step.uses[0])
            if node.op == "relu":
                expr = f"ReLU({z}): does {z} stay, or is it crossed out (0)? So {cell_str(c)} = ?"
            else:
                alpha = fmt(Fraction(str(node.attrs.get("alpha", "1/2"))), ex.precision)
                expr = f"LeakyReLU({z}): does {z} stay, or is it multiplied by {alpha}? So {cell_str(c)} = ?"
            out["text"] = expr
            return out
        gate = _gate(ex, step) if step is not None else None
        if gate is not None:
            # backward through ReLU: "3 (passed: Z₂[1,2] = 4 > 0)" starts with the answer: ask the question instead
            src, z = (cell_str(u) for u in step.uses)  # type: ignore[union-attr]
            if gate == 0:
                out["text"] = (f"The gate: is {z} > 0? Then the gradient passes, {cell_str(c)} = {src}; "
                               f"if not, it is blocked (0). So {cell_str(c)} = ?")
            else:
                out["text"] = (f"The gate: is {z} > 0? Then the gradient passes, {cell_str(c)} = {src}; "
                               f"if not, it is multiplied by {fmt(gate, ex.precision)}. So {cell_str(c)} = ?")
            return out
        if step is not None and node is not None and node.op == "mask_causal" and step.uses:
            # attention's causal mask: the same question for every cell, kept or crossed out
            i, j = c[1]
            out["text"] = (f"The causal mask: row {i + 1} is key {i + 1}, column {j + 1} is query {j + 1}. Does the key come "
                           f"after the query (crossed out, 0), or does {cell_str(step.uses[0])} stay? So {cell_str(c)} = ?")
            return out
        if expr:
            out["text"] = f"{cell_str(c)} = {expr}"
        elif inv is not None:
            out["text"] = f"{inv[2]}: solve it for ?"
        else:
            out["text"] = (f"Write the relation that contains {cell_str(c)}, put in the numbers you know, and solve it: "
                           f"{cell_str(c)} = ?")
    else:
        out["text"] = f"{cell_str(c)} = {step.text}" if step is not None else ex.explain(c)
    return out
