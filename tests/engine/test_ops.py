"""Every op against PyTorch: exact forward, per-cell relations (the steps), backward (vjp) and
the gradient step relations, on hypothesis-generated exact inputs."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from byhand.engine.graph import Graph, Node, grad_node
from byhand.engine.ops import OPS
from byhand.engine.tensor import Tensor, indices
from byhand.engine.values import to_json
from byhand.errors import GraphError
from tests.oracle import apply, tensor

small = st.integers(-5, 5)
nonzero = st.integers(-5, 5).filter(lambda v: v != 0)
sizes = st.integers(1, 4)


def mat(r: int, c: int, el: st.SearchStrategy[Any] = small) -> st.SearchStrategy[list[list[Any]]]:
    return st.lists(st.lists(el, min_size=c, max_size=c), min_size=r, max_size=r)


def vec(n: int, el: st.SearchStrategy[Any] = small) -> st.SearchStrategy[list[Any]]:
    return st.lists(el, min_size=n, max_size=n)


@st.composite
def cases(draw: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs by name in op order, attrs)."""
    m, k, n = draw(sizes), draw(sizes), draw(sizes)
    if name == "dot":
        return {"a": draw(vec(k)), "b": draw(vec(k))}, {}
    if name == "matmul":
        right = draw(st.one_of(mat(k, n), vec(k)))
        return {"A": draw(mat(m, k)), "B": right}, {}
    if name == "linear":
        x = draw(st.one_of(mat(k, n), vec(k)))
        return {"W": draw(mat(m, k)), "b": draw(vec(m)), "X": x}, {}
    if name in ("add", "sub", "mul", "div"):
        el = nonzero if name == "div" else small
        # B: the same shape, a scalar (not for div), or one row under every row (each column ÷ its Σ)
        second = draw(st.one_of(mat(m, n, el), mat(1, n, el), *([] if name == "div" else [el])))
        return {"A": draw(mat(m, n)), "B": second}, {}
    if name == "exp":
        z = draw(st.one_of(mat(m, n, st.integers(-3, 3)), vec(m, st.integers(-3, 3))))
        return {"Z": z}, {"base": draw(st.sampled_from([3, "e", 2]))}
    if name == "colsum":
        return {"E": draw(st.one_of(mat(m, n), vec(m)))}, {}
    if name == "scale":
        return {"Z": draw(st.one_of(mat(m, n), vec(m)))}, {"by": draw(st.sampled_from(["1/2", "1/3", 2, "-1"]))}
    if name in ("relu", "sigmoid", "transpose", "sum"):
        return {"Z": draw(st.one_of(mat(m, n), vec(m)))}, {}
    if name == "leaky_relu":
        alpha = draw(st.sampled_from(["1/10", "1/2", "1/3"]))
        return {"Z": draw(mat(m, n))}, {"alpha": alpha}
    if name == "softmax":
        attrs: dict[str, Any] = {"base": draw(st.sampled_from([3, "e"]))}
        t = draw(st.sampled_from([1, 2, "1/2"]))
        if t != 1:
            attrs["temperature"] = t
        return {"Z": draw(st.one_of(mat(m, n, st.integers(-3, 3)), vec(m, st.integers(-3, 3))))}, attrs
    if name == "half_sse":
        return {"Yh": draw(mat(m, n)), "Y": draw(mat(m, n))}, {}
    if name == "cross_entropy":
        p = draw(mat(m, n, st.integers(1, 9).map(lambda v: f"{v}/10")))
        y = draw(mat(m, n, st.integers(0, 2)))
        return {"P": p, "Y": y}, {"base": draw(st.sampled_from([3, "e"]))}
    if name == "stack":
        parts = draw(st.lists(st.one_of(small, vec(m)), min_size=1, max_size=4))
        return {f"s{i}": v for i, v in enumerate(parts)}, {}
    if name == "hstack":
        return {"A": draw(mat(m, k)), "B": draw(mat(m, n))}, {}
    if name == "vstack":
        kind = draw(st.sampled_from(["mat", "vec", "scalar"]))
        if kind == "mat":
            return {"A": draw(mat(m, n)), "B": draw(mat(k, n))}, {}
        if kind == "vec":
            return {"A": draw(vec(m)), "B": draw(st.one_of(vec(k), small))}, {}
        return {"A": draw(small), "B": draw(small)}, {}
    if name == "top_onehot":  # moe: distinct scores in each column (a tie is refused, tested apart)
        cols = [draw(st.lists(st.integers(-9, 9), unique=True, min_size=m, max_size=m)) for _ in range(n)]
        z = [[cols[j][i] for j in range(n)] for i in range(m)]
        k_attrs = {"k": draw(st.integers(1, m))} if m > 1 else {}
        return {"S": z if draw(st.booleans()) or n > 1 else [r[0] for r in z]}, k_attrs
    if name == "row_of":
        return {"A": draw(mat(m, n))}, {"row": draw(st.integers(0, m - 1))}
    if name in ("sort", "argsort", "cumsum"):  # small values, so ties (kept in row order) are common
        return {"Z": draw(st.one_of(mat(m, n, st.integers(-2, 2)), vec(m, st.integers(-2, 2))))}, {}
    if name == "pick":
        if draw(st.booleans()):
            c = draw(vec(m, st.integers(0, 6)))
            return {"C": sorted(c), "I": draw(vec(m)), "r": draw(st.integers(-1, 7))}, {}
        cols = [sorted(draw(vec(m, st.integers(0, 6)))) for _ in range(n)]
        return {"C": [[cols[j][i] for j in range(n)] for i in range(m)], "I": draw(mat(m, n)), "r": draw(mat(1, n, st.integers(-1, 7)))}, {}
    if name == "topk":
        return {"Z": draw(st.one_of(mat(m, n), vec(m)))}, {"k": draw(st.integers(1, m))}
    if name == "dropmask":
        r = st.integers(0, 10).map(lambda v: f"{v}/10")
        return {"R": draw(st.one_of(vec(m, r), mat(m, n, r)))}, {"p": draw(st.sampled_from(["1/2", "1/4", "3/10"]))}
    if name == "diag":
        return {"v": draw(vec(m))}, {"by": draw(st.sampled_from([1, 2, "4/3"]))}
    if name == "sqrt":  # perfect squares (exact) and fractions of them, never 0 (its slope is infinite)
        sq = st.sampled_from([1, 4, 9, 16, "1/4", "9/4", 2])
        return {"Z": draw(st.one_of(mat(m, n, sq), vec(m, sq)))}, {}
    if name == "mask_causal":  # square: keys × queries
        return {"E": draw(mat(m, m, st.integers(-3, 30)))}, {}
    if name in ("hard_sigmoid", "hard_tanh"):  # both corners (±3, ±1) and the flat ends hit often
        return {"Z": draw(st.one_of(mat(m, n, st.integers(-5, 5)), vec(m, st.integers(-5, 5))))}, {}
    if name == "pad_zeros":  # conv
        return {"X": draw(mat(m, n))}, {"pad": draw(st.integers(0, 2))}
    if name == "im2col":
        size, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        h, w = draw(st.integers(size, 4)), draw(st.integers(size, 4))  # at most 16 patches (a sheet's widest)
        return {"X": draw(mat(h, w))}, {"size": size, "stride": stride}
    if name == "row_to_map":
        return {"Y": draw(mat(1, m * n))}, {"rows": m}
    if name == "max_pool":  # distinct values, so every window has one largest (a tie is refused, tested apart)
        size = draw(st.integers(1, 2))
        h, w = draw(st.integers(size, 5)), draw(st.integers(size, 5))
        flat = draw(st.lists(st.integers(-30, 30), unique=True, min_size=h * w, max_size=h * w))
        return {"M": [flat[i * w : (i + 1) * w] for i in range(h)]}, {"size": size}
    if name == "map_to_row":
        return {"K": draw(mat(m, n))}, {}
    if name == "col_of":  # gan
        return {"A": draw(mat(m, n))}, {"col": draw(st.integers(0, n - 1))}
    if name == "relu_gate":  # gan: Z often 0 (the corner: blocked, as torch's relu backward)
        return {"dA": draw(mat(m, n)), "Z": draw(mat(m, n, st.integers(-2, 2)))}, {}
    raise AssertionError(name)


NO_CELL_GRADIENT = {
    "sort": r"sort has no gradient step written cell by cell \(its derivative depends on the order\)",
    "argsort": r"argsort has no gradient step written cell by cell \(its derivative depends on the order\)",
    "pick": r"pick has no gradient step written cell by cell \(which token it picks depends on r\)",
    "hard_sigmoid": r"two corners.*no grad may pass through it",
    "hard_tanh": r"two corners.*no grad may pass through it",
    "max_pool": r"max_pool: its gradient is not drawn cell by cell",
}
"""Ops whose derivative depends on the order or the size of the values (which entry is largest,
which range r falls in, which side of a corner z is): a backward (vjp, tested against torch) but no
per-cell gradient step on a sheet — asking for one refuses with this message."""

ALL_OPS = sorted(OPS)


def test_every_op_has_a_case() -> None:
    for name in ALL_OPS:
        cases(name)  # builds a strategy; raises for an op without one


def _exact(nested: Any) -> Tensor:
    t = Tensor.from_nested(nested)
    return Tensor(t.shape, [Fraction(v) if isinstance(v, str) else v for v in t.data])


def _close(a: Any, b: torch.Tensor) -> None:
    want = b.detach().reshape(-1).tolist() if b.dim() else [b.item()]
    have = [float(v) for v in a.data]
    assert len(have) == len(want)
    for x, y in zip(have, want):
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", ALL_OPS)
@given(data=st.data())
def test_forward_relations_and_backward_match_torch(name: str, data: st.DataObject) -> None:
    ins, attrs = data.draw(cases(name))
    op = OPS[name]
    xs = [_exact(v) for v in ins.values()]
    names = list(ins)
    shapes = [x.shape for x in xs]
    out_shape = op.check(shapes, attrs, names)
    y = op.forward(xs, attrs)
    assert y.shape == out_shape
    txs = [tensor(v).requires_grad_(True) for v in ins.values()]
    ty = apply(name, txs, attrs)
    _close(y, ty)
    # exactness: integers in, integers out for the integer ops
    if name in ("dot", "matmul", "linear", "add", "sub", "mul", "relu", "sum", "transpose", "half_sse", "colsum", "mask_causal", "hard_sigmoid",
                "hard_tanh") and all(
        type(v) is int for x in xs for v in x.data
    ):
        assert all(type(v) in (int, Fraction) for v in y.data)
    # every output cell's relation (its step) gives the same value and a step text
    vals = dict(zip(names, xs))
    vals["OUT"] = y
    for r in op.relations(names, "OUT", shapes, y.shape, attrs):
        get = lambda c: vals[c[0]][c[1]]  # noqa: E731
        v = r.evaluate(get)
        assert v == y[r.out[1]] or float(v) == pytest.approx(float(y[r.out[1]]), rel=1e-12)
        assert r.text(get).endswith("")
    # backward: a random upstream gradient, against autograd
    dy_nested = data.draw(mat(*y.shape) if len(y.shape) == 2 else vec(y.shape[0]) if y.shape else small)
    dy = Tensor.from_nested(dy_nested)
    grads = op.vjp(xs, y, dy, attrs)
    if not ty.requires_grad:  # argsort: whole row numbers, no gradient in torch; byhand's is 0
        assert all(v == 0 for g in grads if g is not None for v in g.data)
        return
    tg = torch.autograd.grad(ty, txs, tensor(dy_nested), allow_unused=True)
    for k, g in enumerate(grads):
        if g is None:
            continue
        _close(g, tg[k] if tg[k] is not None else torch.zeros_like(txs[k]))


@pytest.mark.parametrize("name", ALL_OPS)
@given(data=st.data())
def test_gradient_steps_match_torch(name: str, data: st.DataObject) -> None:
    """The per-cell gradient relations the graph derives (the backward steps a student writes)
    evaluate to the same gradients as autograd."""
    ins, attrs = data.draw(cases(name))
    names = list(ins)
    xs = {k: _exact(v) for k, v in ins.items()}
    out_shape = OPS[name].check([x.shape for x in xs.values()], attrs, names)
    g_nested = data.draw(mat(*out_shape) if len(out_shape) == 2 else vec(out_shape[0]) if out_shape else small)
    wrt = [k for k in names if not (name == "cross_entropy" and k == "Y")]
    nodes = [Node(name, tuple(names), "OUT", attrs), Node("mul", ("OUT", "G"), "OG"), Node("sum", ("OG",), "L")]
    nodes += [grad_node("L", k, f"d{k}") for k in wrt]
    leaves = {k: x.shape for k, x in xs.items()} | {"G": Tensor.from_nested(g_nested).shape}
    graph = Graph(nodes, leaves)
    vals = graph.evaluate(xs | {"G": Tensor.from_nested(g_nested)})
    if name in NO_CELL_GRADIENT:
        # the gradient itself is the vjp (tested against torch above); a step cell by cell refuses
        with pytest.raises(GraphError, match=NO_CELL_GRADIENT[name]):
            graph.relations()
        return
    rels = graph.relations()
    for k in wrt:
        for idx in indices(graph.shapes[k]):
            r = rels[(f"d{k}", idx)]
            v = r.evaluate(lambda c: vals[c[0]][c[1]])
            assert float(v) == pytest.approx(float(vals[f"d{k}"][idx]), rel=1e-9, abs=1e-12)
    doc_vals = {k: tensor(v).requires_grad_(True) for k, v in ins.items()}
    t_out = apply(name, list(doc_vals.values()), attrs)
    loss = (t_out * tensor(g_nested)).sum()
    if not loss.requires_grad:  # a step (dropout's mask): no gradient in torch, 0 on the sheet
        assert all(v == 0 for k in wrt for v in vals[f"d{k}"].data)
        return
    tg = torch.autograd.grad(loss, [doc_vals[k] for k in wrt], allow_unused=True)
    for k, g in zip(wrt, tg):
        _close(vals[f"d{k}"], g if g is not None else torch.zeros_like(doc_vals[k]))
    assert all(to_json(v) is not None for t in vals.values() for v in t.data)


REFUSAL_CASES: dict[str, tuple[dict[str, Tensor], dict[str, Any], str, list[Any]]] = {
    # op: (inputs, attrs, the input the gradient is taken of, its exact vjp under L = Σ out)
    "sort": ({"Z": Tensor((3, 1), [2, 7, 5])}, {}, "Z", [1, 1, 1]),
    "argsort": ({"Z": Tensor((3, 1), [2, 7, 5])}, {}, "Z", [0, 0, 0]),  # whole row numbers: no slope
    "pick": (
        {"C": Tensor((3, 1), [Fraction(1, 2), Fraction(3, 4), 1]), "T": Tensor((3, 1), [2, 3, 1]),
         "R": Tensor((1, 1), [Fraction(3, 5)])},
        {}, "C", [0, 0, 0],
    ),
    "hard_sigmoid": ({"Z": Tensor((2,), [2, 7])}, {}, "Z", [Fraction(1, 6), 0]),
    "hard_tanh": ({"Z": Tensor((2,), [2, 7])}, {}, "Z", [0, 0]),
    "max_pool": ({"M": Tensor((2, 2), [1, 4, 3, 2])}, {"size": 2}, "M", [0, 1, 0, 0]),
}


@pytest.mark.parametrize("name", sorted(NO_CELL_GRADIENT))
def test_ops_without_a_cell_gradient_say_so(name: str) -> None:
    """Sort, argsort and pick depend on the order of the values, max_pool on which entry is
    largest, the hard sigmoid's and hard tanh's slopes have two corners each: their vjp is exact,
    but a per-cell gradient step through them is a clear error naming the op, not a wrong number."""
    ins, attrs, wrt, want = REFUSAL_CASES[name]
    nodes = [Node(name, tuple(ins), "OUT", attrs), Node("sum", ("OUT",), "L"), grad_node("L", wrt, "dZ")]
    graph = Graph(nodes, {k: t.shape for k, t in ins.items()})
    vals = graph.evaluate(dict(ins))
    assert vals["dZ"].data == want  # the exact vjp
    with pytest.raises(GraphError, match=NO_CELL_GRADIENT[name]):
        graph.relations()


def test_every_refusing_op_has_a_refusal_case() -> None:
    assert set(REFUSAL_CASES) == set(NO_CELL_GRADIENT) and set(NO_CELL_GRADIENT) <= set(OPS)


def test_the_oracles_hard_sigmoid_is_torchs() -> None:
    z = torch.arange(-5.0, 6.0)
    assert torch.allclose(apply("hard_sigmoid", [z], {}), F.hardsigmoid(z), rtol=1e-15, atol=1e-15)


@given(da=mat(3, 2), z=mat(3, 2, st.integers(-2, 2)))
def test_relu_gate_is_relus_backward_in_torch(da: list[list[int]], z: list[list[int]]) -> None:
    """gan's ``relu_gate(dA, Z)`` is exactly what autograd sends back through ReLU (0 at Z = 0)."""
    tz = tensor(z).requires_grad_(True)
    (want,) = torch.autograd.grad(torch.relu(tz), tz, tensor(da))
    _close(OPS["relu_gate"].forward([_exact(da), _exact(z)], {}), want)
