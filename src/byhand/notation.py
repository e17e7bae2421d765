"""The method's notation: how a person reads every tensor, cell and op of an exercise.

One table, :data:`NOTATION`, holds one entry per op: its written form forward (``Z₁ = W₁·X + b₁``,
``A₁ = ReLU(Z₁)``, ``L = ½ Σ (Ŷ − Y)²``, ``P = softmax₃(Z)``) and the backward rule a gradient
through it is written with (``dW₂ = dZ₂·A₁ᵀ``, ``dA₁ = W₂ᵀ·dZ₂``, ``dZ₁ = dA₁ ⊙ [Z₁ > 0]``).
Every view (text, HTML, print, slides, keys, hints) names things through this module, so no
program name (``A1X``, ``W2I``, ``half_sse``, ``stack(``) and no 0-based index reaches a person.

Conventions (the method's, see ``docs``):

* names are the maths' own, digits as subscripts: ``W₂``, ``A₁``, ``X``, ``Ŷ``, ``L``;
* a gradient is ``d`` + the name: ``dZ₂``, ``dW₁``, ``d[A₁ ; X]`` (of the loss ``L``; of any other
  scalar it is written ``∂s/∂T``);
* a stack is its parts: ``[A₁ ; X]`` (one above the other), ``[W₂ | I]`` (side by side);
  a transpose is ``Xᵀ``;
* ``·`` multiplies numbers and matrices (a crossing); ``⊙`` multiplies tensors cell by cell;
* indices a person reads count from 1: ``Z₁[1,2]``; the JSON file keeps 0-based indices.

A tensor's ``label`` field in the exercise file, when present, is its maths name and wins over
the name derived here; an optional ``note`` field says in words what it is (``no skip``).

Every function takes the exercise as its file dict (``Exercise.to_dict()``) or as an
:class:`~byhand.exercise.Exercise`; nothing here imports a topic.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from byhand.i18n import current_language, tr_label

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = str.maketrans("0123456789abcdefghijklmnoprstuvwxyz", "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")
MINUS = "\u2212"
_OPEN, _CLOSE = "\x01", "\x02"  # marks around names while a formula is cut into pieces
TIMES = "·"  # numbers, and the crossing of a matrix product
HADAMARD = "⊙"  # tensors, cell by cell
TRANSPOSED = "ᵀ"

_NAME = re.compile(r"^([A-Za-z]+?)(\d+)$")


def subscript(s: str) -> str:
    return s.translate(SUB)


def base_name(name: str) -> str:
    """A program name written the maths' way without looking at the graph: ``W1`` → ``W₁``,
    ``dZ2`` → ``dZ₂``, ``Y_hat`` → ``Ŷ``, ``dL_dX`` → ``∂L/∂X``."""
    if name in ("Y_hat", "Yhat"):
        return "Ŷ"
    m = re.match(r"^d([A-Za-z]\w*)_d(\w+)$", name)
    if m:
        return f"∂{base_name(m.group(1))}/∂{base_name(m.group(2))}"
    m = _NAME.match(name)
    if m:
        return m.group(1) + subscript(m.group(2))
    return name


def subscript_names(text: str) -> str:
    """Digits that end a name become subscripts: ``[W2 | I]`` → ``[W₂ | I]``, ``softmax3`` →
    ``softmax₃`` (labels written by hand or by an older byhand); numbers stay numbers."""
    return re.sub(r"(?<![\w/])([A-Za-zŶ∂]+)(\d+)\b", lambda m: m.group(1) + subscript(m.group(2)), text)


def composite(label: str) -> bool:
    """Does the label need brackets when it is a factor (``w + dw`` in ``(w + dw)·x``)?"""
    bare = label.replace(_OPEN, "").replace(_CLOSE, "")
    if bare.startswith("[") and bare.endswith("]") and bare.count("[") == 1:
        return False
    if bare.startswith("(") and bare.endswith(")") and bare.count("(") == 1:
        return False
    return " " in label.replace(_OPEN, "").replace(_CLOSE, "")


def factor(label: str) -> str:
    return f"({label})" if composite(label) else label


def transposed(label: str) -> str:
    bare = label.replace(_OPEN, "").replace(_CLOSE, "")
    if bare.endswith(TRANSPOSED):
        return bare[: -len(TRANSPOSED)]
    return factor(label) + TRANSPOSED


def power(base: str, exponent: str) -> str:
    """``3ᶻ`` for a one-letter exponent (the method's column head), else ``3^(Z/2)``."""
    bare = exponent.replace(_OPEN, "").replace(_CLOSE, "")
    if len(bare) == 1 and bare.lower().translate(SUP) != bare.lower():
        return base + exponent.replace(bare, bare.lower().translate(SUP))
    if re.fullmatch(r"[A-Za-z][₀-₉]*", bare):
        return f"{base}^{exponent}"
    return f"{base}^({exponent})"


def value_text(v: Any) -> str:
    """An attribute value (``"1/10"``, ``2``) as the sheet writes it."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, Fraction)):
        f = Fraction(v)
    else:
        try:
            f = Fraction(str(v).replace(MINUS, "-"))
        except (ValueError, ZeroDivisionError):
            return str(v)
    s = str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return s.replace("-", MINUS)


def log_name(base: Any) -> str:
    return "ln" if str(base) in ("e", "E") else f"log{subscript(str(base))}"


# ---------------------------------------------------------------------------------------------
# the exercise, as far as naming needs it


@dataclass
class _Op:
    op: str
    ins: tuple[str, ...]
    out: str
    attrs: Mapping[str, Any]


class Names:
    """The names of one exercise. Build with :func:`names` (cached on an Exercise object)."""

    def __init__(self, ops: Sequence[_Op], shapes: Mapping[str, tuple[int, ...]], labels: Mapping[str, str],
                 notes: Mapping[str, str]):
        self.ops = list(ops)
        self.shapes = dict(shapes)
        self.given_labels = {k: subscript_names(v) for k, v in labels.items() if v and v != k}
        self.notes = dict(notes)
        self.defined_by = {o.out: o for o in self.ops}
        self.consumers: dict[str, list[_Op]] = {}
        for o in self.ops:
            if o.op != "grad":
                for i in dict.fromkeys(o.ins):
                    self.consumers.setdefault(i, []).append(o)
        self.grad_of: dict[tuple[str, str], str] = {
            (str(o.attrs.get("of")), str(o.attrs.get("wrt"))): o.out for o in self.ops if o.op == "grad"
        }
        self._labels: dict[tuple[str, str], str] = {}
        self.lang: str | None = None  # None: the reader's language at the time of asking

    # -- tensors --

    def label(self, name: str) -> str:
        """The name a person reads, in the reader's language (a name that is a word, ``top 3``, is translated; the
        exercise file and the steps keep it in English: :meth:`in_english`)."""
        key = (self.lang or current_language(), name)
        if key not in self._labels:
            self._labels[key] = name  # a cycle guard; replaced below
            self._labels[key] = self._derive(name, key[0])
        return self._labels[key]

    def in_english(self) -> Names:
        """The same names, always in English, whatever the reader's language: what the exercise file stores."""
        e = self.__dict__.get("_english")
        if e is None:
            e = self.__dict__["_english"] = copy.copy(self)
            e.lang = "en"
            e.__dict__.pop("_marked", None)
        return e  # type: ignore[no-any-return]

    def _derive(self, name: str, lang: str) -> str:
        if name in self.given_labels:
            return tr_label(self.given_labels[name], lang)
        o = self.defined_by.get(name)
        if o is not None:
            if o.op == "hstack":
                return "[" + " | ".join(self.label(i) for i in o.ins) + "]"
            if o.op == "vstack":
                return "[" + " ; ".join(self.label(i) for i in o.ins) + "]"
            if o.op == "transpose":
                return transposed(self.label(o.ins[0]))
            if o.op == "grad":
                of, wrt = str(o.attrs.get("of")), str(o.attrs.get("wrt"))
                return self.grad_label(of, wrt)
        return base_name(name)

    def grad_label(self, of: str, wrt: str) -> str:
        lo, lw = _bare(self.label(of), keep_spaces=True), _bare(self.label(wrt), keep_spaces=True)
        if lo == "L":  # dZ₂, d[A₁ ; X]; d(Xᵀ) and d(Z/T) keep their brackets
            simple = _simple(lw) and not lw.endswith(TRANSPOSED)
            return self._mark("d" + (lw if simple else f"({lw})"))
        return self._mark(f"∂{lo}/∂{lw}")

    def _mark(self, s: str) -> str:
        return s

    def note(self, name: str) -> str:
        return self.notes.get(name, "")

    def marked(self) -> Names:
        """The same names, each marked, so a written op can be cut into pieces (see op_pieces)."""
        m = self.__dict__.get("_marked")
        if m is None:
            m = self.__dict__["_marked"] = _MarkedNames(self.ops, self.shapes, self.given_labels, self.notes)
            m.lang = self.lang
        return m  # type: ignore[no-any-return]

    def caption(self, name: str) -> str:
        """The name with its note, for a block's caption: ``Z₂′ (no skip)``."""
        n = self.note(name)
        if n:  # the note in the reader's language (the file keeps its English words)
            from byhand.i18n import tr_text

            n = tr_text(n)
        return f"{self.label(name)} ({n})" if n else self.label(name)

    def cell(self, name: str, index: Sequence[int]) -> str:
        lab = self.label(name)
        if not index:
            return lab
        lab = lab if _simple(_bare(lab, keep_spaces=True)) else f"({lab})"
        return f"{lab}[{','.join(str(int(i) + 1) for i in index)}]"

    def scalar(self, name: str) -> bool:
        return self.shapes.get(name, (2,)) == ()

    # -- ops --

    def written(self, o: _Op) -> str:
        """``lhs = rhs``; when the output's name is the formula itself (``w·x``), just that."""
        lhs = self.label(o.out)
        rhs = self.rhs(o)
        if _bare(lhs) == _bare(rhs):
            return rhs
        return f"{lhs} = {rhs}"

    def rhs(self, o: _Op) -> str:
        entry = NOTATION.get(o.op)
        if entry is None:
            # an op without an entry (a file from a newer byhand): still no function call
            return f" {o.op} ".join(self.label(i) for i in o.ins) if o.ins else o.op
        return entry.forward(self, o)

    def fused_target(self, p: str, of: str) -> str | None:
        """Is P (a softmax, whole or written out) read only by a cross-entropy that is ``of``? → Y."""
        cs = self.consumers.get(p, [])
        if len(cs) == 1 and cs[0].op == "cross_entropy" and cs[0].out == of and cs[0].ins[0] == p:
            return cs[0].ins[1]
        return None

    def softmax_head(self, o: _Op) -> tuple[str, str, Any] | None:
        """For an op that starts a softmax (``softmax`` or ``exp`` → ``colsum`` → ``div``):
        (its input, its probabilities P, its temperature)."""
        if o.op == "softmax":
            return o.ins[0], o.out, o.attrs.get("temperature", 1)
        if o.op == "exp":
            for c in self.consumers.get(o.out, []):
                if c.op == "div" and c.ins[0] == o.out:
                    s = self.defined_by.get(c.ins[1])
                    if s is not None and s.op == "colsum" and s.ins[0] == o.out:
                        return o.ins[0], c.out, 1
        return None

    def backward(self, of: str, wrt: str) -> str:
        """The rule of one gradient, from the ops that read ``wrt``: ``dW₂ = dZ₂·A₁ᵀ``."""
        lhs = self.grad_label(of, wrt)
        if wrt == of:
            return f"{lhs} = 1"
        parts: list[str] = []
        for c in self.consumers.get(wrt, []):
            if c.op == "cross_entropy" and self.defined_by.get(c.ins[0]) is not None:
                if self.defined_by[c.ins[0]].op in ("softmax", "div"):
                    continue  # written at the softmax: P − Y
            head = self.softmax_head(c)
            if head is not None and head[0] == wrt:
                y = self.fused_target(head[1], of)
                if y is not None and (of, head[1]) not in self.grad_of:
                    pm = f"{self.label(head[1])} {MINUS} {self.label(y)}"
                    t = head[2]
                    parts.append(pm if str(t) == "1" else f"({pm})/{value_text(t)}")
                    continue
            g = self.grad_of.get((of, c.out))
            if g is None and c.out != of:
                continue  # not on the way to `of`
            dout = self.label(g) if g is not None else "1"
            entry = NOTATION.get(c.op)
            if entry is None or entry.backward is None:
                parts.append(f"∂{self.label(c.out)}/∂{self.label(wrt)}·{dout}")
                continue
            for k, i in enumerate(c.ins):
                if i == wrt:
                    parts.append(entry.backward(self, c, k, dout))
        if not parts:
            return f"{lhs} = 0"
        return f"{lhs} = " + " + ".join(parts)


def _simple(label: str) -> bool:
    """One name (``W₂``, ``dZ₁``, ``3ᶻ``, ``Xᵀ``, ``[A₁ ; X]``, a word: ``शब्द``) that takes ``d`` or ``[i,j]``
    without brackets."""
    return re.fullmatch(r"[^\W_][\w′ᶻ\u0900-\u09ff]*ᵀ?|d?\[[^\[\]]*\]", label) is not None


def shown_cell(label: str, index: str) -> str:
    """A cell written from its tensor's name and its index text (``[2,1]``): ``word[2,1]``, ``(top 3)[1,1]``."""
    return f"{label}{index}" if _simple(_bare(label, keep_spaces=True)) else f"({label}){index}"


def _bare(s: str, keep_spaces: bool = False) -> str:
    s = s.replace(_OPEN, "").replace(_CLOSE, "")
    return s if keep_spaces else s.replace(" ", "")


def _from_dict(ex: Mapping[str, Any]) -> Names:
    tensors = ex.get("tensors") or {}
    ops = [
        _Op(str(o.get("op")), tuple(o.get("in") or ()), str(o.get("out")), dict(o.get("attrs") or {}))
        for o in ex.get("ops") or []
        if isinstance(o, Mapping)
    ]
    shapes = {k: _shape(v.get("values")) for k, v in tensors.items() if isinstance(v, Mapping)}
    labels = {k: v["label"] for k, v in tensors.items() if isinstance(v, Mapping) and isinstance(v.get("label"), str)}
    notes = {k: v["note"] for k, v in tensors.items() if isinstance(v, Mapping) and isinstance(v.get("note"), str)}
    return Names(ops, shapes, labels, notes)


def _shape(v: Any) -> tuple[int, ...]:
    if isinstance(v, list):
        return (len(v),) + (_shape(v[0])[:1] if v and isinstance(v[0], list) else ())
    return ()


def names(exercise: Any) -> Names:
    """The :class:`Names` of an exercise dict, an Exercise, or a Graph (cached on objects; a
    painter that names many things of one file dict builds this once and passes it instead of
    the dict: every function here takes a Names too)."""
    if isinstance(exercise, Names):
        return exercise
    if isinstance(exercise, Mapping):
        return _from_dict(exercise)
    cached = getattr(exercise, "_notation_names", None)
    if isinstance(cached, Names):
        return cached
    g = getattr(exercise, "graph", exercise)
    ops = [_Op(n.op, tuple(n.ins), n.out, dict(n.attrs)) for n in g.nodes]
    result = Names(ops, g.shapes, g.labels, getattr(g, "notes", {}) or {})
    try:
        exercise._notation_names = result
    except AttributeError:  # pragma: no cover - a frozen object: no cache
        pass
    return result


# ---------------------------------------------------------------------------------------------
# the table: one entry per op


@dataclass(frozen=True)
class Notation:
    """How one op is written: ``forward(names, op) -> rhs`` and ``backward(names, op, k, dout)``
    → the contribution to the gradient of input k, given the gradient ``dout`` of the output."""

    forward: Callable[[Names, _Op], str]
    backward: Callable[[Names, _Op, int, str], str] | None
    words: str  # the op in a phrase, for captions and lists: "ReLU", "the sum Σ"


def _l(n: Names, o: _Op, k: int) -> str:
    return n.label(o.ins[k])


def _mul_sign(n: Names, a: str, b: str) -> str:
    return TIMES if n.scalar(a) or n.scalar(b) else f" {HADAMARD} "


def _linear(n: Names, o: _Op) -> str:
    w, b, x = o.ins
    wo, xo = n.defined_by.get(w), n.defined_by.get(x)
    if wo is not None and xo is not None and wo.op == "hstack" and xo.op == "vstack" and len(wo.ins) == len(xo.ins):
        terms = [f"{factor(n.label(a))}·{factor(n.label(c))}" for a, c in zip(wo.ins, xo.ins)]
        return " + ".join(terms) + f" + {n.label(b)}"
    return f"{factor(n.label(w))}·{factor(n.label(x))} + {n.label(b)}"


def _linear_back(n: Names, o: _Op, k: int, d: str) -> str:
    w, b, x = o.ins
    if k == 0:
        return f"{factor(d)}·{transposed(n.label(x))}"
    if k == 1:
        shape = n.shapes.get(o.out, ())
        return d if len(shape) < 2 or shape[1] == 1 else f"Σ {factor(d)} along each row"
    return f"{transposed(n.label(w))}·{factor(d)}"


def _matmul_back(n: Names, o: _Op, k: int, d: str) -> str:
    if k == 0:
        return f"{factor(d)}·{transposed(n.label(o.ins[1]))}"
    return f"{transposed(n.label(o.ins[0]))}·{factor(d)}"


def _dot_back(n: Names, o: _Op, k: int, d: str) -> str:
    return f"{factor(d)}·{n.label(o.ins[1 - k])}"


def _infix(sym: str) -> Callable[[Names, _Op], str]:
    def f(n: Names, o: _Op) -> str:
        a, b = _l(n, o, 0), _l(n, o, 1)
        right = factor(b) if sym != "+" else b
        return f"{a} {sym} {right}"

    return f


def _add_back(n: Names, o: _Op, k: int, d: str) -> str:
    sign = MINUS if o.op == "sub" and k == 1 else ""
    if n.scalar(o.ins[k]) and not n.scalar(o.out):
        return f"{sign}Σ {factor(d)}"
    return f"{sign}{factor(d) if sign else d}"


def _mul(n: Names, o: _Op) -> str:
    a, b = o.ins
    return f"{factor(n.label(a))}{_mul_sign(n, a, b)}{factor(n.label(b))}"


def _mul_back(n: Names, o: _Op, k: int, d: str) -> str:
    other = o.ins[1 - k]
    return f"{factor(d)}{_mul_sign(n, o.out, other)}{factor(n.label(other))}"


def _per_column_sum(n: Names, o: _Op) -> bool:
    """Is this ``E ÷ Σ E``, each cell over its column's Σ (the last column of a softmax)?"""
    s = n.defined_by.get(o.ins[1])
    return s is not None and s.op == "colsum" and s.ins[0] == o.ins[0]


def _div(n: Names, o: _Op) -> str:
    if _per_column_sum(n, o):
        return f"{factor(_l(n, o, 0))} ÷ {_l(n, o, 1)}"
    return f"{factor(_l(n, o, 0))} / {factor(_l(n, o, 1))}"


def _div_back(n: Names, o: _Op, k: int, d: str) -> str:
    a, b = (factor(_l(n, o, 0)), factor(_l(n, o, 1)))
    if k == 0:
        return f"{factor(d)} / {b}"
    return f"{MINUS}{factor(d)}{_mul_sign(n, o.out, o.ins[0])}{a} / {b}²"


def _relu_back(n: Names, o: _Op, k: int, d: str) -> str:
    z = n.label(o.ins[0])
    if o.op == "leaky_relu":
        return f"{factor(d)} {HADAMARD} [1 where {z} > 0, else {value_text(o.attrs.get('alpha', '1/10'))}]"
    return f"{factor(d)} {HADAMARD} [{z} > 0]"


def _leaky(n: Names, o: _Op) -> str:
    return f"LeakyReLU({_l(n, o, 0)}), negatives × {value_text(o.attrs.get('alpha', '1/10'))}"


def _softmax(n: Names, o: _Op) -> str:
    base = str(o.attrs.get("base", "e"))
    t = value_text(o.attrs.get("temperature", 1))
    z = _l(n, o, 0)
    arg = z if t == "1" else f"{factor(z)}/{t}"
    if base in ("e", "E"):
        return f"softmax({arg}), per column"
    cell = "z" if t == "1" else f"z/{t}"
    return f"softmax{subscript(base)}({arg}): per column, {power(base, cell)} ÷ Σ {power(base, cell)}"


def _softmax_back(n: Names, o: _Op, k: int, d: str) -> str:
    p, dd = factor(n.label(o.out)), factor(d)
    core = f"{p} {HADAMARD} ({dd} {MINUS} Σ {p} {HADAMARD} {dd})"  # Σ down each column
    base, t = str(o.attrs.get("base", "e")), value_text(o.attrs.get("temperature", 1))
    if base not in ("e", "E"):
        core += f"·ln {base}"
    return core if t == "1" else f"{core}/{t}"


def _exp(n: Names, o: _Op) -> str:
    return power(str(o.attrs.get("base", "e")), _l(n, o, 0))


def _exp_back(n: Names, o: _Op, k: int, d: str) -> str:
    base = str(o.attrs.get("base", "e"))
    e = factor(n.label(o.out))
    return f"{factor(d)} {HADAMARD} {e}" + ("" if base in ("e", "E") else f"·ln {base}")


def _colsum(n: Names, o: _Op) -> str:
    return f"Σ {factor(_l(n, o, 0))}"


def _colsum_back(n: Names, o: _Op, k: int, d: str) -> str:
    return f"{factor(d)} in every row"


def _scale(n: Names, o: _Op) -> str:
    c = Fraction(value_text(o.attrs.get("by", 1)).replace(MINUS, "-"))
    x = factor(_l(n, o, 0))
    if c.numerator == 1 and c.denominator != 1:
        return f"{x}/{c.denominator}"
    return f"{value_text(c)}·{x}"


def _scale_back(n: Names, o: _Op, k: int, d: str) -> str:
    c = Fraction(value_text(o.attrs.get("by", 1)).replace(MINUS, "-"))
    if c.numerator == 1 and c.denominator != 1:
        return f"{factor(d)}/{c.denominator}"
    return f"{value_text(c)}·{factor(d)}"


def _half_sse(n: Names, o: _Op) -> str:
    return f"½ Σ ({_l(n, o, 0)} {MINUS} {_l(n, o, 1)})²"


def _half_sse_back(n: Names, o: _Op, k: int, d: str) -> str:
    core = f"{_l(n, o, 0)} {MINUS} {_l(n, o, 1)}"
    core = core if k == 0 else f"{MINUS}({core})"
    return core if d == "1" else f"({core})·{d}"


def _ce(n: Names, o: _Op) -> str:
    return f"{MINUS}Σ {factor(_l(n, o, 1))}·{log_name(o.attrs.get('base', 'e'))} {factor(_l(n, o, 0))}"


def _ce_back(n: Names, o: _Op, k: int, d: str) -> str:
    base = str(o.attrs.get("base", "e"))
    den = _l(n, o, 0) if base in ("e", "E") else f"{factor(_l(n, o, 0))}·ln {base}"
    core = f"{MINUS}{factor(_l(n, o, 1))} / ({den})"
    return core if d == "1" else f"({core})·{factor(d)}"


def _stack_parts(sep: str) -> Callable[[Names, _Op], str]:
    def f(n: Names, o: _Op) -> str:
        return "[" + sep.join(n.label(i) for i in o.ins) + "]"

    return f


def _part_back(where: Callable[[Names, _Op, int], str]) -> Callable[[Names, _Op, int, str], str]:
    def f(n: Names, o: _Op, k: int, d: str) -> str:
        return f"{where(n, o, k)} of {d}"

    return f


def _vpart(n: Names, o: _Op, k: int) -> str:
    return "the top rows" if k == 0 else "the bottom rows"


def _hpart(n: Names, o: _Op, k: int) -> str:
    return "the left columns" if k == 0 else "the right columns"


def _spart(n: Names, o: _Op, k: int) -> str:
    return f"entry {k + 1}"


NOTATION: dict[str, Notation] = {
    "dot": Notation(lambda n, o: f"{factor(_l(n, o, 0))}·{factor(_l(n, o, 1))}", _dot_back, "the dot product"),
    "matmul": Notation(lambda n, o: f"{factor(_l(n, o, 0))}·{factor(_l(n, o, 1))}", _matmul_back, "the product"),
    "linear": Notation(_linear, _linear_back, "the layer"),
    "add": Notation(_infix("+"), _add_back, "+"),
    "sub": Notation(_infix(MINUS), _add_back, MINUS),
    "mul": Notation(_mul, _mul_back, HADAMARD),
    "div": Notation(_div, _div_back, "/"),
    "relu": Notation(lambda n, o: f"ReLU({_l(n, o, 0)})", _relu_back, "ReLU"),
    "leaky_relu": Notation(_leaky, _relu_back, "LeakyReLU"),
    "sigmoid": Notation(
        lambda n, o: f"σ({_l(n, o, 0)})",
        lambda n, o, k, d: f"{factor(d)} {HADAMARD} {n.label(o.out)} {HADAMARD} (1 {MINUS} {n.label(o.out)})",
        "σ",
    ),
    "softmax": Notation(_softmax, _softmax_back, "softmax"),
    "exp": Notation(_exp, _exp_back, "the power"),
    "colsum": Notation(_colsum, _colsum_back, "the column sum Σ"),
    "scale": Notation(_scale, _scale_back, "the scaling"),
    "sum": Notation(lambda n, o: f"Σ {factor(_l(n, o, 0))}", lambda n, o, k, d: f"{d} in every cell", "the sum Σ"),
    "transpose": Notation(lambda n, o: transposed(_l(n, o, 0)), lambda n, o, k, d: transposed(d), "the transpose"),
    "half_sse": Notation(_half_sse, _half_sse_back, "the squared error"),
    "cross_entropy": Notation(_ce, _ce_back, "the cross-entropy"),
    "hstack": Notation(_stack_parts(" | "), _part_back(_hpart), "side by side"),
    "vstack": Notation(_stack_parts(" ; "), _part_back(_vpart), "one above the other"),
    "stack": Notation(_stack_parts(", "), _part_back(_spart), "in a row"),
    "grad": Notation(lambda n, o: n.backward(str(o.attrs.get("of")), str(o.attrs.get("wrt"))).split(" = ", 1)[-1],
                     None, "the gradient"),
    # mixture of experts (moe)
    "top_onehot": Notation(
        lambda n, o: f"top-{o.attrs.get('k', 1)} one-hot of each column of {_l(n, o, 0)}",
        lambda n, o, k, d: "0 (a choice has no gradient)",
        "the one-hot of the largest",
    ),
    "row_of": Notation(
        lambda n, o: f"row {int(o.attrs.get('row', 0)) + 1} of {_l(n, o, 0)}",
        lambda n, o, k, d: f"{d} in row {int(o.attrs.get('row', 0)) + 1}, 0 elsewhere",
        "one row",
    ),
    # convolution (conv)
    "pad_zeros": Notation(
        lambda n, o: f"{_l(n, o, 0)} with a border of {o.attrs.get('pad', 1)} zero{'s' if o.attrs.get('pad', 1) != 1 else ''}",
        lambda n, o, k, d: f"{d} without its border",
        "the padding",
    ),
    "im2col": Notation(
        lambda n, o: f"im2col({_l(n, o, 0)})"
        + (f", stride {o.attrs['stride']}" if o.attrs.get("stride", 1) != 1 else ""),
        lambda n, o, k, d: f"each column of {d} added back onto its patch",
        "the patches as columns",
    ),
    "row_to_map": Notation(
        lambda n, o: f"{_l(n, o, 0)} as a {o.attrs.get('rows', 1)}-row map",
        lambda n, o, k, d: f"{d} read row by row",
        "laid out as a map",
    ),
    "max_pool": Notation(
        lambda n, o: f"max-pool {o.attrs.get('size', 2)}×{o.attrs.get('size', 2)} of {_l(n, o, 0)}",
        lambda n, o, k, d: f"{d} at the largest of each window, 0 elsewhere",
        "the max-pool",
    ),
    "map_to_row": Notation(
        lambda n, o: f"{_l(n, o, 0)} read row by row",
        lambda n, o, k, d: f"{d} as the map",
        "row by row",
    ),
}

# next-token sampling (the sampling chapter): sort, the token numbers, the cumulative column, the pick
NOTATION |= {
    "sort": Notation(lambda n, o: f"{factor(_l(n, o, 0))} sorted, the largest first",
                     lambda n, o, k, d: f"{factor(d)} back in the rows the sort took them from", "the sort"),
    "argsort": Notation(lambda n, o: f"the rows of {factor(_l(n, o, 0))}, the largest first",
                        lambda n, o, k, d: f"0·{factor(d)} (row numbers do not move)", "the order"),
    "cumsum": Notation(lambda n, o: f"running Σ of {factor(_l(n, o, 0))}",
                       lambda n, o, k, d: f"running Σ of {factor(d)} from the bottom up", "the running sum"),
    "pick": Notation(lambda n, o: f"the {_l(n, o, 1)} whose range of {_l(n, o, 0)} holds {_l(n, o, 2)}",
                     lambda n, o, k, d: (f"{factor(d)} at the picked rank" if k == 1 else f"0·{factor(d)} (it only chooses)"),
                     "the pick"),
    "topk": Notation(lambda n, o: f"the first {o.attrs.get('k')} rows of {factor(_l(n, o, 0))}",
                     lambda n, o, k, d: f"{factor(d)}, then 0 for the rows left out", "the top k"),
}

# dropout (the dropout chapter): the mask from printed random numbers, the scaled diagonal matrix
NOTATION |= {
    "dropmask": Notation(lambda n, o: f"[{_l(n, o, 0)} ≥ {value_text(o.attrs.get('p', '1/2'))}]",
                         lambda n, o, k, d: f"0·{factor(d)} (a step)", "the mask"),
    "diag": Notation(
        lambda n, o: f"diag({_l(n, o, 0)})" + ("" if str(o.attrs.get("by", 1)) == "1" else f"·{value_text(o.attrs.get('by'))}"),
        lambda n, o, k, d: f"the diagonal of {factor(d)}" + ("" if str(o.attrs.get("by", 1)) == "1"
                                                              else f"·{value_text(o.attrs.get('by'))}"),
        "the diagonal matrix"),
}

# batch normalisation: σ from σ²
NOTATION |= {
    "sqrt": Notation(lambda n, o: f"√{factor(_l(n, o, 0))}",
                     lambda n, o, k, d: f"{factor(d)} / (2·{factor(n.label(o.out))})", "the square root"),
    # attention
    "mask_causal": Notation(lambda n, o: f"causal mask({_l(n, o, 0)})",
                            lambda n, o, k, d: f"{factor(d)} where kept, 0 where crossed out", "the causal mask"),
}

# the LSTM's exact activations (issue 13): written σ and tanh as on the published sheet; the sheet
# says in words that they are the hard sigmoid and the hard tanh (their slope: 1/6, and 1, between
# the corners, 0 outside)
NOTATION["hard_sigmoid"] = Notation(
    lambda n, o: f"σ({_l(n, o, 0)})", lambda n, o, k, d: f"{factor(d)} {HADAMARD} σ′({_l(n, o, 0)})", "σ"
)
NOTATION["hard_tanh"] = Notation(
    lambda n, o: f"tanh({_l(n, o, 0)})", lambda n, o, k, d: f"{factor(d)} {HADAMARD} tanh′({_l(n, o, 0)})", "tanh"
)


# ---------------------------------------------------------------------------------------------
# the public API


def tensor_label(exercise: Any, name: str) -> str:
    """The maths name a person reads: ``W₂``, ``A₁``, ``Ŷ``, ``L``, ``dZ₂``, ``[A₁ ; X]``,
    ``[W₂ | I]``, ``Xᵀ``. A ``label`` field of the tensor wins."""
    return names(exercise).label(name)


def tensor_note(exercise: Any, name: str) -> str:
    """What the tensor is, in words, when its name is not enough (``no skip``), else ``""``."""
    return names(exercise).note(name)


def tensor_caption(exercise: Any, name: str) -> str:
    """A block's caption: the name, and its note in brackets: ``Z₂′ (no skip)``."""
    return names(exercise).caption(name)


def cell_label(exercise: Any, name: str, index: Sequence[int]) -> str:
    """One cell as a person names it, 1-based: ``Z₁[1,2]`` (a scalar: its name)."""
    return names(exercise).cell(name, tuple(index))


def op_written(exercise: Any, op: Mapping[str, Any] | Any) -> str:
    """One op written the method's way: ``Z₁ = W₁·X + b₁``, ``L = ½ Σ (Ŷ − Y)²``,
    ``dW₂ = dZ₂·A₁ᵀ``. ``op`` is an op object of the file (``{"op", "in", "out", "attrs"}``) or a
    graph Node."""
    n = names(exercise)
    o = _as_op(op)
    if o.op == "grad":
        return n.backward(str(o.attrs.get("of")), str(o.attrs.get("wrt")))
    return n.written(o)


class _MarkedNames(Names):
    """Names whose every tensor name is marked, so a written op can be cut into pieces."""

    def label(self, name: str) -> str:
        return _OPEN + super().label(name) + _CLOSE

    def _mark(self, s: str) -> str:
        return _OPEN + s + _CLOSE


def op_pieces(exercise: Any, op: Mapping[str, Any] | Any) -> list[dict[str, str]]:
    """:func:`op_written` cut into pieces for a painter that sets names apart (italic):
    ``[{"t": "name", "s": "Z₁"}, {"t": "text", "s": " = "}, {"t": "name", "s": "W₁"}, …]``.
    The pieces joined give exactly :func:`op_written`."""
    text = op_written(names(exercise).marked(), op)
    pieces: list[dict[str, str]] = []
    depth = 0
    buf = ""

    def flush(kind: str) -> None:
        nonlocal buf
        if kind == "name" and re.fullmatch(r"[\d/−-]+", buf):
            kind = "text"  # a constant named by its value (the skip's 1) is a number, not a name
        if buf:
            if pieces and pieces[-1]["t"] == kind:
                pieces[-1]["s"] += buf
            else:
                pieces.append({"t": kind, "s": buf})
        buf = ""

    for ch in text:
        if ch == _OPEN:
            flush("name" if depth else "text")
            depth += 1
        elif ch == _CLOSE:
            flush("name" if depth else "text")
            depth -= 1
        else:
            buf += ch
    flush("name" if depth else "text")
    return _powers(pieces)


def _powers(pieces: list[dict[str, str]]) -> list[dict[str, str]]:
    """``3^`` before a name (or ``3^(`` … ``)``) becomes a power piece ``{"t": "pow", "s": "3", "e": "Z₃"}``,
    so a painter can raise the exponent."""
    out: list[dict[str, str]] = []
    k = 0
    while k < len(pieces):
        p = pieces[k]
        m = re.search(r"(\w)\^(\(?)$", p["s"]) if p["t"] == "text" else None
        if m is None or k + 1 >= len(pieces):
            out.append(p)
            k += 1
            continue
        head = p["s"][: m.start()]
        if head:
            out.append({"t": "text", "s": head})
        if not m.group(2):  # 3^Z₃
            out.append({"t": "pow", "s": m.group(1), "e": pieces[k + 1]["s"]})
            k += 2
            continue
        exp, j = "", k + 1  # 3^(Z/2): up to the closing bracket
        while j < len(pieces) and ")" not in pieces[j]["s"]:
            exp += pieces[j]["s"]
            j += 1
        if j == len(pieces):
            out.append(p)
            k += 1
            continue
        before, after = pieces[j]["s"].split(")", 1)
        out.append({"t": "pow", "s": m.group(1), "e": exp + before})
        if after:
            out.append({"t": "text", "s": after})
        k = j + 1
    return out


def row_words(exercise: Any, op: Mapping[str, Any] | Any) -> list[str]:
    """The words around an op's inputs when a painter draws it as a row of blocks
    ``w₀ [in₀] w₁ [in₁] … wₙ [out]``: one more word than inputs, the last ending in ``=``.
    ``half_sse`` → ``["½ Σ (", "−", ")² ="]``; ``div`` → ``["", "/", "="]``."""
    n = names(exercise)
    o = _as_op(op)
    k = len(o.ins)
    if o.op == "div" and k == 2 and _per_column_sum(n, o):
        return ["", "÷", "="]
    if o.op in ("add", "sub", "div") and k == 2:
        return ["", {"add": "+", "sub": MINUS, "div": "/"}[o.op], "="]
    if o.op == "mul" and k == 2:
        return ["", _mul_sign(n, o.ins[0], o.ins[1]).strip(), "="]
    if o.op in ("dot", "matmul") and k == 2:
        return ["", TIMES, "="]
    if o.op == "half_sse" and k == 2:
        return ["½ Σ (", MINUS, ")² ="]
    if o.op == "cross_entropy" and k == 2:
        return [f"{MINUS}Σ {log_name(o.attrs.get('base', 'e'))}", "·", "="]
    if o.op == "exp" and k == 1:
        return [f"{o.attrs.get('base', 'e')} to the power", "="]  # never a programmer's caret
    if o.op == "colsum" and k == 1:
        return ["Σ of each column of", "="]
    if o.op == "scale" and k == 1:
        c = Fraction(value_text(o.attrs.get("by", 1)).replace(MINUS, "-"))
        return ["", f"÷ {c.denominator} =" if c.numerator == 1 else f"× {value_text(c)} ="]
    if o.op in ("hstack", "stack") and k:
        return ["["] + [" | " if o.op == "hstack" else ","] * (k - 1) + ["] ="]
    if o.op == "vstack" and k:
        return ["["] + [";"] * (k - 1) + ["] ="]
    if o.op == "sum" and k == 1:
        return ["Σ", "="]
    if o.op == "mask_causal" and k == 1:
        return ["causal mask (", ") ="]
    if o.op == "relu_gate" and k == 2:  # gan: dA ⊙ [Z > 0]
        return ["", f"{HADAMARD} [", "> 0] ="]
    if o.op == "col_of" and k == 1:  # gan: the fake's score
        return [f"column {int(o.attrs.get('col', 0)) + 1} of", "="]
    words = op_words(o.op)
    return [f"{words} ("] + [","] * (k - 1) + [") ="] if k else ["="]


def _as_op(op: Any) -> _Op:
    if isinstance(op, Mapping):
        return _Op(str(op.get("op")), tuple(op.get("in") or ()), str(op.get("out")), dict(op.get("attrs") or {}))
    return _Op(op.op, tuple(op.ins), op.out, dict(op.attrs))


def op_words(op_name: str) -> str:
    """An op in a phrase (``ReLU``, ``the sum Σ``), never its program name."""
    e = NOTATION.get(op_name)
    return e.words if e else op_name.replace("_", " ")


def namer(exercise: Any, english: bool = False) -> Callable[[tuple[str, Sequence[int]]], str]:
    """``cell → "Z₁[1,2]"`` for one exercise (what step texts and hints name cells with); ``english``: the names as
    the exercise file keeps them, whatever the reader's language (a step's text)."""
    n = names(exercise).in_english() if english else names(exercise)
    return lambda c: n.cell(c[0], tuple(c[1]))


def default_cell(c: tuple[str, Sequence[int]]) -> str:
    """A cell named without the graph: ``Z1[0,1]`` → ``Z₁[1,2]``."""
    name, idx = c
    lab = base_name(name)
    return f"{lab}[{','.join(str(int(i) + 1) for i in idx)}]" if idx else lab


__all__ = [
    "NOTATION",
    "shown_cell",
    "Names",
    "Notation",
    "names",
    "tensor_label",
    "tensor_note",
    "tensor_caption",
    "cell_label",
    "op_written",
    "op_pieces",
    "row_words",
    "op_words",
    "namer",
    "default_cell",
    "subscript",
]

# a tiny GAN step (gan): the fake sample's score, a column of D; ReLU's backward as an op of its own
NOTATION["col_of"] = Notation(
    lambda n, o: f"column {int(o.attrs.get('col', 0)) + 1} of {_l(n, o, 0)}",
    lambda n, o, k, d: f"{d} in column {int(o.attrs.get('col', 0)) + 1}, 0 elsewhere",
    "one column",
)
NOTATION["relu_gate"] = Notation(
    lambda n, o: f"{factor(_l(n, o, 0))} {HADAMARD} [{_l(n, o, 1)} > 0]",
    lambda n, o, k, d: f"{factor(d)} {HADAMARD} [{_l(n, o, 1)} > 0]" if k == 0 else f"0·{factor(d)} (it only gates)",
    "ReLU's gate",
)
