"""Published examples, pinned as literals."""

from __future__ import annotations

from fractions import Fraction

import byhand
from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.tensor import Tensor


def test_dot_product_a23_b11_is_5() -> None:
    ex = byhand.make("dot", values={"a": [2, 3], "b": [1, 1]}, level="easy")
    assert ex.values["c"].data == [5]
    assert [b.answer for b in ex.blanks] == [5]
    assert ex.steps[0].text == "2·1 + 3·1 = 5"
    assert ex.check({"1": "5"}).score == 1.0


def test_inverse_dot_product() -> None:
    """a = [2, 3], b = [1, □], a·b = 5 → □ = 1 (the conventions page)."""
    doc = {
        "format": "byhand-exercise/1",
        "tensors": {"a": {"values": [2, 3]}, "b": {"values": [1, None]}, "c": {"values": 5}},
        "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}],
    }
    ex = byhand.solve(doc)
    assert ex.values["b"].data == [1, 1]
    assert [(b.cells, b.answer) for b in ex.blanks] == [([("b", (1,))], 1)]


def test_resnet_block_first_layer() -> None:
    """X = [[2,−1],[1,1],[2,1],[1,2]] (columns are samples), W1, b1 → Z1 = [[2,1],[4,3],[1,−2]]; ReLU crosses out −2."""
    g = Graph([Node("linear", ("W1", "b1", "X"), "Z1"), Node("relu", ("Z1",), "A1")], {"X": (4, 2), "W1": (3, 4), "b1": (3,)})
    v = g.evaluate(
        {
            "X": Tensor.from_nested([[2, -1], [1, 1], [2, 1], [1, 2]]),
            "W1": Tensor.from_nested([[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]]),
            "b1": Tensor.from_nested([1, 1, 0]),
        }
    )
    assert v["Z1"].to_nested() == [[2, 1], [4, 3], [1, -2]]
    assert v["A1"].to_nested() == [[2, 1], [4, 3], [1, 0]]
    steps = {s.cell: s for s in g.steps(v)}
    assert steps[("Z1", (2, 1))].text == "1·(−1) + (−1)·1 + 0·1 + 0·2 + 0 = −2"
    assert steps[("Z1", (2, 1))].uses == (
        ("W1", (2, 0)),
        ("X", (0, 1)),
        ("W1", (2, 1)),
        ("X", (1, 1)),
        ("W1", (2, 2)),
        ("X", (2, 1)),
        ("W1", (2, 3)),
        ("X", (3, 1)),
        ("b1", (2,)),
    )
    assert steps[("A1", (2, 1))].text == "0 (−2 ≤ 0: crossed out)"


def test_softmax_base3_1_0_1_5() -> None:
    """x = [1, 0, 1, 5] → [3, 1, 3, 243], sum 250 → [3/250, 1/250, 3/250, 243/250]."""
    g = Graph([Node("softmax", ("x",), "p", {"base": 3})], {"x": (4,)})
    v = g.evaluate({"x": Tensor.from_nested([1, 0, 1, 5])})
    assert v["p"].data == [Fraction(3, 250), Fraction(1, 250), Fraction(3, 250), Fraction(243, 250)]
    assert next(iter(g.steps(v))).text == "3^1 / (3^1 + 3^0 + 3^1 + 3^5) = 3 / 250 = 3/250"


def test_softmax_cross_entropy_gradient_is_p_minus_y() -> None:
    g = Graph(
        [
            Node("softmax", ("z",), "p", {"base": 3}),
            Node("cross_entropy", ("p", "y"), "L", {"base": 3}),
            grad_node("L", "z", "dz"),
        ],
        {"z": (4,), "y": (4,)},
    )
    v = g.evaluate({"z": Tensor.from_nested([1, 0, 1, 5]), "y": Tensor.from_nested([0, 0, 1, 0])})
    assert v["dz"].data == [Fraction(3, 250), Fraction(1, 250), Fraction(3, 250) - 1, Fraction(243, 250)]
    texts = [s.text for s in g.steps(v) if s.cell[0] == "dz"]
    assert texts[2] == "3/250 − 1 = −247/250"


def test_half_sse_gradient_is_yhat_minus_y() -> None:
    g = Graph([Node("half_sse", ("yh", "y"), "L"), grad_node("L", "yh", "d")], {"yh": (2,), "y": (2,)})
    v = g.evaluate({"yh": Tensor.from_nested([3, -1]), "y": Tensor.from_nested([1, 0])})
    assert v["L"].data == [Fraction(5, 2)]
    assert v["d"].data == [2, -1]
