"""Small exact tensors: a scalar, a vector or a matrix of values, stored flat in row-major order.

>>> t = Tensor.from_nested([[1, 2], [3, 4]])
>>> t.shape, t[1, 0]
((2, 2), 3)
>>> t.to_nested()
[[1, 2], [3, 4]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from byhand.engine.values import Value
from byhand.i18n import M_

Shape = tuple[int, ...]
Index = tuple[int, ...]

MAX_SIDE = 16
"""The largest side of a tensor byhand accepts; a sheet is written by hand."""


def size(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


_INDICES: dict[Shape, tuple[Index, ...]] = {}


def indices(shape: Shape) -> Iterator[Index]:
    """Every index of a shape, row-major (the order a person reads a grid). The indices of a shape
    are listed once (shapes are few and small) and walked again for every variant."""
    t = _INDICES.get(shape)
    if t is None:
        if len(shape) == 0:
            t = ((),)
        elif len(shape) == 1:
            t = tuple((i,) for i in range(shape[0]))
        else:
            t = tuple((i, j) for i in range(shape[0]) for j in range(shape[1]))
        if len(_INDICES) < 4096:
            _INDICES[shape] = t
    return iter(t)


def flat(shape: Shape, idx: Index) -> int:
    if len(shape) == 0:
        return 0
    if len(shape) == 1:
        return idx[0]
    return idx[0] * shape[1] + idx[1]


@lru_cache(maxsize=256)
def shape_str(shape: Shape) -> str:
    """"scalar", "vector of 3", "2×3": a message (its words shown in the reader's language), made once per shape."""
    if not shape:
        return M_("scalar")
    if len(shape) == 1:
        return M_("vector of {n}", n=shape[0])
    return f"{shape[0]}×{shape[1]}"


def nested_shape(x: Any) -> Shape | None:
    """The shape of nested lists (None if ragged or deeper than a matrix)."""
    if not isinstance(x, list):
        return ()
    if not x or not isinstance(x[0], list):
        if any(isinstance(e, list) for e in x):
            return None
        return (len(x),)
    rows = len(x)
    if not all(isinstance(r, list) for r in x):
        return None
    cols = len(x[0])
    if any(len(r) != cols or any(isinstance(e, list) for e in r) for r in x):
        return None
    return (rows, cols)


class Tensor:
    """A scalar, vector or matrix of exact values (``None`` marks an unknown cell)."""

    __slots__ = ("shape", "data")

    def __init__(self, shape: Shape, data: list[Any]):
        self.shape = shape
        self.data = data

    @classmethod
    def from_nested(cls, x: Any) -> Tensor:
        shape = nested_shape(x)
        if shape is None:
            raise ValueError("ragged nesting")
        if len(shape) == 0:
            return cls((), [x])
        if len(shape) == 1:
            return cls(shape, list(x))
        return cls(shape, [e for row in x for e in row])

    @classmethod
    def full(cls, shape: Shape, v: Any) -> Tensor:
        return cls(shape, [v] * size(shape))

    def to_nested(self, f: Any = None) -> Any:
        d = self.data if f is None else [f(v) for v in self.data]
        if len(self.shape) == 0:
            return d[0]
        if len(self.shape) == 1:
            return list(d)
        c = self.shape[1]
        return [d[r * c : (r + 1) * c] for r in range(self.shape[0])]

    def __getitem__(self, idx: Index) -> Any:
        s = self.shape  # flat(), inlined: a cell is read millions of times while variants are made
        if len(s) == 2:
            return self.data[idx[0] * s[1] + idx[1]]
        return self.data[idx[0] if s else 0]

    def __setitem__(self, idx: Index, v: Any) -> None:
        self.data[flat(self.shape, idx)] = v

    def indices(self) -> Iterator[Index]:
        return indices(self.shape)

    def row(self, i: int) -> list[Value]:
        c = self.shape[1]
        return self.data[i * c : (i + 1) * c]

    def col(self, j: int) -> list[Value]:
        return self.data[j :: self.shape[1]]

    def copy(self) -> Tensor:
        return Tensor(self.shape, list(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tensor) and self.shape == other.shape and self.data == other.data

    def __hash__(self) -> int:  # pragma: no cover - tensors are mutable, but hashable by content
        return hash((self.shape, tuple(self.data)))

    def __repr__(self) -> str:
        return f"Tensor({self.to_nested()!r})"


def matrix(rows: Sequence[Sequence[Value]]) -> Tensor:
    return Tensor.from_nested([list(r) for r in rows])
