"""The same exercise as code: a short PyTorch or NumPy script with the sheet's names and numbers.

The script builds the given tensors, runs the forward pass with the library's own idioms
(``W1 @ X + b1[:, None]``, ``torch.relu``, the softmax as the sheet writes it, ``E = 3 ** Z``,
``S = E.sum(dim=0, keepdim=True)``, ``P = E / S``, checked against ``torch.softmax(Z * math.log(3))``),
then the gradients (PyTorch: ``loss.backward()``; NumPy: the backward pass written out, one line
per gradient, as on the sheet), prints every computed tensor beside the sheet's value and asserts
that they agree. It has no byhand import: a learner runs it anywhere PyTorch or NumPy runs.

It is made from the exercise file alone (``byhand-exercise/1``), so every op of the registry
(``byhand.engine.ops.OPS``) needs a line here: :data:`TORCH`, :data:`NUMPY` and :data:`NUMPY_VJP`
(a test checks that none is missing).

>>> import byhand
>>> src = pytorch_script(byhand.make("linear", seed=7, level="medium"))
>>> "Z = W @ X + b[:, None]" in src and "import byhand" not in src
True
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import Any

from byhand.engine.tensor import Shape
from byhand.engine.values import Value
from byhand.errors import FormatError
from byhand.export._doc import Doc, OpRec
from byhand.i18n import M_
from byhand.notation import tensor_label

LIBS = ("pytorch", "numpy")
_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")

# -- how a value is written in the script -----------------------------------------------------


def _float_lit(v: Value) -> str:
    """A given number as a float literal: ``2.``, ``-1/2`` (Python divides), ``0.731``."""
    if type(v) is int:
        return f"{v}."
    if type(v) is Fraction:
        return f"{v.numerator}/{v.denominator}"
    return repr(float(v))


def _exact_lit(v: Value) -> str:
    """A sheet value, exactly: ``2``, ``F(3, 14)``, ``0.612005179466903``."""
    if type(v) is int:
        return str(v)
    if type(v) is Fraction:
        return f"F({v.numerator}, {v.denominator})"
    return repr(float(v))


def _doc_text(s: str) -> str:
    """Text from the exercise file, safe inside the script's docstring."""
    return s.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _one_line(s: str) -> str:
    """Text from the exercise file, safe in a comment."""
    return " ".join(s.split())


def _nested_lit(x: Any, lit: Callable[[Value], str]) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested_lit(v, lit) for v in x) + "]"
    return lit(x)


def _is_identity(x: Any) -> bool:
    return (
        isinstance(x, list)
        and len(x) > 1
        and all(isinstance(r, list) and len(r) == len(x) for r in x)
        and all(x[i][j] == (1 if i == j else 0) for i in range(len(x)) for j in range(len(x)))
    )


def _base_scale(attrs: dict[str, Any], log: str) -> tuple[str, str]:
    """For softmax/cross-entropy: the base's name and the factor ln(base) as code ('' for e)."""
    b = attrs.get("base", "e")
    if b in ("e", "E"):
        return "e", ""
    return str(b), f"{log}({b})"


def _temperature(attrs: dict[str, Any]) -> str:
    t = attrs.get("temperature")
    if t is None or t == 1:
        return ""
    return str(t)


# -- the forward pass: one expression per op ---------------------------------------------------

Fwd = Callable[[OpRec, list[str], list[Shape]], str]


def _linear(o: OpRec, a: list[str], s: list[Shape]) -> str:
    w, b, x = a
    return f"{w} @ {x} + {b}[:, None]" if len(s[2]) == 2 else f"{w} @ {x} + {b}"


def _transpose(o: OpRec, a: list[str], s: list[Shape]) -> str:
    return f"{a[0]}.T" if len(s[0]) == 2 else f"{a[0]}[None, :]"


def _vstack(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        if len(s[0]) == 2:
            return f"{lib}.vstack([{a[0]}, {a[1]}])"
        return f"{lib}.hstack([{a[0]}, {a[1]}])  # vectors (and scalars) end to end"

    return f


def _stack(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        if all(len(x) == 0 for x in s):
            return f"{lib}.stack([{', '.join(a)}])"
        return f"{lib}.hstack([{', '.join(a)}])"

    return f


def _softmax_torch(o: OpRec, a: list[str], s: list[Shape]) -> str:
    _, scale = _base_scale(o.attrs, "math.log")
    t = _temperature(o.attrs)
    z = a[0] + (f" * {scale}" if scale else "") + (f" / {t}" if t else "")
    return f"torch.softmax({z}, dim=0)"


def _softmax_numpy(o: OpRec, a: list[str], s: list[Shape]) -> str:
    b, _ = _base_scale(o.attrs, "np.log")
    t = _temperature(o.attrs)
    z = f"({a[0]} / {t})" if t else a[0]
    p = f"np.exp({z})" if b == "e" else f"{b}.0 ** {z}"
    return f"{p} / ({p}).sum(axis=0)"


def _ce(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        _, scale = _base_scale(o.attrs, "math.log")
        log = "torch.log" if lib == "torch" else "np.log"
        return f"-({a[1]} * {log}({a[0]})).sum()" + (f" / {scale}" if scale else "")

    return f


def _leaky(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        alpha = str(o.attrs.get("alpha", "1/10"))
        if lib == "torch":
            return f"torch.nn.functional.leaky_relu({a[0]}, negative_slope={alpha})"
        return f"np.where({a[0]} > 0, {a[0]}, {alpha} * {a[0]})"

    return f


def _exp(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        b = str(o.attrs.get("base", "e"))
        if b in ("e", "E"):
            return f"{lib}.exp({a[0]})"
        return f"{b} ** {a[0]}" if lib == "torch" else f"{b}.0 ** {a[0]}"

    return f


def _colsum(lib: str) -> Fwd:
    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        if len(s[0]) == 1:
            return f"{a[0]}.sum()"
        return f"{a[0]}.sum(dim=0, keepdim=True)" if lib == "torch" else f"{a[0]}.sum(axis=0, keepdims=True)"

    return f


def _by(o: OpRec) -> Fraction:
    return Fraction(str(o.attrs.get("by", 1)).replace("\u2212", "-"))


def _scaled(c: Fraction, x: str) -> str:
    """c·x as code: ``Z / 2`` for c = 1/2, ``3 * Z``, ``-1/2 * Z``."""
    if c.numerator == 1 and c.denominator > 1:
        return f"{x} / {c.denominator}"
    return f"{c} * {x}"


def _bin(sym: str) -> Fwd:
    return lambda o, a, s: f"{a[0]} {sym} {a[1]}"


_COMMON: dict[str, Fwd] = {
    "matmul": lambda o, a, s: f"{a[0]} @ {a[1]}",
    "linear": _linear,
    "transpose": _transpose,
    "add": _bin("+"),
    "sub": _bin("-"),
    "mul": _bin("*"),
    "div": _bin("/"),
    "sum": lambda o, a, s: f"{a[0]}.sum()",
    "half_sse": lambda o, a, s: f"0.5 * (({a[0]} - {a[1]}) ** 2).sum()",
    "scale": lambda o, a, s: _scaled(_by(o), a[0]),
}

def _p(o: OpRec) -> str:
    """Dropout's rate p as a Python expression (1/2)."""
    return str(Fraction(str(o.attrs.get("p", "1/2")).replace("\u2212", "-")))


def _sorted(lib: str, what: str) -> Fwd:
    """Each column from its largest value down (stable): the values, or the 1-based row numbers."""

    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        if lib == "torch":
            r = f"torch.sort({a[0]}, dim=0, descending=True, stable=True)"
            return f"{r}.values" if what == "values" else f"({r}.indices + 1).to(torch.float64)"
        order = f"np.argsort(-{a[0]}, axis=0, kind='stable')"
        return f"np.take_along_axis({a[0]}, {order}, axis=0)" if what == "values" else f"({order} + 1).astype(float)"

    return f


def _cumsum(lib: str) -> Fwd:
    return lambda o, a, s: f"{lib}.cumsum({a[0]}, {'dim' if lib == 'torch' else 'axis'}=0)"


def _pick(lib: str) -> Fwd:
    """The rank k where r falls (how many cumulative values are <= r, at most the last), then the token there."""

    def f(o: OpRec, a: list[str], s: list[Shape]) -> str:
        c, t, r = a
        m = s[0][0]
        if len(s[0]) == 1:
            k = f"min(int(({c} <= {r}).sum()), {m - 1})"
            return f"{t}[{k}]"
        if lib == "torch":
            k = f"({c} <= {r}).sum(dim=0, keepdim=True).clamp(max={m - 1})"
            return f"{t}.gather(0, {k})"
        k = f"np.minimum(({c} <= {r}).sum(axis=0, keepdims=True), {m - 1})"
        return f"np.take_along_axis({t}, {k}, axis=0)"

    return f


def _vjp_sort(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    order = f"np.argsort(-{a[0]}, axis=0, kind='stable')"
    back = f"np.argsort({order}, axis=0)"  # where each row went: the permutation undone
    return f"np.take_along_axis({_g(g)} * np.ones_like({a[0]}), {back}, axis=0)"


def _vjp_pick(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    c, _, r = a
    if k != 1:
        return f"np.zeros_like({a[k]})"
    m = s[0][0]
    if len(s[0]) == 1:
        return f"{_g(g)} * (np.arange({m}) == min(int(({c} <= {r}).sum()), {m - 1}))"
    k_row = f"np.minimum(({c} <= {r}).sum(axis=0, keepdims=True), {m - 1})"
    return f"{_g(g)} * (np.arange({m})[:, None] == {k_row})"


TORCH: dict[str, Fwd] = {
    **_COMMON,
    "dot": lambda o, a, s: f"torch.dot({a[0]}, {a[1]})",
    "hstack": lambda o, a, s: f"torch.hstack([{a[0]}, {a[1]}])",
    "vstack": _vstack("torch"),
    "stack": _stack("torch"),
    "relu": lambda o, a, s: f"torch.relu({a[0]})",
    "leaky_relu": _leaky("torch"),
    "sigmoid": lambda o, a, s: f"torch.sigmoid({a[0]})",
    "softmax": _softmax_torch,
    "cross_entropy": _ce("torch"),
    "exp": _exp("torch"),
    "colsum": _colsum("torch"),
    "sort": _sorted("torch", "values"),
    "argsort": _sorted("torch", "rows"),
    "cumsum": _cumsum("torch"),
    "pick": _pick("torch"),
    "topk": lambda o, a, s: f"{a[0]}[:{o.attrs.get('k')}]",
    "dropmask": lambda o, a, s: f"({a[0]} >= {_p(o)}).to(torch.float64)",
    "diag": lambda o, a, s: _scaled(_by(o), f"torch.diag({a[0]})"),
    "sqrt": lambda o, a, s: f"torch.sqrt({a[0]})",
    "mask_causal": lambda o, a, s: f"{a[0]} * torch.ones_like({a[0]}).triu()",
}
"""Each registry op as PyTorch code (the inputs' variable names and shapes in, an expression out)."""

NUMPY: dict[str, Fwd] = {
    **_COMMON,
    "dot": lambda o, a, s: f"np.dot({a[0]}, {a[1]})",
    "hstack": lambda o, a, s: f"np.hstack([{a[0]}, {a[1]}])",
    "vstack": _vstack("np"),
    "stack": _stack("np"),
    "relu": lambda o, a, s: f"np.maximum({a[0]}, 0)",
    "leaky_relu": _leaky("np"),
    "sigmoid": lambda o, a, s: f"1 / (1 + np.exp(-{a[0]}))",
    "softmax": _softmax_numpy,
    "cross_entropy": _ce("np"),
    "exp": _exp("np"),
    "colsum": _colsum("np"),
    "sort": _sorted("np", "values"),
    "argsort": _sorted("np", "rows"),
    "cumsum": _cumsum("np"),
    "pick": _pick("np"),
    "topk": lambda o, a, s: f"{a[0]}[:{o.attrs.get('k')}]",
    "dropmask": lambda o, a, s: f"({a[0]} >= {_p(o)}).astype(float)",
    "diag": lambda o, a, s: _scaled(_by(o), f"np.diag({a[0]})"),
    "sqrt": lambda o, a, s: f"np.sqrt({a[0]})",
    "mask_causal": lambda o, a, s: f"np.triu({a[0]})",
}
"""Each registry op as NumPy code."""

COMMENTS: dict[str, str] = {
    "dot": "the dot product: multiply entry by entry and add",
    "matmul": "row i of the left meets column j of the right",
    "linear": "a linear layer: W·X + b, the bias added to every column (sample)",
    "relu": "ReLU: every negative becomes 0",
    "leaky_relu": "LeakyReLU: every negative is multiplied by the slope",
    "sigmoid": "the sigmoid 1/(1 + e^−z)",
    "softmax": "softmax per column; base 3 is base e with z scaled by ln 3: 3^z = e^(z·ln 3)",
    "cross_entropy": "cross-entropy −Σ Y·log P; dividing ln by ln 3 gives the sheet's log base 3",
    "half_sse": "the loss ½ Σ (Ŷ − Y)²",
    "hstack": "[A | B]: side by side",
    "vstack": "[A ; B]: one on top of the other",
    "stack": "the numbers in a row, one vector",
    "transpose": "the transpose",
    "sum": "the sum of every entry",
    "exp": "the softmax written out, as on the sheet: 3^z under each z, Σ under each column, then 3^z / Σ",
    "colsum": "Σ down each column (keepdim: one row, so the division below goes column by column)",
    "scale": "z/T: the temperature divides every z",
    "sort": "each column sorted, the largest probability first (stable: equal values keep their order)",
    "argsort": "the token numbers (1-based rows) in that order",
    "cumsum": "the cumulative column: running totals down each column",
    "pick": "the token whose range [C[k-1], C[k]) holds the random number r",
    "topk": "top-k: only the k most likely (the first k rows after the sort)",
    "dropmask": "dropout's mask: keep (1) where the random number r >= p, drop (0) where r < p",
    "diag": "the mask on the diagonal, times 1/(1 - p): the kept units scaled up",
    "sqrt": "the standard deviation: the square root of the variance",
    "mask_causal": "the causal mask: a key after its query (below the diagonal) is 3^−∞ = 0",
}

# -- the backward pass in NumPy: one vector-Jacobian product per op and input -----------------

# (the op with its output's variable name, its inputs' names, their shapes, which input k, the
# upstream gradient g or None when the output is the loss itself)
Vjp = Callable[[OpRec, list[str], list[Shape], int, str | None], str]


def _times(g: str | None, e: str) -> str:
    return e if g is None else f"{g} * {e}"


def _g(g: str | None) -> str:
    return "1.0" if g is None else g


def _unbroadcast(e: str, s: Shape, out: Shape) -> str:
    """The gradient of an input that was spread: a scalar to every cell, one row to every row."""
    if s == () and out != ():
        return f"({e}).sum()"
    if len(s) == 2 and len(out) == 2 and s[0] == 1 and out[0] != 1:
        return f"({e}).sum(axis=0, keepdims=True)"
    return e


def _vjp_linear(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    w, _, x = a
    gz = _g(g)
    matrix = len(s[2]) == 2
    if k == 0:
        return f"{gz} @ {x}.T" if matrix else f"np.outer({gz}, {x})"
    if k == 1:
        return f"{gz}.sum(axis=1)" if matrix else gz
    return f"{w}.T @ {gz}"


def _vjp_matmul(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    gc = _g(g)
    if k == 0:
        return f"{gc} @ {a[1]}.T" if len(s[1]) == 2 else f"np.outer({gc}, {a[1]})"
    return f"{a[0]}.T @ {gc}"


def _vjp_hstack(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    p = s[0][1]
    return f"{_g(g)}[:, :{p}]" if k == 0 else f"{_g(g)}[:, {p}:]"


def _offsets(s: list[Shape]) -> list[int]:
    out, o = [], 0
    for x in s:
        out.append(o)
        o += x[0] if x else 1
    return out


def _vjp_stack(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    if len(s[0]) == 2 and o.op == "vstack":
        n = s[0][0]
        return f"{_g(g)}[:{n}]" if k == 0 else f"{_g(g)}[{n}:]"
    start = _offsets(s)[k]
    return f"{_g(g)}[{start}]" if s[k] == () else f"{_g(g)}[{start}:{start + s[k][0]}]"


def _vjp_ew(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    out = s[1] if s[0] == () else s[0] if s[1] == () else tuple(max(x, y) for x, y in zip(s[0], s[1]))
    gc = _g(g)
    if o.op == "add":
        e = gc
    elif o.op == "sub":
        e = gc if k == 0 else f"-{gc}"
    elif o.op == "mul":
        e = _times(g, a[1 - k])
    else:  # div
        e = f"{gc} / {a[1]}" if k == 0 else f"-{gc} * {a[0]} / {a[1]} ** 2"
    return _unbroadcast(e, s[k], out)


def _vjp_softmax(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    out = o.out
    _, scale = _base_scale(o.attrs, "np.log")
    t = _temperature(o.attrs)
    kappa = " * ".join(x for x in (scale, f"(1 / {t})" if t else "") if x)
    gp = _g(g)
    return (f"{kappa} * " if kappa else "") + f"{out} * ({gp} - ({out} * {gp}).sum(axis=0))"


def _vjp_ce(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    _, scale = _base_scale(o.attrs, "np.log")
    if k == 1:
        raise FormatError("a gradient with respect to the target of a cross-entropy is not part of a sheet")
    den = f"({a[0]} * {scale})" if scale else a[0]
    return f"-{_g(g)} * {a[1]} / {den}" if g is not None else f"-{a[1]} / {den}"


NUMPY_VJP: dict[str, Vjp] = {
    "dot": lambda o, a, s, k, g: _times(g, a[1 - k]),
    "matmul": _vjp_matmul,
    "linear": _vjp_linear,
    "transpose": lambda o, a, s, k, g: f"{_g(g)}.T" if len(s[0]) == 2 else f"{_g(g)}[0]",
    "hstack": _vjp_hstack,
    "vstack": _vjp_stack,
    "stack": _vjp_stack,
    "add": _vjp_ew,
    "sub": _vjp_ew,
    "mul": _vjp_ew,
    "div": _vjp_ew,
    "relu": lambda o, a, s, k, g: f"{_g(g)} * ({a[0]} > 0)",
    "leaky_relu": lambda o, a, s, k, g: f"{_g(g)} * np.where({a[0]} > 0, 1, {o.attrs.get('alpha', '1/10')})",
    "sigmoid": lambda o, a, s, k, g: _times(g, f"{o.out} * (1 - {o.out})"),
    "softmax": _vjp_softmax,
    "cross_entropy": _vjp_ce,
    "sum": lambda o, a, s, k, g: f"np.ones_like({a[0]})" if g is None else f"{g} * np.ones_like({a[0]})",
    "exp": lambda o, a, s, k, g: (
        _times(g, o.out) + ("" if str(o.attrs.get("base", "e")) in ("e", "E") else f" * np.log({o.attrs.get('base')})")
    ),
    "colsum": lambda o, a, s, k, g: f"{_g(g)} * np.ones_like({a[0]})",
    "scale": lambda o, a, s, k, g: _scaled(_by(o), _g(g)),
    "sort": _vjp_sort,
    "argsort": lambda o, a, s, k, g: f"np.zeros_like({a[0]})",
    "cumsum": lambda o, a, s, k, g: f"np.flip(np.cumsum(np.flip({_g(g)} * np.ones_like({a[0]}), 0), axis=0), 0)",
    "pick": _vjp_pick,
    "topk": lambda o, a, s, k, g: (
        f"np.concatenate([{_g(g)} * np.ones_like({a[0]}[:{o.attrs.get('k')}]), np.zeros_like({a[0]}[{o.attrs.get('k')}:])])"
    ),
    "dropmask": lambda o, a, s, k, g: f"np.zeros_like({a[0]})",
    "diag": lambda o, a, s, k, g: _scaled(_by(o), f"np.diag({_g(g)})"),
    "sqrt": lambda o, a, s, k, g: f"{_g(g)} / (2 * {o.out})",
    "mask_causal": lambda o, a, s, k, g: f"np.triu({_g(g)})",
    "half_sse": lambda o, a, s, k, g: (
        (f"{a[0]} - {a[1]}" if g is None else f"{g} * ({a[0]} - {a[1]})") if k == 0 else f"{_times(g, f'({a[1]} - {a[0]})')}"
    ),
}
"""Each registry op's backward in NumPy: the gradient reaching input k from the output's gradient g."""

# mixture of experts (moe): the gate's top-k one-hot (rank of each score in its column < k) and a row of it
TORCH["top_onehot"] = lambda o, a, s: (
    f"torch.zeros_like({a[0]}).scatter(0, torch.topk({a[0]}, {int(o.attrs.get('k', 1))}, dim=0).indices, 1.0) + 0 * {a[0]}"
)  # + 0·S keeps the one-hot on autograd's graph: its gradient is 0
NUMPY["top_onehot"] = lambda o, a, s: (
    f"(np.argsort(np.argsort(-{a[0]}, axis=0, kind='stable'), axis=0) < {int(o.attrs.get('k', 1))}).astype(float)"
)
TORCH["row_of"] = NUMPY["row_of"] = lambda o, a, s: f"{a[0]}[{int(o.attrs['row'])}:{int(o.attrs['row']) + 1}]"
COMMENTS["top_onehot"] = "the gate's choice: 1 at the largest score(s) of each column, 0 elsewhere"
COMMENTS["row_of"] = "one expert's row of the one-hot: 1 under each token routed to it"
NUMPY_VJP["top_onehot"] = lambda o, a, s, k, g: f"np.zeros_like({a[0]})"  # a choice has no gradient
NUMPY_VJP["row_of"] = lambda o, a, s, k, g: f"np.eye({s[0][0]})[:, [{int(o.attrs['row'])}]] @ {_g(g)}"

# the LSTM's exact activations (issue 13): PyTorch's hard sigmoid and hard tanh
TORCH["hard_sigmoid"] = lambda o, a, s: f"torch.nn.functional.hardsigmoid({a[0]})"
TORCH["hard_tanh"] = lambda o, a, s: f"torch.nn.functional.hardtanh({a[0]})"
NUMPY["hard_sigmoid"] = lambda o, a, s: f"np.clip({a[0]} / 6 + 0.5, 0, 1)"
NUMPY["hard_tanh"] = lambda o, a, s: f"np.clip({a[0]}, -1, 1)"
NUMPY_VJP["hard_sigmoid"] = lambda o, a, s, k, g: f"{_g(g)} * ((-3 < {a[0]}) & ({a[0]} < 3)) / 6"
NUMPY_VJP["hard_tanh"] = lambda o, a, s, k, g: f"{_g(g)} * ((-1 < {a[0]}) & ({a[0]} < 1))"
COMMENTS["hard_sigmoid"] = "the hard sigmoid: 0 below −3, 1 above 3, z/6 + 1/2 between (exact, as on the sheet)"
COMMENTS["hard_tanh"] = "the hard tanh: −1 below −1, 1 above 1, z between (exact, as on the sheet)"


# -- the script ---------------------------------------------------------------------------------

_RESERVED = {"torch", "np", "math", "F", "TOL", "DECIMALS", "check", "lines", "as_float", "sheet_cell", "badges", "CHECKED", "t"}


class _Script:
    def __init__(self, doc: Doc, lib: str):
        self.d = doc
        self.lib = lib
        self.torch = lib == "pytorch"
        self.var: dict[str, str] = {}
        for name in doc.tensors:  # a Python name for each tensor, distinct even if two sanitise alike
            v = self._safe(name)
            while v in self.var.values():
                v += "_"
            self.var[name] = v
        self.lines: list[str] = []
        self.commented: set[str] = set()
        ofs = list(dict.fromkeys(str(g.attrs["of"]) for g in doc.grads))
        self.ofs = ofs
        self.grad_name = {(str(g.attrs["of"]), str(g.attrs["wrt"])): g.out for g in doc.grads}
        self.made_by = {o.out: o for o in doc.forward}

    @staticmethod
    def _safe(name: str) -> str:
        s = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
        if not s.isidentifier() or keyword.iskeyword(s) or s in _RESERVED:
            s = f"{s}_"
        return s if s.isidentifier() else f"t_{s}"

    # -- pieces -------------------------------------------------------------------------------

    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def check_line(self, name: str, expr: str, shown: str | None = None) -> str:
        blanks = self.d.blanks_in(name)
        sheet = _nested_lit(self.d.tensors[name], _exact_lit)
        b = ""
        if blanks:
            b = ", {" + ", ".join(f"{idx!r}: {badge}" for idx, badge in sorted(blanks.items())) + "}"
        return f"check({shown or self.label(name)!r}, {expr}, {sheet}{b})"

    def label(self, name: str) -> str:
        """The tensor's name as the sheet writes it (``W₁``, ``Ŷ``, ``dW₂``)."""
        return tensor_label(self.d.raw, name)

    def said_as(self, name: str) -> str:
        """A comment when the sheet names the tensor otherwise than the code (``Z2`` is ``Ŷ``)."""
        lab = self.label(name)
        return "" if lab == self.var[name] or lab.translate(_DIGITS) == self.var[name] else f"  # {_one_line(lab)} on the sheet"

    def needs_grad(self) -> set[str]:
        """Leaves that autograd must follow: every gradient the sheet asks for starts at one."""
        wrts = {str(g.attrs["wrt"]) for g in self.d.grads}
        need = {w for w in wrts if w in self.d.leaves}
        for w in wrts:
            if w in self.d.leaves:
                continue
            anc = self._ancestors(w)
            if not anc & need:
                need |= anc
        return need

    def _ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = [name]
        while stack:
            t = stack.pop()
            o = self.made_by.get(t)
            if o is None:
                seen.add(t)
                continue
            stack.extend(o.ins)
        return seen & set(self.d.leaves)

    # -- whole script --------------------------------------------------------------------------

    def render(self) -> str:
        d = self.d
        lib_name = "PyTorch" if self.torch else "NumPy"
        has_grads = bool(d.grads)
        made = ""
        if d.seed is not None:
            opts = "".join(f" --set {k}={v}" for k, v in sorted(d.options.items()) if k != "values")
            own = " --values YOUR_FILE" if "values" in d.options else ""
            made = f"\nMade by: byhand make {d.topic} --seed {d.seed} --level {d.level}{opts}{own} --format {self.lib}\n"
        what = "the forward pass"
        if has_grads:
            what += ", then loss.backward() for every gradient" if self.torch else ", then the backward pass written out"
        self.emit(f'"""{_doc_text(d.title)}: the same exercise in {lib_name}.')
        self.emit("")
        self.emit(_doc_text(d.identity))
        if d.instructions:
            self.emit(_doc_text(d.instructions))
        self.emit("")
        self.emit(f"Every tensor has the sheet's name and numbers. The script runs {what},")
        self.emit("prints each tensor beside the sheet's value and stops with an AssertionError if they differ.")
        self.emit(f"It needs only {lib_name} (no byhand). Run it with: python this_file.py")
        self.emit(made.rstrip("\n") + '\n"""' if made else '"""')
        self.emit("")
        self.emit("import math")
        self.emit("from fractions import Fraction as F")
        self.emit("")
        self.emit("import torch" if self.torch else "import numpy as np")
        self.emit("")
        self.emit("# The sheet's numbers are exact: integers and fractions (F(3, 14) is 3/14). " + lib_name + " computes in")
        self.emit("# floating point, so the tensors are float64 (about 16 significant digits) and each one is compared")
        self.emit("# with the sheet's exact value to within TOL. 1e-9 is far above float64's rounding and far below")
        self.emit(f"# the sheet's finest step ({d.precision} decimals), so passing means the same number, not a near one.")
        if self.torch:
            self.emit("torch.set_default_dtype(torch.float64)")
        self.emit("TOL = 1e-9")
        self.emit(f"DECIMALS = {d.precision}  # how the sheet writes a number that is not a fraction (a log, e^z)")
        self.emit("CHECKED = []")
        self.emit("")
        self.emit("")
        self.emit_helpers()
        self.emit("")
        self.emit("")
        self.emit_leaves()
        self.emit_forward()
        if has_grads:
            self.emit_backward_torch() if self.torch else self.emit_backward_numpy()
        self.emit("")
        self.emit('print(f"\\nEvery tensor agrees with the sheet ({len(CHECKED)} checked).")')
        return "\n".join(self.lines) + "\n"

    def emit_helpers(self) -> None:
        lib = "torch" if self.torch else "numpy"
        to_arr = "tensor.detach()" if self.torch else "np.asarray(tensor, dtype=float)"
        want = "torch.tensor(as_float(sheet))" if self.torch else "np.array(as_float(sheet))"
        close = "torch.allclose(got, want, rtol=0, atol=TOL)" if self.torch else "np.allclose(got, want, rtol=0, atol=TOL)"
        src = f'''def as_float(x):
    return [as_float(v) for v in x] if isinstance(x, list) else float(x)


def sheet_cell(v):
    return f"{{v:.{{DECIMALS}}f}}" if isinstance(v, float) else str(v)


def lines(x, cell, brackets="[]"):
    """A scalar, vector or matrix as lines of text, one per row."""
    if not isinstance(x, list):
        return [cell(x)]
    rows = x if x and isinstance(x[0], list) else [x]
    cells = [[cell(v) for v in row] for row in rows]
    w = max(len(c) for row in cells for c in row)
    return [brackets[:1] + "  ".join(c.rjust(w) for c in row) + brackets[1:] for row in cells]


def badges(x, blanks, at):
    """The sheet's badge numbers in the tensor's shape: [1] for a blank, · for a shown cell."""
    if isinstance(x, list):
        return [badges(v, blanks, (*at, i)) for i, v in enumerate(x)]
    return f"[{{blanks[at]}}]" if at in blanks else "·"


def check(name, tensor, sheet, blanks=None):
    """Print what the computer got beside the sheet's value (and the sheet's blanks), and stop if they differ."""
    got = {to_arr}
    columns = [lines(got.tolist(), lambda v: f"{{v + 0:.6g}}"), lines(sheet, sheet_cell)]
    if blanks:
        columns.append(lines(badges(sheet, blanks, ()), str, brackets=" "))
    heads = ["{lib}", "sheet", "blanks"]
    for k in range(max(len(c) for c in columns)):
        row = f"{{name:>6}}" if k == 0 else " " * max(6, len(name))
        for col, head in zip(columns, heads):
            width = max(len(s) for s in col)
            row += f"  {{head if k == 0 else '':6}} " + (col[k] if k < len(col) else "").ljust(width)
        print(row.rstrip())
    want = {want}
    assert got.shape == want.shape, f"{{name}}: the computer's shape is {{tuple(got.shape)}}, the sheet's {{tuple(want.shape)}}"
    assert {close}, f"{{name}}: the computer and the sheet differ"
    CHECKED.append(name)'''
        for line in src.split("\n"):
            self.emit(line)

    def comment(self, op: str) -> None:
        if op in COMMENTS and op not in self.commented:
            self.commented.add(op)
            self.emit(f"# {COMMENTS[op]}")

    def emit_leaves(self) -> None:
        d = self.d
        need = self.needs_grad() if self.torch else set()
        self.emit("# The given numbers: inputs, weights, biases, targets.")
        for name in d.leaves:
            v, x = self.var[name], d.tensors[name]
            if _is_identity(x):
                n = len(x)
                self.emit(f"{v} = torch.eye({n})  # the identity" if self.torch else f"{v} = np.eye({n})  # the identity")
                continue
            lit = _nested_lit(x, _float_lit)
            if self.torch:
                rg = ", requires_grad=True" if name in need else ""
                self.emit(f"{v} = torch.tensor({lit}{rg}){self.said_as(name)}")
            else:
                self.emit(f"{v} = np.array({lit}){self.said_as(name)}")
        for name in d.leaves:
            blanks = d.blanks_in(name)
            if blanks:
                badges = ", ".join(f"[{b}]" for b in sorted(blanks.values()))
                self.emit(f"# {name} had blanks on the sheet ({badges}): worked out backwards from the shown cells")
                self.emit(self.check_line(name, self.var[name]))
        self.emit("")

    def emit_forward(self) -> None:
        table = TORCH if self.torch else NUMPY
        self.emit("# The forward pass, op by op, in the sheet's order.")
        for o in self.d.forward:
            f = table.get(o.op)
            if f is None:
                raise FormatError(M_("op {op!r} has no {library} translation yet",
                                     op=o.op, library='PyTorch' if self.torch else 'NumPy'))
            args = [self.var[i] for i in o.ins]
            shapes = [self.d.shapes[i] for i in o.ins]
            self.comment(o.op)
            self.emit(f"{self.var[o.out]} = {f(o, args, shapes)}{self.said_as(o.out)}")
            self.emit(self.check_line(o.out, self.var[o.out]))
            self.library_softmax(o)

    def emit_backward_torch(self) -> None:
        d = self.d
        self.emit("")
        self.emit("# The backward pass: autograd computes every gradient the sheet asks for.")
        inner = [str(g.attrs["wrt"]) for g in d.grads if str(g.attrs["wrt"]) not in d.leaves]
        inner = list(dict.fromkeys(inner))
        if inner:
            self.emit("# PyTorch keeps the gradients of the leaves only; retain_grad() keeps these too.")
            self.emit(f"for t in ({', '.join(self.var[n] for n in inner)},):")
            self.emit("    t.retain_grad()")
        if len(self.ofs) == 1:
            self.emit(f"{self.var[self.ofs[0]]}.backward()")
            for g in d.grads:
                wrt = str(g.attrs["wrt"])
                self.emit(self.check_line(g.out, f"{self.var[wrt]}.grad"))
            return
        for of in self.ofs:  # several losses: one autograd.grad each
            gs = [g for g in d.grads if g.attrs["of"] == of]
            names = ", ".join(self.var[g.out] for g in gs)
            wrts = ", ".join(self.var[str(g.attrs["wrt"])] for g in gs)
            self.emit(f"{names}, = torch.autograd.grad({self.var[of]}, [{wrts}], retain_graph=True)")
            for g in gs:
                self.emit(self.check_line(g.out, self.var[g.out]))

    def _softmax_out(self, o: OpRec) -> str | None:
        """The probabilities P that op ``o`` starts: a ``softmax``, or ``exp`` → ``colsum`` → ``div``
        (the softmax written out as on the sheet: E = 3ᶻ, S = Σ E, P = E / S)."""
        if o.op == "softmax":
            return o.out
        if o.op == "exp":
            for c in self.d.forward:
                if c.op == "div" and c.ins[0] == o.out:
                    s = self.made_by.get(c.ins[1])
                    if s is not None and s.op == "colsum" and s.ins[0] == o.out:
                        return c.out
        return None

    def _fused(self, o: OpRec, of: str) -> bool:
        """A softmax whose P feeds only the cross-entropy ``of``: the two differentiate as P − Y."""
        p = self._softmax_out(o)
        if p is None:
            return False
        users = [u for u in self.d.forward if p in u.ins]
        if len(users) != 1:
            return False
        c = users[0]
        return (
            c.op == "cross_entropy"
            and c.out == of
            and c.ins[0] == p
            and c.ins[1] != p
            and str(c.attrs.get("base", "e")) == str(o.attrs.get("base", "e"))
            and (of, p) not in self.grad_name
        )

    def _fused_expr(self, o: OpRec, of: str) -> str:
        p_name = self._softmax_out(o)
        assert p_name is not None
        c = next(u for u in self.d.forward if p_name in u.ins)
        p, y = self.var[p_name], self.var[c.ins[1]]
        ys = self.d.tensors[c.ins[1]]
        rows = ys if isinstance(ys, list) and isinstance(ys[0], list) else [[v] for v in ys]
        one_hot = all(sum(r[j] for r in rows) == 1 for j in range(len(rows[0])))
        core = f"{p} - {y}" if one_hot else f"{p} * {y}.sum(axis=0) - {y}"
        t = _temperature(o.attrs) if o.op == "softmax" else ""
        return f"({core}) / {t}" if t else core

    def library_softmax(self, o: OpRec) -> None:
        """After a softmax written out (exp → colsum → div): PyTorch's own softmax gives the same P."""
        if not self.torch or o.op != "div":
            return
        e = self.made_by.get(o.ins[0])
        if e is None or e.op != "exp" or self._softmax_out(e) != o.out:
            return
        _, scale = _base_scale(e.attrs, "math.log")
        z = self.var[e.ins[0]] + (f" * {scale}" if scale else "")
        dim = ", dim=0"
        self.emit("# PyTorch's own softmax gives the same P (3^z = e^(z·ln 3), so it is the softmax of z·ln 3)")
        self.emit(self.check_line(o.out, f"torch.softmax({z}{dim})", shown=f"{self.label(o.out)} by torch.softmax"))

    def emit_backward_numpy(self) -> None:
        d = self.d
        self.emit("")
        self.emit("# The backward pass, written out as on the sheet: each gradient from the ones after it.")
        for g in d.grads:
            of, wrt = str(g.attrs["of"]), str(g.attrs["wrt"])
            if wrt == of:
                self.emit(f"{self.var[g.out]} = np.array(1.0)")
                self.emit(self.check_line(g.out, self.var[g.out]))
                continue
            terms: list[str] = []
            for o in d.forward:
                if wrt not in o.ins:
                    continue
                if o.out == of:
                    up: str | None = None
                elif (of, o.out) in self.grad_name:
                    up = self.var[self.grad_name[(of, o.out)]]
                elif self._fused(o, of):
                    terms.append(self._fused_expr(o, of))
                    self.emit("# softmax and cross-entropy differentiate together: the textbook P − Y")
                    continue
                else:
                    continue  # this use of the tensor does not lead to the loss
                args = [self.var[i] for i in o.ins]
                shapes = [d.shapes[i] for i in o.ins]
                for k, name in enumerate(o.ins):
                    if name != wrt:
                        continue
                    f = NUMPY_VJP.get(o.op)
                    if f is None:
                        raise FormatError(M_("op {op!r} has no NumPy backward yet", op=o.op))
                    terms.append(f(replace(o, out=self.var[o.out]), args, shapes, k, up))
            expr = " + ".join(terms) if terms else f"np.zeros_like({self.var[wrt]})"
            self.emit(f"{self.var[g.out]} = {expr}{self.said_as(g.out)}")
            self.emit(self.check_line(g.out, self.var[g.out]))


def pytorch_script(source: Any) -> str:
    """The exercise (an Exercise or its file as a dict) as a runnable PyTorch script."""
    return _Script(Doc(source), "pytorch").render()


def numpy_script(source: Any) -> str:
    """The exercise as a runnable NumPy script, with the backward pass written out."""
    return _Script(Doc(source), "numpy").render()


def script(source: Any, lib: str) -> str:
    if lib not in LIBS:
        raise FormatError(M_("no script for {lib!r}; choose one of {libs}", lib=lib, libs=', '.join(LIBS)))
    return pytorch_script(source) if lib == "pytorch" else numpy_script(source)

# convolution (conv): the padded image, im2col (torch's unfold; in NumPy an index into the image, its
# backward the same index's transpose: each column added back onto its patch), the output map, the max-pool


def _im2col_index(o: OpRec, s: list[Shape]) -> list[int]:
    """The flat image cell of each im2col cell, row by row."""
    from byhand.engine.ops import Im2Col

    k, st, ho, wo = Im2Col.geometry(s[0], dict(o.attrs))
    n = s[0][1]
    return [(pi * st + di) * n + pj * st + dj for di in range(k) for dj in range(k) for pi in range(ho) for pj in range(wo)]


def _im2col_shape(o: OpRec, s: list[Shape]) -> tuple[int, int]:
    from byhand.engine.ops import Im2Col

    k, _, ho, wo = Im2Col.geometry(s[0], dict(o.attrs))
    return k * k, ho * wo


def _pool_crop(o: OpRec, s: list[Shape]) -> tuple[int, int, int]:
    k = int(o.attrs.get("size", 2))
    return k, s[0][0] // k * k, s[0][1] // k * k


TORCH["pad_zeros"] = lambda o, a, s: f"torch.nn.functional.pad({a[0]}, [{int(o.attrs.get('pad', 1))}] * 4)"
NUMPY["pad_zeros"] = lambda o, a, s: f"np.pad({a[0]}, {int(o.attrs.get('pad', 1))})"
TORCH["im2col"] = lambda o, a, s: (
    f"torch.nn.functional.unfold({a[0]}[None, None], {int(o.attrs.get('size', 3))}, "
    f"stride={int(o.attrs.get('stride', 1))})[0]"
)
NUMPY["im2col"] = lambda o, a, s: f"{a[0]}.reshape(-1)[{_im2col_index(o, s)}].reshape{_im2col_shape(o, s)}"
TORCH["row_to_map"] = NUMPY["row_to_map"] = lambda o, a, s: f"{a[0]}.reshape({int(o.attrs['rows'])}, -1)"
TORCH["max_pool"] = lambda o, a, s: f"torch.nn.functional.max_pool2d({a[0]}[None, None], {int(o.attrs.get('size', 2))})[0, 0]"


def _np_pool(o: OpRec, a: list[str], s: list[Shape]) -> str:
    k, h, w = _pool_crop(o, s)
    return f"{a[0]}[:{h}, :{w}].reshape({h // k}, {k}, {w // k}, {k}).max(axis=(1, 3))"


NUMPY["max_pool"] = _np_pool
COMMENTS["pad_zeros"] = "the image with a border of 0s"
COMMENTS["im2col"] = "every patch of the image as a column, read row by row"
COMMENTS["row_to_map"] = "the outputs, one per patch, laid out as the output map"
COMMENTS["max_pool"] = "the largest of each window"
TORCH["map_to_row"] = NUMPY["map_to_row"] = lambda o, a, s: f"{a[0]}.reshape(1, -1)"
COMMENTS["map_to_row"] = "the filter read row by row, as one row"


def _vjp_pad(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    p = int(o.attrs.get("pad", 1))
    gg = f"np.ones(({s[0][0] + 2 * p}, {s[0][1] + 2 * p}))" if g is None else g
    return f"{gg}[{p}:{p + s[0][0]}, {p}:{p + s[0][1]}]"


def _vjp_im2col(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    m, n = s[0]
    gg = f"np.ones({_im2col_shape(o, s)})" if g is None else g
    return f"(np.eye({m * n})[{_im2col_index(o, s)}].T @ {gg}.reshape(-1)).reshape({m}, {n})"


def _vjp_pool(o: OpRec, a: list[str], s: list[Shape], k: int, g: str | None) -> str:
    size, h, w = _pool_crop(o, s)
    up = f"np.ones(({size}, {size}))"
    gg = f"np.ones_like({o.out})" if g is None else g
    hit = f"(np.kron({o.out}, {up}) == {a[0]}[:{h}, :{w}])"
    return f"np.pad({hit} * np.kron({gg}, {up}), ((0, {s[0][0] - h}), (0, {s[0][1] - w})))"


NUMPY_VJP["pad_zeros"] = _vjp_pad
NUMPY_VJP["im2col"] = _vjp_im2col
NUMPY_VJP["row_to_map"] = lambda o, a, s, k, g: f"{_g(g)}.reshape(1, -1)"
NUMPY_VJP["max_pool"] = _vjp_pool
NUMPY_VJP["map_to_row"] = lambda o, a, s, k, g: f"{_g(g)}.reshape({s[0][0]}, {s[0][1]})"

# a tiny GAN step (gan): the fake sample's score (a column of D) and ReLU's backward as an op
TORCH["col_of"] = NUMPY["col_of"] = lambda o, a, s: f"{a[0]}[:, {int(o.attrs['col'])}:{int(o.attrs['col']) + 1}]"
COMMENTS["col_of"] = "one column: the fake sample's score"
NUMPY_VJP["col_of"] = lambda o, a, s, k, g: f"{_g(g)} @ np.eye({s[0][1]})[[{int(o.attrs['col'])}]]"
TORCH["relu_gate"] = lambda o, a, s: f"{a[0]} * ({a[1]} > 0).to(torch.float64) + 0 * {a[1]}"  # Z on the graph: gradient 0
NUMPY["relu_gate"] = lambda o, a, s: f"{a[0]} * ({a[1]} > 0)"
COMMENTS["relu_gate"] = "ReLU's backward: the gradient passes where Z > 0, 0 elsewhere"
NUMPY_VJP["relu_gate"] = lambda o, a, s, k, g: (
    f"{_g(g)} * ({a[1]} > 0)" if k == 0 else f"np.zeros_like({a[1]})"
)  # Z only gates: no gradient
