"""Plan where every cell of a byhand exercise goes on the printed grid.

The by-hand method lets "the grid do the bookkeeping": for a product ``A·B`` the left operand
sits to the LEFT of the result, the right operand sits ON TOP of it, and result cell (i, j) is
level with row i of ``A`` and under column j of ``B``.  A linear layer draws the bias as one
more (grey) column at the right edge of ``W`` and appends a row of 1s under ``X``.  Activations
sit in a narrow column beside their input, and the output of one layer becomes the top operand
of the next, so a network reads as a staircase of crossings.

This module turns a ``byhand-exercise/1`` dict into a *print plan*: plain JSON-able data with
every block, label, symbol and arrow at a position in "pitch" units (one unit = the side of an
integer cell; the Typst template picks the physical size).  The plan is derived from the ops
list only (op name + in/out tensor names), never from the topic, so new topics print without
new code.  It holds no Typst syntax; the template draws it.

Only the numbers the engine put in the exercise are printed: nothing here computes a value.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from html import unescape
from typing import Any

import zxingcpp

from byhand.i18n import M_, N_, tr_phrases
from byhand.notation import names, op_pieces, row_words, transposed
from byhand.printing.errors import ExerciseFormatError

PLAN_FORMAT = "byhand-print-plan/1"

# --- geometry, in pitch units (1.0 = one integer cell) ---------------------------------------
GAP = 0.4  # gutter between an operand and the result it crosses into (holds the arrows)
SIDE_GAP = 0.12  # space on each side of an activation's symbol column
SYMBOL_W = 0.75  # width of an activation's symbol column
INFIX_W = 0.8  # width of an infix symbol ("+", "=") in a generic row
BAND_GAP = 1.6  # vertical space between two bands of blocks (room for a name below one and above the next)
BAND_CUT = 0.2  # items closer than this (a block and its name) stay on one page
LABEL_H = 0.5  # height reserved for a tensor's name
LABEL_PAD = 0.16  # distance between a block and its name (clears badges and double borders)
LABEL_GAP = 0.2  # the least space between two names side by side
LABEL_CHAR_W = 0.19  # rough width of one label character (labels are short: W1, ∂L/∂Z1)
SHELF_GAP = 0.7  # space between tensors standing side by side on a shelf
ROW_GAP = 1.2  # space between two short rows standing side by side in one band
SHELF_MIN_W = 10.0  # a shelf may be this wide even when the rest of the drawing is narrower
WIDE_CELL = 1.6  # cell width for tensors holding fractions or decimals (room for handwriting)

# --- readability floors (by-hand-conventions.md, "Readable at print size") -------------------
#: The smallest cell side the printer may use: digits at 0.4 × pitch stay ≥ 10 pt, a blank's bold
#: box (pitch less its inset) stays ≥ 8 mm.
MIN_PITCH_MM = 9.4
#: The largest cell side (templates/exercise.typ's max-pitch): small exercises share a page.
MAX_PITCH_MM = 9.6
#: Text width of a portrait page (A4 180 mm; Letter is wider) in cells at the floor pitch: the plan
#: wraps onto a new band (a layer boundary) rather than grow wider than this.
PAGE_WIDTH = 19.0
#: The tallest a band may grow (cells): with the exercise's header it still fits on one page.
MAX_BAND_H = 19.0

CROSSING_OPS = frozenset({"dot", "matmul", "linear"})
#: Ops that join blocks: ``[W | I]·[A ; X]`` is drawn with the parts, not the joined copies.
STACK_OPS = frozenset({"hstack", "vstack"})
ACTIVATION_OPS = frozenset({"relu", "leaky_relu", "sigmoid", "softmax"})
#: Unary ops drawn as ``input | symbol | output`` side by side.
SIDE_OPS = ACTIVATION_OPS | frozenset({"transpose", "sum"})
#: Next-token sampling: the sorted column, its word numbers, the top k and the running totals,
#: each beside the column it comes from (argsort beside the sorted column: word and P↓ side by side).
SIDE_OPS |= frozenset({"sort", "argsort", "topk", "cumsum"})
#: Binary ops drawn in their own row as ``in0 symbol in1 = out``.
INFIX_SYMBOLS = {"add": "+", "sub": "−", "mul": "⊙"}
#: Ops whose results are fractions whatever their inputs (everything else: only from a fraction in).
FRACTION_OPS = frozenset({"softmax", "sigmoid", "div", "cross_entropy"})
#: Ops whose printed key crosses out negative inputs (the student does it by hand).
CROSS_OUT_OPS = frozenset({"relu", "leaky_relu"})
#: moe: the gate's one-hot sits beside its scores; a row of it (m_k) is drawn where it is used
#: (under X_k in the expert's crossing, in X ⊙ m_k), not on a line of its own.
SIDE_OPS = SIDE_OPS | frozenset({"top_onehot"})
DRAWN_WHERE_USED = frozenset({"row_of"})
# the LSTM's exact σ and tanh (issue 13): activations beside their input, values in sixths
ACTIVATION_OPS = ACTIVATION_OPS | {"hard_sigmoid", "hard_tanh"}
SIDE_OPS = SIDE_OPS | {"hard_sigmoid", "hard_tanh"}
FRACTION_OPS = FRACTION_OPS | {"hard_sigmoid"}
#: gan: ReLU's backward as an op of its own (dA ⊙ [Z > 0]), drawn as the backward pass draws it:
#: dA, the gate of 1/0, then dZ; the fake's score (a column of D) beside D.
GATE_OPS = frozenset({"relu_gate"})
SIDE_OPS = SIDE_OPS | {"col_of"}

ROLES = ("input", "weight", "bias", "computed", "target", "grad", "loss")
#: Roles the printer has no style of its own for, drawn like one it has; unknown roles print as computed.
ROLE_STYLE = {"given": "input"}
#: Display styles the template knows; ``activation`` and ``ones`` are print-only styles.
STYLES = ("input", "weight", "bias", "ones", "computed", "activation", "target", "grad", "loss", "gate")
#: How each style is explained in the legend (the words carry the meaning, not the colour).
#: Plain white blocks (weights, computed) need no legend entry.
LEGEND_TEXT = {
    "input": "input (bar on top)",
    "bias": "bias (hatched)",
    "ones": "row of 1s",
    "activation": "activation (double border)",
    "target": "target (dotted)",
    "grad": "gradient (dashed)",
    "loss": "loss (thick)",
    "gate": "ReLU gate: 1 passes, 0 blocks (dash-dotted)",
    "copy": "copy of a numbered box (grey)",
}


# --- values -----------------------------------------------------------------------------------

NOT_A_VALUE = N_("not a value: {value!r} (expected int, 'p/q', float)")


def _minus(text: str) -> str:
    """Typographic minus sign (U+2212) instead of the hyphen."""
    return text.replace("-", "−")


def value_atom(value: Any, precision: int) -> dict[str, Any]:
    """Format one exercise value for print.

    Returns ``{"k": kind, "s": inline text, ...}``; fractions also carry ``neg``, ``n``, ``d``
    so the template can stack them.  Kinds: ``int``, ``frac``, ``float``, ``unknown``.

    >>> value_atom(-2, 3)["s"]
    '−2'
    >>> value_atom("3/250", 3)
    {'k': 'frac', 's': '3/250', 'neg': False, 'n': '3', 'd': '250'}
    """
    if value is None:
        return {"k": "unknown", "s": "?"}
    if isinstance(value, bool):
        raise ExerciseFormatError(M_("a value may not be a boolean: {value!r}", value=value))
    if isinstance(value, int):
        return {"k": "int", "s": _minus(str(value))}
    if isinstance(value, float):
        return {"k": "float", "s": _minus(f"{value:.{precision}f}")}
    if isinstance(value, str):
        try:
            frac = Fraction(value.strip())
        except ValueError as exc:
            raise ExerciseFormatError(M_(NOT_A_VALUE, value=value)) from exc
        if frac.denominator == 1:
            return {"k": "int", "s": _minus(str(frac.numerator))}
        num, den = abs(frac.numerator), frac.denominator
        return {
            "k": "frac",
            "s": _minus(f"{frac.numerator}/{den}"),
            "neg": frac < 0,
            "n": str(num),
            "d": str(den),
        }
    raise ExerciseFormatError(M_(NOT_A_VALUE, value=value))


def _is_negative(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value < 0
    try:
        return Fraction(str(value)) < 0
    except ValueError:
        return False


def _shape(values: Any) -> tuple[int, ...]:
    """Shape of a nested-list tensor: () scalar, (n,) vector, (m, n) matrix."""
    if not isinstance(values, list):
        return ()
    if values and isinstance(values[0], list):
        width = len(values[0])
        if any(not isinstance(row, list) or len(row) != width for row in values):
            raise ExerciseFormatError("a matrix must be a list of rows of equal length")
        return (len(values), width)
    return (len(values),)


def _at(values: Any, index: tuple[int, ...]) -> Any:
    for i in index:
        values = values[i]
    return values


# --- geometry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Rect, eps: float = 1e-6) -> bool:
        return (
            self.x < other.right - eps
            and other.x < self.right - eps
            and self.y < other.bottom - eps
            and other.y < self.bottom - eps
        )


@dataclass
class Block:
    """One tensor (or the row of 1s) drawn as a grid of cells."""

    tensor: str | None  # None for the row of 1s
    x: float
    y: float
    rows: int
    cols: int
    cw: float  # cell width; the cell height is always 1
    orient: str  # "matrix" | "col" | "row" | "scalar": how tensor indices map to (row, col)
    style: str
    label_prefs: tuple[str, ...] = ()
    depth: int = 0  # activation depth (deeper layers print darker green)
    label: str | None = None  # the name printed beside it when not the tensor's own (``A1ᵀ``)
    gate: tuple[str, Any] | None = None  # a ReLU gate: (the pre-activation Z, the slope where Z ≤ 0)
    row0: int = 0  # a slice of a tensor: its display row 0 is the tensor's row ``row0``

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.cols * self.cw, self.rows)

    def index_of(self, r: int, c: int) -> tuple[int, ...]:
        """Tensor index shown in display cell (r, c)."""
        return _index(self.orient, r + self.row0, c)


def _index(orient: str, r: int, c: int) -> tuple[int, ...]:
    """Tensor index shown in display cell (r, c) of a block drawn as ``orient``."""
    return {"matrix": (r, c), "matrixT": (c, r), "col": (r,), "row": (c,), "scalar": ()}[orient]


@dataclass
class Plan:
    """Accumulates everything drawn for one exercise; coordinates in pitch units."""

    blocks: list[Block] = field(default_factory=list)
    symbols: list[dict[str, Any]] = field(default_factory=list)
    arrows: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    obstacles: list[Rect] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def free(self, rects: list[Rect]) -> bool:
        """True when none of ``rects`` overlaps anything drawn so far."""
        return not any(r.overlaps(o) for r in rects for o in self.obstacles)

    def bottom(self) -> float:
        return max((o.bottom for o in self.obstacles), default=0.0)

    def next_band_top(self) -> float:
        return self.bottom() + BAND_GAP if self.obstacles else LABEL_H


# --- the planner ------------------------------------------------------------------------------


class _Planner:
    """Walks the ops in order and places each one's tensors (see the module docstring)."""

    def __init__(self, exercise: dict[str, Any], shelf_width: float = SHELF_MIN_W,
                 max_width: float = PAGE_WIDTH, max_band_h: float = MAX_BAND_H) -> None:
        self.ex = exercise
        self.max_band_h = max_band_h
        self.names = names(exercise)  # every caption and formula is named from these, once
        self.max_width = max_width
        self.shelf_width = min(shelf_width, max_width)
        self.tensors: dict[str, dict[str, Any]] = exercise["tensors"]
        self.plan = Plan()
        self.current: dict[str, Block] = {}  # where each tensor was drawn last
        self.style = self._styles()
        self.depth = self._activation_depths()
        self.band_top = 0.0
        self.shelf: tuple[float, float, float] | None = None  # (next x, top, bottom of the plan) of the open shelf
        # the right operand of the last plain crossing and the block it was read from: the next
        # crossing with the same right operand may go under it (see _crossing)
        self.last_top: tuple[str, int] | None = None
        # the last generic row drawn: (its result, where its line ends, its top, the plan's bottom then)
        self.last_row: tuple[str, float, float, float] | None = None
        # where a short row may go beside the last one: (its right end, its band's top, the plan's bottom then)
        self.row_shelf: tuple[float, float, float] | None = None
        self.parts, self.alias = self._stacked_crossings()
        self.at_crossing: set[str] = set()  # transposes drawn at the crossing that uses them (see run)
        self.grads = {op["attrs"]["wrt"]: op["out"] for op in exercise["ops"]
                      if op["op"] == "grad" and isinstance((op.get("attrs") or {}).get("wrt"), str)}
        self.cell_w = self._cell_widths()

    # -- per-tensor facts derived from the ops --

    def _styles(self) -> dict[str, str]:
        """One style per role, the same in every chapter: a given tensor is drawn by the place it
        takes, so W₂ (and the identity beside it) on a crossing's left is a weight, never "input"."""
        produced_by = {op["out"]: op["op"] for op in self.ex["ops"]}
        left = {op["in"][0] for op in self.ex["ops"] if op["op"] in ("linear", "matmul")}
        left |= {p for op in self.ex["ops"] if op["op"] == "hstack" and op["out"] in left for p in op["in"]}
        styles = {}
        for name, t in self.tensors.items():
            role = t.get("role")
            if role == "given" and name in left:
                role = "weight"
            if role is not None and role not in ROLES:
                role = ROLE_STYLE.get(role, "computed")
            if produced_by.get(name) in ACTIVATION_OPS and role in (None, "computed"):
                styles[name] = "activation"
            elif role is not None:
                styles[name] = role
            else:
                styles[name] = self._guess_role(name, produced_by)
        return styles

    def _guess_role(self, name: str, produced_by: dict[str, str]) -> str:
        if name in produced_by:
            return "computed"
        for op in self.ex["ops"]:
            if op["op"] == "linear" and name == op["in"][1]:
                return "bias"
            if op["op"] in ("linear", "matmul") and name == op["in"][0]:
                return "weight"
        return "input"

    def _activation_depths(self) -> dict[str, int]:
        depths, seen = {}, 0
        for op in self.ex["ops"]:
            if op["op"] in ACTIVATION_OPS:
                depths[op["out"]] = seen
                seen += 1
        return depths

    def _stacked_crossings(self) -> tuple[dict[str, tuple[list[str], list[str]]],
                                          dict[tuple[str, tuple[int, ...]], tuple[str, tuple[int, ...]]]]:
        """Crossings whose operands are joined blocks, ``[W2 | I]·[A1 ; X]``: drawn with the parts.

        Returns the parts of each such crossing (by its output) and, for every cell of a joined
        copy, the part cell it copies.  A join is drawn with its parts only when the parts pair
        up (``W2``'s columns meet ``A1``'s rows, ``I``'s meet ``X``'s) and every blank on the copy
        has the same badge on the part, so no badge is lost by not drawing the copy."""
        made_by = {op["out"]: op for op in self.ex["ops"]}
        badge = {(t, tuple(i)): b["badge"] for b in self.ex.get("blanks", []) for t, i in b["cells"]}
        parts: dict[str, tuple[list[str], list[str]]] = {}
        alias: dict[tuple[str, tuple[int, ...]], tuple[str, tuple[int, ...]]] = {}
        for op in self.ex["ops"]:
            if op["op"] not in ("linear", "matmul"):
                continue
            left, top = op["in"][0], op["in"][-1]
            hs, vs = made_by.get(left), made_by.get(top)
            if not (hs and vs and hs["op"] == "hstack" and vs["op"] == "vstack"
                    and len(hs["in"]) == len(vs["in"]) >= 2):
                continue
            try:
                copies = self._join_cells(left, hs["in"], vs["in"], top)
            except ExerciseFormatError:
                continue
            if any(badge.get(c) != badge.get(src) for c, src in copies.items() if c in badge):
                continue
            parts[op["out"]] = (list(hs["in"]), list(vs["in"]))
            alias.update(copies)
        return parts, alias

    def joined(self) -> set[str]:
        """The joined copies drawn only as their parts (``W2I = [W2 | I]``, ``A1X = [A1 ; X]``)."""
        return {name for name, _ in self.alias}

    def _join_cells(self, left: str, lparts: list[str], tparts: list[str],
                    top: str) -> dict[tuple[str, tuple[int, ...]], tuple[str, tuple[int, ...]]]:
        """Each cell of the joined ``left`` and ``top`` → the part cell it copies (or raise)."""
        lshapes = [self._display_shape(t, "row") for t in lparts]
        tshapes = [self._display_shape(t, "col") for t in tparts]
        m, n = lshapes[0][0], tshapes[0][1]
        if any(s[0] != m for s in lshapes) or any(s[1] != n for s in tshapes):
            raise ExerciseFormatError("joined parts do not line up")
        if any(ls[1] != ts[0] for ls, ts in zip(lshapes, tshapes)):
            raise ExerciseFormatError("joined parts do not pair up")
        k = sum(s[1] for s in lshapes)
        lshape, tshape = self._fit_shape(left, m, k), self._fit_shape(top, k, n)
        out: dict[tuple[str, tuple[int, ...]], tuple[str, tuple[int, ...]]] = {}
        off = 0
        for lp, ls, tp, ts in zip(lparts, lshapes, tparts, tshapes):
            for r in range(m):
                for c in range(ls[1]):
                    out[(left, _index(lshape[2], r, off + c))] = (lp, _index(ls[2], r, c))
            for r in range(ts[0]):
                for c in range(n):
                    out[(top, _index(tshape[2], off + r, c))] = (tp, _index(ts[2], r, c))
            off += ls[1]
        return out

    def _cell_widths(self) -> dict[str, float]:
        """Cell width per tensor: wide where the tensor can hold fractions or decimals, shared
        along crossed columns.

        Chosen from what the tensor can hold, never from a hidden answer: a given tensor is wide
        when a value printed on the sheet is; an op's result when the op makes fractions
        (softmax, sigmoid, a division) or one of its inputs is wide, or a value printed in it is;
        the gradients when anything in the forward pass is wide."""
        blank = {(t, tuple(i)) for b in self.ex.get("blanks", []) for t, i in b["cells"]}

        def shown_inexact(name: str) -> bool:
            shape = _shape(self.tensors[name]["values"])
            cells: list[tuple[int, ...]] = [()] if not shape else (
                [(i,) for i in range(shape[0])] if len(shape) == 1
                else [(i, j) for i in range(shape[0]) for j in range(shape[1])])
            return any(_inexact(_at(self.tensors[name]["values"], c)) for c in cells if (name, c) not in blank)

        wide = {name for name in self.tensors if shown_inexact(name)}
        grads = []
        for op in self.ex["ops"]:
            if op["op"] == "grad":
                grads.append(op["out"])
            elif op["op"] in FRACTION_OPS or any(t in wide for t in op["in"]):
                wide.add(op["out"])
        forward = {t for op in self.ex["ops"] if op["op"] != "grad" for t in (*op["in"], op["out"])}
        if wide & forward:
            wide.update(grads)

        parent = {name: name for name in self.tensors}

        def find(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        def union(a: str | None, b: str | None) -> None:
            if a is not None and b is not None:
                parent[find(a)] = find(b)

        for op in self.ex["ops"]:
            if op["op"] in CROSSING_OPS:  # top operand and result share their columns
                top = op["in"][-1] if op["op"] == "linear" else op["in"][1]
                union(top, op["out"])
                if op["op"] == "linear":  # backward: Aᵀ over dW, dZ over dA (see _backward)
                    union(op["in"][2], self.grads.get(op["in"][0]))
                    union(self.grads.get(op["out"]), self.grads.get(op["in"][2]))
                if op["op"] == "matmul" and self.grads:  # the same without a bias (an RNN's steps)
                    union(op["in"][1], self.grads.get(op["in"][0]))
                    union(self.grads.get(op["out"]), self.grads.get(op["in"][1]))
            if op["op"] == "vstack":  # blocks stacked on top of each other share their columns
                for part in op["in"]:
                    union(part, op["out"])
        widths: dict[str, float] = {}
        for name in self.tensors:
            root = find(name)
            widths[root] = max(widths.get(root, 1.0), WIDE_CELL if name in wide else 1.0)
        return {name: widths[find(name)] for name in self.tensors}

    # -- shapes --

    def _display_shape(self, name: str, vector_as: str) -> tuple[int, int, str]:
        """(rows, cols, orient) of a tensor; a flat vector is drawn as a row or a column."""
        shape = _shape(self.tensors[name]["values"])
        if len(shape) == 0:
            return 1, 1, "scalar"
        if len(shape) == 1:
            return (shape[0], 1, "col") if vector_as == "col" else (1, shape[0], "row")
        return shape[0], shape[1], "matrix"

    def _fit_shape(self, name: str, rows: int, cols: int) -> tuple[int, int, str]:
        """Orientation that shows tensor ``name`` as a rows×cols grid, or raise."""
        shape = _shape(self.tensors[name]["values"])
        if shape == () and rows == cols == 1:
            return 1, 1, "scalar"
        if shape == (rows,) and cols == 1:
            return rows, 1, "col"
        if shape == (cols,) and rows == 1:
            return 1, cols, "row"
        if shape == (rows, cols):
            return rows, cols, "matrix"
        raise ExerciseFormatError(M_("tensor {name!r} has shape {shape}, but its op needs {rows}×{cols}",
                                     name=name, shape=shape, rows=rows, cols=cols))

    def _block(self, name: str, x: float, y: float, shape: tuple[int, int, str],
               prefs: tuple[str, ...]) -> Block:
        rows, cols, orient = shape
        return Block(name, x, y, rows, cols, self.cell_w[name], orient, self.style[name], prefs,
                     self.depth.get(name, 0))

    def _commit(self, *blocks: Block) -> None:
        for b in blocks:
            self.plan.blocks.append(b)
            self.plan.obstacles.append(b.rect)
            if b.tensor is not None:
                self.current[b.tensor] = b

    def _symbol(self, rect: Rect, kind: str, text: str = "", attrs: dict | None = None) -> None:
        self.plan.symbols.append({"x": rect.x, "y": rect.y, "w": rect.w, "h": rect.h,
                                  "kind": kind, "text": text, "attrs": attrs or {}})
        self.plan.obstacles.append(rect)

    def _new_band(self) -> float:
        """Top of a new band under everything drawn so far."""
        self.band_top = self.plan.next_band_top()
        return self.band_top

    def fits(self, rects: list[Rect]) -> bool:
        """Free of everything drawn so far, inside the page width and no taller than a page
        (else: a new band, which a page may break before)."""
        obstacles = self.plan.obstacles
        lo = min([r.x for r in rects] + [o.x for o in obstacles])
        hi = max([r.right for r in rects] + [o.right for o in obstacles])
        return self.plan.free(rects) and hi - min(lo, 0.0) <= self.max_width + 1e-6 and all(
            r.right <= self.max_width + 1e-6 and r.bottom - self.band_top <= self.max_band_h for r in rects)

    # -- ops --

    def run(self) -> Plan:
        joined = self.joined()
        grads = self.grads
        # a transpose that is the top of a later crossing (conv's Cᵀ in dF = dY·Cᵀ): drawn there, as
        # its own block labelled ᵀ (as backprop's Aᵀ), not also beside its source and then again
        tops = {op["in"][-1] for op in self.ex["ops"] if op["op"] in ("matmul", "linear")}
        at_crossing = {op["out"] for op in self.ex["ops"] if op["op"] == "transpose" and op["out"] in tops}
        self.at_crossing = at_crossing
        for op in self.ex["ops"]:
            name = op["op"]
            if name in STACK_OPS and op["out"] in joined:
                continue  # drawn as its parts where it is used
            if op["out"] in at_crossing:
                continue
            if name == "grad":
                continue  # the backward pass is drawn after the forward one (below)
            if name in DRAWN_WHERE_USED:
                continue
            if name in CROSSING_OPS or name in SIDE_OPS or op["out"] in self.parts:
                self.row_shelf = None  # a row goes beside another row only
            if name not in CROSSING_OPS and name not in SIDE_OPS or op["out"] in self.parts:
                self.last_top = None  # a crossing goes under another only when nothing else came between
            try:
                if op["out"] in self.parts:
                    self._stacked_crossing(op)
                elif name in CROSSING_OPS:
                    self._crossing(op)
                elif name in GATE_OPS:
                    self._gate_op(op)
                elif name in SIDE_OPS:
                    self._side(op)
                else:
                    self._row(op)
            except ExerciseFormatError:
                if name not in CROSSING_OPS and name not in SIDE_OPS and name not in GATE_OPS:
                    raise
                self._row(op)  # shapes that do not cross as expected: the generic row still prints it
        self._backward(grads)
        for op in self.ex["ops"]:  # gradients the backward crossings did not draw: on a shelf
            if op["op"] == "grad" and op["out"] not in self.current:
                self._standalone(op["out"])
        for name in self.tensors:  # a tensor no op mentions is still printed
            if name not in self.current and name not in joined:
                self._standalone(name)
        plain = self.plan
        self.plan = self._twins_side_by_side(plain)
        self._place_labels()
        if self.plan is not plain and self.plan.warnings:  # no room for the names: one twin a band
            self.plan = plain
            self._place_labels()
        return self.plan

    def _twins_side_by_side(self, plan: Plan) -> Plan:
        """Two bands in a row that draw the same thing (moe's experts, one band each, the same
        shapes in the same places): the second beside the first where the page has room, and
        everything below moves up by the band it no longer needs — the drawing is read left to
        right, then down. Returns a new plan (the old one is kept whole, to go back to)."""
        rects = [*plan.obstacles, *(Rect(a["x"], a["y"], a["w"], a["h"]) for a in plan.arrows)]
        strips = bands(rects)
        if len(strips) < 2:
            return plan

        tops = [b["y"] - 1e-6 for b in strips]

        def band_of(y: float) -> int:
            return max(bisect_right(tops, y) - 1, 0)

        per_band: list[list[Rect]] = [[] for _ in strips]
        for r in rects:
            per_band[band_of(r.y)].append(r)
        shapes: list[list[tuple[Any, ...]]] = [[] for _ in strips]
        for bl in plan.blocks:
            shapes[band_of(bl.y)].append((bl.rows, bl.cols, bl.cw, bl.style, bl.x, bl.y))
        for sym in plan.symbols:
            shapes[band_of(sym["y"])].append((0, 0, sym["w"], sym["kind"], sym["x"], sym["y"]))

        def shape(i: int) -> tuple[Any, ...]:
            left, top = min(r.x for r in per_band[i]), strips[i]["y"]
            return tuple(sorted((*k[:4], round(k[4] - left, 3), round(k[5] - top, 3)) for k in shapes[i]))

        def whole(i: int) -> bool:
            """Every crossing of the band has its top operand in the band (not the LSTM's gates,
            read off one column drawn above them)."""
            return not any(a["dir"] == "down" and abs(a["y"] - strips[i]["y"]) < 1e-6 for a in plan.arrows)

        moves: dict[int, tuple[float, float]] = {}  # band → (dx, dy)
        lift = 0.0
        i = 0
        while i < len(strips):
            moves[i] = (0.0, -lift)
            if i + 1 < len(strips) and len(shapes[i]) == len(shapes[i + 1]) >= 3 and shape(i) == shape(i + 1) \
                    and whole(i):
                a, b = per_band[i], per_band[i + 1]
                a_right, b_left = max(r.right for r in a), min(r.x for r in b)
                width = max(r.right for r in b) - b_left
                x0 = min(r.x for r in a)
                if a_right + ROW_GAP + width <= self.max_width - 1e-6 and x0 >= -1e-6:
                    dy = strips[i]["y"] - strips[i + 1]["y"]
                    moves[i + 1] = (a_right + ROW_GAP - b_left, dy - lift)
                    lift += -dy
                    i += 2
                    continue
            i += 1
        if all(m == (0.0, 0.0) for m in moves.values()):
            return plan

        def moved(r: Rect) -> Rect:
            dx, dy = moves[band_of(r.y)]
            return Rect(r.x + dx, r.y + dy, r.w, r.h)

        out = Plan(warnings=list(plan.warnings))
        for bl in plan.blocks:
            r = moved(bl.rect)
            out.blocks.append(replace(bl, x=r.x, y=r.y))
        for s in plan.symbols:
            r = moved(Rect(s["x"], s["y"], s["w"], s["h"]))
            out.symbols.append({**s, "x": r.x, "y": r.y})
        for arrow in plan.arrows:
            r = moved(Rect(arrow["x"], arrow["y"], arrow["w"], arrow["h"]))
            out.arrows.append({**arrow, "x": r.x, "y": r.y})
        out.obstacles = [moved(o) for o in plan.obstacles]
        return out

    def _crossing(self, op: dict[str, Any]) -> None:
        """dot, matmul, linear: left operand on the left, right operand on top, result between."""
        kind = op["op"]
        if kind == "linear":
            left, bias, top = op["in"]
        else:
            (left, top), bias = op["in"], None
        out = op["out"]
        top_shape = self._display_shape(top, vector_as="col")
        left_shape = self._display_shape(left, vector_as="row")
        k, n = top_shape[0], top_shape[1]
        m = left_shape[0]
        if left_shape[1] != k:
            raise ExerciseFormatError(M_("{kind}: {left!r} has {cols} columns but {top!r} has {rows} rows",
                                         kind=kind, left=left, cols=left_shape[1], top=top, rows=k))
        out_shape = self._fit_shape(out, m, n)
        bias_shape = self._fit_shape(bias, m, 1) if bias else None

        cw_top, cw_left = self.cell_w[top], self.cell_w[left]
        cw_bias = self.cell_w[bias] if bias else 0.0
        left_w = k * cw_left + cw_bias

        def arrange(tx: float, ty: float, at: float | None = None) -> list[Block]:
            ones_h = 1 if bias else 0
            ry = ty + k + ones_h + GAP if at is None else at
            blocks = [self._block(out, tx, ry, out_shape, ("below", "right", "left"))]
            if bias and bias_shape is not None:
                blocks.append(Block(None, tx, ty + k, 1, n, cw_top, "row", "ones"))
                blocks.append(self._block(bias, tx - GAP - cw_bias, ry, bias_shape,
                                          ("above", "below")))
            blocks.append(self._block(left, tx - GAP - left_w, ry, left_shape,
                                      ("above", "left", "below")))
            return blocks

        placed = self.current.get(top)
        last_top, self.last_top = self.last_top, None
        if placed is not None and (placed.rows, placed.cols) == (k, n):
            blocks = arrange(placed.x, placed.y)
            if self.fits([b.rect for b in blocks]):
                self._commit(*blocks)
                self._crossing_arrows(blocks[0])
                self.last_top = (top, id(placed))
                return
            # the same right operand again in this band (multi-head's Wq·X, Wk·X, Wv·X; connections'
            # four wirings of one X): the next crossing under the last, in the same columns, rather
            # than X drawn again — column j of the result is still under column j of X
            if kind == "matmul" and placed.y >= self.band_top - 1e-6 and last_top == (top, id(placed)):
                above = self.plan.bottom()
                blocks = arrange(placed.x, placed.y, at=above + BAND_GAP)
                if self.fits([b.rect for b in blocks]):
                    self._commit(*blocks)
                    # → from the left operand only: ↓ arrows here would come out of the result
                    # above (Q → K); the top operand is named where they would be ("X ↓")
                    self._crossing_arrows(blocks[0], down=False)
                    self._name_the_top(blocks[0], [self.names.label(top)])
                    # one band (a page never breaks between a result and the operand on top of its
                    # column): a hairline at the column's right edge, which leaves room for names
                    self.plan.obstacles.append(Rect(placed.rect.right - 0.02, above, 0.02, blocks[0].y - GAP - above))
                    self.last_top = (top, id(placed))
                    return
        # a new band: the right operand (a first drawing, or a copy) on top
        ty = self._new_band()
        top_block = self._block(top, left_w + GAP, ty, top_shape, ("left", "above"))
        blocks = arrange(top_block.x, top_block.y)
        self._commit(top_block, *blocks)
        self._crossing_arrows(blocks[0])
        self.last_top = (top, id(top_block))

    def _name_the_top(self, result: Block, names: list[str]) -> None:
        """Over a result whose top operand is not right above it (drawn higher up, other blocks
        between): its name between two ↓ ("↓ X ↓", "↓ X₁ ; H₀ ↓") where the ↓ arrows would be."""
        word = f"↓ {' ; '.join(names)} ↓"
        w = 0.15 + LABEL_CHAR_W * len(word)
        mark = Rect(result.x + (result.rect.w - w) / 2, result.y - LABEL_H - 0.1, w, LABEL_H)
        if mark.x >= -1e-6 and mark.right <= self.max_width and self.plan.free([mark]):
            self._symbol(mark, "text", word, {"small": True})

    def _stacked_crossing(self, op: dict[str, Any]) -> None:
        """``[W2 | I | b2]`` on the left, ``[A1 ; X ; 1]`` on top, the result at the crossing."""
        lparts, tparts = self.parts[op["out"]]
        bias = op["in"][1] if op["op"] == "linear" else None
        out = op["out"]
        tshapes = [self._display_shape(t, "col") for t in tparts]
        lshapes = [self._display_shape(t, "row") for t in lparts]
        m, n = lshapes[0][0], tshapes[0][1]
        out_shape = self._fit_shape(out, m, n)
        bias_shape = self._fit_shape(bias, m, 1) if bias else None
        cw_top = self.cell_w[out]
        cw_bias = self.cell_w[bias] if bias else 0.0
        left_w = sum(s[1] * self.cell_w[t] for t, s in zip(lparts, lshapes)) + cw_bias

        def arrange(tx: float, ty: float, skip_first: bool) -> list[Block]:
            blocks, y = [], ty
            for i, (t, s) in enumerate(zip(tparts, tshapes)):
                if not (i == 0 and skip_first):
                    blocks.append(self._block(t, tx, y, s, ("left", "right", "above")))
                y += s[0]
            ry = y + (1 if bias else 0) + GAP
            result = self._block(out, tx, ry, out_shape, ("below", "right", "left"))
            blocks.insert(0, result)
            if bias and bias_shape is not None:
                blocks.append(Block(None, tx, y, 1, n, cw_top, "row", "ones"))
                blocks.append(self._block(bias, tx - GAP - cw_bias, ry, bias_shape, ("above", "below")))
            x = tx - GAP - left_w
            for t, s in zip(lparts, lshapes):
                blocks.append(self._block(t, x, ry, s, ("above", "below", "left")))
                x += s[1] * self.cell_w[t]
            return blocks

        placed = self.current.get(tparts[0])
        if placed is not None and (placed.rows, placed.cols) == tshapes[0][:2]:
            blocks = arrange(placed.x, placed.y, skip_first=True)
            if self.fits([b.rect for b in blocks]):
                self._commit(*blocks)
                self._crossing_arrows(blocks[0])
                return
        below = self._below_shared_column(op, tparts, tshapes, out_shape, bias_shape, left_w, lparts, lshapes)
        if below is not None:  # the same column again (an LSTM's gates): the next rows under it
            self._commit(*below)
            self._crossing_arrows(below[0], down=False)
            self._name_the_top(below[0], [self.names.label(t) for t in tparts])
            return
        blocks = arrange(left_w + GAP, self._new_band(), skip_first=False)
        self._commit(*blocks)
        self._crossing_arrows(blocks[0])

    def _below_shared_column(self, op: dict[str, Any], tparts: list[str], tshapes: list[tuple[int, int, str]],
                             out_shape: tuple[int, int, str], bias_shape: tuple[int, int, str] | None, left_w: float,
                             lparts: list[str], lshapes: list[tuple[int, int, str]]) -> list[Block] | None:
        """A joined column already drawn whole, with its row of 1s, that another crossing used
        (the published LSTM sheet: one ``[Xₜ ; Hₜ₋₁ ; 1]``, four gate blocks ``[W | U | b]``
        under it): the new weight rows and result go below everything in a band of their own,
        in the same column, rather than drawing the column again."""
        placed = [self.current.get(t) for t in tparts]
        if any(p is None for p in placed) or op["op"] != "linear":
            return None
        first = placed[0]
        assert first is not None
        y = first.y
        for p, s in zip(placed, tshapes):
            assert p is not None
            if abs(p.x - first.x) > 1e-9 or abs(p.y - y) > 1e-9 or (p.rows, p.cols) != s[:2]:
                return None
            y += s[0]
        used = any(o["op"] == "linear" and o["out"] != op["out"] and o["out"] in self.parts
                   and self.parts[o["out"]][1] == tparts and o["out"] in self.current for o in self.ex["ops"])
        if not used or first.x - GAP - left_w < -1e-9:
            return None
        tx, ry = first.x, self._new_band() + GAP
        bias = op["in"][1]
        cw_bias = self.cell_w[bias]
        blocks = [self._block(op["out"], tx, ry, out_shape, ("below", "right", "left"))]
        if bias_shape is not None:
            blocks.append(self._block(bias, tx - GAP - cw_bias, ry, bias_shape, ("above", "below")))
        x = tx - GAP - left_w
        for t, s in zip(lparts, lshapes):
            blocks.append(self._block(t, x, ry, s, ("above", "below", "left")))
            x += s[1] * self.cell_w[t]
        return blocks if self.fits([b.rect for b in blocks]) else None

    def _crossing_arrows(self, result: Block, extra: list[Block] | None = None, down: bool = True) -> None:
        """→ into each result row from the left, ↓ into each result column from the top (also
        into the columns of ``extra`` results of the same crossing, e.g. db beside dW)."""
        for r in range(result.rows):
            self.plan.arrows.append({"x": result.x - GAP, "y": result.y + r, "w": GAP, "h": 1,
                                     "dir": "right"})
        for block in [result, *(extra or [])] if down else []:
            for c in range(block.cols):
                self.plan.arrows.append({"x": block.x + c * block.cw, "y": block.y - GAP,
                                         "w": block.cw, "h": GAP, "dir": "down"})

    def _side(self, op: dict[str, Any]) -> None:
        """Unary op: ``input | symbol | output`` on the same rows."""
        src, out = op["in"][0], op["out"]
        placed = self.current.get(src)
        if op["op"] == "argsort":  # the word numbers go beside the sorted probabilities
            sort = next((o for o in self.ex["ops"] if o["op"] == "sort" and o["in"] == op["in"]), None)
            if sort is not None and sort["out"] in self.current:
                placed = self.current[sort["out"]]
        if placed is None:
            placed = self._standalone(src)
        blocks = self._side_blocks(op, placed)
        if not self.fits([b for b, _ in blocks]):
            copy = self._block(src, 0.0, self._new_band(),
                               (placed.rows, placed.cols, placed.orient), ("left", "above"))
            self._commit(copy)
            placed, blocks = copy, self._side_blocks(op, copy)
        (sym_rect, _), (out_rect, out_shape) = blocks
        self._symbol(sym_rect, op["op"], attrs=op.get("attrs") or {})
        self._commit(self._block(out, out_rect.x, out_rect.y, out_shape,
                                 ("above", "right", "below")))
        self.last_row = (out, out_rect.right, out_rect.y, self.plan.bottom())  # "Σ ÷ 8 = L" may go on beside it

    def _side_blocks(self, op: dict[str, Any], src: Block) -> list[tuple[Rect, Any]]:
        out = op["out"]
        if op["op"] == "transpose":
            out_shape = self._fit_shape(out, src.cols, src.rows)
        elif op["op"] == "sum":
            out_shape = self._fit_shape(out, 1, 1)
        elif op["op"] == "topk":
            out_shape = self._fit_shape(out, int((op.get("attrs") or {}).get("k", src.rows)), src.cols)
        else:
            out_shape = self._fit_shape(out, src.rows, src.cols)
        sym = Rect(src.rect.right + SIDE_GAP, src.y, SYMBOL_W, max(src.rows, out_shape[0]))
        out_rect = Rect(sym.right + SIDE_GAP, src.y, out_shape[1] * self.cell_w[out], out_shape[0])
        return [(sym, None), (out_rect, out_shape)]

    def _row(self, op: dict[str, Any]) -> None:
        """Any other op, in its own band: ``in0 ∘ in1 … = out`` (inputs may be copies).

        An op without inputs (``grad``) just shows its output; its name says what it is.  A stack
        shows only its result (its cells are the parts, one after the other).  A row wider than
        the page wraps: it goes on under itself, indented."""
        if not op["in"] or op["op"] == "stack":
            self._standalone(op["out"], shape_as="row" if op["op"] == "stack" else "col")
            return
        # the method's words between the blocks: "½ Σ (" Ŷ "−" Y ")² =", in the sheet's language already, so each
        # is measured as it will print ("causal mask (" is longer in Hindi and would wrap)
        words = [tr_phrases(w) for w in row_words(self.names, op)]
        if self._chain_row(op, words) or self._beside_row(op, words) or self._on_from_row(op, words):
            return
        y = self._new_band()
        x = 0.0
        line_bottom = y + 1.0
        top = y

        def put(w: float, h: float) -> tuple[float, float]:
            """Where the next item of width ``w`` goes (a new line when the page is full)."""
            nonlocal x, y, line_bottom
            if x > 0 and x + w > self.max_width:
                x, y = INFIX_W, line_bottom + LABEL_H * 2 + LABEL_PAD * 2
            at = (x, y)
            x += w
            line_bottom = max(line_bottom, y + h)
            return at

        for i, name in enumerate(op["in"]):
            if words[i]:
                w = max(INFIX_W, 0.15 + LABEL_CHAR_W * len(words[i]))
                self._symbol(Rect(*put(w, 1), w, 1), "text", words[i])
            shape = self._display_shape(name, "col")
            bx, by = put(shape[1] * self.cell_w[name], shape[0])
            self._commit(self._block(name, bx, by, shape, ("above", "below")))
        out_shape = self._display_shape(op["out"], "col")
        w_out = out_shape[1] * self.cell_w[op["out"]]
        w = max(INFIX_W, 0.15 + LABEL_CHAR_W * len(words[-1]))
        if x + w + w_out > self.max_width:
            x = self.max_width  # "= out" stays together on the next line
        self._symbol(Rect(*put(w, 1), w, 1), "text", words[-1])
        bx, by = put(w_out, out_shape[0])
        self._commit(self._block(op["out"], bx, by, out_shape, ("above", "below")))
        self.last_row = (op["out"], bx + w_out, by, self.plan.bottom())
        self.row_shelf = (bx + w_out, top, self.plan.bottom()) if by == top else None

    def _row_items(self, op: dict[str, Any], words: list[str]) -> list[tuple[str, str, float, tuple[int, int, str] | None]]:
        """The row ``w₀ [in₀] w₁ … = [out]`` as (kind, text or tensor, width, shape) in order."""
        items: list[tuple[str, str, float, tuple[int, int, str] | None]] = []
        for word, name in zip(words, [*op["in"], op["out"]]):
            if word or name == op["out"]:
                items.append(("word", word, max(INFIX_W, 0.15 + LABEL_CHAR_W * len(word)), None))
            shape = self._display_shape(name, "col")
            items.append(("block", name, shape[1] * self.cell_w[name], shape))
        return items

    def _beside_row(self, op: dict[str, Any], words: list[str]) -> bool:
        """A short row beside the one before it, in its band, where the page has room (next-token
        sampling's ``Z × 2 = Z/T`` and ``3 to the power Z/T = 3ᶻ``), rather than one narrow row a band."""
        shelf = self.row_shelf
        if shelf is None or shelf[2] != self.plan.bottom():
            return False
        items = self._row_items(op, words)
        x = shelf[0] + ROW_GAP
        width = sum(w for _k, _t, w, _s in items)
        beside = any(o["op"] in SIDE_OPS and o["in"][0] == op["out"] for o in self.ex["ops"])
        room = SIDE_GAP * 2 + SYMBOL_W + 2 * WIDE_CELL if beside else 0.0
        if x + width + room > self.max_width:
            return False
        rects = []
        for _kind, _text, w, shape in items:
            rects.append(Rect(x, shelf[1], w, shape[0] if shape else 1))
            x += w
        if not self.fits(rects):
            return False
        for (kind, text, _w, shape), r in zip(items, rects):
            if kind == "word":
                self._symbol(r, "text", text)
            else:
                assert shape is not None
                self._commit(self._block(text, r.x, r.y, shape, ("above", "below")))
        self.last_row = (op["out"], x, shelf[1], self.plan.bottom())
        self.row_shelf = (x, shelf[1], self.plan.bottom())
        return True

    def _chain_row(self, op: dict[str, Any], words: list[str]) -> bool:
        """``Z₁ + Z₂ = S`` then ``S + Z₃ = H`` on one line, ``Z₁ + Z₂ = S + Z₃ = H``: a row whose
        first input is the result the last row ended with (nothing drawn since, no word before it)
        goes on from there rather than draw that result again in a band of its own."""
        last = self.last_row
        if last is None or op["in"][0] != last[0] or words[0] or last[3] != self.plan.bottom():
            return False
        x, y = last[1], last[2]
        placed: list[tuple[str, Rect]] = []
        for word, name in zip(words[1:], [*op["in"][1:], op["out"]]):
            w = max(INFIX_W, 0.15 + LABEL_CHAR_W * len(word))
            placed.append((word, Rect(x, y, w, 1)))
            x += w
            shape = self._display_shape(name, "col")
            placed.append((name, Rect(x, y, shape[1] * self.cell_w[name], shape[0])))
            x += shape[1] * self.cell_w[name]
        # room on the line, and for what is drawn beside the result (an activation's column)
        beside = any(o["op"] in SIDE_OPS and o["in"][0] == op["out"] for o in self.ex["ops"])
        room = SIDE_GAP * 2 + SYMBOL_W + 2 * WIDE_CELL if beside else 0.0
        if x + room > self.max_width or not self.fits([r for _, r in placed]):
            return False
        for i, (item, rect) in enumerate(placed):
            if i % 2 == 0:
                self._symbol(rect, "text", item)
            else:
                self._commit(self._block(item, rect.x, rect.y, self._display_shape(item, "col"), ("above", "below")))
        self.last_row = (op["out"], x, y, self.plan.bottom())
        self.row_shelf = (x, y, self.plan.bottom()) if self.row_shelf is not None else None
        return True

    def _on_from_row(self, op: dict[str, Any], words: list[str]) -> bool:
        """``the padding ( X ) = Xₚ`` then ``the patches as columns ( Xₚ ) = C``: a one-input row
        whose input is the result the last row ended with (nothing drawn since) goes on from it
        on the same line, ``… = Xₚ  the patches as columns → C``, rather than draw Xₚ again in a
        band of its own (conv: the page holds the padding, the patches and the filter's crossing
        on one page). Only where the whole line fits the page, with room for what goes beside
        the result."""
        last = self.last_row
        if last is None or len(op["in"]) != 1 or op["in"][0] != last[0] or not words[0].endswith("(") \
                or last[3] != self.plan.bottom():
            return False
        x, y = last[1], last[2]
        say = words[0].rstrip(" (")  # "the patches as columns (": the words, then an arrow for the "( … ) ="
        shape = self._display_shape(op["out"], "col")
        beside = any(o["op"] in SIDE_OPS and o["in"][0] == op["out"] and o["out"] not in self.at_crossing
                     for o in self.ex["ops"])
        room = SIDE_GAP * 2 + SYMBOL_W + 2 * WIDE_CELL if beside else 0.0
        # the words and the arrow; where the line has no room for the words, the arrow alone when
        # the result's caption says what it is ("C (im2col: a patch per column)")
        tries = [say] + ([""] if self.names.caption(op["out"]) != self.names.label(op["out"]) else [])
        for said in tries:
            w_say = max(INFIX_W, 0.15 + LABEL_CHAR_W * len(said)) if said else 0.0
            rects = ([Rect(x + 0.2, y, w_say, 1)] if said else []) + [Rect(x + 0.2 + w_say, y, INFIX_W, 1)]
            out = Rect(rects[-1].right, y, shape[1] * self.cell_w[op["out"]], shape[0])
            if out.right + room <= self.max_width and self.fits([*rects, out]):
                break
        else:
            return False
        if said:
            self._symbol(rects[0], "text", said)
        self._symbol(rects[-1], "text", "→")
        self._commit(self._block(op["out"], out.x, out.y, shape, ("above", "below", "right")))
        self.last_row = (op["out"], out.right, y, self.plan.bottom())
        self.row_shelf = None
        return True

    def _standalone(self, name: str, shape_as: str = "col") -> Block:
        """A tensor on its own (a gradient, an orphan): side by side on a shelf, a new shelf when full."""
        shape = self._display_shape(name, shape_as)
        if shape[1] * self.cell_w[name] > self.max_width:
            shape = self._display_shape(name, "col")
        text = self.names.caption(name)
        span = max(shape[1] * self.cell_w[name], 0.15 + LABEL_CHAR_W * len(text))
        limit = max(max((o.right for o in self.plan.obstacles), default=0.0), self.shelf_width)
        s = self.shelf
        if s is not None and s[2] == self.plan.bottom() and s[0] + span <= limit \
                and self.plan.free([Rect(s[0], s[1], span, shape[0])]):
            x, y = s[0], s[1]
        else:
            x, y = 0.0, self._new_band()
        block = self._block(name, x, y, shape, ("above", "below", "left"))
        self._commit(block)
        self.shelf = (x + span + SHELF_GAP, y, self.plan.bottom())
        return block

    # -- the backward pass: every gradient cell at a crossing (backward-layout.md) --

    def _backward(self, grads: dict[str, str]) -> None:
        """Draw the gradients the way the forward pass is drawn, layer by layer from the loss:

        * the loss's gradient as ``P − Y = dZ`` (softmax + cross-entropy) or ``Ŷ − Y = dŶ``;
        * per linear layer ``Z = W·A + b``: ``[dW | db] = dZ · [Aᵀ | 1]`` as one crossing (dZ on
          the left, Aᵀ drawn as its own block on top with the forward's 1s as a column, so db
          falls out of the same crossing), and beside it ``dA = Wᵀ · dZ`` (Wᵀ on the left);
        * per ReLU ``A = ReLU(Z)``: ``dZ = dA ⊙ [Z > 0]``, the gate a block of 1/0 beside dA.

        Transposes and the gate are display copies of values the exercise holds (A, W, the sign
        of Z); nothing is computed that the engine did not.  Gradients of ops with no rule here
        (a joined block's) stay on the shelf."""
        if not grads:
            return
        ops = [op for op in self.ex["ops"] if op["op"] != "grad"]
        made_by = {op["out"]: op for op in ops}
        for op in ops:
            if op["op"] not in ("half_sse", "cross_entropy"):
                continue
            pred, target = op["in"][0], op["in"][1]
            src = made_by.get(pred)
            if op["op"] == "cross_entropy" and src is not None and src["op"] == "softmax" \
                    and src["in"][0] in grads and grads[src["in"][0]] not in self.current:
                self._difference(pred, target, grads[src["in"][0]])
            elif pred in grads and grads[pred] not in self.current:
                self._difference(pred, target, grads[pred])
        for op in reversed(ops):
            try:
                if op["op"] == "linear" and op["out"] not in self.parts:
                    self._backward_linear(op, grads)
                elif op["op"] == "linear":
                    self._backward_stacked(op, grads)
                elif op["op"] in CROSS_OUT_OPS:
                    self._backward_gate(op, grads)
                elif op["op"] == "matmul" and op["out"] in self.parts:  # an RNN step: d[H ; X] = [A | B]ᵀ·dZ
                    self._backward_stacked(op, grads)
                elif op["op"] == "matmul":  # W·A without a bias: as linear, dW = dZ·Aᵀ and dA = Wᵀ·dZ
                    self._backward_linear({**op, "in": [op["in"][0], None, op["in"][1]]}, grads)
            except ExerciseFormatError:
                continue  # shapes that do not cross as expected: the shelf still prints them
        try:
            self._backward_over_time(grads)
        except ExerciseFormatError:
            pass  # the shelf still prints it

    def _difference(self, pred: str, target: str, out: str) -> None:
        """``pred − Y = out`` in a band of its own: the gradient the backward pass starts from."""
        shapes = [self._display_shape(t, "col") for t in (pred, target)]
        out_shape = self._fit_shape(out, shapes[0][0], shapes[0][1])
        y = self._new_band()
        x = 0.0
        for i, (name, shape) in enumerate(zip((pred, target), shapes)):
            if i:
                self._symbol(Rect(x, y, INFIX_W, 1), "text", "−")
                x += INFIX_W
            b = self._block(name, x, y, shape, ("above", "below"))
            self._commit(b)
            x = b.rect.right
        self._symbol(Rect(x, y, INFIX_W, 1), "text", "=")
        self._commit(self._block(out, x + INFIX_W, y, out_shape, ("above", "below")))

    def _backward_linear(self, op: dict[str, Any], grads: dict[str, str]) -> None:
        w, b, a = op["in"]
        dz = grads.get(op["out"])
        dw, db = grads.get(w), grads.get(b)
        if dz is None:
            return
        m, n, z_orient = self._display_shape(dz, "col")
        k, n_a, a_orient = self._display_shape(a, "col")
        if n_a != n:
            raise ExerciseFormatError("the layer's input and its gradient do not line up")
        if dw is None or dw in self.current:
            self._backward_input(op, grads, 0.0, None)
            return
        dw_shape = self._fit_shape(dw, m, k)
        db_shape = self._fit_shape(db, m, 1) if db is not None and db not in self.current else None
        at_orient = {"matrix": "matrixT", "col": "row"}.get(a_orient)
        if at_orient is None:
            raise ExerciseFormatError("no transpose to draw")
        cw_w = self.cell_w[a]  # Aᵀ's columns are dW's: one width (see _cell_widths)
        cw_b = self.cell_w[db] if db_shape is not None and db is not None else 0.0
        cw_z = self.cell_w[dz]

        # [dW | db] = dZ · [Aᵀ | 1]
        y0 = self._new_band()
        tx = n * cw_z + GAP
        ry = y0 + n + GAP
        a_label = transposed(self.names.label(a))
        blocks = [
            Block(dw, tx, ry, m, k, cw_w, dw_shape[2], self.style[dw], ("below", "right")),
            self._block(dz, 0.0, ry, (m, n, z_orient), ("left", "below", "above")),
            Block(a, tx, y0, n, k, cw_w, at_orient, self.style[a], ("above", "left"),
                  self.depth.get(a, 0), label=a_label),
        ]
        if db_shape is not None and db is not None:
            blocks.append(Block(None, tx + k * cw_w, y0, n, 1, cw_b, "col", "ones"))
            blocks.append(Block(db, tx + k * cw_w, ry, m, 1, cw_b, db_shape[2], self.style[db],
                                ("below", "right")))
        self._commit(*blocks)
        self._crossing_arrows(blocks[0], extra=blocks[4:5])

        right = max(bl.rect.right for bl in blocks) + SHELF_GAP + LABEL_CHAR_W * 4
        self._backward_input(op, grads, right, y0)

    def _backward_stacked(self, op: dict[str, Any], grads: dict[str, str]) -> None:
        """At a skip's "+": ``d[A ; X] = [W | I]ᵀ · dZ`` — dZ on top, Wᵀ above Iᵀ on the left; the
        top rows go back through f (to A), the bottom rows down the skip, unchanged (to X)."""
        lparts, tparts = self.parts[op["out"]]
        joined = op["in"][-1]
        dz, dj = grads.get(op["out"]), grads.get(joined)
        if dz is None or dj is None or dj in self.current:
            return
        m, n, z_orient = self._display_shape(dz, "col")
        shapes = [self._display_shape(t, "row") for t in lparts]
        if any(sh[2] != "matrix" or sh[0] != m for sh in shapes):
            raise ExerciseFormatError("the joined block does not line up with its gradient")
        big_k = sum(sh[1] for sh in shapes)
        dj_shape = self._fit_shape(dj, big_k, n)
        cw_left = max(self.cell_w[t] for t in lparts)
        cw_dj = self.cell_w[dj]
        y0 = self._new_band()
        tx = m * cw_left + GAP
        ry = y0 + m + GAP
        blocks = [
            Block(dj, tx, ry, big_k, n, cw_dj, dj_shape[2], self.style[dj], ("below", "right")),
            Block(dz, tx, y0, m, n, cw_dj, z_orient, self.style[dz], ("left", "above", "right")),
        ]
        y = ry
        for t, sh in zip(lparts, shapes):
            blocks.append(Block(t, 0.0, y, sh[1], m, cw_left, "matrixT", self.style[t], ("left", "above"),
                                label=transposed(self.names.label(t))))
            y += sh[1]
        self._commit(*blocks)
        self._crossing_arrows(blocks[0])

    def _backward_over_time(self, grads: dict[str, str]) -> None:
        """A joined weight used at every time step (an RNN's ``[A | B]``): its gradient adds up
        over the steps, ``d[A | B] = Σₜ dZₜ·[Hₜ₋₁ ; Xₜ]ᵀ``, drawn as one crossing with the steps side
        by side as a batch: ``[dZ₁ | dZ₂ | …]`` on the left, the rows ``[Hₜ₋₁ᵀ | Xₜᵀ]`` on top."""
        uses: dict[str, list[dict[str, Any]]] = {}
        for op in self.ex["ops"]:
            if op["op"] == "matmul" and op["out"] in self.parts:
                uses.setdefault(op["in"][0], []).append(op)
        for w, ops in uses.items():
            dw = grads.get(w)
            steps = [(grads[op["out"]], op) for op in ops if op["out"] in grads]
            if dw is None or dw in self.current or len(steps) < 2:
                continue
            m, k, w_orient = self._display_shape(dw, "col")
            if w_orient != "matrix":
                raise ExerciseFormatError("the shared weight's gradient is not a matrix")
            dw_shape = self._fit_shape(dw, m, k)
            cw_z = max(self.cell_w[dz] for dz, _ in steps)
            tparts_all = [self.parts[op["out"]][1] for _, op in steps]
            cw_w = self.cell_w[dw]  # the steps' [Hₜ₋₁ ; Xₜ] share its columns (see _cell_widths)
            if any(self.cell_w[t] != cw_w for tp in tparts_all for t in tp):
                raise ExerciseFormatError("the steps' columns and the weight's are not one width")
            widths = []
            for dz, _op in steps:
                mz, nz, _o = self._display_shape(dz, "col")
                if mz != m:
                    raise ExerciseFormatError("a step's gradient does not line up with the weight's")
                widths.append(nz)
            y0 = self._new_band()
            tx = sum(widths) * cw_z + GAP
            ry = y0 + sum(widths) + GAP
            blocks = [Block(dw, tx, ry, m, k, cw_w, dw_shape[2], self.style[dw], ("below", "right"))]
            x, y = 0.0, y0
            for (dz, op), nz in zip(steps, widths):
                z_orient = self._display_shape(dz, "col")[2]
                blocks.append(Block(dz, x, ry, m, nz, cw_z, z_orient, self.style[dz], ("below", "above")))
                cx = tx
                for t in self.parts[op["out"]][1]:  # [Hₜ₋₁ ; Xₜ]ᵀ as its parts, side by side
                    rows, _c, orient = self._display_shape(t, "col")
                    t_orient = {"matrix": "matrixT", "col": "row"}.get(orient)
                    if t_orient is None:
                        raise ExerciseFormatError("no transpose to draw")
                    blocks.append(Block(t, cx, y, nz, rows, cw_w, t_orient, self.style[t], ("left", "above"),
                                        self.depth.get(t, 0), label=transposed(self.names.label(t))))
                    cx += rows * cw_w
                if abs(cx - tx - k * cw_w) > 1e-9:
                    raise ExerciseFormatError("the steps' columns do not line up with the weight's")
                x += nz * cw_z
                y += nz
            self._commit(*blocks)
            self._crossing_arrows(blocks[0])

    def _consumers(self, name: str) -> list[dict[str, Any]]:
        return [op for op in self.ex["ops"] if op["op"] != "grad" and name in op["in"]]

    def _skip_into(self, a: str, grads: dict[str, str]) -> tuple[str, int, str] | None:
        """Where ``a`` also goes down a skip: (the joined grad d[… ; a], a's first row in it, I)."""
        for j, (lparts, tparts) in self.parts.items():
            if a not in tparts:
                continue
            joined = next(op["in"][-1] for op in self.ex["ops"] if op["out"] == j)
            part = tparts.index(a)
            ident = lparts[part]
            dj = grads.get(joined)
            if dj is None or dj not in self.current or not _is_identity(self.tensors[ident]["values"]):
                return None
            row0 = sum(self._display_shape(t, "col")[0] for t in tparts[:part])
            return dj, row0, ident
        return None

    def _backward_input(self, op: dict[str, Any], grads: dict[str, str], x0: float, y0: float | None) -> None:
        """``dA = Wᵀ · dZ`` as a crossing (Wᵀ on the left, dZ on top); where A also went down a
        skip, the gradient arriving there is added in the same crossing:
        ``dA = [Wᵀ | I] · [dZ ; the skip's rows of d[… ; A]]`` — both ways meet at A."""
        w, _b, a = op["in"]
        dz, da = grads.get(op["out"]), grads.get(a)
        if dz is None or da is None or da in self.current:
            return
        skip = self._skip_into(a, grads)
        if skip is None and len(self._consumers(a)) > 1:
            return  # A feeds something else too: Wᵀ·dZ alone is not its gradient (the shelf has it)
        m, n, z_orient = self._display_shape(dz, "col")
        w_rows, w_cols, w_orient = self._display_shape(w, "row")
        if w_orient != "matrix":
            raise ExerciseFormatError("no transpose of W to draw")
        k = w_cols
        if skip is not None and _shape(self.tensors[skip[2]]["values"]) != (k, k):
            return  # no identity of the right size to add the skip with: the shelf has it
        da_shape = self._fit_shape(da, k, n)
        cw_wt = self.cell_w[w]
        cw_da = self.cell_w[da]  # dZ's columns are dA's: one width (see _cell_widths)

        def arrange(x: float, y: float) -> list[Block]:
            left_w = m * cw_wt + (k * self.cell_w[skip[2]] if skip else 0.0)
            tx2 = x + left_w + GAP
            top_h = m + (k if skip else 0)
            ry2 = y + top_h + GAP
            out = [
                Block(da, tx2, ry2, k, n, cw_da, da_shape[2], self.style[da], ("below", "right", "left")),
                Block(dz, tx2, y, m, n, cw_da, z_orient, self.style[dz], ("left", "right", "above")),
                Block(w, x, ry2, k, m, cw_wt, "matrixT", self.style[w], ("left", "above", "below"),
                      label=transposed(self.names.label(w))),
            ]
            if skip:
                dj, row0, ident = skip
                out.append(Block(dj, tx2, y + m, k, n, cw_da, "matrix", self.style[dj], ("left", "right"),
                                 label=f"{self.names.label(dj)} (rows {row0 + 1}–{row0 + k}: the skip)",
                                 row0=row0))
                out.append(self._block(ident, x + m * cw_wt, ry2, (k, k, "matrix"), ("above", "below")))
            return out

        placed = arrange(x0, y0) if y0 is not None else []
        if not placed or not self.fits([bl.rect for bl in placed]):
            placed = arrange(0.0, self._new_band())
        self._commit(*placed)
        self._crossing_arrows(placed[0])

    def _gate_op(self, op: dict[str, Any]) -> None:
        """``relu_gate(dA, Z)`` (gan): the same picture as ReLU's step in the backward pass."""
        da, z = op["in"]
        self._backward_gate({"op": "relu", "in": [z], "out": "\0act"}, {"\0act": da, z: op["out"]})
        if op["out"] not in self.current:
            raise ExerciseFormatError("relu_gate: its gradient was not drawn")

    def _backward_gate(self, op: dict[str, Any], grads: dict[str, str]) -> None:
        """``dZ = dA ⊙ [Z > 0]``: dA, the gate (1 where Z > 0, else 0 or the slope), then dZ."""
        z, act = op["in"][0], op["out"]
        da, dz = grads.get(act), grads.get(z)
        if da is None or dz is None or dz in self.current:
            return
        src = self.current.get(da)
        if src is None:  # not drawn yet (the top rows of a joined gradient): a copy of its own
            src = self._block(da, 0.0, self._new_band(), self._display_shape(da, "col"), ("left", "above"))
            self._commit(src)
        alpha = (op.get("attrs") or {}).get("alpha", "1/10") if op["op"] == "leaky_relu" else 0
        rows, cols, orient = src.rows, src.cols, src.orient
        dz_shape = self._fit_shape(dz, rows, cols)

        def arrange(x0: float, y: float) -> list[tuple[str, Rect]]:
            x = x0 + SIDE_GAP
            items = [("times", Rect(x, y, INFIX_W, 1))]
            x += INFIX_W
            items.append(("gate", Rect(x, y, cols * 1.0, rows)))
            x += cols * 1.0
            items.append(("eq", Rect(x, y, INFIX_W, 1)))
            x += INFIX_W
            items.append(("out", Rect(x, y, cols * self.cell_w[dz], rows)))
            return items

        items = arrange(src.rect.right + LABEL_CHAR_W * 4, src.y)
        if not self.fits([r for _, r in items]):
            copy = self._block(da, 0.0, self._new_band(), (rows, cols, orient), ("left", "above"))
            self._commit(copy)
            src = copy
            items = arrange(src.rect.right, src.y)
        pos = dict(items)
        self._symbol(pos["times"], "text", "⊙")
        gate_label = f"[{self.names.label(z)} > 0]"
        self._commit(Block(None, pos["gate"].x, pos["gate"].y, rows, cols, 1.0, orient, "gate",
                           ("above", "below"), label=gate_label, gate=(z, alpha)))
        self._symbol(pos["eq"], "text", "=")
        self._commit(self._block(dz, pos["out"].x, pos["out"].y, dz_shape, ("above", "right", "below")))

    # -- labels, placed after every block so they never push blocks around --

    def _apart(self, r: Rect) -> bool:
        """A name a little apart from the names already placed on its line ("W₆ b₆", never "W₆b₆")."""
        wide = _widened(r, LABEL_GAP)
        return not any(wide.overlaps(Rect(lbl["x"], lbl["y"], lbl["w"], lbl["h"])) for lbl in self.plan.labels)

    def _place_labels(self) -> None:
        for block in self.plan.blocks:
            if block.label is not None:
                texts = [block.label]
            elif block.tensor is None:
                continue
            else:  # the caption with its note ("Z₂ (f + the skip)"), or the bare name where it is tight
                texts = list(dict.fromkeys([self.names.caption(block.tensor),
                                            self.names.label(block.tensor)]))
            chosen = None
            # touching the block first, the short name rather than the caption further out (a name
            # one line away reads as the neighbour's: transformer's "R (X + Z …)" over Z's name)
            for near in (True, False):
                for text in texts:
                    candidates = _label_candidates(block, 0.15 + LABEL_CHAR_W * len(text), near)
                    chosen = next(((s, r) for s, r in candidates if self.plan.free([r]) and self._apart(r)
                                   and r.x >= -1e-6 and r.right <= self.max_width + 1e-6), None)
                    if chosen is not None:
                        break
                if chosen is not None:
                    break
            if chosen is None:
                text = texts[0]
                chosen = next(_label_candidates(block, 0.15 + LABEL_CHAR_W * len(text)))
                self.plan.warnings.append(f"label {text!r} overlaps another item")
            side, rect = chosen
            self.plan.obstacles.append(rect)
            self.plan.labels.append({"x": rect.x, "y": rect.y, "w": rect.w, "h": rect.h,
                                     "side": side, "text": text})


def _widened(r: Rect, d: float) -> Rect:
    return Rect(r.x - d, r.y, r.w + 2 * d, r.h)


def bands(rects: list[Rect]) -> list[dict[str, float]]:
    """The horizontal strips of a drawing: no item crosses the line between two of them, so a page
    may break there (at a layer boundary).  Each ``{"y": top, "h": height}``, top to bottom."""
    out: list[list[float]] = []
    for r in sorted(rects, key=lambda r: r.y):
        if out and r.y < out[-1][1] + BAND_CUT:
            out[-1][1] = max(out[-1][1], r.bottom)
        else:
            out.append([r.y, r.bottom])
    return [{"y": y0, "h": y1 - y0} for y0, y1 in out]


def cell_key(tensor: str, index: tuple[int, ...] | list[int]) -> str:
    """A cell as one string, ``"W1:0,2"`` (a scalar: ``"L:"``), as lecture frames name cells."""
    return f"{tensor}:{','.join(map(str, index))}"


def _label_candidates(block: Block, width: float, near: bool = False) -> Iterator[tuple[str, Rect]]:
    """Where a block's name may go, best first: its preferred sides, then the others, then shifted
    along the block's edge, then (unless ``near``) one label-height further out (never on another item).

    A generator: the first free place is nearly always among the first few, so the rest are never built."""
    sides = list(block.label_prefs) + [s for s in ("above", "below", "left", "right") if s not in block.label_prefs]
    first = [_label_rect(block, side, width) for side in sides]
    yield from first
    r = block.rect
    for side, rect in first:
        if side in ("above", "below") and width < r.w + 2:
            yield side, Rect(r.right - width, rect.y, width, rect.h)
    if near:
        return
    for step in (1, 2):
        d = step * (LABEL_H + LABEL_PAD)
        for side, rect in first:
            dx = {"left": -d, "right": d}.get(side, 0.0)
            dy = {"above": -d, "below": d}.get(side, 0.0)
            yield side, Rect(rect.x + dx, rect.y + dy, rect.w, rect.h)


def _label_rect(block: Block, side: str, width: float) -> tuple[str, Rect]:
    r = block.rect
    if side == "above":
        return side, Rect(r.x, r.y - LABEL_H - LABEL_PAD, width, LABEL_H)
    if side == "below":
        return side, Rect(r.x, r.bottom + LABEL_PAD, width, LABEL_H)
    if side == "left":
        return side, Rect(r.x - width - LABEL_PAD, r.y + r.h / 2 - LABEL_H / 2, width, LABEL_H)
    if side == "right":
        return side, Rect(r.right + LABEL_PAD, r.y + r.h / 2 - LABEL_H / 2, width, LABEL_H)
    raise ValueError(side)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [v for item in values for v in _flatten(item)]
    return [values]


def _is_identity(values: Any) -> bool:
    shape = _shape(values)
    return len(shape) == 2 and shape[0] == shape[1] and all(
        _exact(values[i][j], 0) == (1 if i == j else 0) for i in range(shape[0]) for j in range(shape[1]))


def _inexact(v: Any) -> bool:
    """A value that is not an integer (a fraction or a decimal)."""
    if isinstance(v, float):
        return not v.is_integer()
    return isinstance(v, str) and not _is_int_text(v)


def _is_int_text(v: Any) -> bool:
    if isinstance(v, str):
        try:
            return Fraction(v).denominator == 1
        except ValueError:
            return False
    return False


# --- formulas (the same graph that computed the numbers names them) ---------------------------


# --- identity ----------------------------------------------------------------------------------


def identity(exercise: dict[str, Any]) -> str:
    """The string the QR code encodes, e.g. ``byhand:linear:seed=7:level=easy:v=0.1.0``: the exercise's
    own ``identity`` field when it has one (the same string as the CLI's key header)."""
    if isinstance(exercise.get("identity"), str):
        return str(exercise["identity"])
    generator = str(exercise.get("generator", "byhand"))
    version = generator.split()[-1] if generator.startswith("byhand ") else generator
    return (f"byhand:{exercise.get('topic', '?')}:seed={exercise.get('seed', '?')}"
            f":level={exercise.get('level', '?')}:v={version}")


def qr_svg(text: str) -> str:
    """A plain black-on-white QR code as SVG text (deterministic; no quiet zone)."""
    # zxing-cpp's encoder (C++): the QR codes were the largest part of planning a class set in pure
    # Python (segno, about 1 ms each). Error correction M, as before; its mixed segments (bytes for
    # the prefix, alphanumeric for the code) give a smaller symbol (25 modules, not 29), which only
    # makes each module larger at the same printed size
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, options="ecLevel=M")
    image = memoryview(symbol.to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]  # a buffer of bytes
    size = len(image)  # square: one row per module
    pixels = image.tobytes()  # one byte per module, 0 dark, 255 light
    # one path of the dark runs of each row
    runs = []
    for y in range(size):
        row = pixels[y * size : (y + 1) * size]
        x = 0
        while x < size:
            if row[x] == 0:
                start = x
                while x < size and row[x] == 0:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
            f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(runs)}"/></svg>')


# --- public ------------------------------------------------------------------------------------


def validate(exercise: dict[str, Any]) -> None:
    """Check the parts of ``byhand-exercise/1`` the printer relies on; raise if absent."""
    if exercise.get("format") != "byhand-exercise/1":
        raise ExerciseFormatError(M_("format must be 'byhand-exercise/1', got {got!r}", got=exercise.get("format")))
    tensors = exercise.get("tensors")
    if not isinstance(tensors, dict) or not tensors:
        raise ExerciseFormatError("'tensors' must be a non-empty object")
    for name, t in tensors.items():
        if not isinstance(t, dict) or "values" not in t:
            raise ExerciseFormatError(M_("tensor {name!r} has no 'values'", name=name))
        _shape(t["values"])
    for op in exercise.get("ops", []):
        for ref in [*op.get("in", []), op.get("out")]:
            if ref not in tensors:
                raise ExerciseFormatError(M_("op {op!r} names unknown tensor {ref!r}", op=op.get("op"), ref=ref))
        if op["op"] == "linear" and len(op["in"]) != 3:
            raise ExerciseFormatError("linear takes in: [W, b, X]")
        if op["op"] in ("matmul", "dot") and len(op["in"]) != 2:
            raise ExerciseFormatError(M_("{op} takes two inputs", op=op["op"]))
    badges = set()
    for blank in exercise.get("blanks", []):
        badge = blank.get("badge")
        if not isinstance(badge, int) or badge in badges:
            raise ExerciseFormatError(M_("blank badge must be a unique int, got {badge!r}", badge=badge))
        badges.add(badge)
        for tensor, index in blank.get("cells", []):
            if tensor not in tensors:
                raise ExerciseFormatError(M_("blank {badge}: unknown tensor {tensor!r}", badge=badge, tensor=tensor))
            try:
                _at(tensors[tensor]["values"], tuple(index))
            except (IndexError, TypeError) as exc:
                raise ExerciseFormatError(M_("blank {badge}: no cell {index} in {tensor!r}", badge=badge, index=index,
                                             tensor=tensor)) from exc


def plan_exercise(exercise: dict[str, Any], number: int | str, *, key: bool = False,
                  with_answers: bool = True, chapter: str | None = None,
                  diagram: str | None = None, shelf_width: float = SHELF_MIN_W,
                  max_width: float = PAGE_WIDTH) -> dict[str, Any]:
    """Print plan of one exercise (JSON-able).

    ``key`` fills the blanks with their answers and crosses out ReLU's negatives;
    ``with_answers`` lists the answers for the page's answer strip.  When both are off the plan
    holds no answer at all, so the PDF cannot leak one.  ``diagram`` is an SVG drawn under the
    grid (the whiteboard diagram of :func:`byhand.render.diagram.diagram_svg`), scaled to fit.
    ``shelf_width`` is how wide (in cells) a shelf of standalone tensors (gradients) may grow when
    the rest of the drawing is narrower: wider for a 16:9 slide than for a portrait page.
    ``max_width`` (cells) is the widest the drawing may grow: at the floor pitch it fills the
    page's text width; a staircase that would grow wider goes on in a new band below.
    The plan's ``bands`` are the horizontal strips between which a page may break.
    """
    validate(exercise)
    precision = int(exercise.get("precision", 3))
    planner = _Planner(exercise, shelf_width, max_width)
    plan = planner.run()
    joined = planner.joined()
    tensors = exercise["tensors"]

    badge_of: dict[tuple[str, tuple[int, ...]], int] = {}
    answer_of: dict[int, dict[str, Any]] = {}
    for blank in exercise.get("blanks", []):
        answer_of[blank["badge"]] = value_atom(blank.get("answer"), precision)
        for tensor, index in blank["cells"]:
            badge_of[(tensor, tuple(index))] = blank["badge"]

    crossed_from = {op["out"]: op["in"][0] for op in exercise["ops"] if op["op"] in CROSS_OUT_OPS}
    masked_from = {op["out"]: op["in"][0] for op in exercise["ops"] if op["op"] == "mask_causal"}

    def drawing(plan: Plan) -> dict[str, Any]:
        """Where everything of ``plan`` goes, shifted so the drawing starts at (0, 0)."""
        # shift everything so the drawing starts at (0, 0); obstacles hold blocks, labels, symbols
        items = plan.obstacles + [Rect(a["x"], a["y"], a["w"], a["h"]) for a in plan.arrows]
        min_x = min(r.x for r in items)
        min_y = min(r.y for r in items)
        width = max(r.right for r in items) - min_x
        height = max(r.bottom for r in items) - min_y

        blocks_out = []
        # a blank is a numbered box once, where it is first drawn (where it is worked out); a block
        # drawn again (the next layer's input on top of a continued page, a transpose, a copy laid
        # out as a map) shows that cell as a grey copy with no box and no number, so a student
        # never meets the same blank twice (the key prints the copy's value in grey)
        boxed: set[int] = set()
        copied = False
        for b in plan.blocks:
            cells = []
            for r in range(b.rows):
                for c in range(b.cols):
                    cell: dict[str, Any] = {"r": r, "c": c}
                    if b.gate is not None:  # ReLU's gate: 1 where Z > 0, else 0 (or the slope)
                        z, alpha = b.gate
                        index = b.index_of(r, c)
                        cell["g"] = list(index)  # the Z cell it reads (a lecture frame lights it when used)
                        if key or (z, index) not in badge_of:  # the sign of a hidden Z is not given away
                            positive = not _is_negative(_at(tensors[z]["values"], index)) and \
                                _at(tensors[z]["values"], index) not in (0, "0")
                            cell["v"] = value_atom(1 if positive else alpha, precision)
                    elif b.tensor is None:
                        cell["v"] = {"k": "int", "s": "1"}
                    else:
                        index = b.index_of(r, c)
                        cell["i"] = list(index)
                        badge = badge_of.get((b.tensor, index))
                        if badge is not None and badge in boxed:
                            cell["copy"] = copied = True
                            if key:
                                cell["v"] = answer_of[badge]
                        elif badge is not None:
                            boxed.add(badge)
                            cell["badge"] = badge
                            if key:
                                cell["v"] = answer_of[badge]
                        else:
                            cell["v"] = value_atom(_at(tensors[b.tensor]["values"], index), precision)
                        src = crossed_from.get(b.tensor) if b.label is None else None
                        if key and src is not None:
                            before = _at(tensors[src]["values"], index)
                            if _is_negative(before):
                                cell["struck"] = value_atom(before, precision)
                        src = masked_from.get(b.tensor) if b.label is None else None
                        if key and src is not None and index[0] > index[1]:  # a future key: its 3ᶻ crossed out
                            cell["struck"] = value_atom(_at(tensors[src]["values"], index), precision)
                    cells.append(cell)
            blocks_out.append({
                "label": b.label,
                "tensor": b.tensor, "x": b.x - min_x, "y": b.y - min_y, "rows": b.rows,
                "cols": b.cols, "cw": b.cw, "style": b.style, "depth": b.depth, "cells": cells,
                **({"gate": b.gate[0]} if b.gate is not None else {}),
            })

        def shifted(item: dict[str, Any]) -> dict[str, Any]:
            return {**item, "x": item["x"] - min_x, "y": item["y"] - min_y}

        return {
            "copied": copied,
            "canvas": {"width": width, "height": height},
            "bands": bands([Rect(r.x - min_x, r.y - min_y, r.w, r.h) for r in items]),
            "blocks": blocks_out,
            "labels": [shifted(lbl) for lbl in plan.labels],
            "symbols": [shifted(s) for s in plan.symbols],
            "arrows": [shifted(a) for a in plan.arrows],
        }

    main = drawing(plan)
    blocks_out = main["blocks"]
    # one piece that may not share a page with its answer strip (mlp, wide at hard): the same
    # drawing broken at a layer boundary too (the next layer's input drawn again on top), which
    # the template uses only when the one piece and the strip do not fit on one page
    split = None
    if with_answers and answer_of and len(main["bands"]) == 1 and \
            _crowds_page(main["canvas"]["height"], len(answer_of), diagram is not None):
        limit = float(int(main["canvas"]["height"]))
        while split is None and limit >= 4:
            alt = drawing(_Planner(exercise, shelf_width, max_width, max_band_h=limit).run())
            if len(alt["bands"]) >= 2:
                split = alt
            limit -= 1.0
    styles_used = {b["style"] for b in blocks_out}
    ident = identity(exercise)
    minutes = exercise.get("minutes")
    return {
        "kind": "exercise",
        "number": str(number),
        "chapter": chapter,
        "instructions": str(exercise.get("instructions") or ""),
        "title": exercise.get("title") or exercise.get("topic", ""),
        "topic": exercise.get("topic", ""),
        "seed": exercise.get("seed") if exercise.get("seed") is not None else "custom",
        "level": exercise.get("level", ""),
        "generator": exercise.get("generator", ""),
        "identity": ident,
        "qr_svg": qr_svg(ident),
        "formulas": [op_pieces(planner.names, op) for op in exercise["ops"] if op["out"] not in joined],
        "legend": [{"style": s, "text": LEGEND_TEXT[s]} for s in STYLES
                   if s in styles_used and s in LEGEND_TEXT]
                  + ([{"style": "copy", "text": LEGEND_TEXT["copy"]}] if main["copied"] or (split or {}).get("copied") else []),
        "minutes": minutes if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) else None,
        **main,
        **({"split": split} if split is not None else {}),
        "diagram": _diagram(diagram if diagram is None or key else mask_svg(
            diagram, {v for b in exercise.get("blanks", []) if (v := _exact(b.get("answer"), precision)) is not None},
            precision)),
        "copies": {cell_key(*c): cell_key(*src) for c, src in sorted(planner.alias.items())},
        "blank_count": len(answer_of),
        "answers": ([{"badge": b, "answer": answer_of[b]} for b in sorted(answer_of)]
                    if with_answers else []),
        "warnings": plan.warnings,
    }


def _crowds_page(height: float, answers: int, diagram: bool) -> bool:
    """Whether a grid ``height`` cells tall, with its head, foot and a strip of ``answers`` answers,
    may fill a portrait page (Letter's 249 mm of text height, less a sheet's head), at the floor
    pitch. Generous: it only decides whether a split drawing is offered; the template measures."""
    strip_mm = 10 + -(-answers // 20) * 24
    return 50 + height * MIN_PITCH_MM + 12 + (63 if diagram else 0) + strip_mm > 225


_SVG_TEXT = re.compile(r"(<text\b[^>]*>)(.*?)(</text>)", re.S)
_MARKED = re.compile(r"(<tspan class='a'>)(.*?)(</tspan>)", re.S)
_NUMBER = re.compile(r"(?<![\w.⁰¹²³⁴⁵⁶⁷⁸⁹/])[−-]?\d+(?:/\d+|\.\d+)?(?![\w/⁰¹²³⁴⁵⁶⁷⁸⁹])")


def _exact(value: Any, precision: int) -> Fraction | None:
    """A value as a fraction, the way the sheet writes it (decimals to ``precision`` places)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = f"{value:.{precision}f}"
    try:
        return Fraction(str(value).replace("−", "-").strip())
    except ValueError:
        return None


def mask_svg(svg: str, answers: set[Fraction], precision: int) -> str:
    """The diagram for a student: every number in its text that equals an answer becomes "?".

    Only the SVG's ``<text>`` content changes (a given number equal to some answer is hidden too:
    safe rather than sorry), so the picture stays the same."""

    def number(m: re.Match[str]) -> str:
        return "?" if _exact(m.group(0), precision) in answers else m.group(0)

    def text(m: re.Match[str]) -> str:
        return m.group(1) + _NUMBER.sub(number, m.group(2)) + m.group(3)

    if _MARKED.search(svg):  # the diagram marks its computed numbers: only those may be hidden
        return _MARKED.sub(text, svg)
    return _SVG_TEXT.sub(text, svg)


def _diagram(svg: str | None) -> dict[str, Any] | None:
    """An SVG to draw under the grid, with its natural size in px (from its width/height), its words lifted out.

    Each ``<text>`` leaves the picture for ``texts`` (position, anchor, size, weight, fill and its words, as the
    student's copy shows them): the template places them over the picture in the sheet's own font, because Typst
    (usvg) breaks Devanagari and Bengali clusters inside an SVG, while the page's own text is shaped right."""
    if not svg:
        return None
    head = svg[: svg.find(">") + 1]
    size = {}
    for attr in ("width", "height"):
        at = head.find(f" {attr}=")
        if at < 0:
            raise ExerciseFormatError(M_("the diagram SVG has no {attr}", attr=attr))
        quote = head[at + len(attr) + 2]
        text = head[at + len(attr) + 3: head.index(quote, at + len(attr) + 3)]
        try:
            size[attr] = float(text.removesuffix("px"))
        except ValueError as exc:
            raise ExerciseFormatError(M_("the diagram SVG has {attr}={text!r}; give it in px", attr=attr, text=text)) from exc
    if not _liftable(head, svg, size["width"], size["height"]):  # another SVG: Typst draws its words itself
        return {"svg": svg, "w": size["width"], "h": size["height"], "texts": []}
    texts: list[dict[str, Any]] = []

    def lift(m: re.Match[str]) -> str:
        words = " ".join(unescape(_TAG.sub("", m.group(2))).split())  # SVG's own spacing: runs of space are one
        if words:
            texts.append(_svg_text(m.group(1), words))
        return ""

    art = _SVG_TEXT.sub(lift, svg)
    return {"svg": art, "w": size["width"], "h": size["height"], "texts": texts}


def _liftable(head: str, svg: str, width: float, height: float) -> bool:
    """Whether each word's x and y are the picture's px (byhand's diagrams): no viewBox other than
    ``0 0 width height`` and no transform, so a lifted word lands where the SVG would have drawn it."""
    view = _VIEWBOX.search(head)
    if view is not None:
        try:
            box = [float(v) for v in view.group(2).replace(",", " ").split()]
        except ValueError:
            return False
        if box != [0.0, 0.0, width, height]:
            return False
    return "transform=" not in svg and "<textPath" not in svg and "<use" not in svg


_VIEWBOX = re.compile(r"""\sviewBox=(['"])(.*?)\1""")
_ATTR = re.compile(r"""([\w:-]+)=(['"])(.*?)\2""", re.S)
_TAG = re.compile(r"<[^>]*>")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_NAMED = {"black": "#000000", "white": "#ffffff", "none": "#000000"}


def _svg_text(tag: str, words: str) -> dict[str, Any]:
    """One ``<text …>`` as the template places it: its anchor point (the baseline), in the SVG's px."""
    a = {k: unescape(v) for k, _q, v in _ATTR.findall(tag)}
    try:
        x, y = float(a.get("x", "0")), float(a.get("y", "0"))
        size = float(a.get("font-size", "16").removesuffix("px"))
    except ValueError as exc:
        raise ExerciseFormatError(M_("the diagram SVG has a text {tag!r} with a position or size not in px", tag=tag)) from exc
    fill = a.get("fill", "#000000").strip()
    weight = a.get("font-weight", "normal")
    return {
        "x": x, "y": y, "size": size, "body": words,
        "anchor": a.get("text-anchor", "start") if a.get("text-anchor") in ("start", "middle", "end") else "start",
        "fill": fill if _HEX.fullmatch(fill) else _NAMED.get(fill.lower(), "#000000"),
        "italic": a.get("font-style") in ("italic", "oblique"),
        "bold": weight == "bold" or weight.isdigit() and int(weight) >= 600,
    }


def plan_document(items: list[dict[str, Any]], *, paper: str, answer_strip: bool, key: bool,
                  title: str | None, footer: str | None = None, name_line: bool = False) -> dict[str, Any]:
    """Print plan of a whole document: page settings plus its items in order.

    An item is an exercise plan (:func:`plan_exercise`) or one of the document parts the template
    knows: ``title-page``, ``toc``, ``chapter``, ``student``, ``heading``, ``solutions``, ``key-table``.
    """
    return {
        "format": PLAN_FORMAT,
        "paper": paper,
        "title": title,
        "footer": footer if footer is not None else (title or "byhand worksheet"),
        "answer_strip": answer_strip,
        "key": key,
        "name_line": name_line,
        "items": items,
    }
