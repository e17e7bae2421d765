"""Whiteboard diagrams as SVG, drawn from the same graph that computed the numbers.

Two pictures, chosen by the graph's structure (never by chapter):

* **A network** (the graph has ``linear`` ops): a box per weight layer, arrows for the data flow,
  the activation written on the box. A skip connection — an identity block beside a weight
  (``[W2 | I]·[A1 ; X]``) or an ``add`` of an earlier tensor — is the line that jumps ahead and ends
  in a circled "+". When the sheet has gradients, they run back under the arrows (blue, dashed),
  with their numbers, and the gradient down the skip is highlighted (orange, dotted).
* **A chain of local derivatives** (scalar factors multiplied along paths): layers h₀ → … → hₙ with
  dᵢ on each edge, a skip arc over each layer, and the two extreme paths highlighted: the plain
  path through every layer (red, solid) and the path that skips everything (blue, dashed) —
  colour *and* line style, so a photocopy still tells them apart.

>>> import byhand
>>> svg = diagram_svg(byhand.make("resnet", seed=1, level="easy"))
>>> svg.startswith("<svg") and "⊕" not in svg and "circle" in svg
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from byhand.engine.tensor import Tensor
from byhand.engine.values import Value, fmt
from byhand.notation import tensor_label

if TYPE_CHECKING:
    from byhand.exercise import Exercise

INK = "#222"
FWD = "#c25700"  # forward pass: orange
GRAD = "#1f5fbf"  # backward pass and gradients: blue
SKIP = "#e07b00"
PLAIN = "#b3261e"
FONT = "font-family='Libertinus Serif, Georgia, serif'"
#: The smallest text (px): printed at most 180 mm wide, the widest diagram (about 1100 px) keeps
#: its text ≥ 2 mm (by-hand-conventions.md).
MIN_FONT = 14


@dataclass
class Stage:
    """One weight layer: ``out = act(W·inp + b (+ skips))``."""

    weight: str
    inp: str
    out: str  # the pre-activation
    act: str | None = None
    act_out: str | None = None
    skips: list[str] = field(default_factory=list)
    sum_out: str | None = None  # the output of an ``add`` skip (``R = X + Z``), when the skip is an add
    data_first: bool = False  # ``X·A``: the data on the left, a given matrix (attention) on the right


def _is_identity(t: Tensor) -> bool:
    if len(t.shape) != 2 or t.shape[0] != t.shape[1]:
        return False
    n = t.shape[0]
    return all(t[i, j] == (1 if i == j else 0) for i in range(n) for j in range(n))


def _stages(ex: Exercise) -> list[Stage]:
    g = ex.graph
    made_by = {n.out: n for n in g.forward_nodes}
    stages: list[Stage] = []
    for n in g.forward_nodes:
        if n.op not in ("linear", "matmul"):
            continue
        w, x = n.ins[0], n.ins[-1]
        data_first = n.op == "matmul" and g.roles.get(w) == "input" and n.ins[1] in g.leaves
        if data_first:  # X·A (the transformer's fixed attention): X flows in, A is the matrix
            w, x = n.ins[1], n.ins[0]
        weights, inputs = [w], [x]
        if w in made_by and made_by[w].op == "hstack" and x in made_by and made_by[x].op == "vstack":
            weights, inputs = list(made_by[w].ins), list(made_by[x].ins)
        st = Stage(weight="", inp="", out=n.out, data_first=data_first)
        for wi, xi in zip(weights, inputs):
            if _is_identity(ex.values[wi]):
                st.skips.append(xi)
            elif not st.weight:
                st.weight, st.inp = wi, xi
        if not st.weight or any(s.weight == st.weight for s in stages):
            continue  # no weight, or the same weight again: a side-by-side comparison, not a new layer
        stages.append(st)
    by_out = {s.out: s for s in stages}
    for n in g.forward_nodes:
        if n.op in ("relu", "leaky_relu", "sigmoid", "softmax") and n.ins[0] in by_out:
            s = by_out[n.ins[0]]
            s.act, s.act_out = n.op, n.out
        if n.op == "add":
            a, b = n.ins
            on_path = {s.inp for s in stages} | {t for s in stages for t in (s.out, s.act_out, s.sum_out) if t}
            for s in stages:
                if s.out in (a, b) or s.act_out in (a, b):
                    other = b if s.out == a or s.act_out == a else a
                    if other not in on_path:
                        continue  # a given added in (positions), not a skip from earlier on the path
                    s.skips.append(other)
                    s.sum_out = n.out
    return stages


def _vec(t: Tensor, precision: int) -> str:
    if len(t.shape) == 2 and t.shape[1] == 1 or len(t.shape) == 1:
        return "[" + ", ".join(fmt(v, precision) for v in t.data) + "]"
    return ""


def _text(x: float, y: float, s: str, size: int = 13, anchor: str = "middle", color: str = INK, italic: bool = False,
          value: str | None = None) -> str:
    """A text; ``value`` (a computed number, which a student's copy may have to hide) follows ``s``
    in a ``<tspan class='a'>``: only such numbers are ever masked, never a given one."""
    style = " font-style='italic'" if italic else ""
    tail = f"<tspan class='a'>{escape(value)}</tspan>" if value is not None else ""
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{max(size, MIN_FONT)}' text-anchor='{anchor}' fill='{color}' "
        f"{FONT}{style}>{escape(s)}{tail}</text>"
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, color: str, dash: str = "", width: float = 1.6, marker: str = "a") -> str:
    d = f" stroke-dasharray='{dash}'" if dash else ""
    return (
        f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='{color}' stroke-width='{width}'{d} "
        f"marker-end='url(#{marker})'/>"
    )


def _defs() -> str:
    def m(mid: str, color: str) -> str:
        return (
            f"<marker id='{mid}' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' orient='auto'>"
            f"<path d='M0,0 L10,5 L0,10 z' fill='{color}'/></marker>"
        )

    return f"<defs>{m('a', INK)}{m('g', GRAD)}{m('s', SKIP)}{m('p', PLAIN)}</defs>"


def network_svg(ex: Exercise) -> str | None:
    stages = _stages(ex)
    if not stages:
        return None
    g, p = ex.graph, ex.precision
    grads = {n.attrs["wrt"]: n.out for n in g.grad_nodes}
    box_w, box_h, gap, top = 118, 58, 92, 70
    has_grad = bool(grads)
    height = top + box_h + (150 if has_grad else 70)
    y_mid = top + box_h / 2
    parts = [_defs()]
    x = 30.0
    # the input
    first = stages[0].inp
    parts.append(_text(x, y_mid - 18, tensor_label(ex, first), 15, "start", italic=True))
    parts.append(_text(x, y_mid + 30, _vec(ex.values[first], p), 11, "start"))
    x_prev_end = x + 30
    pos: dict[str, float] = {first: x_prev_end}
    for k, s in enumerate(stages):
        bx = max(40 + k * (box_w + gap) + gap * 0.75, x_prev_end + 12)  # after a circled +, one step on
        parts.append(_arrow(x_prev_end, y_mid, bx, y_mid, INK))
        parts.append(
            f"<rect x='{bx:.1f}' y='{top}' width='{box_w}' height='{box_h}' rx='8' "
            f"fill='white' stroke='{INK}' stroke-width='1.8'/>"
        )
        b = next((n.ins[1] for n in g.forward_nodes if n.out == s.out and n.op == "linear"), None)
        written = f"{tensor_label(ex, s.weight)}·{tensor_label(ex, s.inp)}" + (f" + {tensor_label(ex, b)}" if b else "")
        if s.data_first:
            written = f"{tensor_label(ex, s.inp)}·{tensor_label(ex, s.weight)}"
        parts.append(_text(bx + box_w / 2, top + 24, written, 13))
        act = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "σ", "softmax": "softmax"}.get(s.act or "", "")
        end_x = bx + box_w
        if s.skips:
            # the circled + sits after the weight box, before the activation
            cx = bx + box_w + 26
            parts.append(_arrow(bx + box_w, y_mid, cx - 12, y_mid, INK))
            parts.append(f"<circle cx='{cx:.1f}' cy='{y_mid:.1f}' r='12' fill='white' stroke='{INK}' stroke-width='1.8'/>")
            parts.append(_text(cx, y_mid + 6, "+", 20))
            for src in s.skips:
                sx = pos.get(src, 40.0)
                yk = top - 38
                parts.append(
                    f"<path d='M{sx:.1f},{y_mid - 4:.1f} C{sx:.1f},{yk:.1f} {cx:.1f},{yk:.1f} {cx:.1f},{y_mid - 13:.1f}' "
                    f"fill='none' stroke='{SKIP}' stroke-width='2.4' marker-end='url(#s)'/>"
                )
                parts.append(_text((sx + cx) / 2, yk + 4, f"skip: + {tensor_label(ex, src)}", 12, color=SKIP, italic=True))
            end_x = cx + 12
        if act:
            parts.append(_text(end_x + 30, y_mid - 8, act, 12, italic=True))
        out = s.sum_out or s.act_out or s.out
        ox = end_x + gap * 0.7
        parts.append(_arrow(end_x, y_mid, ox - 4, y_mid, INK))
        parts.append(_text(ox + 2, y_mid - 18, tensor_label(ex, out), 14, "start", italic=True))
        pos[out] = ox + 8
        x_prev_end = ox + 26
        # numbers on the edges: the values flowing out (one sample)
        v = _vec(ex.values[out], p)
        if v:
            parts.append(_text(ox + 2, y_mid + 30, "", 11, "start", value=v))
    width = x_prev_end + 90
    if has_grad:
        yg = top + box_h + 66
        parts.append(_text(30, yg - 34, "backward: gradients run right to left", 12, "start", color=GRAD, italic=True))
        xs = sorted(pos.values())
        for right, left in zip(xs[1:], xs[:-1]):
            parts.append(_arrow(right - 4, yg, left + 4, yg, GRAD, dash="6 4", marker="g"))
        for name, gx in pos.items():
            if name in grads:
                parts.append(_text(gx - 4, yg - 8, f"{tensor_label(ex, grads[name])} = ", 11, "start", color=GRAD,
                                   value=_vec(ex.values[grads[name]], p)))
        for s in stages:
            out = s.act_out or s.out
            for src in s.skips:
                if src in pos and out in pos:
                    x1, x2 = pos[out], pos[src]
                    parts.append(
                        f"<path d='M{x1:.1f},{yg + 6:.1f} C{x1:.1f},{yg + 56:.1f} {x2:.1f},{yg + 56:.1f} "
                        f"{x2:.1f},{yg + 8:.1f}' fill='none' stroke='{SKIP}' stroke-width='2.2' "
                        f"stroke-dasharray='2 4' marker-end='url(#s)'/>"
                    )
                    parts.append(
                        _text(
                            (x1 + x2) / 2,
                            yg + 62,
                            "the gradient at the + also goes down the skip, unchanged",
                            11,
                            color=SKIP,
                            italic=True,
                        )
                    )
    return _svg(width, height, parts)


def _factors(ex: Exercise) -> list[str]:
    """Scalar leaves that are multiplied along the chain (the local derivatives), in sheet order."""
    g = ex.graph
    mul_ins = {i for n in g.forward_nodes if n.op == "mul" for i in n.ins}
    return [n for n in g.leaves if g.shapes[n] == () and n in mul_ins]


def chain_svg(ex: Exercise) -> str | None:
    g, p = ex.graph, ex.precision
    if any(n.op in ("linear", "matmul") for n in g.forward_nodes):
        return None
    # a chain of local derivatives is products of factors (and their 1 + d, their list of paths,
    # its sum) only; a sheet that also subtracts or divides (the gradient chapter's change dZ and
    # ratio dZ/dW) is not one, and a chain without a skip shows nothing the grid does not
    if any(n.op not in ("mul", "add", "stack", "sum") for n in g.forward_nodes):
        return None
    ds = _factors(ex)
    if len(ds) < 2:
        return None
    has_skip = any(n.op in ("add", "stack") for n in g.forward_nodes)
    if not has_skip:
        return None
    hidden = {c[0] for c in ex.blank_cells()}
    n = len(ds)
    step, y = 130, 150
    width, height = 60 + n * step + 40, 270
    parts = [_defs()]
    xs = [50 + k * step for k in range(n + 1)]
    for k, x in enumerate(xs):
        parts.append(f"<circle cx='{x}' cy='{y}' r='17' fill='white' stroke='{INK}' stroke-width='1.8'/>")
        parts.append(_text(x, y + 5, f"h{'₀₁₂₃₄₅₆₇₈₉'[k] if k < 10 else k}", 13, italic=True))
    plain: Value = 1
    total: Value = 1
    for k, name in enumerate(ds):
        d = ex.values[name].data[0]
        plain = plain * d
        total = total * (1 + d)
        x1, x2 = xs[k] + 18, xs[k + 1] - 18
        parts.append(_arrow(x2, y, x1, y, PLAIN, width=2.6, marker="p"))  # the gradient runs back, right to left
        given = name not in hidden
        parts.append(_text((x1 + x2) / 2, y + 24, f"{tensor_label(ex, name)} = " + (fmt(d, p) if given else ""), 13,
                           color=PLAIN, value=None if given else fmt(d, p)))
        if has_skip:
            mx = (xs[k] + xs[k + 1]) / 2
            parts.append(
                f"<path d='M{xs[k + 1]:.1f},{y - 18} Q{mx:.1f},{y - 95} {xs[k]:.1f},{y - 18}' fill='none' "
                f"stroke='{GRAD}' stroke-width='2.2' stroke-dasharray='7 5' marker-end='url(#g)'/>"
            )
            parts.append(_text(mx, y - 62, "skip: × 1", 12, color=GRAD, italic=True))
    parts.append(_text(30, 28, "gradient from the loss at the right back to the input at the left", 12, "start", italic=True))
    ly = 225
    parts.append(f"<line x1='40' y1='{ly}' x2='80' y2='{ly}' stroke='{PLAIN}' stroke-width='2.6'/>")
    parts.append(_text(88, ly + 4, "plain path, through every layer: product = ", 13, "start", color=PLAIN,
                       value=fmt(plain, p)))
    if has_skip:
        parts.append(
            f"<line x1='40' y1='{ly + 24}' x2='80' y2='{ly + 24}' stroke='{GRAD}' stroke-width='2.2' stroke-dasharray='7 5'/>"
        )
        parts.append(
            _text(88, ly + 28, f"with skips: 2{_sup(n)} = {2**n} paths, sum = Π(1 + dᵢ) = ", 13, "start", color=GRAD,
                  value=fmt(total, p))
        )
        height += 10
    return _svg(width, height, parts)


def _sup(n: int) -> str:
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(n))


def _svg(width: float, height: float, parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}'><rect width='100%' height='100%' fill='white'/>{body}</svg>"
    )


def diagram_svg(ex: Exercise) -> str | None:
    """The whiteboard diagram of an exercise, or None when it has no network or chain to draw."""
    return attention_svg(ex) or network_svg(ex) or chain_svg(ex)


# -- attention (chapter attention): the block as the whiteboard draws it ---------------------------


@dataclass
class AttentionParts:
    """The tensors of one attention head, found by structure: ``K`` transposed into ``Kᵀ·Q``, a
    softmax written out (``exp`` → ``colsum`` → ``div``) and the weights ``A`` meeting ``V``."""

    x: str
    q: str
    k: str
    v: str
    scores: str
    scaled: str | None
    scale_by: str | None
    masked: bool
    a: str
    z: str
    weights: dict[str, str] = field(default_factory=dict)  # Q/K/V → its weight


def attention_parts(ex: Exercise) -> list[AttentionParts]:
    g = ex.graph
    by_out = {n.out: n for n in g.forward_nodes}
    users: dict[str, list[Any]] = {}
    for n in g.forward_nodes:
        for i in n.ins:
            users.setdefault(i, []).append(n)
    heads = []
    for t in g.forward_nodes:
        if t.op != "transpose":
            continue
        mm = next((u for u in users.get(t.out, []) if u.op == "matmul" and u.ins[0] == t.out), None)
        if mm is None:
            continue
        k, q = t.ins[0], mm.ins[1]
        cur, scaled, by, masked = mm.out, None, None, False
        nxt = users.get(cur, [])
        if nxt and nxt[0].op == "scale":
            scaled, by, cur = nxt[0].out, str(nxt[0].attrs.get("by")), nxt[0].out
            nxt = users.get(cur, [])
        if not nxt or nxt[0].op != "exp":
            continue
        cur = nxt[0].out
        nxt = users.get(cur, [])
        if nxt and nxt[0].op == "mask_causal":
            masked, cur = True, nxt[0].out
        div = next((u for u in users.get(cur, []) if u.op == "div"), None)
        if div is None:
            continue
        zmm = next((u for u in users.get(div.out, []) if u.op == "matmul" and u.ins[1] == div.out), None)
        if zmm is None:
            continue
        v = zmm.ins[0]
        weights = {}
        x = "X"
        for name in (q, k, v):
            src = by_out.get(name)
            if src is not None and src.op == "matmul":
                weights[name] = src.ins[0]
                x = src.ins[1]
        heads.append(AttentionParts(x, q, k, v, mm.out, scaled, by, masked, div.out, zmm.out, weights))
    return heads


def _box(x: float, y: float, w: float, h: float, text: str, size: int = 14, fill: str = "white") -> str:
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.0f}' height='{h:.0f}' rx='8' fill='{fill}' stroke='{INK}' "
        f"stroke-width='1.8'/>" + _text(x + w / 2, y + h / 2 + 5, text, size)
    )


def attention_svg(ex: Exercise) -> str | None:
    """X → Q, K, V (each its weight times X); Kᵀ·Q → ÷ √dₖ → (the causal mask) → softmax per column →
    A; V·A → Z: the order the whiteboard draws it, left to right."""
    heads = attention_parts(ex)
    if len(heads) != 1:
        return None
    h = heads[0]
    lab = lambda n: tensor_label(ex, n)  # noqa: E731
    parts = [_defs()]
    ys = {h.q: 40.0, h.k: 120.0, h.v: 230.0}
    bw, bh = 96, 44
    # X, fanning out to the three products
    parts.append(_text(30, 140, lab(h.x), 18, "start", italic=True))
    for name, y in ys.items():
        w = h.weights.get(name)
        parts.append(_arrow(56, 136, 130, y + bh / 2, INK))
        parts.append(_box(130, y, bw, bh, f"{lab(w)}·{lab(h.x)}" if w else lab(name)))
        parts.append(_arrow(130 + bw, y + bh / 2, 262, y + bh / 2, INK))
        parts.append(_text(268, y + bh / 2 + 6, lab(name), 16, "start", italic=True))
    # Kᵀ
    parts.append(_arrow(292, ys[h.k] + bh / 2, 330, ys[h.k] + bh / 2, INK))
    parts.append(_text(336, ys[h.k] + bh / 2 + 6, f"{lab(h.k)}ᵀ", 16, "start", italic=True))
    # Kᵀ·Q: Q comes down from above, Kᵀ from the left — the crossing
    sx, sy = 400.0, 80.0
    parts.append(
        f"<line x1='292' y1='{ys[h.q] + bh / 2:.1f}' x2='{sx + bw / 2:.1f}' y2='{ys[h.q] + bh / 2:.1f}' stroke='{INK}' "
        "stroke-width='1.6'/>"
    )
    parts.append(_arrow(sx + bw / 2, ys[h.q] + bh / 2, sx + bw / 2, sy, INK))
    parts.append(_arrow(368, ys[h.k] + bh / 2, sx, sy + bh / 2 + 18, INK))
    parts.append(_box(sx, sy, bw, bh + 36, f"{lab(h.k)}ᵀ·{lab(h.q)}"))
    parts.append(_text(sx + bw / 2, sy + bh + 26, "scores", 12))
    x = sx + bw
    steps = []
    if h.scaled is not None:
        steps.append("÷ √dₖ")  # no number in the text: a student's copy hides numbers equal to an answer
    if h.masked:
        steps.append("causal mask")
    steps.append("softmax")
    y_mid = sy + (bh + 36) / 2
    for s in steps:
        sw = {"softmax": 100, "causal mask": 112}.get(s, 76)
        parts.append(_arrow(x, y_mid, x + 28, y_mid, INK))
        parts.append(_box(x + 28, y_mid - bh / 2, sw, bh, s, 14))
        if s == "softmax":
            parts.append(_text(x + 28 + sw / 2, y_mid + bh / 2 + 18, "each column", 12))
        if s == "causal mask":
            parts.append(_text(x + 28 + sw / 2, y_mid + bh / 2 + 18, "later keys out", 12))
        x += 28 + sw
    # A, then V·A under it: V comes from the left, A from above
    parts.append(_arrow(x, y_mid, x + 30, y_mid, INK))
    parts.append(_text(x + 36, y_mid + 6, lab(h.a), 16, "start", italic=True))
    vx = x + 36 - bw / 2 + 6
    parts.append(_arrow(x + 42, y_mid + 12, x + 42, ys[h.v], INK))
    parts.append(_arrow(292, ys[h.v] + bh / 2, vx, ys[h.v] + bh / 2, INK))
    parts.append(_box(vx, ys[h.v], bw, bh, f"{lab(h.v)}·{lab(h.a)}"))
    parts.append(_arrow(vx + bw, ys[h.v] + bh / 2, vx + bw + 36, ys[h.v] + bh / 2, INK))
    parts.append(_text(vx + bw + 42, ys[h.v] + bh / 2 + 6, lab(h.z), 16, "start", italic=True))
    return _svg(vx + bw + 70, 290, parts)
