"""The exercise in a terminal: the by-hand grid in plain text, blanks as ``[1]`` ``[2]`` ….

The layout comes from the ops alone: ``dot``, ``matmul`` and ``linear`` are drawn as crossings
(the left operand on the left, the right operand on top, the result where they meet; a linear
layer's bias is one more column after ``|`` and its input gets a row of 1s); every other op shows
its result as a labelled grid. No chapter-specific code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byhand.engine.tensor import Tensor
from byhand.engine.values import fmt
from byhand.notation import names
from byhand.render import formula

if TYPE_CHECKING:
    from byhand.exercise import Exercise


def _cells(ex: Exercise, name: str, answers: bool) -> list[list[str]]:
    t: Tensor = ex.values[name]
    badges = ex.blank_cells()
    rows = t.shape[0] if len(t.shape) >= 1 else 1
    cols = t.shape[1] if len(t.shape) == 2 else 1
    out = []
    for i in range(rows):
        row = []
        for j in range(cols):
            idx = () if not t.shape else ((i,) if len(t.shape) == 1 else (i, j))
            b = badges.get((name, idx))
            if b is not None and not answers:
                row.append(f"[{b}]")
            else:
                row.append(fmt(t[idx], ex.precision))
        out.append(row)
    return out


def _as_row(cells: list[list[str]]) -> list[list[str]]:
    return [[r[0] for r in cells]]


def _width(*blocks: list[list[str]]) -> int:
    return max((len(c) for b in blocks for r in b for c in r), default=1)


def _line(cells: list[str], w: int) -> str:
    return " ".join(c.rjust(w) for c in cells)


def _crossing(ex: Exercise, node_op: str, ins: tuple[str, ...], out: str, answers: bool) -> list[str]:
    if node_op == "dot":
        left = _as_row(_cells(ex, ins[0], answers))
        top = _cells(ex, ins[1], answers)
        bias = None
    elif node_op == "matmul":
        left, top, bias = _cells(ex, ins[0], answers), _cells(ex, ins[1], answers), None
    else:  # linear
        left, bias, top = _cells(ex, ins[0], answers), _cells(ex, ins[1], answers), _cells(ex, ins[2], answers)
        top = top + [["1"] * len(top[0])]
    res = _cells(ex, out, answers)
    w = _width(left, top, res, bias or [])
    left_lines = [_line(r, w) + (" | " + bias[i][0].rjust(w) if bias else "") for i, r in enumerate(left)]
    lw = max(len(s) for s in left_lines)
    lines = []
    for r in top:
        lines.append(" " * lw + " │ " + _line(r, w))
    lines.append("─" * lw + "─┼─" + "─" * len(_line(top[0], w)))
    for s, r in zip(left_lines, res):
        lines.append(s.rjust(lw) + " │ " + _line(r, w))
    return lines


def _grid(ex: Exercise, name: str, answers: bool) -> list[str]:
    cells = _cells(ex, name, answers)
    w = _width(cells)
    return ["  " + _line(r, w) for r in cells]


def render_text(ex: Exercise, answers: bool = False) -> str:
    """The sheet as text; ``answers=True`` fills every blank (the key)."""
    g = ex.graph
    nm = names(ex)
    head = (
        f"{ex.title}  ·  {ex.topic}"
        + (f"  ·  seed {ex.seed}" if ex.seed is not None else "")
        + (f"  ·  {ex.level}" if ex.level else "")
    )
    lines = [head, "=" * len(head)]
    if ex.instructions:
        lines += [ex.instructions]
    drawn: set[str] = set()
    for n in g.forward_nodes:
        if n.op in ("dot", "matmul", "linear"):
            drawn.update(n.ins)
    given = [name for name in g.leaves if name not in drawn]
    if given:
        lines.append("")
        lines.append("Given:")
        for name in given:
            if g.shapes[name] == ():
                value = _cells(ex, name, answers)[0][0]
                if nm.label(name) != value:  # a constant such as the skip's 1 is its own name
                    lines.append(f"  {nm.caption(name)} = {value}")
            else:
                lines.append(f"  {nm.caption(name)} =")
                lines += ["  " + s for s in _grid(ex, name, answers)]
    for n in g.nodes:
        lines.append("")
        what = formula(ex, n)
        note = nm.note(n.out)
        if n.op in ("dot", "matmul", "linear"):
            where = f"   ({nm.label(n.ins[0])} left, {nm.label(n.ins[-1])} on top)"
            lines.append(what + ("" if n.op == "dot" else where) + (f"   — {note}" if note else ""))
            lines += ["  " + s for s in _crossing(ex, n.op, n.ins, n.out, answers)]
            continue
        title = what + (f"   — {note}" if note else "")
        if g.shapes[n.out] == ():
            lines.append(f"{title}  =  {_cells(ex, n.out, answers)[0][0]}")
        else:
            lines.append(title)
            lines += _grid(ex, n.out, answers)
    if ex.blanks and not answers:
        lines += ["", f"Fill the {len(ex.blanks)} blank{'s' if len(ex.blanks) != 1 else ''} [1] … [{len(ex.blanks)}]."]
    return "\n".join(lines)


def render_key(ex: Exercise) -> str:
    """The answers, badge by badge, with the step that gives each."""
    lines = [f"Answers — {ex.identity}"]
    nm = names(ex)
    for b in ex.blanks:
        where = ", ".join(nm.cell(x[0], x[1]) for x in b.cells)
        lines.append(f"[{b.badge}] {fmt(b.answer, ex.precision)}   {where}   {ex.explain(b.cells[0])}")
    return "\n".join(lines)
