"""byhand.limits: the bounds checked before computing, each at its edge (issue 11)."""

from __future__ import annotations

import doctest
import time
from fractions import Fraction

import pytest

from byhand import limits
from byhand.engine.values import parse_answer
from byhand.errors import FormatError, LimitError


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(limits).failed == 0


def test_a_limit_error_is_a_format_error_with_exit_2() -> None:
    assert issubclass(LimitError, FormatError) and LimitError.exit_code == 2


@pytest.mark.parametrize(
    ("v", "ok"),
    [
        (10**100 - 1, True),
        (10**100, False),
        (-(10**100), False),
        (Fraction(1, 10**100 - 1), True),
        (Fraction(1, 10**100), False),
        (1e99, True),
        (1e100, False),
        (float("inf"), False),
        (float("nan"), False),
    ],
)
def test_digits_of_a_value(v: object, ok: bool) -> None:
    if ok:
        limits.check_value(v)
    else:
        with pytest.raises(LimitError, match=r"\(limit: digits of a value, 100\)"):
            limits.check_value(v)


@pytest.mark.parametrize(("x", "ok"), [(100, True), (-100, True), (Fraction(201, 2), False), (101, False), (1e300, False)])
def test_exponent(x: object, ok: bool) -> None:
    if ok:
        limits.check_exponent(x, "3^z")
    else:
        with pytest.raises(LimitError, match=r"3\^z: the exponent .* \(limit: exponent, 100\)"):
            limits.check_exponent(x, "3^z")


@pytest.mark.parametrize(
    ("text", "ok"),
    [("1e1000", True), ("1e-1000", True), ("1e1001", False), ("-2.5E+99999", False), ("1" * 100, True), ("1" * 101, False)],
)
def test_typed_answers(text: str, ok: bool) -> None:
    t = time.perf_counter()
    if ok:
        parse_answer(text)
    else:
        with pytest.raises(LimitError, match=r"\(limit: answer"):
            parse_answer(text)
    assert time.perf_counter() - t < 0.1


def test_nesting_is_walked_without_recursion() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]  # type: ignore[assignment]
    with pytest.raises(LimitError, match=r"\(limit: nesting depth, 32\)"):
        limits.check_depth(deep)
    limits.check_depth({"a": [[1, 2], [3, 4]]})
