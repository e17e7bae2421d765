"""Exact values: what a student writes in a box.

A value is an ``int``, a :class:`fractions.Fraction` (never one with denominator 1: those are
normalised to ``int``), or a ``float`` where the maths forces it (base-e softmax, sigmoid).

>>> norm(Fraction(6, 3))
2
>>> fmt(Fraction(-3, 4))
'−3/4'
>>> parse_answer(" -0.75 ")
Fraction(-3, 4)
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from byhand import limits
from byhand.errors import FormatError
from byhand.i18n import M_

Value = int | Fraction | float
"""A number on the sheet."""

MINUS = "\u2212"  # the typographic minus sign used in printed steps: −2, not -2

_FRACTION_RE = re.compile(r"^\s*([+-]?\d+)\s*/\s*([+-]?\d+)\s*$")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")


def norm(v: Value) -> Value:
    """Normalise: an integral Fraction becomes an int; ints and floats are left as they are."""
    if type(v) is Fraction and v.denominator == 1:
        return v.numerator
    return v


def is_exact(v: Value) -> bool:
    return not isinstance(v, float)


def is_integer(v: Value) -> bool:
    return type(v) is int


def from_json(x: object, where: str = M_("value")) -> Value | None:
    """Read a JSON value: int, "p/q" string, float, or null (None: unknown)."""
    if x is None:
        return None
    if isinstance(x, bool):
        raise FormatError(M_('{where}: true/false is not a number; write an integer, "p/q" or a decimal', where=where))
    if isinstance(x, int):
        limits.check_value(x, where)
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise FormatError(M_("{where}: {x} is not a finite number", where=where, x=x))
        limits.check_value(x, where)
        return x
    if isinstance(x, str):
        if len(x) > 4 * limits.MAX_DIGITS:
            limits.check_digit_string(x, where)
        m = _FRACTION_RE.match(x.replace(MINUS, "-"))
        if m:
            limits.check_digit_string(m.group(1), where)
            limits.check_digit_string(m.group(2), where)
            den = int(m.group(2))
            if den == 0:
                raise FormatError(M_("{where}: {x!r} divides by zero", where=where, x=x))
            return norm(Fraction(int(m.group(1)), den))
        if _INT_RE.match(x.replace(MINUS, "-")):
            limits.check_digit_string(x, where)
            return int(x.replace(MINUS, "-").strip())
        raise FormatError(M_('{where}: {x!r} is not a value; write an integer, "p/q" or a decimal', where=where, x=x))
    raise FormatError(M_('{where}: {kind} is not a value; write an integer, "p/q" or a decimal',
                         where=where, kind=type(x).__name__))


def to_json(v: Value) -> int | str | float:
    """The JSON form of a value: int, "p/q" or float."""
    if type(v) is int:
        return v
    if type(v) is Fraction:
        return f"{v.numerator}/{v.denominator}"
    if isinstance(v, float):
        return v
    raise TypeError(f"not a value: {v!r}")


def fmt(v: Value, precision: int = 3, minus: str = MINUS) -> str:
    """How a value is written on the sheet: ``−2``, ``3/250``, ``0.012``."""
    if type(v) is int:
        s = str(v)
    elif type(v) is Fraction:
        s = f"{v.numerator}/{v.denominator}"
    else:
        s = f"{v:.{precision}f}"
        if s.lstrip("-").strip("0.") == "":
            s = s.lstrip("-")  # no "−0.000"
    return s.replace("-", minus)


def fmt_factor(v: Value, precision: int = 3) -> str:
    """A value as a factor in a product: negatives and fractions get parentheses, ``(−1)``."""
    s = fmt(v, precision)
    if s.startswith(MINUS) or "/" in s:
        return f"({s})"
    return s


def parse_answer(text: str) -> Value:
    """Read what a student typed: ``5``, ``-5``, ``−5``, ``3/4``, ``0.75``, ``-.5``, ``1e-3``.

    Decimals are read exactly (``0.75`` is ``3/4``). Raises ValueError("not a number") otherwise.
    """
    limits.check_answer(text)
    s = str(text).strip().replace(MINUS, "-").replace(",", ".").replace(" ", "")
    if not s:
        raise ValueError("blank")
    m = _FRACTION_RE.match(s)
    if m:
        den = int(m.group(2))
        if den == 0:
            raise ValueError("not a number (division by zero)")
        return norm(Fraction(int(m.group(1)), den))
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not d.is_finite():
        raise ValueError("not a number")
    return norm(Fraction(d))


def equal_answer(given: Value, expected: Value, precision: int = 3) -> bool:
    """Is ``given`` the expected value? Exact values must match exactly; an inexact (float) value
    is accepted within half a unit of the displayed precision."""
    if isinstance(expected, float):
        # exact comparison: a typed 1e999 is a (huge) fraction, never a float overflow
        return abs(Fraction(given) - Fraction(expected)) <= Fraction(1, 2 * 10**precision) + Fraction(1, 10**12)
    return Fraction(given) == Fraction(expected) if not isinstance(given, float) else False


def terminates(v: Value) -> bool:
    """Does the exact value end as a decimal (3/250 = 0.012), or go on for ever (1/28)?"""
    if type(v) is int:
        return True
    if type(v) is not Fraction:
        return False
    d = v.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def decimals_written(text: str) -> int | None:
    """How many decimals a typed answer shows (``0.036`` → 3); None if it is not a plain decimal."""
    s = str(text).strip().replace(MINUS, "-").replace(",", ".").replace(" ", "")
    m = re.fullmatch(r"[+-]?\d*\.(\d+)", s)
    return len(m.group(1)) if m else None


def rounded(v: Fraction, places: int) -> Fraction:
    """``v`` rounded to ``places`` decimals (half away from zero; a fraction that never ends has no tie)."""
    scale = 10**places
    n = abs(v) * scale
    q = math.floor(n + Fraction(1, 2))
    return Fraction(q if v >= 0 else -q, scale)
