"""The softmax written the method's way — z/T, 3ᶻ, Σ per column, P = 3ᶻ ÷ Σ — as separate tensors:
the published numbers, and the gradient through it with a cross-entropy is still exactly P − Y
(divided by T), the same as through the one-step ``softmax`` op and as autograd."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor
from tests.oracle import tensor


def _columns(t: int) -> tuple[list[Node], str]:
    nodes: list[Node] = []
    src = "Z"
    if t != 1:
        nodes.append(Node("scale", ("Z",), "ZT", {"by": f"1/{t}"}))
        src = "ZT"
    nodes += [Node("exp", (src,), "E", {"base": 3}), Node("colsum", ("E",), "S"), Node("div", ("E", "S"), "P")]
    return nodes, src


def test_published_column() -> None:
    """z = [1, 0, 1, 5] → 3, 1, 3, 243 → Σ 250 → P = 3/250, 1/250, 3/250, 243/250."""
    nodes, _ = _columns(1)
    g = Graph(nodes, {"Z": (4, 1)})
    v = g.evaluate({"Z": Tensor.from_nested([[1], [0], [1], [5]])})
    assert v["E"].to_nested() == [[3], [1], [3], [243]]
    assert v["S"].to_nested() == [[250]]
    assert v["P"].data == [Fraction(3, 250), Fraction(1, 250), Fraction(3, 250), Fraction(243, 250)]
    steps = {s.cell: s.text for s in g.steps(v)}
    assert steps[("E", (3, 0))] == "3⁵ = 243"
    assert steps[("S", (0, 0))] == "3 + 1 + 3 + 243 = 250"
    assert steps[("P", (3, 0))] == "243 / 250 = 243/250"


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(2, 4),
    cols=st.integers(1, 3),
    t=st.sampled_from([1, 2, 3]),
)
def test_gradient_through_the_columns_is_exactly_p_minus_y(data: Any, rows: int, cols: int, t: int) -> None:
    z = [[t * data.draw(st.integers(-2, 3)) for _ in range(cols)] for _ in range(rows)]
    y = [[0] * cols for _ in range(rows)]
    for j in range(cols):
        y[data.draw(st.integers(0, rows - 1))][j] = 1
    nodes, _ = _columns(t)
    nodes += [Node("cross_entropy", ("P", "Y"), "L", {"base": 3}), grad_node("L", "Z", "dZ")]
    g = Graph(nodes, {"Z": (rows, cols), "Y": (rows, cols)})
    v = g.evaluate({"Z": Tensor.from_nested(z), "Y": Tensor.from_nested(y)})
    p = v["P"]
    want = [(Fraction(pv) - yv) / t for pv, yv in zip(p.data, Tensor.from_nested(y).data)]
    assert [Fraction(x) for x in v["dZ"].data] == want  # exact: fractions, no floats
    assert all(not isinstance(x, float) for x in v["dZ"].data)
    # the gradient steps a student writes give the same numbers
    rels = g.relations()
    for idx in v["dZ"].indices():
        assert rels[("dZ", idx)].evaluate(lambda c: v[c[0]][c[1]]) == v["dZ"][idx]
    # the same as the one-step softmax op
    attrs: dict[str, Any] = {"base": 3} | ({"temperature": t} if t != 1 else {})
    one = Graph(
        [Node("softmax", ("Z",), "P", attrs), Node("cross_entropy", ("P", "Y"), "L", {"base": 3}), grad_node("L", "Z", "dZ")],
        {"Z": (rows, cols), "Y": (rows, cols)},
    ).evaluate({"Z": Tensor.from_nested(z), "Y": Tensor.from_nested(y)})
    assert one["dZ"].data == v["dZ"].data
    assert one["P"].data == v["P"].data
    # and as autograd through 3^(z/T) / Σ, −Σ y·log₃ p
    tz = tensor(z).requires_grad_(True)
    e = torch.pow(3.0, tz / t)
    tp = e / e.sum(dim=0, keepdim=True)
    loss = -(tensor(y) * torch.log(tp)).sum() / torch.log(torch.tensor(3.0))
    (gz,) = torch.autograd.grad(loss, [tz])
    assert [float(x) for x in v["dZ"].data] == pytest.approx(gz.reshape(-1).tolist(), abs=1e-12)


def test_no_gradient_tensors_for_the_softmax_columns() -> None:
    """The gradient jumps from L to Z (P − Y): no d3ᶻ, dΣ or dP appears on the sheet."""
    nodes, _ = _columns(2)
    nodes += [Node("cross_entropy", ("P", "Y"), "L", {"base": 3}), grad_node("L", "Z", "dZ")]
    g = Graph(nodes, {"Z": (3, 1), "Y": (3, 1)})
    made = {n.out for n in g.grad_nodes}
    assert made == {"dZ", "dZT"}
