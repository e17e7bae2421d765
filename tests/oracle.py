"""An independent replay of a ``byhand-exercise/1`` document in PyTorch (float64, CPU).

It reads only the JSON — never byhand's engine — so it is a second implementation of every op
and of ``grad`` (by autograd), written from the format page. Tests compare the two.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def num(x: Any) -> float:
    if isinstance(x, str):
        return float(Fraction(x.replace("\u2212", "-")))
    return float(x)


def tensor(values: Any) -> torch.Tensor:
    if isinstance(values, list):
        if values and isinstance(values[0], list):
            return torch.tensor([[num(v) for v in row] for row in values])
        return torch.tensor([num(v) for v in values])
    return torch.tensor(num(values))


def ln_base(attrs: dict[str, Any]) -> float:
    b = attrs.get("base", "e")
    return 1.0 if b == "e" else math.log(b)


def apply(op: str, xs: list[torch.Tensor], attrs: dict[str, Any]) -> torch.Tensor:
    if op == "dot":
        return torch.dot(xs[0], xs[1])
    if op == "matmul":
        return xs[0] @ xs[1]
    if op == "linear":
        w, b, x = xs
        return w @ x + (b[:, None] if x.dim() == 2 else b)
    if op == "add":
        return xs[0] + xs[1]
    if op == "sub":
        return xs[0] - xs[1]
    if op == "mul":
        return xs[0] * xs[1]
    if op == "div":
        return xs[0] / xs[1]
    if op == "relu":
        return torch.relu(xs[0])
    if op == "leaky_relu":
        return F.leaky_relu(xs[0], num(attrs.get("alpha", "1/10")))
    if op == "sigmoid":
        return torch.sigmoid(xs[0])
    if op == "softmax":
        t = num(attrs.get("temperature", 1))
        return torch.softmax(xs[0] * ln_base(attrs) / t, dim=0)
    if op == "exp":
        return torch.exp(xs[0] * ln_base(attrs))
    if op == "colsum":
        return xs[0].sum(dim=0, keepdim=xs[0].dim() == 2)
    if op == "scale":
        return xs[0] * num(attrs["by"])
    if op == "sum":
        return xs[0].sum()
    if op == "transpose":
        return xs[0].reshape(1, -1) if xs[0].dim() == 1 else xs[0].T
    if op == "half_sse":
        return 0.5 * ((xs[0] - xs[1]) ** 2).sum()
    if op == "cross_entropy":
        p, y = xs
        logp = torch.where(y != 0, torch.log(p), torch.zeros_like(p))
        return -(y * logp).sum() / ln_base(attrs)
    if op == "stack":
        return torch.cat([x.reshape(-1) for x in xs])
    if op == "hstack":
        return torch.cat([xs[0], xs[1]], dim=1)
    if op == "vstack":
        if xs[0].dim() <= 1 and xs[1].dim() <= 1:
            return torch.cat([xs[0].reshape(-1), xs[1].reshape(-1)])
        return torch.cat([xs[0], xs[1]], dim=0)
    if op == "top_onehot":  # moe: 1 at the k largest of each column (no ties: the format forbids them)
        z = xs[0] if xs[0].dim() == 2 else xs[0][:, None]
        idx = torch.topk(z.detach(), int(attrs.get("k", 1)), dim=0).indices
        hot = torch.zeros_like(z).scatter(0, idx, 1.0) + 0 * z  # piecewise constant: gradient 0
        return hot if xs[0].dim() == 2 else hot[:, 0]
    if op == "row_of":
        return xs[0][int(attrs["row"])].reshape(1, -1)
    if op in ("sort", "argsort"):  # per column, largest first, equal values in row order
        x = xs[0] if xs[0].dim() == 2 else xs[0].reshape(-1, 1)
        v, i = torch.sort(x, dim=0, descending=True, stable=True)
        out = v if op == "sort" else (i + 1).to(torch.float64)
        return out.reshape(xs[0].shape)
    if op == "cumsum":
        return torch.cumsum(xs[0], dim=0)
    if op == "pick":  # the rank k where r falls: how many cumulative values are <= r, at most the last
        c, t, r = xs
        c2, t2 = (c, t) if c.dim() == 2 else (c.reshape(-1, 1), t.reshape(-1, 1))
        k = (c2 <= r.reshape(1, -1)).sum(dim=0).clamp(max=c2.shape[0] - 1)
        return t2.gather(0, k.reshape(1, -1)).reshape(r.shape)
    if op == "topk":
        return xs[0][: attrs["k"]]
    if op == "dropmask":  # kept where r >= p
        return (xs[0] >= num(attrs.get("p", "1/2"))).to(torch.float64)
    if op == "diag":
        return torch.diag(xs[0]) * num(attrs.get("by", 1))
    if op == "sqrt":
        return torch.sqrt(xs[0])
    if op == "mask_causal":  # keys are rows, queries columns: a key after its query is 0
        return xs[0] * torch.ones_like(xs[0]).triu()
    if op == "hard_sigmoid":  # the LSTM's exact σ: clamp(z/6 + 1/2, 0, 1), the same as F.hardsigmoid
        # (and its slope is 0 at the corners, as F.hardsigmoid's); written through hardtanh because
        # F.hardsigmoid's backward multiplies by a float32 1/6 even in float64 (off by 3e-8)
        return F.hardtanh(xs[0] / 6 + 0.5, 0.0, 1.0)
    if op == "hard_tanh":  # the LSTM's exact tanh: clamp(z, -1, 1)
        return F.hardtanh(xs[0])
    if op == "pad_zeros":  # conv: written from the format page, with torch's own ops
        return torch.nn.functional.pad(xs[0], [int(attrs.get("pad", 1))] * 4)
    if op == "im2col":
        k, s = int(attrs.get("size", 3)), int(attrs.get("stride", 1))
        return torch.nn.functional.unfold(xs[0][None, None], k, stride=s)[0]
    if op == "row_to_map":
        return xs[0].reshape(int(attrs["rows"]), -1)
    if op == "max_pool":
        k = int(attrs.get("size", 2))
        return torch.nn.functional.max_pool2d(xs[0][None, None], k)[0, 0]
    if op == "map_to_row":
        return xs[0].reshape(1, -1)
    if op == "col_of":  # gan: one column of a matrix, kept as a column
        c = int(attrs["col"])
        return xs[0][:, c : c + 1]
    if op == "relu_gate":  # gan: ReLU's backward, dA where Z > 0, else 0 (Z only gates)
        return xs[0] * (xs[1] > 0).to(torch.float64)
    raise AssertionError(f"the oracle does not know op {op}")


def replay(doc: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Every tensor of the document, recomputed by torch from its leaves."""
    defined = {o["out"] for o in doc["ops"]}
    vals: dict[str, torch.Tensor] = {}
    for name, spec in doc["tensors"].items():
        if name not in defined:
            vals[name] = tensor(spec["values"]).requires_grad_(True)
    for o in doc["ops"]:
        if o["op"] == "grad":
            continue
        vals[o["out"]] = apply(o["op"], [vals[i] for i in o["in"]], o.get("attrs", {}))
    for o in doc["ops"]:
        if o["op"] == "grad":
            of, wrt = o["attrs"]["of"], o["attrs"]["wrt"]
            (g,) = torch.autograd.grad(vals[of], vals[wrt], retain_graph=True, allow_unused=True)
            vals[o["out"]] = torch.zeros_like(vals[wrt]) if g is None else g
    return vals


def assert_matches(doc: dict[str, Any], rel: float = 1e-9) -> None:
    """Every value of the document equals torch's replay."""
    got = replay(doc)
    for name, spec in doc["tensors"].items():
        want = tensor(spec["values"])
        have = got[name].detach()
        assert have.shape == want.shape, (name, have.shape, want.shape)
        assert torch.allclose(have, want, rtol=rel, atol=1e-9), (doc.get("identity"), name, have.tolist(), want.tolist())


def assert_layer_norm(doc: dict[str, Any], x: str, normed: str, out: str | None = None,
                      gamma: str | None = None, beta: str | None = None) -> None:
    """A layer norm written out step by step (Σ, μ, the centred values, σ², σ, ÷ σ; tokens are columns,
    normalised over the rows) equals ``torch.nn.functional.layer_norm`` — forward, and the gradient
    with respect to ``x`` of a fixed weighted sum of the output. torch divides by d (the biased
    variance), as the sheet does; ``eps=0`` because the sheet's σ is exact.

    The step-by-step path is the document's own ops from ``x`` to ``normed`` (and ``out``), replayed
    by :func:`apply` from a fresh leaf ``x``."""
    want = tensor(doc["tensors"][x]["values"])
    r = want.clone().requires_grad_(True)
    vals: dict[str, torch.Tensor] = {x: r}
    for name, spec in doc["tensors"].items():
        if name not in {o["out"] for o in doc["ops"]}:
            vals[name] = tensor(spec["values"])
    for o in doc["ops"]:
        if o["op"] == "grad" or o["out"] == x or not all(i in vals for i in o["in"]):
            continue
        vals[o["out"]] = apply(o["op"], [vals[i] for i in o["in"]], o.get("attrs", {}))
    d = r.shape[0]
    r2 = want.clone().requires_grad_(True)
    w = vals[gamma] if gamma else None
    b = vals[beta] if beta else None
    ref = F.layer_norm(r2.T, (d,), eps=0.0).T
    mine = vals[normed]
    assert torch.allclose(mine, ref, atol=1e-9), (doc.get("identity"), mine.tolist(), ref.tolist())
    assert torch.allclose(tensor(doc["tensors"][normed]["values"]), ref.detach(), atol=1e-9)
    pairs = [(mine, ref)]
    if out is not None:
        ref_out = F.layer_norm(r2.T, (d,), weight=w, bias=b, eps=0.0).T
        assert torch.allclose(vals[out], ref_out, atol=1e-9), (doc.get("identity"), vals[out].tolist(), ref_out.tolist())
        assert torch.allclose(tensor(doc["tensors"][out]["values"]), ref_out.detach(), atol=1e-9)
        pairs.append((vals[out], ref_out))
    g = torch.Generator().manual_seed(0)
    for a, c in pairs:
        k = torch.randn(a.shape, generator=g)
        (ga,) = torch.autograd.grad((a * k).sum(), r, retain_graph=True)
        (gc,) = torch.autograd.grad((c * k).sum(), r2, retain_graph=True)
        assert torch.allclose(ga, gc, atol=1e-9), (doc.get("identity"), ga.tolist(), gc.tolist())
