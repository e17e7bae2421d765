"""Lecture mode: an exercise as an animation, one step at a time ([1] … [N]).

A :class:`Frame` says which computed cells are revealed so far, which are new in this frame,
which cells the current step uses (the row of W and the column of X that meet), and the
arithmetic to write beside the grid. Frames come from the engine's step record, so the last
frame is exactly the answer key. Every renderer (HTML, PDF, PNG) draws these frames.

>>> import byhand
>>> fs = frames(byhand.make("dot", seed=1, level="easy"))
>>> [f.kind for f in fs], fs[1].text
(['title', 'step', 'final'], '1·2 + 3·0 + 0·1 = 2')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from byhand.engine.relations import Cell
from byhand.engine.values import to_json
from byhand.errors import ByHandError
from byhand.i18n import M_, N_
from byhand.notation import namer, tensor_label

if TYPE_CHECKING:
    from byhand.engine.graph import Step
    from byhand.exercise import Exercise

GROUPS = ("cell", "row", "layer")


@dataclass
class Frame:
    kind: str  # "title" | "step" | "final"
    k: int  # 0 for the title; 1 … N for steps; N + 1 for the final frame
    n: int  # the number of step frames
    revealed: set[Cell] = field(default_factory=set)
    new: list[Cell] = field(default_factory=list)
    uses: list[Cell] = field(default_factory=list)
    text: str = ""
    phase: str = "forward"
    lines: list[str] = field(default_factory=list)  # the step lines of a grouped frame

    def to_json(self) -> dict[str, Any]:
        key = lambda c: f"{c[0]}:{','.join(map(str, c[1]))}"  # noqa: E731
        return {"kind": self.kind, "k": self.k, "n": self.n, "revealed": sorted(key(c) for c in self.revealed),
                "new": [key(c) for c in self.new], "uses": [key(c) for c in self.uses], "text": self.text,
                "phase": self.phase, "lines": self.lines}


def _groups(steps: list[Step], group: str) -> list[list[Step]]:
    out: list[list[Step]] = []
    last: tuple[Any, ...] | None = None
    for s in steps:
        name, idx = s.cell
        key: tuple[Any, ...] = (name,) if group == "layer" else (name, idx[:1]) if group == "row" else (name, idx)
        if key != last:
            out.append([])
            last = key
        out[-1].append(s)
    return out


def frames(ex: Exercise, group: str = "cell") -> list[Frame]:
    """The title frame, one frame per step (or per row, or per layer), and the final frame."""
    if group not in GROUPS:
        raise ByHandError(M_("--group {group!r} is unknown; use cell, row or layer", group=group))
    source = _copy_sources(ex)
    steps = [s for s in ex.steps if s.cell not in source]  # a copy is no step: it appears with its source
    groups = _groups(steps, group)
    n = len(groups)
    blank = set(ex.blank_cells())
    leaves = set(ex.graph.leaves)

    def with_copies(cells: set[Cell]) -> set[Cell]:
        return cells | {c for c, src in source.items() if src in cells or (src[0] in leaves and src not in blank)}

    name = namer(ex)
    out = [Frame("title", 0, n, with_copies(set()), text=ex.instructions)]
    revealed: set[Cell] = set()
    for k, g in enumerate(groups, start=1):
        new = [s.cell for s in g]
        revealed = with_copies(revealed | set(new))
        uses = list(dict.fromkeys(c for s in g for c in s.uses if c not in new))
        lines = [f"{name(s.cell)} = {s.text}" if group != "cell" else s.text for s in g]
        text = g[0].text if len(g) == 1 else f"{len(g)} cells of {tensor_label(ex, g[0].cell[0])}"
        out.append(Frame("step", k, n, set(revealed), new, uses, text, g[0].phase, lines))
    everything = revealed | set(ex.blank_cells())  # inverse blanks (inputs) too
    out.append(Frame("final", n + 1, n, everything, [], [], N_("The full solution"), "forward", []))
    return out


def _copy_sources(ex: Exercise) -> dict[Cell, Cell]:
    """Each cell made by a copy op (transpose, stacks) → the original cell it copies."""
    from byhand.engine.ops import OPS

    g = ex.graph
    src: dict[Cell, Cell] = {}
    for n in g.forward_nodes:
        op = OPS[n.op]
        if op.copies:
            shapes = [g.shapes[i] for i in n.ins]
            for idx in ex.values[n.out].indices():
                u = op.relation(idx, n.ins, n.out, shapes, dict(n.attrs)).uses[0]
                src[(n.out, idx)] = src.get(u, u)
    return src


def deck_data(ex: Exercise, group: str = "cell") -> dict[str, Any]:
    """Everything an HTML deck needs, as JSON: the exercise file and its frames."""
    fs = frames(ex, group)
    values = {f"{name}:{','.join(map(str, idx))}": to_json(t[idx]) for name, t in ex.values.items() for idx in t.indices()}
    return {"exercise": ex.to_dict(), "frames": [f.to_json() for f in fs], "values": values, "group": group}
