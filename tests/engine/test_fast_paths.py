"""The engine's fast paths give the very values (and types) of the plain term-by-term arithmetic:
whole-number and common-denominator matrix products, int division, the element-wise int ops."""

from __future__ import annotations

from fractions import Fraction
from functools import reduce
from operator import add
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byhand.engine.ops import OPS, _mm
from byhand.engine.relations import vdiv
from byhand.engine.tensor import Tensor
from byhand.engine.values import norm
from byhand.errors import GraphError

ints = st.integers(-30, 30)
fractions = st.builds(Fraction, st.integers(-40, 40), st.integers(1, 60))
exact = st.one_of(ints, fractions)
anything = st.one_of(ints, fractions, st.floats(-5, 5, allow_nan=False))


def _reference_mm(a: list[Any], b: list[Any], m: int, k: int, n: int) -> list[Any]:
    """Each cell added term by term, exactly as a loop would (the engine's first definition)."""
    return [norm(reduce(add, (a[i * k + t] * b[t * n + j] for t in range(k)), 0)) for i in range(m) for j in range(n)]


def _same(xs: list[Any], ys: list[Any]) -> bool:
    return len(xs) == len(ys) and all(type(x) is type(y) and x == y for x, y in zip(xs, ys))


@st.composite
def products(draw: Any, el: st.SearchStrategy[Any]) -> tuple[list[Any], list[Any], int, int, int]:
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    a = draw(st.lists(el, min_size=m * k, max_size=m * k))
    b = draw(st.lists(el, min_size=k * n, max_size=k * n))
    return a, b, m, k, n


@given(products(ints))
def test_whole_number_product_is_the_term_by_term_sum(case: Any) -> None:
    assert _same(_mm(*case), _reference_mm(*case))


@given(products(exact))
def test_common_denominator_product_is_the_term_by_term_sum(case: Any) -> None:
    out = _mm(*case)
    assert _same(out, _reference_mm(*case))
    assert all(type(v) is int or v.denominator > 1 for v in out)  # an integral Fraction is an int


@given(products(anything))
def test_a_float_keeps_the_left_to_right_sum(case: Any) -> None:
    assert _same(_mm(*case), _reference_mm(*case))


def test_fractions_that_sum_to_a_whole_number_give_an_int() -> None:
    a = [Fraction(1, 3), Fraction(2, 3), Fraction(1, 6)]
    b = [1, 1, 0]
    assert _same(_mm(a, b, 1, 3, 1), [1])
    assert _same(_mm(a, [3, 0, 6], 1, 3, 1), [2])
    assert _same(_mm([Fraction(-1, 2), Fraction(1, 2)], [1, 1], 1, 2, 1), [0])


@given(ints, ints)
def test_int_division_is_the_fraction_quotient(a: int, b: int) -> None:
    if b == 0:
        with pytest.raises(ZeroDivisionError):
            vdiv(a, b)
        return
    want = norm(Fraction(a) / Fraction(b))
    got = vdiv(a, b)
    assert type(got) is type(want) and got == want


@given(st.lists(st.tuples(anything, anything), min_size=1, max_size=9), st.sampled_from(["add", "sub", "mul", "div"]))
def test_elementwise_fast_paths_match_the_cell_by_cell_values(pairs: list[Any], name: str) -> None:
    op = OPS[name]
    a = Tensor((len(pairs),), [p[0] for p in pairs])
    b = Tensor((len(pairs),), [p[1] for p in pairs])
    if name == "div" and any(y == 0 for y in b.data):
        with pytest.raises(GraphError):
            op.forward([a, b], {})
        return
    want = [norm(op.f(x, y)) for x, y in pairs]  # type: ignore[attr-defined]
    assert _same(op.forward([a, b], {}).data, want)
