"""The registry of ops. Each op holds, side by side:

* ``check``     — the shape rule (and a clear error when shapes do not fit),
* ``forward``   — the exact whole-tensor forward, fast, used to generate variants,
* ``relation``  — the same maths for one output cell: which cells it uses and the step written
                  out (``1·2 + 0·1 + (−1)·2 + 1 = 2``); the solver reads its equation,
* ``vjp``       — the exact backward (vector-Jacobian product), fast,
* ``partials``  — ∂out/∂in cell by cell, the source of every gradient step on a sheet
                  (derived from the relation for sums of products; given by hand otherwise).

Samples are columns: ``linear`` computes ``W·X + b`` with the bias added to every column.

>>> from byhand.engine.tensor import Tensor
>>> OPS["dot"].forward([Tensor.from_nested([2, 3]), Tensor.from_nested([1, 1])], {}).data
[5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import reduce
from math import lcm
from operator import add, mul, sub
from typing import Any

from byhand.engine.relations import Cell, FuncRelation, PolyRelation, Relation, Term, vdiv
from byhand.engine.tensor import Index, Shape, Tensor, indices, shape_str, size
from byhand.engine.values import MINUS, Value, fmt, fmt_factor, from_json, norm
from byhand.errors import GraphError
from byhand.i18n import M_, N_
from byhand.limits import check_exponent

Attrs = dict[str, Any]

E = "e"
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class Op:
    """One operation. Subclasses fill in the maths; see the module docstring."""

    name: str = ""
    arity: int = 0
    copies: bool = False  # each output cell is a copy of one input cell (the same value asked again)
    summary: str = ""
    attrs: dict[str, str] = {}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        raise NotImplementedError

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        raise NotImplementedError

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        raise NotImplementedError

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        raise NotImplementedError

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        """∂out/∂c for every input cell c the relation uses (sums of products: by rule)."""
        assert isinstance(rel, PolyRelation)
        out: dict[Cell, list[Term]] = {}
        for c in rel.uses:
            if c[0] not in ins:
                continue
            ts = [d for t in rel.terms for d in t.derivative(c)]
            if ts:
                out[c] = ts
        return out

    def relations(self, ins: Sequence[str], out: str, shapes: Sequence[Shape], out_shape: Shape, attrs: Attrs) -> list[Relation]:
        return [self.relation(i, ins, out, shapes, attrs) for i in indices(out_shape)]


OPS: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    OPS[cls.name] = cls()
    return cls


# ---------------------------------------------------------------------------------------------
# helpers


def _need(cond: bool, msg: str, **parts: Any) -> None:
    """A shape or attribute rule: when ``cond`` fails, the catalogued message ``msg`` with its ``parts`` (formatted
    only then, and shown in the reader's language, :func:`byhand.i18n.M_`)."""
    if not cond:
        raise GraphError(M_(msg, **parts))


# messages several ops share (in the catalogue once; their parts name the op)
VECTOR_OR_MATRIX = N_("{op} needs a vector or matrix, {name} is a {shape}")
A_MATRIX = N_("{op} needs a matrix, {name} is a {shape}")
ONE_SHAPE = N_("{op} needs {a} and {b} of one shape: {n0} is {s0}, {n1} is {s1}")
WINDOW = N_("{op}: the {k}×{k} window does not fit in {name} ({shape})")
K_ROWS = N_("{op}: k = {k} but {name} has only {rows} rows")
WHOLE_FROM = N_("{op}: {key} must be a whole number from {lo}, not {v!r}")
WHOLE_FROM_TO = N_("{op}: {key} must be a whole number from 0 to {hi}, not {v!r}")


_INT = frozenset((int,))
_EXACT = frozenset((int, Fraction))


def _mm(a: list[Value], b: list[Value], m: int, k: int, n: int) -> list[Value]:
    """(m×k)·(k×n), flat row-major."""
    cols = [b[j::n] for j in range(n)] if n > 1 else [b]
    kinds = set(map(type, a))
    kinds.update(map(type, b))
    if kinds <= _INT:  # whole numbers (most sheets): the sum of products is exact in C's int loop
        if m == 1:
            return [sum(map(mul, a, col)) for col in cols]
        return [sum(map(mul, row, col)) for row in [a[i * k : (i + 1) * k] for i in range(m)] for col in cols]
    if kinds <= _EXACT:
        return _mm_exact([a[i * k : (i + 1) * k] for i in range(m)], cols)  # type: ignore[arg-type,misc]
    # a float among them: each sum is 0 + a·b + a·b + … left to right, as a loop would add it (the
    # same float rounding, unlike sum(), which compensates floats from Python 3.12 on)
    return [norm(reduce(add, map(mul, a[i * k : (i + 1) * k], col), 0)) for i in range(m) for col in cols]


def _scaled(v: list[int | Fraction]) -> tuple[list[int], int]:
    """Whole numbers over one common denominator: v = nums / d."""
    d = lcm(*[x.denominator for x in v])
    return [x.numerator * (d // x.denominator) for x in v], d


def _mm_exact(rows: list[list[int | Fraction]], cols: list[list[int | Fraction]]) -> list[Value]:
    """The products of exact rows and columns (ints and Fractions): each row and each column over
    its common denominator, so a cell is one int sum of products and one division — the same
    reduced value as adding Fractions term by term (a rational number has one lowest form), at a
    fraction of the gcds."""
    rs = [_scaled(r) for r in rows]
    cs = [_scaled(c) for c in cols]
    out: list[Value] = []
    for rn, rd in rs:
        for cn, cd in cs:
            s = sum(map(mul, rn, cn))
            d = rd * cd
            out.append(s // d if s % d == 0 else Fraction(s, d))
    return out


def _t(a: list[Value], m: int, n: int) -> list[Value]:
    """Transpose of an m×n flat matrix."""
    return [a[i * n + j] for j in range(n) for i in range(m)]


def _cols(shape: Shape) -> int:
    return shape[1] if len(shape) == 2 else 1


def _as2(shape: Shape) -> tuple[int, int]:
    """A vector is a single column."""
    if len(shape) == 1:
        return shape[0], 1
    return shape[0], shape[1]


def _idx2(shape: Shape, i: int, j: int) -> Index:
    return (i,) if len(shape) == 1 else (i, j)


def _sum_text(vals: list[Value], value: Value, p: int) -> str:
    s = ""
    for k, v in enumerate(vals):
        f = fmt(v, p)
        if k == 0:
            s = f
        elif f.startswith(MINUS):
            s += f" {MINUS} {f[1:]}"
        else:
            s += f" + {f}"
    return f"{s} = {fmt(value, p)}"


def base_of(attrs: Attrs) -> int | str:
    b = attrs.get("base", E)
    if b in (E, "E"):
        return E
    if isinstance(b, int) and not isinstance(b, bool) and 2 <= b <= 10:
        return b
    raise GraphError(M_('base {b!r} is not allowed; use 3 (by hand), another whole number from 2 to 10, or "e"', b=b))


def ln_base(b: int | str) -> float:
    return 1.0 if b == E else math.log(b)  # type: ignore[arg-type]


def power(b: int | str, x: Value) -> Value:
    """b**x, exact when b is an integer and x an integer. The exponent is bounded first (guard)."""
    check_exponent(x, f"{'e' if b == E else b}^(z/T)")
    if b != E and type(x) is int:
        return b**x if x >= 0 else Fraction(1, b ** (-x))  # type: ignore[operator]
    if b == E:
        return math.exp(x)
    return float(b) ** float(x)  # type: ignore[arg-type]


def value_attr(attrs: Attrs, key: str, default: Value) -> Value:
    v = attrs.get(key, None)
    if v is None:
        return default
    memo: Any = (type(v), v)  # an attribute's text ("1/2") is read once, not once a variant (1 and 1.0 kept apart)
    try:
        r = _ATTR_VALUES.get(memo)
    except TypeError:  # not a plain value (a list): from_json says what is wrong
        r = memo = None
    if r is None:
        r = from_json(v, where=f"attribute {key!r}")
        assert r is not None
        if memo is not None and len(_ATTR_VALUES) < 4096:
            _ATTR_VALUES[memo] = r
    return r


_ATTR_VALUES: dict[Any, Value] = {}


# ---------------------------------------------------------------------------------------------
# products


@register
class Dot(Op):
    name, arity, summary = "dot", 2, "a·b = Σ aᵢbᵢ (vectors → scalar)"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        a, b = shapes
        _need(
            len(a) == 1 and len(b) == 1, "dot needs two vectors, got {n0} ({s0}) and {n1} ({s1})",
            n0=names[0], s0=shape_str(a), n1=names[1], s1=shape_str(b),
        )
        _need(a == b, "dot needs vectors of one length: {n0} has {l0}, {n1} has {l1}", n0=names[0], l0=a[0], n1=names[1], l1=b[0])
        return ()

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        return Tensor((), [norm(sum((x * y for x, y in zip(a.data, b.data)), 0))])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        a, b = ins
        return PolyRelation((out, ()), [Term(1, ((a, (k,)), (b, (k,)))) for k in range(shapes[0][0])], "dot")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a, b = xs
        g = dy.data[0]
        return [Tensor(a.shape, [norm(g * v) for v in b.data]), Tensor(b.shape, [norm(g * v) for v in a.data])]


@register
class MatMul(Op):
    name, arity, summary = "matmul", 2, "A·B: row i of A meets column j of B"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        a, b = shapes
        _need(len(a) == 2, "matmul needs a matrix on the left, {name} is a {shape}", name=names[0], shape=shape_str(a))
        _need(len(b) in (1, 2), "matmul needs a matrix or vector on the right, {name} is a {shape}",
              name=names[1], shape=shape_str(b))
        _need(
            a[1] == b[0],
            "matmul: {n0} ({s0}) has {cols} columns but {n1} ({s1}) has {rows} rows",
            n0=names[0], s0=shape_str(a), cols=a[1], n1=names[1], s1=shape_str(b), rows=b[0],
        )
        return (a[0],) if len(b) == 1 else (a[0], b[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        m, k = a.shape
        n = _cols(b.shape)
        return Tensor((m,) if len(b.shape) == 1 else (m, n), _mm(a.data, b.data, m, k, n))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        a, b = ins
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        k = shapes[0][1]
        return PolyRelation((out, idx), [Term(1, ((a, (i, t)), (b, _idx2(shapes[1], t, j)))) for t in range(k)], "matmul")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a, b = xs
        m, k = a.shape
        n = _cols(b.shape)
        da = _mm(dy.data, _t(b.data, k, n), m, n, k)
        db = _mm(_t(a.data, m, k), dy.data, k, m, n)
        return [Tensor(a.shape, da), Tensor(b.shape, db)]


@register
class Linear(Op):
    name, arity, summary = "linear", 3, "W·X + b = [W | b]·[X ; 1], the bias added to every column"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        w, b, x = shapes
        _need(len(w) == 2, "linear: the weights {name} must be a matrix, not a {shape}", name=names[0], shape=shape_str(w))
        _need(len(b) == 1, "linear: the bias {name} must be a vector, not a {shape}", name=names[1], shape=shape_str(b))
        _need(b[0] == w[0], "linear: {w} has {rows} rows, so the bias {b} needs {rows} entries, not {n}",
              w=names[0], rows=w[0], b=names[1], n=b[0])
        _need(len(x) in (1, 2), "linear: the input {name} must be a vector or matrix, not a {shape}",
              name=names[2], shape=shape_str(x))
        _need(
            x[0] == w[1],
            "linear: {w} ({sw}) has {cols} columns but {x} ({sx}) has {rows} rows",
            w=names[0], sw=shape_str(w), cols=w[1], x=names[2], sx=shape_str(x), rows=x[0],
        )
        return (w[0],) if len(x) == 1 else (w[0], x[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        w, b, x = xs
        m, k = w.shape
        n = _cols(x.shape)
        wd, bd, xd = w.data, b.data, x.data
        kinds = set(map(type, wd))
        kinds.update(map(type, xd))
        kinds.update(map(type, bd))
        if kinds <= _INT:  # whole numbers: each z is b + Σ w·x, exact in C's int loop
            cols = [xd[j::n] for j in range(n)] if n > 1 else [xd]
            z = [sum(map(mul, wd[i * k : (i + 1) * k], col), bd[i]) for i in range(m) for col in cols]
            return Tensor((m,) if len(x.shape) == 1 else (m, n), z)
        z = _mm(w.data, x.data, m, k, n)
        z = [norm(z[i * n + j] + bd[i]) for i in range(m) for j in range(n)]
        return Tensor((m,) if len(x.shape) == 1 else (m, n), z)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        w, b, x = ins
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        terms = [Term(1, ((w, (i, t)), (x, _idx2(shapes[2], t, j)))) for t in range(shapes[0][1])]
        terms.append(Term(1, ((b, (i,)),)))
        return PolyRelation((out, idx), terms, "linear")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        w, b, x = xs
        m, k = w.shape
        n = _cols(x.shape)
        dw = _mm(dy.data, _t(x.data, k, n), m, n, k)
        db = [norm(sum(dy.data[i * n : (i + 1) * n], 0)) for i in range(m)]
        dx = _mm(_t(w.data, m, k), dy.data, k, m, n)
        return [Tensor(w.shape, dw), Tensor(b.shape, db), Tensor(x.shape, dx)]


@register
class Transpose(Op):
    name, arity, summary = "transpose", 1, "Aᵀ (a vector becomes a one-row matrix)"
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) in (1, 2), VECTOR_OR_MATRIX, op="transpose", name=names[0], shape=shape_str(a))
        return (1, a[0]) if len(a) == 1 else (a[1], a[0])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        m, n = _as2(a.shape)
        return Tensor((n, m), _t(a.data, m, n))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        i, j = idx
        src = (ins[0], _idx2(shapes[0], j, i))
        return PolyRelation((out, idx), [Term(1, (src,))], "transpose", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        n, m = dy.shape
        return [Tensor(a.shape, _t(dy.data, n, m))]


@register
class HStack(Op):
    name, arity, summary = "hstack", 2, "[A | B]: B beside A (same rows), e.g. [W2 | I] for a skip connection"
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        a, b = shapes
        _need(
            len(a) == 2 and len(b) == 2,
            "hstack needs two matrices, got {n0} ({s0}) and {n1} ({s1})",
            n0=names[0], s0=shape_str(a), n1=names[1], s1=shape_str(b),
        )
        _need(a[0] == b[0], "hstack: {n0} has {r0} rows but {n1} has {r1}", n0=names[0], r0=a[0], n1=names[1], r1=b[0])
        return (a[0], a[1] + b[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        m, p, q = a.shape[0], a.shape[1], b.shape[1]
        return Tensor((m, p + q), [v for i in range(m) for v in a.data[i * p : (i + 1) * p] + b.data[i * q : (i + 1) * q]])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        i, j = idx
        p = shapes[0][1]
        src = (ins[0], (i, j)) if j < p else (ins[1], (i, j - p))
        return PolyRelation((out, idx), [Term(1, (src,))], "hstack", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a, b = xs
        m, p, q = a.shape[0], a.shape[1], b.shape[1]
        w = p + q
        da = [dy.data[i * w + j] for i in range(m) for j in range(p)]
        db = [dy.data[i * w + p + j] for i in range(m) for j in range(q)]
        return [Tensor(a.shape, da), Tensor(b.shape, db)]


@register
class VStack(Op):
    name, arity, summary = "vstack", 2, "[A ; B]: B under A (same columns; scalars and vectors make a vector)"
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        a, b = shapes
        if len(a) <= 1 and len(b) <= 1:
            return ((a[0] if a else 1) + (b[0] if b else 1),)
        _need(
            len(a) == 2 and len(b) == 2,
            "vstack needs two matrices or two vectors/scalars, got {n0} ({s0}) and {n1} ({s1})",
            n0=names[0], s0=shape_str(a), n1=names[1], s1=shape_str(b),
        )
        _need(a[1] == b[1], "vstack: {n0} has {c0} columns but {n1} has {c1}", n0=names[0], c0=a[1], n1=names[1], c1=b[1])
        return (a[0] + b[0], a[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        shape = self.check([a.shape, b.shape], attrs, ("A", "B"))
        return Tensor(shape, list(a.data) + list(b.data))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        a, b = shapes
        na = a[0] if a else 1
        i = idx[0]
        src: Cell
        if len(idx) == 1:
            src = (ins[0], (i,) if a else ()) if i < na else (ins[1], (i - na,) if b else ())
        else:
            src = (ins[0], (i, idx[1])) if i < na else (ins[1], (i - na, idx[1]))
        return PolyRelation((out, idx), [Term(1, (src,))], "vstack", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a, b = xs
        na = len(a.data)
        return [Tensor(a.shape, dy.data[:na]), Tensor(b.shape, dy.data[na:])]


@register
class Stack(Op):
    name, summary = "stack", "[a, b, c, …]: scalars (or vectors) in a row, one vector; any number of inputs"
    arity = -1  # any number
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        _need(len(shapes) >= 1, "stack needs at least one input")
        for s, n in zip(shapes, names):
            _need(len(s) <= 1, "stack takes scalars and vectors, {name} is a {shape}", name=n, shape=shape_str(s))
        return (sum(s[0] if s else 1 for s in shapes),)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        data = [v for x in xs for v in x.data]
        return Tensor((len(data),), data)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        i = idx[0]
        for name, s in zip(ins, shapes):
            n = s[0] if s else 1
            if i < n:
                return PolyRelation((out, idx), [Term(1, ((name, (i,) if s else ()),))], "stack", style="copy")
            i -= n
        raise AssertionError("index outside the stack")  # pragma: no cover

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        out: list[Tensor | None] = []
        k = 0
        for x in xs:
            n = len(x.data)
            out.append(Tensor(x.shape, dy.data[k : k + n]))
            k += n
        return out


# ---------------------------------------------------------------------------------------------
# element-wise


class _Elementwise2(Op):
    arity = 2

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        a, b = shapes
        if a == b or b == ():
            return a
        if a == ():
            return b
        if len(a) == 2 and b == (1, a[1]):  # one row for every row: a column's Σ under its column
            return a
        raise GraphError(M_(
            "{op} needs tensors of one shape, a scalar, or one row of as many columns: {n0} is {s0}, {n1} is {s1}",
            op=self.name, n0=names[0], s0=shape_str(a), n1=names[1], s1=shape_str(b),
        ))

    @staticmethod
    def _cell(shape: Shape, idx: Index) -> Index:
        if shape == ():
            return ()
        if len(shape) == 2 and shape[0] == 1:
            return (0, idx[1])
        return idx

    @staticmethod
    def _spread(t: Tensor, shape: Shape) -> list[Value]:
        """t's values at every cell of ``shape``: itself, a scalar everywhere, or one row for every row."""
        if t.shape == shape:
            return list(t.data)
        if t.shape == ():
            return t.data * size(shape)
        return t.data * shape[0]

    @staticmethod
    def _gather(g: list[Value], t: Tensor, shape: Shape) -> Tensor:
        """The gradient of a spread tensor: the sum over the cells it was spread to."""
        if t.shape == shape:
            return Tensor(shape, g)
        if t.shape == ():
            return Tensor((), [norm(sum(g, 0))])
        n = shape[1]
        return Tensor(t.shape, [norm(sum((g[i * n + j] for i in range(shape[0])), 0)) for j in range(n)])

    int_op: Any = None  # the same operation on two ints (an int again): the fast path of a whole-number sheet

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        shape = a.shape if a.shape != () else b.shape
        ad = self._spread(a, shape)
        bd = self._spread(b, shape)
        if self.int_op is not None:
            kinds = set(map(type, ad))
            kinds.update(map(type, bd))
            if kinds <= _INT:
                return Tensor(shape, list(map(self.int_op, ad, bd)))
        return Tensor(shape, [norm(self.f(x, y)) for x, y in zip(ad, bd)])

    def f(self, x: Value, y: Value) -> Value:
        raise NotImplementedError

    def terms(self, a: Cell, b: Cell) -> list[Term]:
        raise NotImplementedError

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        a = (ins[0], self._cell(shapes[0], idx))
        b = (ins[1], self._cell(shapes[1], idx))
        return PolyRelation((out, idx), self.terms(a, b), self.name, style=self.style)

    style = "sum"

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a, b = xs
        shape = y.shape
        ad = self._spread(a, shape)
        bd = self._spread(b, shape)
        ga: list[Value] = []
        gb: list[Value] = []
        for x, z, g in zip(ad, bd, dy.data):
            pa, pb = self.df(x, z)
            ga.append(norm(g * pa))
            gb.append(norm(g * pb))
        return [self._gather(ga, a, shape), self._gather(gb, b, shape)]

    def df(self, x: Value, y: Value) -> tuple[Value, Value]:
        raise NotImplementedError


@register
class Add(_Elementwise2):
    name, summary = "add", "A + B element-wise (also the skip connection)"
    int_op = staticmethod(add)

    def f(self, x: Value, y: Value) -> Value:
        return x + y

    def df(self, x: Value, y: Value) -> tuple[Value, Value]:
        return 1, 1

    def terms(self, a: Cell, b: Cell) -> list[Term]:
        return [Term(1, (a,)), Term(1, (b,))]


@register
class Sub(_Elementwise2):
    name, summary = "sub", "A − B element-wise"
    int_op = staticmethod(sub)

    def f(self, x: Value, y: Value) -> Value:
        return x - y

    def df(self, x: Value, y: Value) -> tuple[Value, Value]:
        return 1, -1

    def terms(self, a: Cell, b: Cell) -> list[Term]:
        return [Term(1, (a,)), Term(-1, (b,))]


@register
class Mul(_Elementwise2):
    name, summary = "mul", "A .* B element-wise"
    int_op = staticmethod(mul)

    def f(self, x: Value, y: Value) -> Value:
        return x * y

    def df(self, x: Value, y: Value) -> tuple[Value, Value]:
        return y, x

    def terms(self, a: Cell, b: Cell) -> list[Term]:
        return [Term(1, (a, b))]


@register
class Div(_Elementwise2):
    name, summary = "div", "A / B element-wise, exact (the ratio dZ/dW; B may be one row: each column ÷ its Σ)"
    style = "div"

    def f(self, x: Value, y: Value) -> Value:
        if y == 0:
            raise GraphError("div: division by zero")
        return vdiv(x, y)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a, b = xs
        shape = a.shape if a.shape != () else b.shape
        bd = self._spread(b, shape)
        if 0 in bd:
            raise GraphError("div: division by zero")
        return Tensor(shape, list(map(vdiv, self._spread(a, shape), bd)))  # vdiv's values are normalised

    def df(self, x: Value, y: Value) -> tuple[Value, Value]:
        return vdiv(1, y), vdiv(-x, y * y)

    def terms(self, a: Cell, b: Cell) -> list[Term]:
        return [Term(1, (a,), (b,))]


class _Elementwise1(Op):
    arity = 1

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        return shapes[0]


@register
class ReLU(_Elementwise1):
    name, summary = "relu", "max(Z, 0): cross out each negative and write 0"

    def alpha(self, attrs: Attrs) -> Value:
        return 0

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        a = self.alpha(attrs)
        return Tensor(xs[0].shape, [z if z > 0 else norm(a * z) for z in xs[0].data])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        z = (ins[0], idx)
        return PolyRelation((out, idx), [Term(1, (z,), gate=z, alpha=self.alpha(attrs))], self.name, style="relu")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        a = self.alpha(attrs)
        return [Tensor(y.shape, [g if z > 0 else norm(a * g) for z, g in zip(xs[0].data, dy.data)])]


@register
class LeakyReLU(ReLU):
    name, summary = "leaky_relu", 'Z if Z > 0 else α·Z (attribute alpha, e.g. "1/10")'
    attrs = {"alpha": 'the slope for negatives, a value such as "1/10" or "1/2"'}

    def alpha(self, attrs: Attrs) -> Value:
        return value_attr(attrs, "alpha", Fraction(1, 10))


@register
class Sigmoid(_Elementwise1):
    name, summary = "sigmoid", "1/(1 + e^−Z) (inexact)"

    @staticmethod
    def s(z: Value) -> float:
        check_exponent(z, "e^−z")  # guard: e^1000 overflows a float
        return 1.0 / (1.0 + math.exp(-float(z)))

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        return Tensor(xs[0].shape, [self.s(z) for z in xs[0].data])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        def text(v: list[Value], r: Value, p: int) -> str:
            return f"1/(1 + e^{fmt_factor(-v[0], p)}) = {fmt(r, p)}"

        return FuncRelation((out, idx), [(ins[0], idx)], "sigmoid", lambda v: self.s(v[0]), text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        a = rel.out
        return {rel.uses[0]: [Term(1, (a,)), Term(-1, (a, a))]}  # σ' = σ(1 − σ)

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(y.shape, [g * (a - a * a) for a, g in zip(y.data, dy.data)])]


@register
class Softmax(Op):
    name, arity = "softmax", 1
    summary = "base^(Z/T) / Σ base^(Z/T), per column (base 3 by hand, or e)"
    attrs = {"base": '3 or "e" (default "e")', "temperature": "a value T > 0 (default 1)"}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (z,) = shapes
        _need(len(z) in (1, 2), VECTOR_OR_MATRIX, op="softmax", name=names[0], shape=shape_str(z))
        base_of(attrs)
        t = value_attr(attrs, "temperature", 1)
        _need(t > 0, "softmax: temperature must be positive, not {t}", t=t)
        return z

    @staticmethod
    def column(zs: Sequence[Value], attrs: Attrs) -> list[Value]:
        b = base_of(attrs)
        t = value_attr(attrs, "temperature", 1)
        es = [power(b, norm(vdiv(z, t)) if not isinstance(z, float) else z / t) for z in zs]
        s = sum(es, 0)
        return [norm(vdiv(e, s)) for e in es]

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (z,) = xs
        m, n = _as2(z.shape)
        out: list[Value] = [0] * (m * n)
        for j in range(n):
            col = self.column([z.data[i * n + j] for i in range(m)], attrs)
            for i in range(m):
                out[i * n + j] = col[i]
        return Tensor(z.shape, out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        uses = [(ins[0], _idx2(shape, k, j)) for k in range(shape[0])]
        b = base_of(attrs)
        t = value_attr(attrs, "temperature", 1)

        def fn(v: list[Value]) -> Value:
            return self.column(v, attrs)[i]

        def text(v: list[Value], r: Value, p: int) -> str:
            def ex(z: Value) -> str:
                e = fmt(z, p) if t == 1 else f"({fmt(z, p)}/{fmt(t, p)})"
                return f"{'e' if b == E else b}^{e}"

            num = ex(v[i])
            den = " + ".join(ex(z) for z in v)
            es = [power(b, norm(vdiv(z, t)) if not isinstance(z, float) else z / t) for z in v]
            mid = f" = {fmt(es[i], p)} / {fmt(sum(es, 0), p)}"
            return f"{num} / ({den}){mid} = {fmt(r, p)}"

        return FuncRelation((out, idx), uses, "softmax", fn, text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        # ∂P_i/∂Z_k = κ·P_i·(δ_ik − P_k), κ = ln(base)/T
        b = base_of(attrs)
        t = value_attr(attrs, "temperature", 1)
        kappa: Value = vdiv(1, t) if b == E else math.log(b) / float(t)  # type: ignore[arg-type]
        p = rel.out
        out_name, idx = p
        res: dict[Cell, list[Term]] = {}
        for z in rel.uses:
            k = z[1]
            pk = (out_name, k)
            ts = [Term(-kappa, (p, pk))]
            if k == idx:
                ts.insert(0, Term(kappa, (p,)))
            res[z] = ts
        return res

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        b = base_of(attrs)
        t = value_attr(attrs, "temperature", 1)
        kappa: Value = vdiv(1, t) if b == E else math.log(b) / float(t)  # type: ignore[arg-type]
        m, n = _as2(y.shape)
        dz: list[Value] = [0] * (m * n)
        for j in range(n):
            s = sum((y.data[i * n + j] * dy.data[i * n + j] for i in range(m)), 0)
            for i in range(m):
                q = i * n + j
                dz[q] = norm(kappa * y.data[q] * (dy.data[q] - s))
        return [Tensor(y.shape, dz)]


_POWERS: dict[tuple[Any, int], Value] = {}


def log_exact(b: int, y: Value) -> int | None:
    """The whole z with bᶻ = y, or None (y not an exact power of b: no step a student writes)."""
    if type(y) is not int and type(y) is not Fraction:
        return None
    y = Fraction(y)
    if y <= 0:
        return None
    num, den, sign = (y.numerator, y.denominator, 1) if y >= 1 else (y.denominator, y.numerator, -1)
    if den != 1:
        return None
    z = 0
    while num % b == 0:
        num //= b
        z += 1
    return sign * z if num == 1 else None


@register
class Exp(_Elementwise1):
    """``base^Z`` cell by cell: the method's ``3ᶻ`` column (exact for base 3 and whole z)."""

    name, summary = "exp", "base^Z cell by cell (base 3 by hand: the 3ᶻ column of a softmax; or e)"
    attrs = {"base": '3 or "e" (default "e")'}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        base_of(attrs)
        return shapes[0]

    @staticmethod
    def f(b: int | str, z: Value) -> Value:
        return norm(power(b, norm(z)))

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        b = base_of(attrs)
        if b == E:
            return Tensor(xs[0].shape, [self.f(b, z) for z in xs[0].data])
        memo = _POWERS  # b**z of a whole z, worked out once: z is small (a softmax's exponents)
        out: list[Value] = []
        for z in xs[0].data:
            if type(z) is int:
                v = memo.get((b, z))
                if v is None:
                    v = self.f(b, z)  # (the exponent bounded first, as always)
                    if len(memo) < 4096:
                        memo[(b, z)] = v
                out.append(v)
            else:
                out.append(self.f(b, z))
        return Tensor(xs[0].shape, out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        b = base_of(attrs)

        def text(v: list[Value], r: Value, p: int) -> str:
            z = v[0]
            if type(z) is int:  # 3² = 9, 3⁻¹ = 1/3: the exponent raised, as on paper
                return f"{'e' if b == E else b}{str(z).translate(_SUP).replace('-', '⁻')} = {fmt(r, p)}"
            return f"{'e' if b == E else b}^{fmt_factor(z, p)} = {fmt(r, p)}"

        inverse = None if b == E else (lambda y: log_exact(b, y))  # type: ignore[arg-type]
        return FuncRelation((out, idx), [(ins[0], idx)], "exp", lambda v: self.f(b, v[0]), text, inverse=inverse)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        b = base_of(attrs)
        return {rel.uses[0]: [Term(1 if b == E else ln_base(b), (rel.out,))]}  # (bᶻ)' = bᶻ·ln b


    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        b = base_of(attrs)
        k: Value = 1 if b == E else ln_base(b)
        return [Tensor(y.shape, [norm(g * e * k) for e, g in zip(y.data, dy.data)])]


@register
class ColSum(Op):
    """Σ down each column: a matrix gives one row (one Σ under each column), a vector its Σ."""

    name, arity, summary = "colsum", 1, "Σ of each column (a matrix → one row; a vector → a scalar): the softmax's Σ"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) in (1, 2), VECTOR_OR_MATRIX, op="colsum", name=names[0], shape=shape_str(a))
        return () if len(a) == 1 else (1, a[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        m, n = _as2(a.shape)
        out = [norm(sum((a.data[i * n + j] for i in range(m)), 0)) for j in range(n)]
        return Tensor((), out) if len(a.shape) == 1 else Tensor((1, n), out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        j = idx[1] if idx else 0
        return PolyRelation((out, idx), [Term(1, ((ins[0], _idx2(shape, i, j)),)) for i in range(shape[0])], "colsum")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        m, n = _as2(a.shape)
        return [Tensor(a.shape, [dy.data[j] for _ in range(m) for j in range(n)])]


@register
class Scale(_Elementwise1):
    """``c·Z`` for a constant c: with ``c = 1/T``, the ``z/T`` column that comes before a softmax
    with a temperature."""

    name, summary = "scale", 'c·Z for a constant c (attribute "by", e.g. "1/2": z/T before a softmax)'
    attrs = {"by": 'the constant, a value such as "1/2"'}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        _need("by" in attrs, 'scale needs the attribute "by", e.g. {{"by": "1/2"}}')
        value_attr(attrs, "by", 1)
        return shapes[0]

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        c = value_attr(attrs, "by", 1)
        return Tensor(xs[0].shape, [norm(c * z) for z in xs[0].data])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        c = value_attr(attrs, "by", 1)
        z = (ins[0], idx)
        text_fn = None
        if isinstance(c, Fraction) and c.numerator == 1 and c.denominator > 1:
            t = c.denominator

            def text_fn(v: list[Value], r: Value, p: int) -> str:
                return f"{fmt(v[0], p)}/{t} = {fmt(r, p)}"

        return PolyRelation((out, idx), [Term(c, (z,))], "scale", text_fn=text_fn)

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        c = value_attr(attrs, "by", 1)
        return [Tensor(y.shape, [norm(c * g) for g in dy.data])]


# ---------------------------------------------------------------------------------------------
# reductions and losses


@register
class Sum(Op):
    name, arity, summary = "sum", 1, "Σ of all entries (→ scalar)"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        return ()

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        return Tensor((), [norm(sum(xs[0].data, 0))])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, ()), [Term(1, ((ins[0], i),)) for i in indices(shapes[0])], "sum")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor.full(xs[0].shape, dy.data[0])]


@register
class HalfSSE(Op):
    name, arity, summary = "half_sse", 2, "½ Σ (Ŷ − Y)², so ∂L/∂Ŷ = Ŷ − Y"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        _need(
            shapes[0] == shapes[1],
            ONE_SHAPE, op="half_sse", a="Ŷ", b="Y", n0=names[0], s0=shape_str(shapes[0]), n1=names[1], s1=shape_str(shapes[1]),
        )
        return ()

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        yh, y = xs
        return Tensor((), [norm(Fraction(1, 2) * sum(((a - b) * (a - b) for a, b in zip(yh.data, y.data)), 0))])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        h = Fraction(1, 2)
        terms: list[Term] = []
        uses: list[Cell] = []
        for i in indices(shapes[0]):
            a, b = (ins[0], i), (ins[1], i)
            terms += [Term(h, (a, a)), Term(-1, (a, b)), Term(h, (b, b))]
            uses += [a, b]

        def text(v: list[Value], r: Value, p: int) -> str:
            sq = " + ".join(f"({fmt(v[k], p)} {MINUS} {fmt_factor(v[k + 1], p)})²" for k in range(0, len(v), 2))
            return f"½·({sq}) = {fmt(r, p)}"

        return PolyRelation((out, ()), terms, "half_sse", uses=uses, text_fn=text)

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        yh, t = xs
        g = dy.data[0]
        d = [norm(g * (a - b)) for a, b in zip(yh.data, t.data)]
        return [Tensor(yh.shape, d), Tensor(t.shape, [norm(-v) for v in d])]


@register
class CrossEntropy(Op):
    name, arity, summary = "cross_entropy", 2, "−Σ Y·log P over all columns (log in the softmax's base)"
    attrs = {"base": 'the base of the log: 3 or "e" (default "e"); must match the softmax feeding P'}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        _need(
            shapes[0] == shapes[1],
            ONE_SHAPE, op="cross_entropy",
            a="P", b="Y", n0=names[0], s0=shape_str(shapes[0]), n1=names[1], s1=shape_str(shapes[1]),
        )
        base_of(attrs)
        return ()

    @staticmethod
    def ce(p: Sequence[Value], y: Sequence[Value], b: int | str) -> Value:
        total = 0.0
        lb = ln_base(b)
        for pi, yi in zip(p, y):
            if yi != 0:
                if not pi > 0:
                    raise GraphError("cross_entropy: a probability is 0 where the target is not")
                total -= float(yi) * math.log(float(pi)) / lb
        return total

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        return Tensor((), [self.ce(xs[0].data, xs[1].data, base_of(attrs))])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        b = base_of(attrs)
        cells = list(indices(shapes[0]))
        uses = [(ins[0], i) for i in cells] + [(ins[1], i) for i in cells]
        n = len(cells)
        log = "ln" if b == E else f"log{''.join('₀₁₂₃₄₅₆₇₈₉'[int(d)] for d in str(b))}"

        def text(v: list[Value], r: Value, p: int) -> str:
            parts = [f"{fmt_factor(v[n + k], p)}·{log} {fmt_factor(v[k], p)}" for k in range(n) if v[n + k] != 0]
            return f"{MINUS}({' + '.join(parts)}) = {fmt(r, p)}"

        return FuncRelation((out, ()), uses, "cross_entropy", lambda v: self.ce(v[:n], v[n:], b), text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        b = base_of(attrs)
        c = -1 if b == E else -1 / ln_base(b)
        n = len(rel.uses) // 2
        res: dict[Cell, list[Term]] = {}
        for k in range(n):
            p, y = rel.uses[k], rel.uses[n + k]
            res[p] = [Term(c, (y,), (p,))]  # ∂L/∂P = −Y / (P·ln base)
        return res

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        b = base_of(attrs)
        p, t = xs
        g = dy.data[0]
        lb = ln_base(b)
        dp: list[Value] = []
        for pi, yi in zip(p.data, t.data):
            if yi == 0:
                dp.append(0)
            elif b == E:
                dp.append(norm(vdiv(-g * yi, pi)))  # exact when P and Y are exact
            else:
                dp.append(-float(g) * float(yi) / (float(pi) * lb))
        return [Tensor(p.shape, dp), None]


def op(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        known = ", ".join(sorted([*OPS, "grad"]))
        raise GraphError(M_("unknown op {name!r}; the ops are: {known}", name=name, known=known)) from None


# ---------------------------------------------------------------------------------------------
# mixture of experts (chapter moe): the gate's choice and the rows it is read from


def top_rows(col: Sequence[Value], k: int) -> list[int]:
    """The rows of the ``k`` largest entries of one column; a tie at the cut is an error (the
    gate could not choose)."""
    order = sorted(range(len(col)), key=lambda i: (-col[i], i))
    if k < len(col) and col[order[k - 1]] == col[order[k]]:
        raise GraphError(M_(
            "top_onehot: a tie in a column of gate scores ({value} twice at the cut): the gate cannot choose; change the values",
            value=fmt(col[order[k - 1]]),
        ))
    return sorted(order[:k])


@register
class TopOneHot(Op):
    """Column by column: 1 at the ``k`` largest entries, 0 elsewhere (the gate's top-k choice).
    Piecewise constant: its gradient is 0."""

    name, arity = "top_onehot", 1
    summary = "1 at the k largest entries of each column, 0 elsewhere (the gate's choice; attribute k, default 1)"
    attrs = {"k": "how many rows each column chooses (default 1)"}

    @staticmethod
    def k(attrs: Attrs) -> int:
        k = attrs.get("k", 1)
        _need(type(k) is int and k >= 1, WHOLE_FROM, op="top_onehot", key="k", lo=1, v=k)
        return int(k)

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (s,) = shapes
        _need(len(s) in (1, 2), VECTOR_OR_MATRIX, op="top_onehot", name=names[0], shape=shape_str(s))
        _need(self.k(attrs) <= s[0], K_ROWS, op="top_onehot", k=self.k(attrs), name=names[0], rows=s[0])
        return s

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (s,) = xs
        m, n = _as2(s.shape)
        k = self.k(attrs)
        out: list[Value] = [0] * (m * n)
        for j in range(n):
            for i in top_rows([s.data[r * n + j] for r in range(m)], k):
                out[i * n + j] = 1
        return Tensor(s.shape, out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        uses = [(ins[0], _idx2(shape, r, j)) for r in range(shape[0])]
        k = self.k(attrs)

        def fn(v: list[Value]) -> Value:
            try:
                return 1 if i in top_rows(v, k) else 0
            except GraphError as e:  # a student's tied scores: this cell is undefined (as a division by 0)
                raise ValueError(str(e)) from None

        def text(v: list[Value], r: Value, p: int) -> str:
            col = ", ".join(fmt(x, p) for x in v)
            which = "the largest" if k == 1 else f"one of the {k} largest"
            return f"{fmt(v[i], p)} {'is' if r else 'is not'} {which} of {col} → {fmt(r, p)}"

        return FuncRelation((out, idx), uses, "top_onehot", fn, text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        return {c: [Term(0)] for c in rel.uses}  # a choice: constant between ties

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(xs[0].shape, [0] * len(xs[0].data))]


@register
class RowOf(Op):
    """Row ``row`` (0-based) of a matrix as a one-row matrix: expert k's row of the gate's choice."""

    name, arity = "row_of", 1
    summary = "one row of a matrix (attribute row, 0-based) as a 1-row matrix: an expert's row of the one-hot"
    attrs = {"row": "which row, 0-based"}
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        r = attrs.get("row")
        _need(len(a) == 2, A_MATRIX, op="row_of", name=names[0], shape=shape_str(a))
        _need(type(r) is int and 0 <= r < a[0], WHOLE_FROM_TO, op="row_of", key="row", hi=a[0] - 1, v=r)
        return (1, a[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        n, r = a.shape[1], attrs["row"]
        return Tensor((1, n), list(a.data[r * n : (r + 1) * n]))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, idx), [Term(1, ((ins[0], (attrs["row"], idx[1])),))], "row_of", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        m, n = a.shape
        r = attrs["row"]
        return [Tensor(a.shape, [dy.data[j] if i == r else 0 for i in range(m) for j in range(n)])]


# ---------------------------------------------------------------------------------------------
# next-token sampling: sort by probability, cumulative ranges, a random number picks the token


def _column(t: Tensor, j: int) -> list[Value]:
    m, n = _as2(t.shape)
    return [t.data[i * n + j] for i in range(m)]


def _order(col: Sequence[Value]) -> list[int]:
    """Row numbers (0-based) from the largest value down; equal values keep their row order."""
    return sorted(range(len(col)), key=lambda i: (-col[i], i))


def _ordinal(k: int) -> str:
    """1 → 1st, 2 → 2nd, 3 → 3rd, 4 → 4th (the rank written on a step)."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


class _SortLike(Op):
    """Per column, the rows in order of value, largest first (a stable order: equal values keep
    their rows' order). Value-dependent: each cell is a :class:`FuncRelation` over its column."""

    arity = 1

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) in (1, 2), VECTOR_OR_MATRIX, op=self.name, name=names[0], shape=shape_str(a))
        return a

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        m, n = _as2(a.shape)
        out: list[Value] = [0] * (m * n)
        for j in range(n):
            col = _column(a, j)
            order = _order(col)
            for i in range(m):
                out[i * n + j] = self.pick(col, order, i)
        return Tensor(a.shape, out)

    def pick(self, col: Sequence[Value], order: list[int], i: int) -> Value:
        raise NotImplementedError

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        uses = [(ins[0], _idx2(shape, k, j)) for k in range(shape[0])]

        def fn(v: list[Value]) -> Value:
            return self.pick(v, _order(v), i)

        def text(v: list[Value], r: Value, p: int) -> str:
            return self.step(v, _order(v), i, r, p)

        return FuncRelation((out, idx), uses, self.name, fn, text)

    def step(self, col: Sequence[Value], order: list[int], i: int, r: Value, p: int) -> str:
        raise NotImplementedError

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        raise GraphError(M_(
            "{op} has no gradient step written cell by cell (its derivative depends on the order); "
            "take the gradient of what comes before it", op=self.name,
        ))


@register
class Sort(_SortLike):
    """``sort``: each column's values from the largest down. Backward: the permutation undone
    (the gradient of the k-th largest goes back to the row it came from)."""

    name, summary = "sort", "each column sorted, the largest first (equal values keep their order)"

    def pick(self, col: Sequence[Value], order: list[int], i: int) -> Value:
        return col[order[i]]

    def step(self, col: Sequence[Value], order: list[int], i: int, r: Value, p: int) -> str:
        return f"the {_ordinal(i + 1)} largest of {', '.join(fmt(v, p) for v in col)} = {fmt(r, p)}"

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        m, n = _as2(a.shape)
        g: list[Value] = [0] * (m * n)
        for j in range(n):
            for i, src in enumerate(_order(_column(a, j))):
                g[src * n + j] = dy.data[i * n + j]
        return [Tensor(a.shape, g)]


@register
class ArgSort(_SortLike):
    """``argsort``: for each rank, the row (1-based: the token's number) it came from. A whole
    number that does not change when the values move a little: its gradient is 0."""

    name, summary = "argsort", "for each column, the row numbers (1-based) from the largest value down"

    def pick(self, col: Sequence[Value], order: list[int], i: int) -> Value:
        return order[i] + 1

    def step(self, col: Sequence[Value], order: list[int], i: int, r: Value, p: int) -> str:
        return f"the {_ordinal(i + 1)} largest, {fmt(col[order[i]], p)}, is in row {r}"

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor.full(xs[0].shape, 0)]


@register
class CumSum(Op):
    """``cumsum``: running totals down each column, ``C[i] = X[1] + … + X[i]``: the cumulative
    column whose ranges [C[i−1], C[i]) a random number falls into. Backward: a reversed running
    total, ``dX[i] = dC[i] + … + dC[m]``."""

    name, arity, summary = "cumsum", 1, "running totals down each column: C[i] = X[1] + … + X[i]"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) in (1, 2), VECTOR_OR_MATRIX, op="cumsum", name=names[0], shape=shape_str(a))
        return a

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        m, n = _as2(a.shape)
        out: list[Value] = [0] * (m * n)
        for j in range(n):
            s: Value = 0
            for i in range(m):
                s = norm(s + a.data[i * n + j])
                out[i * n + j] = s
        return Tensor(a.shape, out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        i, j = (idx[0], 0) if len(idx) == 1 else idx
        return PolyRelation((out, idx), [Term(1, ((ins[0], _idx2(shape, k, j)),)) for k in range(i + 1)], "cumsum")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        m, n = _as2(a.shape)
        g: list[Value] = [0] * (m * n)
        for j in range(n):
            s: Value = 0
            for i in reversed(range(m)):
                s = norm(s + dy.data[i * n + j])
                g[i * n + j] = s
        return [Tensor(a.shape, g)]


@register
class Pick(Op):
    """``pick(C, I, r)``: the token a random number r picks. Per column, the ranges are
    [0, C[1]), [C[1], C[2]), …; r falls in range k when k − 1 cumulative values are ≤ r (counted,
    at most m), and the answer is I[k], the token in that rank. r is one row (one number per
    column) or, for vectors, a scalar. Gradient: to I[k] only (C and r only choose)."""

    name, arity, summary = "pick", 3, "the token r picks: I[k] for the range [C[k−1], C[k]) that holds r, per column"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        c, t, r = shapes
        _need(len(c) in (1, 2), "pick needs the cumulative column {name} as a vector or matrix, not a {shape}",
              name=names[0], shape=shape_str(c))
        _need(t == c, "pick: the tokens {t} ({st}) must have the shape of {c} ({sc})", t=names[1], st=shape_str(t), c=names[0],
              sc=shape_str(c))
        want: Shape = () if len(c) == 1 else (1, c[1])
        what = shape_str(want) if want else M_("a scalar")
        _need(r == want, "pick: the random number {name} must be {what}, not {shape}",
              name=names[2], what=what, shape=shape_str(r))
        return want

    @staticmethod
    def rank(cs: Sequence[Value], r: Value) -> int:
        """0-based: how many cumulative values are ≤ r (at most the last row)."""
        return min(sum(1 for c in cs if c <= r), len(cs) - 1)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        c, t, r = xs
        m, n = _as2(c.shape)
        out = [t.data[self.rank(_column(c, j), r.data[j]) * n + j] for j in range(n)]
        return Tensor(r.shape, out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        shape = shapes[0]
        m = shape[0]
        j = idx[1] if idx else 0
        uses = [(ins[0], _idx2(shape, k, j)) for k in range(m)] + [(ins[1], _idx2(shape, k, j)) for k in range(m)]
        uses.append((ins[2], idx))

        def fn(v: list[Value]) -> Value:
            return v[m + self.rank(v[:m], v[2 * m])]

        def text(v: list[Value], res: Value, p: int) -> str:
            k = self.rank(v[:m], v[2 * m])
            lo = fmt(v[k - 1], p) if k else "0"
            return f"{fmt(v[2 * m], p)} is in [{lo}, {fmt(v[k], p)}): rank {k + 1}, word {fmt(res, p)}"

        return FuncRelation((out, idx), uses, "pick", fn, text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        raise GraphError("pick has no gradient step written cell by cell (which token it picks depends on r)")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        c, t, r = xs
        m, n = _as2(c.shape)
        g: list[Value] = [0] * (m * n)
        for j in range(n):
            g[self.rank(_column(c, j), r.data[j]) * n + j] = dy.data[j]
        return [Tensor.full(c.shape, 0), Tensor(t.shape, g), Tensor.full(r.shape, 0)]


@register
class TopK(Op):
    """``topk``: the first k rows of each column (after a sort: the k largest). Backward: the
    gradient of those rows, 0 for the rows left out."""

    name, arity, summary = "topk", 1, "the first k rows (after a sort: the k most likely), attribute k"
    attrs = {"k": "how many rows to keep, a whole number ≥ 1"}
    copies = True

    @staticmethod
    def k(attrs: Attrs) -> int:
        k = attrs.get("k")
        _need(type(k) is int and k >= 1, 'topk needs the attribute "k", a whole number ≥ 1, not {k!r}', k=k)
        assert isinstance(k, int)
        return k

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) in (1, 2), VECTOR_OR_MATRIX, op="topk", name=names[0], shape=shape_str(a))
        k = self.k(attrs)
        _need(k <= a[0], K_ROWS, op="topk", k=k, name=names[0], rows=a[0])
        return (k,) if len(a) == 1 else (k, a[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        k = self.k(attrs)
        _, n = _as2(a.shape)
        return Tensor((k,) if len(a.shape) == 1 else (k, n), list(a.data[: k * n]))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, idx), [Term(1, ((ins[0], idx),))], "topk", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        return [Tensor(a.shape, list(dy.data) + [0] * (len(a.data) - len(dy.data)))]


# ---------------------------------------------------------------------------------------------
# dropout: printed random numbers give the mask, a diagonal matrix scales the kept units


@register
class DropMask(Op):
    """``dropmask``: 1 where the printed random number r ≥ p (the unit is kept), 0 where r < p
    (dropped). A step function: its gradient is 0."""

    name, arity, summary = "dropmask", 1, "1 where r ≥ p (kept), 0 where r < p (dropped); attribute p"
    attrs = {"p": 'the dropout rate, a value such as "1/2"'}

    @staticmethod
    def p(attrs: Attrs) -> Value:
        p = value_attr(attrs, "p", Fraction(1, 2))
        _need(0 < p < 1, "dropmask: p must be between 0 and 1, not {p}", p=p)
        return p

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        self.p(attrs)
        return shapes[0]

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        p = self.p(attrs)
        return Tensor(xs[0].shape, [1 if r >= p else 0 for r in xs[0].data])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        p = self.p(attrs)

        def text(v: list[Value], res: Value, prec: int) -> str:
            return f"{fmt(v[0], prec)} {'≥' if res else '<'} {fmt(p, prec)}: {'keep' if res else 'drop'} → {res}"

        return FuncRelation((out, idx), [(ins[0], idx)], "dropmask", lambda v: 1 if v[0] >= p else 0, text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        return {}  # a step: 0 everywhere it is defined

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor.full(xs[0].shape, 0)]


@register
class Diag(Op):
    """``diag``: a vector v as the diagonal of a square matrix, times a constant c (attribute
    ``by``, default 1): ``D[i,i] = c·v[i]``, 0 elsewhere. Dropout's ``diag(mask)·1/(1 − p)``."""

    name, arity, summary = "diag", 1, 'the vector on the diagonal of a square matrix, times c (attribute "by")'
    attrs = {"by": 'the constant c, a value such as "2" (default 1)'}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) == 1, "diag needs a vector, {name} is a {shape}", name=names[0], shape=shape_str(a))
        value_attr(attrs, "by", 1)
        return (a[0], a[0])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        c = value_attr(attrs, "by", 1)
        n = xs[0].shape[0]
        return Tensor((n, n), [norm(c * xs[0].data[i]) if i == j else 0 for i in range(n) for j in range(n)])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        i, j = idx
        if i != j:
            return PolyRelation((out, idx), [], "diag", style="const")
        c = value_attr(attrs, "by", 1)
        return PolyRelation((out, idx), [Term(c, ((ins[0], (i,)),))], "diag")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        c = value_attr(attrs, "by", 1)
        n = xs[0].shape[0]
        return [Tensor((n,), [norm(c * dy.data[i * n + i]) for i in range(n)])]


# ---------------------------------------------------------------------------------------------
# batch normalisation: the standard deviation from the variance


@register
class Sqrt(_Elementwise1):
    """``sqrt``: √Z cell by cell — exact for perfect squares (of whole numbers or fractions), a
    float otherwise. Backward: 1/(2·√Z)."""

    name, summary = "sqrt", "√Z cell by cell (exact for perfect squares: σ from σ²)"

    @staticmethod
    def f(z: Value) -> Value:
        if isinstance(z, float):
            return math.sqrt(z)
        if z < 0:
            raise GraphError(M_("sqrt of a negative number ({value})", value=fmt(z)))
        q = Fraction(z)
        n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
        if n * n == q.numerator and d * d == q.denominator:
            return norm(Fraction(n, d))
        return math.sqrt(float(q))

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        return Tensor(xs[0].shape, [self.f(z) for z in xs[0].data])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        def text(v: list[Value], r: Value, p: int) -> str:
            return f"√{fmt_factor(v[0], p)} = {fmt(r, p)}"

        return FuncRelation((out, idx), [(ins[0], idx)], "sqrt", lambda v: self.f(v[0]), text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        return {rel.uses[0]: [Term(Fraction(1, 2), (), (rel.out,))]}  # (√z)' = 1/(2√z)

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(y.shape, [norm(vdiv(g, 2 * s)) for s, g in zip(y.data, dy.data)])]


# ---------------------------------------------------------------------------------------------
# attention (chapter attention): the causal mask


@register
class MaskCausal(_Elementwise1):
    """The causal mask, applied to the ``3ᶻ`` of square scores (keys are rows, queries columns):
    query ``j`` may look at keys ``i ≤ j`` only. A cell below the diagonal would be ``3^−∞ = 0``;
    on paper it is crossed out and written 0, like a negative under ReLU. The others stay."""

    name, summary = "mask_causal", "the causal mask: keep cell [i,j] when i ≤ j (a key not after its query), else 0 (crossed out)"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) == 2 and a[0] == a[1], "mask_causal needs a square matrix (keys × queries), {name} is a {shape}",
              name=names[0], shape=shape_str(a))
        return a

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        n = a.shape[1]
        return Tensor(a.shape, [v if k // n <= k % n else 0 for k, v in enumerate(a.data)])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        i, j = idx
        src = (ins[0], idx)
        if i <= j:
            return PolyRelation((out, idx), [Term(1, (src,))], "mask_causal", style="copy")

        def text(v: list[Value], r: Value, p: int) -> str:
            return f"0 (key {i + 1} comes after query {j + 1}: crossed out)"

        return PolyRelation((out, idx), [], "mask_causal", style="const", uses=(src,), text_fn=text)

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        n = y.shape[1]
        return [Tensor(y.shape, [g if k // n <= k % n else 0 for k, g in enumerate(dy.data)])]


# ---------------------------------------------------------------------------------------------
# the LSTM's exact activations (issue 13): PyTorch's hard sigmoid and hard tanh, piecewise linear,
# so every gate value is exact (0, 1, or a multiple of 1/6) and torch computes the same numbers.


class _Clamp(_Elementwise1):
    """``clamp(a·z + c, lo, hi)``: flat at both ends, a straight line between. The slope is 0 at
    the two corners themselves, as in PyTorch's backward (``-3 < z < 3`` for the hard sigmoid)."""

    slope: Value = 1
    shift: Value = 0
    lo_z: Value = -1  # the corners, in z
    hi_z: Value = 1
    lo: Value = -1
    hi: Value = 1
    symbol = ""

    def f(self, z: Value) -> Value:
        if z <= self.lo_z:
            return self.lo
        if z >= self.hi_z:
            return self.hi
        return norm(self.slope * z + self.shift)

    def df(self, z: Value) -> Value:
        return self.slope if self.lo_z < z < self.hi_z else 0

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        memo = self.__dict__.setdefault("_memo", {})  # a whole z's value, worked out once (z is small)
        out: list[Value] = []
        for z in xs[0].data:
            if type(z) is int:
                v = memo.get(z)
                if v is None:
                    v = self.f(z)
                    if len(memo) < 1024:
                        memo[z] = v
                out.append(v)
            else:
                out.append(self.f(z))
        return Tensor(xs[0].shape, out)

    def between(self, z: str, r: str) -> str:
        raise NotImplementedError

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        def text(v: list[Value], r: Value, p: int) -> str:
            z = v[0]
            if z <= self.lo_z:
                return f"{self.symbol}({fmt(z, p)}) = {fmt(r, p)} ({fmt(z, p)} ≤ {fmt(self.lo_z, p)})"
            if z >= self.hi_z:
                return f"{self.symbol}({fmt(z, p)}) = {fmt(r, p)} ({fmt(z, p)} ≥ {fmt(self.hi_z, p)})"
            return self.between(fmt(z, p), fmt(r, p))

        return FuncRelation((out, idx), [(ins[0], idx)], self.name, lambda v: self.f(v[0]), text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        # A per-cell gradient step is a sum of products gated by one sign (z > 0); this slope has
        # two corners (1/6 between −3 and 3, else 0) and cannot be written as one. No chapter asks
        # for it (the LSTM is forward only); the whole-tensor backward (vjp) is exact.
        raise GraphError(M_(
            "the gradient of {symbol} (the hard {fn}) is not written cell by cell on a sheet (its slope has two corners); "
            "no grad may pass through it", symbol=self.symbol, fn="sigmoid" if self.name == "hard_sigmoid" else "tanh",
        ))

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(y.shape, [norm(g * self.df(z)) for z, g in zip(xs[0].data, dy.data)])]


@register
class HardSigmoid(_Clamp):
    name, summary = "hard_sigmoid", "σ(z) = clamp(z/6 + ½, 0, 1): 0 for z ≤ −3, 1 for z ≥ 3, z/6 + ½ between (exact)"
    slope, shift, lo_z, hi_z, lo, hi = Fraction(1, 6), Fraction(1, 2), -3, 3, 0, 1
    symbol = "σ"

    def between(self, z: str, r: str) -> str:
        return f"{z}/6 + 1/2 = {r}"


@register
class HardTanh(_Clamp):
    name, summary = "hard_tanh", "tanh(z) = clamp(z, −1, 1): −1 for z ≤ −1, 1 for z ≥ 1, z between (exact)"
    symbol = "tanh"

    def between(self, z: str, r: str) -> str:
        return f"tanh({z}) = {r}"


# ---------------------------------------------------------------------------------------------
# convolution (chapter conv): the image padded, its patches as the columns of one matrix (im2col),
# the row of outputs laid out as the output map, and the 2×2 max-pool


def _ints(attrs: Attrs, key: str, default: int, lo: int, op_name: str) -> int:
    v = attrs.get(key, default)
    _need(type(v) is int and v >= lo, WHOLE_FROM, op=op_name, key=key, lo=lo, v=v)
    return int(v)


@register
class PadZeros(Op):
    """The image with a border of ``pad`` zeros on every side (the padding of a convolution)."""

    name, arity = "pad_zeros", 1
    summary = "a border of 0s around a matrix (attribute pad, default 1): the padded image"
    attrs = {"pad": "how many rows and columns of 0s on each side (default 1)"}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        p = _ints(attrs, "pad", 1, 0, "pad_zeros")
        _need(len(a) == 2, A_MATRIX, op="pad_zeros", name=names[0], shape=shape_str(a))
        return (a[0] + 2 * p, a[1] + 2 * p)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        p = _ints(attrs, "pad", 1, 0, "pad_zeros")
        m, n = a.shape
        out: list[Value] = []
        for i in range(m + 2 * p):
            for j in range(n + 2 * p):
                inside = p <= i < m + p and p <= j < n + p
                out.append(a.data[(i - p) * n + (j - p)] if inside else 0)
        return Tensor((m + 2 * p, n + 2 * p), out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        p = _ints(attrs, "pad", 1, 0, "pad_zeros")
        m, n = shapes[0]
        i, j = idx[0] - p, idx[1] - p
        if 0 <= i < m and 0 <= j < n:
            return PolyRelation((out, idx), [Term(1, ((ins[0], (i, j)),))], "pad_zeros", style="copy")
        return PolyRelation((out, idx), [Term(0)], "pad_zeros", style="const")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        p = _ints(attrs, "pad", 1, 0, "pad_zeros")
        m, n = xs[0].shape
        w = n + 2 * p
        return [Tensor((m, n), [dy.data[(i + p) * w + j + p] for i in range(m) for j in range(n)])]


def conv_out(n: int, size: int, stride: int) -> int:
    """How many positions a ``size``-wide window takes along ``n`` cells with this stride."""
    return (n - size) // stride + 1


@register
class Im2Col(Op):
    """Every ``size×size`` patch of the image (moving by ``stride``) as one column, read row by row:
    row ``di·size + dj`` of column ``pi·W' + pj`` is the image cell ``(pi·stride + di, pj·stride + dj)``
    (``torch.nn.functional.unfold`` for one channel). A copy: its gradient adds each column back where
    it came from (col2im)."""

    name, arity = "im2col", 1
    summary = "every size×size patch of a matrix (moving by stride) as a column, read row by row (attributes size, stride)"
    attrs = {"size": "the filter's side (default 3)", "stride": "how far the window moves (default 1)"}
    copies = True

    @staticmethod
    def geometry(shape: Shape, attrs: Attrs) -> tuple[int, int, int, int]:
        """(size, stride, output rows, output columns); the attributes are checked by ``check``."""
        k, s = attrs.get("size", 3), attrs.get("stride", 1)
        return k, s, (shape[0] - k) // s + 1, (shape[1] - k) // s + 1

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) == 2, "im2col needs a matrix (an image), {name} is a {shape}", name=names[0], shape=shape_str(a))
        _ints(attrs, "size", 3, 1, "im2col")
        _ints(attrs, "stride", 1, 1, "im2col")
        k, _, ho, wo = self.geometry(a, attrs)
        _need(a[0] >= k and a[1] >= k, WINDOW, op="im2col", k=k, name=names[0], shape=shape_str(a))
        return (k * k, ho * wo)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        k, s, ho, wo = self.geometry(a.shape, attrs)
        n = a.shape[1]
        d = a.data
        return Tensor(
            (k * k, ho * wo),
            [d[(pi * s + di) * n + pj * s + dj] for di in range(k) for dj in range(k) for pi in range(ho) for pj in range(wo)],
        )

    def source(self, idx: Index, shape: Shape, attrs: Attrs) -> Index:
        k, s, _, wo = self.geometry(shape, attrs)
        r, c = idx
        return ((c // wo) * s + r // k, (c % wo) * s + r % k)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, idx), [Term(1, ((ins[0], self.source(idx, shapes[0], attrs)),))], "im2col", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        n = a.shape[1]
        acc: list[Value] = [0] * len(a.data)
        for idx, g in zip(indices(y.shape), dy.data):
            i, j = self.source(idx, a.shape, attrs)
            acc[i * n + j] += g
        return [Tensor(a.shape, [norm(v) for v in acc])]


@register
class RowToMap(Op):
    """A one-row matrix (the convolution's outputs, one per patch) laid out row by row as a
    ``rows``-row map: the output image."""

    name, arity = "row_to_map", 1
    summary = "a 1×n row laid out row by row as a map of the given rows (attribute rows): the output image"
    attrs = {"rows": "rows of the map (it must divide the length of the row)"}
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) == 2 and a[0] == 1, "row_to_map needs a one-row matrix, {name} is a {shape}",
              name=names[0], shape=shape_str(a))
        r = _ints(attrs, "rows", 1, 1, "row_to_map")
        _need(a[1] % r == 0, "row_to_map: {name} has {n} entries, which do not fill {rows} rows", name=names[0], n=a[1], rows=r)
        return (r, a[1] // r)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        r = _ints(attrs, "rows", 1, 1, "row_to_map")
        return Tensor((r, a.shape[1] // r), list(a.data))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        w = shapes[0][1] // _ints(attrs, "rows", 1, 1, "row_to_map")
        return PolyRelation((out, idx), [Term(1, ((ins[0], (0, idx[0] * w + idx[1])),))], "row_to_map", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(xs[0].shape, list(dy.data))]


def pool_window(i: int, j: int, size: int) -> list[tuple[int, int]]:
    """The cells of pooling window (i, j), row by row."""
    return [(i * size + di, j * size + dj) for di in range(size) for dj in range(size)]


@register
class MaxPool(Op):
    """The largest entry of each ``size×size`` window (non-overlapping; a last row or column that
    does not fill a window is left out, as in ``torch.nn.functional.max_pool2d``). Its gradient goes
    to the largest entry of each window alone, so a window whose largest value occurs twice is refused
    there (the sheet draws it forward only: the relation of its gradient depends on which is largest)."""

    name, arity = "max_pool", 1
    summary = "the largest of each size×size window, windows side by side (attribute size, default 2)"
    attrs = {"size": "the window's side (default 2)"}

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        k = _ints(attrs, "size", 2, 1, "max_pool")
        _need(len(a) == 2, A_MATRIX, op="max_pool", name=names[0], shape=shape_str(a))
        _need(a[0] >= k and a[1] >= k, WINDOW, op="max_pool", k=k, name=names[0], shape=shape_str(a))
        return (a[0] // k, a[1] // k)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        k = _ints(attrs, "size", 2, 1, "max_pool")
        n = a.shape[1]
        ho, wo = a.shape[0] // k, n // k
        out = [max(a.data[r * n + c] for r, c in pool_window(i, j, k)) for i in range(ho) for j in range(wo)]
        return Tensor((ho, wo), out)

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        k = _ints(attrs, "size", 2, 1, "max_pool")
        uses = [(ins[0], c) for c in pool_window(idx[0], idx[1], k)]

        def text(v: list[Value], r: Value, p: int) -> str:
            return f"max({', '.join(fmt(x, p) for x in v)}) = {fmt(r, p)}"

        return FuncRelation((out, idx), uses, "max_pool", lambda v: max(v), text)

    def partials(self, rel: Relation, ins: Sequence[str], attrs: Attrs) -> dict[Cell, list[Term]]:
        raise GraphError("max_pool: its gradient is not drawn cell by cell; take the gradient from the pool's input on")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        k = _ints(attrs, "size", 2, 1, "max_pool")
        n = a.shape[1]
        out: list[Value] = [0] * len(a.data)
        for q, (i, j) in enumerate(indices(y.shape)):
            cells = [r * n + c for r, c in pool_window(i, j, k)]
            best = [c for c in cells if a.data[c] == y.data[q]]
            if len(best) != 1:
                raise GraphError(M_(
                    "max_pool: window ({i}, {j}) has its largest value {value} twice; its gradient has no single place to go "
                    "— change the values", i=i + 1, j=j + 1, value=fmt(y.data[q]),
                ))
            out[best[0]] = dy.data[q]
        return [Tensor(a.shape, out)]


@register
class MapToRow(Op):
    """A matrix read row by row as one row (``1×(m·n)``): the 3×3 filter as the row that crosses
    the patches. The inverse of ``row_to_map``."""

    name, arity = "map_to_row", 1
    summary = "a matrix read row by row as a 1-row matrix: the filter as one row"
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        _need(len(a) == 2, A_MATRIX, op="map_to_row", name=names[0], shape=shape_str(a))
        return (1, a[0] * a[1])

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        return Tensor((1, len(xs[0].data)), list(xs[0].data))

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        n = shapes[0][1]
        return PolyRelation((out, idx), [Term(1, ((ins[0], divmod(idx[1], n)),))], "map_to_row", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        return [Tensor(xs[0].shape, list(dy.data))]


# ---------------------------------------------------------------------------------------------
# a tiny GAN step (chapter gan): the fake sample's column of the discriminator's scores, and
# ReLU's backward written as an op of its own (the gradient is carried back through the
# discriminator by explicit crossings, because the hard σ between them has no per-cell step)


@register
class ColOf(Op):
    """Column ``col`` (0-based) of a matrix as a one-column matrix: the fake sample's score."""

    name, arity = "col_of", 1
    summary = "one column of a matrix (attribute col, 0-based) as an m×1 matrix: the fake sample's score"
    attrs = {"col": "which column, 0-based"}
    copies = True

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        (a,) = shapes
        c = attrs.get("col")
        _need(len(a) == 2, A_MATRIX, op="col_of", name=names[0], shape=shape_str(a))
        _need(type(c) is int and 0 <= c < a[1], WHOLE_FROM_TO, op="col_of", key="col", hi=a[1] - 1, v=c)
        return (a[0], 1)

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        (a,) = xs
        m, n = a.shape
        c = attrs["col"]
        return Tensor((m, 1), [a.data[i * n + c] for i in range(m)])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, idx), [Term(1, ((ins[0], (idx[0], attrs["col"])),))], "col_of", style="copy")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        (a,) = xs
        m, n = a.shape
        c = attrs["col"]
        return [Tensor(a.shape, [dy.data[i] if j == c else 0 for i in range(m) for j in range(n)])]


@register
class ReluGate(Op):
    """``relu_gate(dA, Z)``: ReLU's backward, ``dZ = dA ⊙ [Z > 0]`` — the gradient passes where
    the pre-activation was positive and is blocked (0) elsewhere. Z only chooses: its gradient is
    0; the gradient to dA is the upstream gradient where Z > 0."""

    name, arity = "relu_gate", 2
    summary = "dA ⊙ [Z > 0]: ReLU's backward, the gradient passes where Z > 0, 0 elsewhere"

    def check(self, shapes: Sequence[Shape], attrs: Attrs, names: Sequence[str]) -> Shape:
        _need(
            shapes[0] == shapes[1],
            ONE_SHAPE, op="relu_gate", a="dA", b="Z", n0=names[0], s0=shape_str(shapes[0]), n1=names[1], s1=shape_str(shapes[1]),
        )
        return shapes[0]

    def forward(self, xs: Sequence[Tensor], attrs: Attrs) -> Tensor:
        da, z = xs
        return Tensor(da.shape, [g if v > 0 else 0 for g, v in zip(da.data, z.data)])

    def relation(self, idx: Index, ins: Sequence[str], out: str, shapes: Sequence[Shape], attrs: Attrs) -> Relation:
        return PolyRelation((out, idx), [Term(1, ((ins[0], idx),), gate=(ins[1], idx))], "relu_gate",
                            phase="backward", style="relu")

    def vjp(self, xs: Sequence[Tensor], y: Tensor, dy: Tensor, attrs: Attrs) -> list[Tensor | None]:
        da, z = xs
        return [Tensor(da.shape, [g if v > 0 else 0 for g, v in zip(dy.data, z.data)]), Tensor.full(z.shape, 0)]
