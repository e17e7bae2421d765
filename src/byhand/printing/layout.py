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

import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import segno

from byhand.notation import op_pieces, row_words, tensor_caption
from byhand.printing.errors import ExerciseFormatError

PLAN_FORMAT = "byhand-print-plan/1"

# --- geometry, in pitch units (1.0 = one integer cell) ---------------------------------------
GAP = 0.4  # gutter between an operand and the result it crosses into (holds the arrows)
SIDE_GAP = 0.12  # space on each side of an activation's symbol column
SYMBOL_W = 0.75  # width of an activation's symbol column
INFIX_W = 0.8  # width of an infix symbol ("+", "=") in a generic row
BAND_GAP = 1.0  # vertical space between two independent bands of blocks
LABEL_H = 0.5  # height reserved for a tensor's name
LABEL_PAD = 0.16  # distance between a block and its name (clears badges and double borders)
LABEL_CHAR_W = 0.19  # rough width of one label character (labels are short: W1, ∂L/∂Z1)
SHELF_GAP = 0.7  # space between tensors standing side by side on a shelf
SHELF_MIN_W = 10.0  # a shelf may be this wide even when the rest of the drawing is narrower
WIDE_CELL = 1.6  # cell width for tensors holding fractions or decimals (room for handwriting)

CROSSING_OPS = frozenset({"dot", "matmul", "linear"})
#: Ops that join blocks: ``[W | I]·[A ; X]`` is drawn with the parts, not the joined copies.
STACK_OPS = frozenset({"hstack", "vstack"})
ACTIVATION_OPS = frozenset({"relu", "leaky_relu", "sigmoid", "softmax"})
#: Unary ops drawn as ``input | symbol | output`` side by side.
SIDE_OPS = ACTIVATION_OPS | frozenset({"transpose", "sum"})
#: Binary ops drawn in their own row as ``in0 symbol in1 = out``.
INFIX_SYMBOLS = {"add": "+", "sub": "−", "mul": "⊙"}
#: Ops whose printed key crosses out negative inputs (the student does it by hand).
CROSS_OUT_OPS = frozenset({"relu", "leaky_relu"})

ROLES = ("input", "weight", "bias", "computed", "target", "grad", "loss")
#: Roles the printer has no style of its own for, drawn like one it has; unknown roles print as computed.
ROLE_STYLE = {"given": "input"}
#: Display styles the template knows; ``activation`` and ``ones`` are print-only styles.
STYLES = ("input", "weight", "bias", "ones", "computed", "activation", "target", "grad", "loss")
#: How each style is explained in the legend (the words carry the meaning, not the colour).
#: Plain white blocks (weights, computed) need no legend entry.
LEGEND_TEXT = {
    "input": "input",
    "bias": "bias (hatched)",
    "ones": "row of 1s",
    "activation": "activation (double border)",
    "target": "target (dotted)",
    "grad": "gradient (dashed)",
    "loss": "loss (thick)",
}


# --- values -----------------------------------------------------------------------------------


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
        raise ExerciseFormatError(f"a value may not be a boolean: {value!r}")
    if isinstance(value, int):
        return {"k": "int", "s": _minus(str(value))}
    if isinstance(value, float):
        return {"k": "float", "s": _minus(f"{value:.{precision}f}")}
    if isinstance(value, str):
        try:
            frac = Fraction(value.strip())
        except ValueError as exc:
            raise ExerciseFormatError(
                f"not a value: {value!r} (expected int, 'p/q', float)") from exc
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
    raise ExerciseFormatError(f"not a value: {value!r} (expected int, 'p/q', float)")


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

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.cols * self.cw, self.rows)

    def index_of(self, r: int, c: int) -> tuple[int, ...]:
        """Tensor index shown in display cell (r, c)."""
        return _index(self.orient, r, c)


def _index(orient: str, r: int, c: int) -> tuple[int, ...]:
    """Tensor index shown in display cell (r, c) of a block drawn as ``orient``."""
    return {"matrix": (r, c), "col": (r,), "row": (c,), "scalar": ()}[orient]


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

    def __init__(self, exercise: dict[str, Any], shelf_width: float = SHELF_MIN_W) -> None:
        self.ex = exercise
        self.shelf_width = shelf_width
        self.tensors: dict[str, dict[str, Any]] = exercise["tensors"]
        self.plan = Plan()
        self.current: dict[str, Block] = {}  # where each tensor was drawn last
        self.style = self._styles()
        self.depth = self._activation_depths()
        self.shelf: tuple[float, float, float] | None = None  # (next x, top, bottom of the plan) of the open shelf
        self.parts, self.alias = self._stacked_crossings()
        self.cell_w = self._cell_widths()

    # -- per-tensor facts derived from the ops --

    def _styles(self) -> dict[str, str]:
        produced_by = {op["out"]: op["op"] for op in self.ex["ops"]}
        styles = {}
        for name, t in self.tensors.items():
            role = t.get("role")
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
        """Cell width per tensor: wide for fractions/decimals, shared along crossed columns."""

        def kind_width(name: str) -> float:
            flat = _flatten(self.tensors[name]["values"])
            inexact = any(isinstance(v, (str, float)) and not _is_int_text(v) for v in flat)
            return WIDE_CELL if inexact else 1.0

        parent = {name: name for name in self.tensors}

        def find(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for op in self.ex["ops"]:
            if op["op"] in CROSSING_OPS:  # top operand and result share their columns
                top = op["in"][-1] if op["op"] == "linear" else op["in"][1]
                parent[find(top)] = find(op["out"])
            if op["op"] == "vstack":  # blocks stacked on top of each other share their columns
                for part in op["in"]:
                    parent[find(part)] = find(op["out"])
        widths: dict[str, float] = {}
        for name in self.tensors:
            root = find(name)
            widths[root] = max(widths.get(root, 1.0), kind_width(name))
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
        raise ExerciseFormatError(
            f"tensor {name!r} has shape {shape}, but its op needs {rows}×{cols}"
        )

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

    # -- ops --

    def run(self) -> Plan:
        joined = self.joined()
        for op in self.ex["ops"]:
            name = op["op"]
            if name in STACK_OPS and op["out"] in joined:
                continue  # drawn as its parts where it is used
            try:
                if op["out"] in self.parts:
                    self._stacked_crossing(op)
                elif name in CROSSING_OPS:
                    self._crossing(op)
                elif name in SIDE_OPS:
                    self._side(op)
                else:
                    self._row(op)
            except ExerciseFormatError:
                if name not in CROSSING_OPS and name not in SIDE_OPS:
                    raise
                self._row(op)  # shapes that do not cross as expected: the generic row still prints it
        for name in self.tensors:  # a tensor no op mentions is still printed
            if name not in self.current and name not in joined:
                self._standalone(name)
        self._place_labels()
        return self.plan

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
            raise ExerciseFormatError(
                f"{kind}: {left!r} has {left_shape[1]} columns but {top!r} has {k} rows")
        out_shape = self._fit_shape(out, m, n)
        bias_shape = self._fit_shape(bias, m, 1) if bias else None

        cw_top, cw_left = self.cell_w[top], self.cell_w[left]
        cw_bias = self.cell_w[bias] if bias else 0.0
        left_w = k * cw_left + cw_bias

        def arrange(tx: float, ty: float) -> list[Block]:
            ones_h = 1 if bias else 0
            ry = ty + k + ones_h + GAP
            blocks = [self._block(out, tx, ry, out_shape, ("below", "right", "left"))]
            if bias and bias_shape is not None:
                blocks.append(Block(None, tx, ty + k, 1, n, cw_top, "row", "ones"))
                blocks.append(self._block(bias, tx - GAP - cw_bias, ry, bias_shape,
                                          ("above", "below")))
            blocks.append(self._block(left, tx - GAP - left_w, ry, left_shape,
                                      ("above", "left", "below")))
            return blocks

        placed = self.current.get(top)
        if placed is not None and (placed.rows, placed.cols) == (k, n):
            blocks = arrange(placed.x, placed.y)
            if self.plan.free([b.rect for b in blocks]):
                self._commit(*blocks)
                self._crossing_arrows(blocks[0])
                return
        # a new band: the right operand (a first drawing, or a copy) on top
        ty = self.plan.next_band_top()
        top_block = self._block(top, left_w + GAP, ty, top_shape, ("left", "above"))
        blocks = arrange(top_block.x, top_block.y)
        self._commit(top_block, *blocks)
        self._crossing_arrows(blocks[0])

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
            if self.plan.free([b.rect for b in blocks]):
                self._commit(*blocks)
                self._crossing_arrows(blocks[0])
                return
        blocks = arrange(left_w + GAP, self.plan.next_band_top(), skip_first=False)
        self._commit(*blocks)
        self._crossing_arrows(blocks[0])

    def _crossing_arrows(self, result: Block) -> None:
        """→ into each result row from the left, ↓ into each result column from the top."""
        for r in range(result.rows):
            self.plan.arrows.append({"x": result.x - GAP, "y": result.y + r, "w": GAP, "h": 1,
                                     "dir": "right"})
        for c in range(result.cols):
            self.plan.arrows.append({"x": result.x + c * result.cw, "y": result.y - GAP,
                                     "w": result.cw, "h": GAP, "dir": "down"})

    def _side(self, op: dict[str, Any]) -> None:
        """Unary op: ``input | symbol | output`` on the same rows."""
        src, out = op["in"][0], op["out"]
        placed = self.current.get(src)
        if placed is None:
            placed = self._standalone(src)
        blocks = self._side_blocks(op, placed)
        if not self.plan.free([b for b, _ in blocks]):
            copy = self._block(src, 0.0, self.plan.next_band_top(),
                               (placed.rows, placed.cols, placed.orient), ("left", "above"))
            self._commit(copy)
            placed, blocks = copy, self._side_blocks(op, copy)
        (sym_rect, _), (out_rect, out_shape) = blocks
        self._symbol(sym_rect, op["op"], attrs=op.get("attrs") or {})
        self._commit(self._block(out, out_rect.x, out_rect.y, out_shape,
                                 ("above", "right", "below")))

    def _side_blocks(self, op: dict[str, Any], src: Block) -> list[tuple[Rect, Any]]:
        out = op["out"]
        if op["op"] == "transpose":
            out_shape = self._fit_shape(out, src.cols, src.rows)
        elif op["op"] == "sum":
            out_shape = self._fit_shape(out, 1, 1)
        else:
            out_shape = self._fit_shape(out, src.rows, src.cols)
        sym = Rect(src.rect.right + SIDE_GAP, src.y, SYMBOL_W, max(src.rows, out_shape[0]))
        out_rect = Rect(sym.right + SIDE_GAP, src.y, out_shape[1] * self.cell_w[out], out_shape[0])
        return [(sym, None), (out_rect, out_shape)]

    def _row(self, op: dict[str, Any]) -> None:
        """Any other op, in its own band: ``in0 ∘ in1 … = out`` (inputs may be copies).

        An op without inputs (``grad``) just shows its output; its name says what it is."""
        if not op["in"]:
            self._standalone(op["out"])
            return
        y = self.plan.next_band_top()
        x = 0.0
        words = row_words(self.ex, op)  # the method's words between the blocks: "½ Σ (" Ŷ "−" Y ")² ="
        for i, name in enumerate(op["in"]):
            if words[i]:
                rect = Rect(x, y, max(INFIX_W, 0.15 + LABEL_CHAR_W * len(words[i])), 1)
                self._symbol(rect, "text", words[i])
                x = rect.right
            block = self._block(name, x, y, self._display_shape(name, "col"), ("above", "below"))
            self._commit(block)
            x = block.rect.right
        rect = Rect(x, y, max(INFIX_W, 0.15 + LABEL_CHAR_W * len(words[-1])), 1)
        self._symbol(rect, "text", words[-1])
        out = self._block(op["out"], rect.right, y, self._display_shape(op["out"], "col"),
                          ("above", "below"))
        self._commit(out)

    def _standalone(self, name: str) -> Block:
        """A tensor on its own (a gradient, an orphan): side by side on a shelf, a new shelf when full."""
        shape = self._display_shape(name, "col")
        text = tensor_caption(self.ex, name)
        span = max(shape[1] * self.cell_w[name], 0.15 + LABEL_CHAR_W * len(text))
        limit = max(max((o.right for o in self.plan.obstacles), default=0.0), self.shelf_width)
        s = self.shelf
        if s is not None and s[2] == self.plan.bottom() and s[0] + span <= limit:
            x, y = s[0], s[1]
        else:
            x, y = 0.0, self.plan.next_band_top()
        block = self._block(name, x, y, shape, ("above", "below", "left"))
        self._commit(block)
        self.shelf = (x + span + SHELF_GAP, y, self.plan.bottom())
        return block

    # -- labels, placed after every block so they never push blocks around --

    def _place_labels(self) -> None:
        for block in self.plan.blocks:
            if block.tensor is None:
                continue
            text = tensor_caption(self.ex, block.tensor)
            width = 0.15 + LABEL_CHAR_W * len(text)
            candidates = [_label_rect(block, side, width) for side in block.label_prefs]
            chosen = next(((s, r) for s, r in candidates if self.plan.free([r])), None)
            if chosen is None:
                chosen = candidates[0]
                self.plan.warnings.append(f"label {text!r} overlaps another item")
            side, rect = chosen
            self.plan.obstacles.append(rect)
            self.plan.labels.append({"x": rect.x, "y": rect.y, "w": rect.w, "h": rect.h,
                                     "side": side, "text": text})


def cell_key(tensor: str, index: tuple[int, ...] | list[int]) -> str:
    """A cell as one string, ``"W1:0,2"`` (a scalar: ``"L:"``), as lecture frames name cells."""
    return f"{tensor}:{','.join(map(str, index))}"


def display_label(name: str, label: str | None) -> str:
    """What a block is called on the sheet: its name, or ``name = label`` when the label
    describes it (``Z = W·X + b``); a label that already starts with the name or holds ``=`` as is."""
    if not label or label == name:
        return name
    if label.startswith(name) or "=" in label:
        return label
    return f"{name} = {label}"


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


def _is_int_text(v: Any) -> bool:
    if isinstance(v, str):
        try:
            return Fraction(v).denominator == 1
        except ValueError:
            return False
    return False


# --- formulas (the same graph that computed the numbers names them) ---------------------------


def _joined_formula(op: dict[str, Any], lparts: list[str], tparts: list[str]) -> list[dict[str, str]]:
    """``Z2 = W2·A1 + I·X + b2``: a crossing of joined blocks, written with its parts."""
    out: list[dict[str, str]] = [{"t": "name", "s": op["out"]}, {"t": "text", "s": " = "}]
    for i, (lp, tp) in enumerate(zip(lparts, tparts)):
        if i:
            out.append({"t": "text", "s": " + "})
        out += [{"t": "name", "s": lp}, {"t": "text", "s": "·"}, {"t": "name", "s": tp}]
    if op["op"] == "linear":
        out += [{"t": "text", "s": " + "}, {"t": "name", "s": op["in"][1]}]
    return out


def _formula(op: dict[str, Any], label: dict[str, str]) -> list[dict[str, str]]:
    """One op as a list of pieces: ``{"t": "name", "s": "W1"}`` (a tensor name),
    ``{"t": "text", "s": " = "}``, ``{"t": "pow", "s": "3", "e": "z"}`` (a power) or
    ``{"t": "sub", "s": "LeakyReLU", "e": "1/10"}`` (a subscript)."""
    name = op["op"]
    ins = [label[t] for t in op["in"]]
    out = label[op["out"]]
    attrs = op.get("attrs") or {}

    def n(s: str) -> dict[str, str]:
        return {"t": "name", "s": s}

    def t(s: str) -> dict[str, str]:
        return {"t": "text", "s": s}

    head = [n(out), t(" = ")]
    if name == "linear":
        w, b, x = ins
        return head + [n(w), t("·"), n(x), t(" + "), n(b)]
    if name in ("matmul", "dot"):
        return head + [n(ins[0]), t("·"), n(ins[1])]
    if name in INFIX_SYMBOLS:
        return head + [n(ins[0]), t(f" {INFIX_SYMBOLS[name]} "), n(ins[1])]
    if name == "relu":
        return head + [t("ReLU("), n(ins[0]), t(")")]
    if name == "leaky_relu":
        alpha = value_atom(attrs.get("alpha", "1/10"), 3)["s"]
        return head + [{"t": "sub", "s": "LeakyReLU", "e": alpha}, t("("), n(ins[0]), t(")")]
    if name == "sigmoid":
        return head + [t("σ("), n(ins[0]), t(")")]
    if name == "softmax":
        base = str(attrs.get("base", "e"))
        note = [t("   (per column")]
        if base != "e":
            note += [t("; "), {"t": "pow", "s": base, "e": "z"}, t(" instead of "),
                     {"t": "pow", "s": "e", "e": "z"}]
        return head + [t("softmax("), n(ins[0]), t(")")] + note + [t(")")]
    if name == "transpose":
        return head + [n(ins[0]), {"t": "pow", "s": "", "e": "T"}]
    if name == "sum":
        return head + [t("Σ "), n(ins[0])]
    if name == "half_sse":
        return head + [t("½ Σ ("), n(ins[0]), t(" − "), n(ins[1]), t(")²")]
    if name == "cross_entropy":
        return head + [t("−Σ "), n(ins[1]), t(" · log "), n(ins[0])]
    if name == "grad":
        return [n(out), t(" = ∂"), n(label.get(attrs.get("of", ""), "L")), t("/∂"),
                n(label.get(attrs.get("wrt", ""), "T"))]
    return head + [t(f"{name}(")] + _join([n(s) for s in ins], t(", ")) + [t(")")]


def _join(items: list[dict[str, str]], sep: dict[str, str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        out.append(item)
    return out


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
    # a fixed mask: any mask decodes, and choosing the "best" of 8 was most of the planning time
    qr = segno.make(text, error="m", micro=False, mask=4)
    buf = io.BytesIO()
    qr.save(buf, kind="svg", border=0, xmldecl=False, dark="#000", light="#fff")
    return buf.getvalue().decode("ascii")


# --- public ------------------------------------------------------------------------------------


def validate(exercise: dict[str, Any]) -> None:
    """Check the parts of ``byhand-exercise/1`` the printer relies on; raise if absent."""
    if exercise.get("format") != "byhand-exercise/1":
        raise ExerciseFormatError(
            f"format must be 'byhand-exercise/1', got {exercise.get('format')!r}")
    tensors = exercise.get("tensors")
    if not isinstance(tensors, dict) or not tensors:
        raise ExerciseFormatError("'tensors' must be a non-empty object")
    for name, t in tensors.items():
        if not isinstance(t, dict) or "values" not in t:
            raise ExerciseFormatError(f"tensor {name!r} has no 'values'")
        _shape(t["values"])
    for op in exercise.get("ops", []):
        for ref in [*op.get("in", []), op.get("out")]:
            if ref not in tensors:
                raise ExerciseFormatError(f"op {op.get('op')!r} names unknown tensor {ref!r}")
        if op["op"] == "linear" and len(op["in"]) != 3:
            raise ExerciseFormatError("linear takes in: [W, b, X]")
        if op["op"] in ("matmul", "dot") and len(op["in"]) != 2:
            raise ExerciseFormatError(f"{op['op']} takes two inputs")
    badges = set()
    for blank in exercise.get("blanks", []):
        badge = blank.get("badge")
        if not isinstance(badge, int) or badge in badges:
            raise ExerciseFormatError(f"blank badge must be a unique int, got {badge!r}")
        badges.add(badge)
        for tensor, index in blank.get("cells", []):
            if tensor not in tensors:
                raise ExerciseFormatError(f"blank {badge}: unknown tensor {tensor!r}")
            try:
                _at(tensors[tensor]["values"], tuple(index))
            except (IndexError, TypeError) as exc:
                raise ExerciseFormatError(f"blank {badge}: no cell {index} in {tensor!r}") from exc


def plan_exercise(exercise: dict[str, Any], number: int | str, *, key: bool = False,
                  with_answers: bool = True, chapter: str | None = None,
                  diagram: str | None = None, shelf_width: float = SHELF_MIN_W) -> dict[str, Any]:
    """Print plan of one exercise (JSON-able).

    ``key`` fills the blanks with their answers and crosses out ReLU's negatives;
    ``with_answers`` lists the answers for the page's answer strip.  When both are off the plan
    holds no answer at all, so the PDF cannot leak one.  ``diagram`` is an SVG drawn under the
    grid (the whiteboard diagram of :func:`byhand.render.diagram.diagram_svg`), scaled to fit.
    ``shelf_width`` is how wide (in cells) a shelf of standalone tensors (gradients) may grow when
    the rest of the drawing is narrower: wider for a 16:9 slide than for a portrait page.
    """
    validate(exercise)
    precision = int(exercise.get("precision", 3))
    planner = _Planner(exercise, shelf_width)
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

    # shift everything so the drawing starts at (0, 0); obstacles hold blocks, labels, symbols
    items = plan.obstacles + [Rect(a["x"], a["y"], a["w"], a["h"]) for a in plan.arrows]
    min_x = min(r.x for r in items)
    min_y = min(r.y for r in items)
    width = max(r.right for r in items) - min_x
    height = max(r.bottom for r in items) - min_y

    blocks_out = []
    for b in plan.blocks:
        cells = []
        for r in range(b.rows):
            for c in range(b.cols):
                cell: dict[str, Any] = {"r": r, "c": c}
                if b.tensor is None:
                    cell["v"] = {"k": "int", "s": "1"}
                else:
                    index = b.index_of(r, c)
                    cell["i"] = list(index)
                    badge = badge_of.get((b.tensor, index))
                    if badge is not None:
                        cell["badge"] = badge
                        if key:
                            cell["v"] = answer_of[badge]
                    else:
                        cell["v"] = value_atom(_at(tensors[b.tensor]["values"], index), precision)
                    src = crossed_from.get(b.tensor)
                    if key and src is not None:
                        before = _at(tensors[src]["values"], index)
                        if _is_negative(before):
                            cell["struck"] = value_atom(before, precision)
                cells.append(cell)
        blocks_out.append({
            "tensor": b.tensor, "x": b.x - min_x, "y": b.y - min_y, "rows": b.rows,
            "cols": b.cols, "cw": b.cw, "style": b.style, "depth": b.depth, "cells": cells,
        })

    def shifted(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "x": item["x"] - min_x, "y": item["y"] - min_y}

    styles_used = {b["style"] for b in blocks_out}
    ident = identity(exercise)
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
        "formulas": [op_pieces(exercise, op) for op in exercise["ops"] if op["out"] not in joined],
        "legend": [{"style": s, "text": LEGEND_TEXT[s]} for s in STYLES
                   if s in styles_used and s in LEGEND_TEXT],
        "canvas": {"width": width, "height": height},
        "blocks": blocks_out,
        "labels": [shifted(lbl) for lbl in plan.labels],
        "symbols": [shifted(s) for s in plan.symbols],
        "arrows": [shifted(a) for a in plan.arrows],
        "diagram": _diagram(diagram if diagram is None or key else mask_svg(
            diagram, {v for b in exercise.get("blanks", []) if (v := _exact(b.get("answer"), precision)) is not None},
            precision)),
        "copies": {cell_key(*c): cell_key(*src) for c, src in sorted(planner.alias.items())},
        "blank_count": len(answer_of),
        "answers": ([{"badge": b, "answer": answer_of[b]} for b in sorted(answer_of)]
                    if with_answers else []),
        "warnings": plan.warnings,
    }


_SVG_TEXT = re.compile(r"(<text\b[^>]*>)(.*?)(</text>)", re.S)
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

    return _SVG_TEXT.sub(text, svg)


def _diagram(svg: str | None) -> dict[str, Any] | None:
    """An SVG to draw under the grid, with its natural size in px (from its width/height)."""
    if not svg:
        return None
    head = svg[: svg.find(">") + 1]
    size = {}
    for attr in ("width", "height"):
        at = head.find(f" {attr}=")
        if at < 0:
            raise ExerciseFormatError(f"the diagram SVG has no {attr}")
        quote = head[at + len(attr) + 2]
        text = head[at + len(attr) + 3: head.index(quote, at + len(attr) + 3)]
        try:
            size[attr] = float(text.removesuffix("px"))
        except ValueError as exc:
            raise ExerciseFormatError(f"the diagram SVG has {attr}={text!r}; give it in px") from exc
    return {"svg": svg, "w": size["width"], "h": size["height"]}


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
