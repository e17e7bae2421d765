"""The exercise in a terminal: the by-hand grid in plain text, blanks as ``[1]`` ``[2]`` ….

Text only paints the one sheet layout (:mod:`byhand.printing.layout`): each plan unit becomes
``sx`` columns and two lines, so the crossings, names, ReLU gates and arrows sit where the printed
page has them. No chapter-specific code.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from byhand.engine.values import fmt
from byhand.i18n import _, localize_plan, ngettext, tr_text
from byhand.notation import names

if TYPE_CHECKING:
    from byhand.exercise import Exercise


#: Lines of text per cell side: a cell's value on the second, room above and below for names.
SY = 2


def _cell_text(ex: Exercise, block: dict[str, Any], cell: dict[str, Any], answers: bool,
               badges: dict[Any, int]) -> str:
    if block["tensor"] is None:  # the row of 1s, a ReLU gate
        v = cell.get("v")
        return v["s"] if v else "·"
    c = (block["tensor"], tuple(cell["i"]))
    b = badges.get(c)
    if b is not None and not answers:
        return f"[{b}]"
    return fmt(ex.values[c[0]][c[1]], ex.precision)


class Raster:
    """A page of characters on which a print plan is painted (``sx`` columns per cell side)."""

    def __init__(self, width: float, height: float, sx: int) -> None:
        self.sx = sx
        self.rows = [[" "] * (int(width * sx) + 2) for _ in range(int(height * SY) + 2)]

    def col(self, x: float) -> int:
        return round(x * self.sx)

    def line(self, y: float) -> int:
        return min(max(int(y * SY + 0.5), 0), len(self.rows) - 1)

    def put(self, col: int, line: int, text: str) -> None:
        row = self.rows[line]
        if col + len(text) > len(row):
            row.extend(" " * (col + len(text) - len(row)))
        for i, ch in enumerate(text):
            row[max(col, 0) + i] = ch

    def text(self) -> str:
        return "\n".join("".join(r).rstrip() for r in self.rows).rstrip("\n")


def cell_spots(plan: dict[str, Any], sx: int) -> list[tuple[dict[str, Any], dict[str, Any], int, int, int]]:
    """Where each cell of the plan is painted: (block, cell, first column, width, line)."""
    out = []
    for b in plan["blocks"]:
        w = round(b["cw"] * sx)
        for cell in b["cells"]:
            x = b["x"] + cell["c"] * b["cw"]
            out.append((b, cell, round(x * sx), w, min(max(int((b["y"] + cell["r"] + 0.5) * SY + 0.5), 0),
                                                         int(plan["canvas"]["height"] * SY) + 1)))
    return out


def paint(ex: Exercise, plan: dict[str, Any], answers: bool = False) -> tuple[str, int]:
    """The plan as characters: every value right-aligned in its cell's columns, names, symbols and
    arrows where the printed page has them. Returns the text and the columns per cell side."""
    badges = ex.blank_cells()
    texts = {(id(b), c["r"], c["c"]): _cell_text(ex, b, c, answers, badges) for b in plan["blocks"] for c in b["cells"]}
    # a cell side wide enough for the longest value (a wide cell holds 1.6 sides)
    sx = max([4] + [int((len(t) + 1) / b["cw"]) + 1 for b in plan["blocks"] for c in b["cells"]
                    for t in [texts[(id(b), c["r"], c["c"])]]]
             # and for every word between blocks and every name: none runs into its neighbour
             + [int((len(sym["text"]) + 1) / sym["w"]) + 1 for sym in plan["symbols"] if sym["kind"] == "text"]
             + [int(len(lbl["text"]) / lbl["w"]) + 1 for lbl in plan["labels"]])
    r = Raster(plan["canvas"]["width"], plan["canvas"]["height"], sx)
    for a in plan["arrows"]:
        mark = "→" if a["dir"] == "right" else "↓"
        r.put(r.col(a["x"] + a["w"] / 2), r.line(a["y"] + a["h"] / 2), mark)
    for sym in plan["symbols"]:
        word = sym["text"] if sym["kind"] == "text" else _(_SYMBOL_WORDS.get(sym["kind"], ""))
        room = max(r.col(sym["x"] + sym["w"]) - r.col(sym["x"]) - 1, 1)
        if sym["kind"] != "text":
            word = word[:room]  # an activation's column is narrow: its mark, never over a cell
        r.put(max(r.col(sym["x"] + sym["w"] / 2) - len(word) // 2, r.col(sym["x"])), r.line(sym["y"] + 0.5), word)
    for lbl in plan["labels"]:
        col = r.col(lbl["x"] + lbl["w"]) - len(lbl["text"]) if lbl["side"] == "left" else r.col(lbl["x"])
        r.put(col, r.line(lbl["y"] + lbl["h"] / 2), lbl["text"])
    for b, cell, col, w, line in cell_spots(plan, sx):
        r.put(col, line, texts[(id(b), cell["r"], cell["c"])].rjust(w - 1))
    return r.text(), sx


#: An activation's mark in its narrow column (the method writes ReLU as a little wave, ≈).
_SYMBOL_WORDS = {"relu": "≈", "leaky_relu": "≈½", "sigmoid": "σ", "softmax": "3ᶻ/Σ", "transpose": "ᵀ", "sum": "Σ"}
_SYMBOL_WORDS |= {"sort": "↓", "argsort": "#↓", "topk": "top", "cumsum": "Σ…"}  # next-token sampling
_SYMBOL_WORDS |= {"hard_sigmoid": "σ", "hard_tanh": "th"}  # the LSTM's exact σ and tanh (issue 13)


def render_text(ex: Exercise, answers: bool = False) -> str:
    """The sheet as text, painted from the one sheet layout (the print plan): the same crossings,
    names, gates and arrows as on paper; ``answers=True`` fills every blank (the key)."""
    from byhand.printing.layout import plan_exercise

    plan = localize_plan(plan_exercise(ex.to_dict(), 1, with_answers=False, key=answers))  # the words drawn: the language's
    seed_word = _("seed")
    head = (
        f"{_(ex.title)}  ·  {ex.topic}"
        + (f"  ·  {seed_word} {ex.seed}" if ex.seed is not None else "")
        + (f"  ·  {_(ex.level)}" if ex.level else "")
    )
    width = sum(1 for ch in head if unicodedata.category(ch) not in ("Mn", "Cf"))  # a mark above or below takes no column
    lines = [head, "=" * width]
    if ex.instructions:
        lines += [tr_text(ex.instructions)]
    lines += [""] + ["".join(piece_text(p) for p in f) for f in plan["formulas"]] + [""]
    lines.append(paint(ex, plan, answers)[0])
    if ex.blanks and not answers:
        n = len(ex.blanks)
        lines += ["", ngettext("Fill the {0} blank [1] … [{0}].", "Fill the {0} blanks [1] … [{0}].", n).format(n)]
    return "\n".join(lines)


def render_key(ex: Exercise) -> str:
    """The answers, badge by badge, with the step that gives each."""
    lines = [_("Answers") + f" — {ex.identity}"]
    nm = names(ex)
    for b in ex.blanks:
        where = ", ".join(nm.cell(x[0], x[1]) for x in b.cells)
        lines.append(f"[{b.badge}] {fmt(b.answer, ex.precision)}   {where}   {tr_text(ex.explain(b.cells[0]))}")
    return "\n".join(lines)


def piece_text(p: dict[str, str]) -> str:
    """One piece of a formula as plain text: a power is written ``3^Z₃`` (print raises it)."""
    if p.get("t") == "pow" and p.get("e"):
        e = p["e"]
        return f"{p['s']}^{e}" if len(e) <= 2 or e.isalnum() else f"{p['s']}^({e})"
    return p["s"]
