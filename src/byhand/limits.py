"""Bounded work: the limits byhand checks before it computes anything.

A worksheet is written by hand, so every limit here is far beyond what a teacher or student meets,
and small enough that no input — an exercise file, a ``--values`` file, an answer typed into the
web app — can make byhand hang or eat memory. Over a limit, byhand raises :class:`LimitError`
(exit 2) naming the limit: ``… (limit: digits of a value, 100)``.

The same functions serve the CLI, the library and the web server (``check_answer`` runs before
an answer is compared, so a typed ``1e999999999`` is refused at once instead of computing a
billion-digit number).

>>> check_answer("3/4")
>>> check_answer("1e999999999")
Traceback (most recent call last):
...
byhand.errors.LimitError: the answer '1e999999999' has an exponent beyond ±1000 (limit: answer exponent, 1000)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from byhand.errors import LimitError
from byhand.i18n import M_, N_

MAX_DIGITS = 100
"""Digits of any value, read or computed (numerator and denominator each)."""
MAX_EXPONENT = 100
"""|z/T| in a softmax's 3^(z/T) or e^(z/T), and |z| in a sigmoid's e^−z."""
MAX_COMPUTED_SIDE = 64
"""The largest side of a computed tensor (stacks make wider tensors than the 16 of a given one)."""
MAX_CELLS = 20_000
"""Cells of all tensors of one exercise."""
MAX_TERMS = 200_000
"""Products written out by all steps of one exercise (matmul: output cells × inner size)."""
MAX_ELIMINATION = 250
"""Unknown cells the solver puts into one exact linear system (Gauss–Jordan on fractions)."""
MAX_DEPTH = 32
"""Nesting depth of a JSON document (a matrix of values is 3 deep inside "tensors")."""
MAX_ANSWER_CHARS = 100
"""Characters of one typed answer."""
MAX_ANSWER_EXPONENT = 1000
"""|exponent| of a typed answer in scientific notation (1e-3)."""

_BIG = 10**MAX_DIGITS
_FLOAT_BIG = float(10**MAX_DIGITS)
_EXP_RE = re.compile(r"[eE]\s*([+-]?\d+)\s*$")


LIMIT_NAMES = (N_("digits of a value"), N_("nesting depth"), N_("answer exponent"), N_("answer length"), N_("cells"),
               N_("exponent"), N_("products"), N_("side of a computed tensor"), N_("unknowns solved jointly"))
"""The names of the limits (each shown in the reader's language)."""


def limit(what: str, value: object) -> str:
    """The tail of every limit message: ``(limit: digits of a value, 100)``."""
    return M_("(limit: {what}, {value})", what=M_(what), value=value)


def check_value(v: Any, where: str = M_("a value")) -> None:
    """A value's size: at most MAX_DIGITS digits above and below the line, and finite."""
    t = type(v)
    if t is int:
        if -_BIG < v < _BIG:
            return
        raise LimitError(M_("{where}: a number with more than {max_digits} digits {limit}",
                            where=where, max_digits=MAX_DIGITS, limit=limit('digits of a value', MAX_DIGITS)))
    if t is Fraction:
        if -_BIG < v.numerator < _BIG and v.denominator < _BIG:
            return
        raise LimitError(M_("{where}: a fraction with more than {max_digits} digits {limit}",
                            where=where, max_digits=MAX_DIGITS, limit=limit('digits of a value', MAX_DIGITS)))
    if t is float:
        if math.isfinite(v) and -_FLOAT_BIG < v < _FLOAT_BIG:
            return
        raise LimitError(M_("{where}: {v} is beyond ±1e{max_digits} {limit}",
                            where=where, v=v, max_digits=MAX_DIGITS, limit=limit('digits of a value', MAX_DIGITS)))


def check_values(vs: Iterable[Any], where: str) -> None:
    big = _BIG
    for v in vs:
        if type(v) is int and -big < v < big:
            continue  # the common case, without a call
        check_value(v, where)


def check_exponent(x: Any, where: str) -> None:
    """An exponent of 3^x or e^x, checked before the power is taken."""
    try:
        ok = -MAX_EXPONENT <= x <= MAX_EXPONENT
    except TypeError:  # pragma: no cover - values are numbers
        ok = False
    if not ok or (isinstance(x, float) and not math.isfinite(x)):
        shown = x if isinstance(x, (int, float)) else str(x)
        if isinstance(shown, str) and len(shown) > 30:
            shown = shown[:30] + "…"
        raise LimitError(
            M_("{where}: the exponent {shown} is beyond ±{max_exponent} (on a sheet it is a few units) {limit}",
               where=where, shown=shown, max_exponent=MAX_EXPONENT, limit=limit('exponent', MAX_EXPONENT))
        )


def check_digit_string(s: str, where: str) -> None:
    """Digits of an integer written in a file, checked before int() reads it."""
    n = sum(ch.isdigit() for ch in s)
    if n > MAX_DIGITS:
        raise LimitError(M_("{where}: a number with {n} digits {limit}",
                            where=where, n=n, limit=limit('digits of a value', MAX_DIGITS)))


def check_answer(text: str) -> None:
    """A typed answer's length and exponent, before it is read as a number (web and CLI)."""
    s = str(text)
    if len(s) > MAX_ANSWER_CHARS:
        raise LimitError(M_("an answer of {s} characters is too long {limit}",
                            s=len(s), limit=limit('answer length', MAX_ANSWER_CHARS)))
    m = _EXP_RE.search(s.strip())
    if m and "/" not in s:
        digits = m.group(1).lstrip("+-").lstrip("0")
        if len(digits) > 6 or int(digits or "0") > MAX_ANSWER_EXPONENT:
            raise LimitError(
                M_("the answer {s!r} has an exponent beyond ±{max_answer_exponent} {limit}",
                   s=s, max_answer_exponent=MAX_ANSWER_EXPONENT, limit=limit('answer exponent', MAX_ANSWER_EXPONENT))
            )


def check_depth(x: Any, where: str = M_("the document")) -> None:
    """The nesting depth of parsed JSON, walked without recursion."""
    stack: list[tuple[Any, int]] = [(x, 1)]
    while stack:
        node, d = stack.pop()
        if d > MAX_DEPTH:
            raise LimitError(M_("{where} is nested more than {max_depth} deep {limit}",
                                where=where, max_depth=MAX_DEPTH, limit=limit('nesting depth', MAX_DEPTH)))
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)


__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_COMPUTED_SIDE",
    "MAX_CELLS",
    "MAX_TERMS",
    "MAX_ELIMINATION",
    "MAX_DEPTH",
    "MAX_ANSWER_CHARS",
    "MAX_ANSWER_EXPONENT",
    "LimitError",
    "check_value",
    "check_values",
    "check_exponent",
    "check_digit_string",
    "check_answer",
    "check_depth",
]
