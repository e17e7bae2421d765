"""Relations: how one cell is computed from other cells.

Every computed cell on a sheet is defined by one relation. A relation can

* evaluate its cell from the cells it uses (the forward step a student writes),
* write that step out in words (``1·2 + 0·1 + (−1)·2 + 1 = 2``),
* give its equation as a linear form in the unknown cells, when it is linear in them, which is
  what the solver uses to prove that every blank has exactly one answer (inverse problems too).

Most relations are sums of products, ``out = Σ coef · Π cells / Π inv_cells``, where a term may be
gated by a cell: it counts in full when the gate cell is positive and times ``alpha`` otherwise
(ReLU, LeakyReLU and their backward). Softmax, sigmoid and cross-entropy are :class:`FuncRelation`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from byhand.engine.tensor import Index
from byhand.engine.values import MINUS, Value, fmt, fmt_factor, norm
from byhand.notation import default_cell

Cell = tuple[str, Index]
Getter = Callable[[Cell], Value]
Namer = Callable[[Cell], str]


def cell_str(c: Cell) -> str:
    """A cell as the file names it, 0-based (``Z1[0,1]``): for messages about a file. A person
    reads cells through :func:`byhand.notation.cell_label` (``Z₁[1,2]``)."""
    name, idx = c
    return f"{name}[{','.join(str(i) for i in idx)}]" if idx else name


def vmul(a: Value, b: Value) -> Value:
    return a * b


def vdiv(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:  # the common case: one Fraction (or none), not three
        if a % b == 0:  # (b = 0 raises ZeroDivisionError here, as Fraction does)
            return a // b
        return Fraction(a, b)
    if isinstance(a, float) or isinstance(b, float):
        return a / b
    return norm(Fraction(a) / Fraction(b))


@dataclass(frozen=True)
class Term:
    """``coef · Π cells / Π inv``, times ``alpha`` unless ``gate`` is positive."""

    coef: Value
    cells: tuple[Cell, ...] = ()
    inv: tuple[Cell, ...] = ()
    gate: Cell | None = None
    alpha: Value = 0

    def value(self, get: Getter) -> Value:
        v: Value = self.coef
        for c in self.cells:
            v = v * get(c)
        for c in self.inv:
            v = vdiv(v, get(c))
        if self.gate is not None and not get(self.gate) > 0:
            v = v * self.alpha
        return v

    def derivative(self, x: Cell) -> list[Term]:
        """∂term/∂x as terms (a gate is piecewise constant: it stays as it is)."""
        out: list[Term] = []
        m = self.cells.count(x)
        if m:
            rest = list(self.cells)
            rest.remove(x)
            out.append(Term(self.coef * m, tuple(rest), self.inv, self.gate, self.alpha))
        n = self.inv.count(x)
        if n:
            out.append(Term(-self.coef * n, self.cells, self.inv + (x,), self.gate, self.alpha))
        return out

    def times(self, c: Cell | None) -> Term:
        if c is None:
            return self
        return Term(self.coef, (c,) + self.cells, self.inv, self.gate, self.alpha)


class NotLinear(Exception):
    """The relation is not linear in the unknown cells (or a gate is unknown)."""


class Relation:
    """Base: ``out`` is computed from ``uses`` by op ``op`` in phase forward or backward."""

    out: Cell
    uses: tuple[Cell, ...]
    op: str
    phase: str

    def evaluate(self, get: Getter) -> Value:
        raise NotImplementedError

    def text(self, get: Getter, precision: int = 3, name: Namer = default_cell) -> str:
        """The step written out; ``name`` names a cell for a person (1-based, maths names)."""
        raise NotImplementedError

    def linear_form(self, get: Getter, unknown: Callable[[Cell], bool]) -> tuple[dict[Cell, Value], Value]:
        """Coefficients ``a`` and constant ``k`` with ``Σ a[c]·c + k = 0`` over unknown cells ``c``."""
        raise NotLinear

    def solve_single(self, x: Cell, get: Getter) -> Value | None:
        """The unique value of the one unknown cell ``x`` (every other cell known), or None."""
        if x == self.out:
            return self.evaluate(get)
        try:
            coefs, k = self.linear_form(get, lambda c: c == x)
        except NotLinear:
            return None
        a = coefs.get(x, 0)
        if a == 0:
            return None
        return norm(vdiv(-k, a))


class PolyRelation(Relation):
    """``out = Σ terms``: dot, matmul, linear, add, sub, mul, div, transpose, sum, ReLU and every
    gradient of these."""

    __slots__ = ("out", "terms", "uses", "op", "phase", "style", "text_fn")

    def __init__(
        self,
        out: Cell,
        terms: Sequence[Term],
        op: str,
        phase: str = "forward",
        style: str = "sum",
        uses: Sequence[Cell] | None = None,
        text_fn: Callable[[list[Value], Value, int], str] | None = None,
    ):
        self.out = out
        self.text_fn = text_fn
        self.terms = tuple(terms)
        self.op = op
        self.phase = phase
        self.style = style
        if uses is None:
            seen: dict[Cell, None] = {}
            for t in self.terms:
                for c in t.cells + t.inv:
                    seen.setdefault(c, None)
                if t.gate is not None:
                    seen.setdefault(t.gate, None)
            uses = tuple(seen)
        self.uses = tuple(uses)

    def _is_copy(self) -> bool:
        """One cell taken as it is (a part of a stacked gradient): written as that cell."""
        if len(self.terms) != 1 or self.style != "sum":
            return False
        t = self.terms[0]
        return t.coef == 1 and len(t.cells) == 1 and not t.inv and t.gate is None and len(self.uses) == 1

    def evaluate(self, get: Getter) -> Value:
        total: Value = 0
        for t in self.terms:
            total = total + t.value(get)
        return norm(total)

    def linear_form(self, get: Getter, unknown: Callable[[Cell], bool]) -> tuple[dict[Cell, Value], Value]:
        coefs: dict[Cell, Value] = {}
        k: Value = 0
        if unknown(self.out):
            coefs[self.out] = 1
        else:
            k = get(self.out)
        for t in self.terms:
            if t.gate is not None and unknown(t.gate):
                raise NotLinear
            if any(unknown(c) for c in t.inv):
                raise NotLinear
            u = [c for c in t.cells if unknown(c)]
            if len(u) > 1:
                raise NotLinear
            v: Value = t.coef
            for c in t.cells:
                if not unknown(c):
                    v = v * get(c)
            for c in t.inv:
                v = vdiv(v, get(c))
            if t.gate is not None and not get(t.gate) > 0:
                v = v * t.alpha
            if u:
                coefs[u[0]] = coefs.get(u[0], 0) - v
            else:
                k = k - v
        return coefs, k

    def solve_single(self, x: Cell, get: Getter) -> Value | None:
        # ReLU / LeakyReLU forward, solved for its own input: out = x·gate(x).
        if x != self.out and len(self.terms) == 1 and self.terms[0].gate == x:
            t = self.terms[0]
            y = get(self.out)
            if y > 0 and t.coef == 1:
                return y
            if t.alpha != 0 and y <= 0:
                return norm(vdiv(y, t.alpha))
            return None  # ReLU gave 0: any x ≤ 0 fits
        return super().solve_single(x, get)

    def text(self, get: Getter, precision: int = 3, name: Namer = default_cell) -> str:
        if self.text_fn is not None:
            return self.text_fn([get(c) for c in self.uses], self.evaluate(get), precision)
        value = fmt(self.evaluate(get), precision)
        if self.style == "relu":
            t = self.terms[0]
            z = get(t.gate) if t.gate is not None else 0
            src = get(t.cells[0]) if t.cells else t.coef
            # the value first, then why: a caption "dZ₂[1,2] = 3 (passed: Z₂[1,2] = 4 > 0)" reads true
            if t.gate is not None and t.gate != (t.cells[0] if t.cells else None):
                # backward: the gradient passes where Z > 0
                gate = f"{name(t.gate)} = {fmt(z, precision)}"
                if z > 0:
                    return f"{fmt(src, precision)} (passed: {gate} > 0)"
                if t.alpha == 0:
                    return f"0 (blocked: {gate} ≤ 0)"
                return f"{fmt_factor(t.alpha)}·{fmt_factor(src)} = {value} ({gate} ≤ 0)"
            if z > 0:
                return f"{value} ({fmt(z, precision)} > 0: stays)"
            if t.alpha == 0:
                return f"0 ({fmt(z, precision)} ≤ 0: crossed out)"
            return f"{fmt_factor(t.alpha)}·{fmt_factor(z, precision)} = {value} ({fmt(z, precision)} ≤ 0)"
        if self.style == "copy" or self._is_copy():
            return f"{name(self.uses[0])} = {value}"
        if self.style == "div":
            t = self.terms[0]
            return f"{fmt(get(t.cells[0]), precision)} / {fmt_factor(get(t.inv[0]), precision)} = {value}"
        if self.style == "const":
            return f"{value}"
        parts: list[str] = []
        for t in self.terms:
            factors = [fmt_factor(get(c), precision) for c in t.cells]
            coef = t.coef
            neg = coef < 0
            c_abs = -coef if neg else coef
            if c_abs != 1 or not factors:
                factors.insert(0, fmt_factor(c_abs, precision))
            s = "·".join(factors)
            for c in t.inv:
                s += f"/{fmt_factor(get(c), precision)}"
            if t.gate is not None:
                g = get(t.gate)
                s += "" if g > 0 else f"·{fmt_factor(t.alpha)}"
            if not parts:
                parts.append(f"{MINUS}{s}" if neg else s)
            else:
                parts.append(f" {MINUS} {s}" if neg else f" + {s}")
        return "".join(parts) + f" = {value}"


class FuncRelation(Relation):
    """A cell computed by a function of its uses (softmax, sigmoid, cross-entropy): evaluated
    forward; the solver runs it backwards only where the op gives an exact ``inverse`` of a
    one-input function (``3ᶻ = 27`` gives z = 3: a whole-number base, an exact power)."""

    __slots__ = ("out", "uses", "op", "phase", "fn", "text_fn", "inverse")

    def __init__(
        self,
        out: Cell,
        uses: Sequence[Cell],
        op: str,
        fn: Callable[[list[Value]], Value],
        text_fn: Callable[[list[Value], Value, int], str],
        phase: str = "forward",
        inverse: Callable[[Value], Value | None] | None = None,
    ):
        self.out = out
        self.uses = tuple(uses)
        self.op = op
        self.phase = phase
        self.fn = fn
        self.text_fn = text_fn
        self.inverse = inverse

    def evaluate(self, get: Getter) -> Value:
        return self.fn([get(c) for c in self.uses])

    def solve_single(self, x: Cell, get: Getter) -> Value | None:
        if x == self.out:
            return self.evaluate(get)
        if self.inverse is not None and len(self.uses) == 1 and x == self.uses[0]:
            return self.inverse(get(self.out))
        return None

    def text(self, get: Getter, precision: int = 3, name: Namer = default_cell) -> str:
        vals = [get(c) for c in self.uses]
        return self.text_fn(vals, self.fn(vals), precision)
