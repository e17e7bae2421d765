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

import re
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from byhand.engine.tensor import Tensor
from byhand.engine.values import Value, fmt
from byhand.i18n import _
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
    norm_of: str | None = None  # the input is a layer norm of this tensor: (R − μ)/σ, then γ and β (the box says so)


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
        src = made_by.get(st.inp)
        if src is not None and src.op == "div" and src.ins[0] in made_by and made_by[src.ins[0]].op == "sub":
            st.norm_of = made_by[src.ins[0]].ins[0]  # (R − μ)/σ: a layer norm of R
        stages.append(st)
    by_out = {s.out: s for s in stages}
    for n in g.forward_nodes:
        if n.op in ("relu", "leaky_relu", "sigmoid", "softmax") and n.ins[0] in by_out:
            s = by_out[n.ins[0]]
            s.act, s.act_out = n.op, n.out
        if n.op == "add":
            a, b = n.ins
            on_path = {s.inp for s in stages} | {t for s in stages for t in (s.out, s.act_out, s.sum_out) if t}
            for k, s in enumerate(stages):
                if s.out in (a, b) or s.act_out in (a, b):
                    other = b if s.out == a or s.act_out == a else a
                    if other not in on_path:
                        continue  # a given added in (positions), not a skip from earlier on the path
                    if other in {t for s2 in stages[k + 1:] for t in (s2.out, s2.act_out) if t}:
                        continue  # made by a later layer: the skip belongs to that layer (Y = N + F is F's)
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
    indic = _INDIC.search(s) is not None
    style = " font-style='italic'" if italic and not indic else ""  # the Noto fonts have no italic to slant
    tail = f"<tspan class='a'>{escape(value)}</tspan>" if value is not None else ""
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{max(size, MIN_FONT)}' text-anchor='{anchor}' fill='{color}' "
        f"{FONT}{style}>{_scripts(s) if indic else escape(s)}{tail}</text>"
    )


_INDIC = re.compile("[\u0900-\u09ff]")
_INDIC_RUN = re.compile("[\u0900-\u09ff\u200c\u200d]+")
INDIC_FONT = "font-family='Noto Serif Devanagari, Noto Serif Bengali'"


def _scripts(s: str) -> str:
    """Hindi and Bengali words each in a ``<tspan>`` of their own font, the maths and the spaces in the sheet's:
    each run is shaped whole (a fallback letter by letter breaks the clusters apart when Typst draws the SVG)."""
    out, at = [], 0
    for m in _INDIC_RUN.finditer(s):
        out.append(escape(s[at:m.start()]))
        out.append(f"<tspan {INDIC_FONT}>{escape(m.group(0))}</tspan>")
        at = m.end()
    out.append(escape(s[at:]))
    return "".join(out)


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
    parts.append(_text(x, y_mid + 44, _vec(ex.values[first], p), 11, "start"))  # under the boxes' bottom edge
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
        if s.norm_of is not None:  # layer norm: what is normalised, then the scale and shift
            parts.append(_text(bx + box_w / 2, top + 22, _("layer norm"), 13))
            parts.append(_text(bx + box_w / 2, top + 42, written, 13))
        else:
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
                skip = _("skip: + {name}").format(name=tensor_label(ex, src))
                parts.append(_text((sx + cx) / 2, yk + 4, skip, 12, color=SKIP, italic=True))
            end_x = cx + 12
        if act:
            parts.append(_text(end_x + 30, y_mid - 8, act, 12, italic=True))
        out = s.sum_out or s.act_out or s.out
        ox = end_x + gap * 0.7
        parts.append(_arrow(end_x, y_mid, ox - 4, y_mid, INK))
        # a later skip's curve rises at ox + 8: its name then ends left of the curve, not on it
        if any(out in s2.skips for s2 in stages):
            parts.append(_text(ox, y_mid - 18, tensor_label(ex, out), 14, "end", italic=True))
        else:
            parts.append(_text(ox + 2, y_mid - 18, tensor_label(ex, out), 14, "start", italic=True))
        pos[out] = ox + 8
        x_prev_end = ox + 26
        # numbers on the edges: the values flowing out (one sample)
        v = _vec(ex.values[out], p)
        if v:
            parts.append(_text(ox + 2, y_mid + 44, "", 11, "start", value=v))  # clear of the next box's corner
    width = x_prev_end + 90
    if has_grad:
        yg = top + box_h + 76  # below the values under the boxes
        parts.append(_text(30, yg - 36, _("backward: gradients run right to left"), 12, "start", color=GRAD, italic=True))
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
                            _("the gradient at the + also goes down the skip, unchanged"),
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
            parts.append(_text(mx, y - 62, _("skip: × 1"), 12, color=GRAD, italic=True))
    parts.append(_text(30, 28, _("gradient from the loss at the right back to the input at the left"), 12, "start", italic=True))
    ly = 225
    parts.append(f"<line x1='40' y1='{ly}' x2='80' y2='{ly}' stroke='{PLAIN}' stroke-width='2.6'/>")
    parts.append(_text(88, ly + 4, _("plain path, through every layer: product = "), 13, "start", color=PLAIN,
                       value=fmt(plain, p)))
    if has_skip:
        parts.append(
            f"<line x1='40' y1='{ly + 24}' x2='80' y2='{ly + 24}' stroke='{GRAD}' stroke-width='2.2' stroke-dasharray='7 5'/>"
        )
        parts.append(
            _text(88, ly + 28, _("with skips: 2{n} = {paths} paths, sum = Π(1 + dᵢ) = ").format(n=_sup(n), paths=2**n), 13,
                  "start", color=GRAD,
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


def routing_svg(ex: Exercise) -> str | None:
    """Mixture of experts: the routing. Each token (a column of X) on the left, each expert on
    the right, a line from every token to every expert with the gate's score on it and the
    one-hot's verdict (``4 → 1``: chosen); then the chosen experts' output per token, after ReLU.
    Drawn from the graph: a ``top_onehot`` of gate scores and the ``matmul`` crossings whose top
    carries a row of it. Every computed number is marked, so a student's copy shows "?"."""
    g, p = ex.graph, ex.precision
    pick = next((n for n in g.forward_nodes if n.op == "top_onehot"), None)
    if pick is None:
        return None
    scores, onehot = ex.values[pick.ins[0]], ex.values[pick.out]
    if len(scores.shape) != 2:
        return None
    n_exp, n_tok = scores.shape
    made_by = {n.out: n for n in g.forward_nodes}
    experts: dict[int, str] = {}
    for n in g.forward_nodes:  # Z_k = [E_k | b_k]·[X_k ; m_k] with m_k = row k of the one-hot
        if n.op != "matmul":
            continue
        top, left = made_by.get(n.ins[1]), made_by.get(n.ins[0])
        if top is None or top.op != "vstack" or left is None or left.op != "hstack":
            continue
        row = made_by.get(top.ins[-1])
        if row is not None and row.op == "row_of" and row.ins[0] == pick.out:
            experts[int(row.attrs["row"])] = left.ins[0]
    relu = next((n for n in g.forward_nodes if n.op == "relu"), None)
    out = relu.out if relu is not None else None
    hidden = {c[0] for c in ex.blank_cells()}
    k = int(pick.attrs.get("k", 1))
    row_h, top_y = 84, 70
    x_tok, x_exp, x_out = 110, 520, 760
    height = top_y + max(n_exp, n_tok) * row_h + 8
    width = x_out + 150 if out else x_exp + 150

    def ty(j: int) -> float:
        return top_y + (max(n_exp, n_tok) - n_tok) * row_h / 2 + j * row_h + row_h / 2

    def ey(i: int) -> float:
        return top_y + (max(n_exp, n_tok) - n_exp) * row_h / 2 + i * row_h + row_h / 2

    parts = [_defs()]
    gate = (_("the gate: each token goes to the largest score of its column (→ 1); the others get nothing (→ 0)") if k == 1
            else _("the gate: each token goes to the {k} largest scores of its column (→ 1); the others get nothing (→ 0)"))
    parts.append(_text(20, 24, gate.format(k=k),
                       14, "start", italic=True))
    parts.append(_text(x_tok, 52, _("tokens (columns of X)"), 16))
    parts.append(_text(x_exp, 52, _("experts"), 16))
    x = ex.values[g.forward_nodes[0].ins[-1]] if g.forward_nodes[0].op == "linear" else None
    for j in range(n_tok):
        y = ty(j)
        parts.append(f"<circle cx='{x_tok}' cy='{y:.1f}' r='20' fill='white' stroke='{INK}' stroke-width='1.8'/>")
        parts.append(_text(x_tok, y + 5, f"x{'₀₁₂₃₄₅₆₇₈₉'[(j + 1) % 10]}", 17, italic=True))
        if x is not None and len(x.shape) == 2:
            parts.append(_text(x_tok - 28, y + 5, "[" + ", ".join(fmt(v, p) for v in x.col(j)) + "]", 16, "end"))
        for i in range(n_exp):  # one line per (token, expert): its score and the one-hot's verdict at its start
            y1, y2 = y + (i - (n_exp - 1) / 2) * 20, ey(i)
            x1, x2 = x_tok + 125, x_exp - 62
            s_txt, m_txt = fmt(scores[(i, j)], p), fmt(onehot[(i, j)], p)
            s_part = f"<tspan class='a'>{escape(s_txt)}</tspan>" if pick.ins[0] in hidden else escape(s_txt)
            m_part = f"<tspan class='a'>{escape(m_txt)}</tspan>" if pick.out in hidden else escape(m_txt)
            parts.append(
                f"<text x='{x1 - 4}' y='{y1 + 5:.1f}' font-size='16' text-anchor='end' fill='{FWD}' {FONT}>"
                f"{s_part} → {m_part}</text>"
            )
            parts.append(
                f"<line x1='{x1}' y1='{y1:.1f}' x2='{x2}' y2='{y2:.1f}' stroke='{FWD}' stroke-width='1.4' stroke-dasharray='6 4' "
                f"marker-end='url(#a)'/>"
            )
    for i in range(n_exp):
        y = ey(i)
        parts.append(f"<rect x='{x_exp - 60}' y='{y - 24:.1f}' width='120' height='48' rx='8' fill='white' stroke='{INK}' "
                     f"stroke-width='1.8'/>")
        name = experts.get(i)
        sub = "₀₁₂₃₄₅₆₇₈₉"[(i + 1) % 10]
        parts.append(_text(x_exp, y + 5, f"{tensor_label(ex, name)}, b{sub}" if name else _("expert {n}").format(n=i + 1), 17))
    if out:
        y_vals = ex.values[out]
        parts.append(_text(x_out, 52, _("after ReLU ({name})").format(name=tensor_label(ex, out)), 16))
        for j in range(n_tok):
            col = "[" + ", ".join(fmt(v, p) for v in y_vals.col(j)) + "]"
            head = f"y{'₀₁₂₃₄₅₆₇₈₉'[(j + 1) % 10]} = "
            parts.append(_text(x_out - 50, ty(j) + 5, head, 16, "start", value=col) if out in hidden
                         else _text(x_out - 50, ty(j) + 5, head + col, 16, "start"))
    return _svg(width, height, parts)


@dataclass
class TimeStep:
    """One step of a recurrence: ``z = [A | B]·[state ; x]``, ``h = act(z)``, ``y = C·h``."""

    state: str
    x: str
    z: str
    h: str
    y: str | None


def _time_steps(ex: Exercise) -> tuple[str, list[TimeStep]] | None:
    """The steps of an unrolled recurrence: one stacked weight ``[A | B]`` used by two or more
    crossings, each with a column ``[previous state ; input]`` whose state is the previous step's
    output. None when the graph is not one."""
    g = ex.graph
    made_by = {n.out: n for n in g.forward_nodes}
    uses: dict[str, list[str]] = {}
    for n in g.forward_nodes:
        if n.op == "matmul" and n.ins[0] in made_by and made_by[n.ins[0]].op == "hstack":
            col = made_by.get(n.ins[1])
            if col is not None and col.op == "vstack":
                uses.setdefault(n.ins[0], []).append(n.out)
    for w, zs in uses.items():
        if len(zs) < 2:
            continue
        steps: list[TimeStep] = []
        for z in zs:
            state, x = made_by[made_by[z].ins[1]].ins
            act = next((n for n in g.forward_nodes if n.ins == (z,) and n.op in ("relu", "leaky_relu", "sigmoid")), None)
            h = act.out if act else z
            y = next((n.out for n in g.forward_nodes if n.op == "matmul" and n.ins[1] == h and n.ins[0] != w), None)
            steps.append(TimeStep(state, x, z, h, y))
        if all(b.state == a.h for a, b in zip(steps, steps[1:])):
            return w, steps
    return None


def recurrent_svg(ex: Exercise) -> str | None:
    """An unrolled recurrent network: one cell per time step, left to right; the input enters
    from below, the output leaves at the top, and the hidden state is the arrow carried from one
    cell to the next — the same weights in every cell. Gradients (backprop through time) run back
    along the state arrows, right to left."""
    found = _time_steps(ex)
    if found is None:
        return None
    w, steps = found
    g, p = ex.graph, ex.precision
    made_by = {n.out: n for n in g.forward_nodes}
    a, b = made_by[w].ins
    hidden = {c[0] for c in ex.blank_cells()}
    step_w, box_w, box_h = 180, 112, 56
    top, row = 30, 118  # the outputs' line, the cells' top
    has_grad = bool(g.grad_nodes)
    height = row + box_h + 74 + (62 if has_grad else 0)
    parts = [_defs()]

    def val(name: str) -> tuple[str, str | None]:
        """A tensor's numbers: written out when given, masked (class 'a') when computed."""
        v = _vec(ex.values[name], p)
        return ("", v) if name not in g.leaves or name in hidden else (v, None)

    x0 = 150.0
    ym = row + box_h / 2
    # the state carried in
    h0 = steps[0].state
    shown, masked = val(h0)
    parts.append(_text(24, ym - 26, tensor_label(ex, h0), 15, "start", italic=True))
    parts.append(_text(24, ym + 30, shown, 13, "start", value=masked))
    prev_right = 24 + 70.0
    for k, st in enumerate(steps):
        cx = x0 + k * step_w + box_w / 2
        bx = cx - box_w / 2
        parts.append(_arrow(prev_right, ym, bx - 2, ym, INK, width=2.2))
        if k > 0:  # the state on its way to the next cell
            shown, masked = val(st.state)
            mid = (prev_right + bx) / 2
            parts.append(_text(mid, ym - 12, tensor_label(ex, st.state), 14, italic=True))
            parts.append(_text(mid, ym + 26, shown, 13, value=masked))
        parts.append(
            f"<rect x='{bx:.1f}' y='{row}' width='{box_w}' height='{box_h}' rx='10' fill='white' "
            f"stroke='{INK}' stroke-width='2'/>"
        )
        parts.append(_text(cx, row + 26, f"{tensor_label(ex, a)}·H + {tensor_label(ex, b)}·X", 14))
        act = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "σ"}.get(made_by[st.h].op if st.h in made_by else "", "")
        parts.append(_text(cx, row + 48, act, 13, italic=True))
        # the input from below
        shown, masked = val(st.x)
        parts.append(_arrow(cx, row + box_h + 40, cx, row + box_h + 2, FWD, width=2))
        parts.append(_text(cx, row + box_h + 60, f"{tensor_label(ex, st.x)} = {shown}", 14, value=masked))
        # the output at the top
        if st.y is not None:
            c = made_by[st.y].ins[0]
            parts.append(_arrow(cx, row - 2, cx, top + 26, FWD, width=2))
            parts.append(_text(cx + 8, (row + top + 26) / 2 + 5, tensor_label(ex, c), 14, "start", italic=True))
            shown, masked = val(st.y)
            parts.append(_text(cx, top + 16, f"{tensor_label(ex, st.y)} = {shown}", 14, value=masked))
        prev_right = bx + box_w + 2
    last = steps[-1].h
    end = prev_right + 64
    parts.append(_arrow(prev_right, ym, end, ym, INK, width=2.2))
    shown, masked = val(last)
    parts.append(_text(end + 4, ym - 10, tensor_label(ex, last), 14, "start", italic=True))
    parts.append(_text(end + 4, ym + 16, shown, 13, "start", value=masked))
    width = max(end + 90, 640.0)
    parts.append(_text(24, 16, _("one cell per time step, the same weights in each: the state is carried to the right"), 13,
                       "start", italic=True))
    if has_grad:
        yg = row + box_h + 82
        parts.append(_text(24, yg + 26, _("backprop through time: the gradient runs back along the states,"), 13, "start",
                           color=GRAD, italic=True))
        parts.append(_text(24, yg + 44, _("right to left; the gradients of the weights add up over the steps"), 13, "start",
                           color=GRAD, italic=True))
        ylast = steps[-1].y
        dy = _grad_of(ex, ylast) if ylast is not None else None
        if dy is not None:
            cx = x0 + (len(steps) - 1) * step_w + box_w / 2
            parts.append(_text(cx + 60, top + 16, f"{tensor_label(ex, dy)} = ", 13, "start", color=GRAD,
                               value=_vec(ex.values[dy], p)))
        height += 6
        for k in range(len(steps) - 1, 0, -1):
            st = steps[k]
            x_from = x0 + k * step_w - 4
            x_to = x0 + (k - 1) * step_w + box_w + 6
            parts.append(_arrow(x_from, yg, x_to, yg, GRAD, dash="6 4", marker="g"))
            gname = _grad_of(ex, st.state)
            if gname is not None:
                parts.append(_text((x_from + x_to) / 2, yg - 8, f"{tensor_label(ex, gname)} = ", 13, color=GRAD,
                                   value=_vec(ex.values[gname], p)))
    return _svg(width, height, parts)


def _grad_of(ex: Exercise, name: str) -> str | None:
    """The tensor that holds the gradient of ``name`` (``dH1``), if the sheet has one."""
    for cand in (f"d{name}",):
        if cand in ex.graph.shapes:
            return cand
    return None


def diagram_svg(ex: Exercise) -> str | None:
    """The whiteboard diagram of an exercise, or None when it has no network or chain to draw."""
    return special_svg(ex) or network_svg(ex) or chain_svg(ex)


def special_svg(ex: Exercise) -> str | None:
    """A chapter's own whiteboard drawing, found by the graph's structure (the first that fits):
    the attention block, MoE routing, an unrolled recurrence, 0/1 connections as wires …; None for the rest."""
    for draw in (attention_svg, routing_svg, recurrent_svg, lstm_svg, wiring_svg, gan_svg, multi_head_svg):
        svg = draw(ex)
        if svg is not None:
            return svg
    return None



# -- connections: 0/1 weight matrices drawn as wires ------------------------------------------------


def _wirings(ex: Exercise) -> list[tuple[str, str, str]]:
    """(weight, input, output) of every product whose weight is a given 0/1 matrix — when every
    forward op of the sheet is such a product (the Connections chapter's picture)."""
    g = ex.graph
    out = []
    for n in g.forward_nodes:
        if n.op != "matmul" or n.ins[0] not in g.leaves:
            return []
        w = ex.values[n.ins[0]]
        if len(w.shape) != 2 or any(v not in (0, 1) for v in w.data):
            return []
        out.append((n.ins[0], n.ins[1], n.out))
    return out


def wiring_svg(ex: Exercise) -> str | None:
    """Each 0/1 weight matrix as the whiteboard draws it: the inputs in a column on the left, the
    outputs on the right, a line from input j to output i for every 1 in row i, column j. One
    panel per matrix, side by side, captioned with its name and kind (one-to-one …)."""
    from byhand.notation import tensor_caption

    wires = _wirings(ex)
    if not wires:
        return None
    pitch, r, panel_w, top = 44.0, 15.0, 210.0, 58.0
    rows = max(max(ex.values[w].shape) for w, _, _ in wires)
    height = top + rows * pitch + 20
    parts = [_defs()]
    for k, (w, x, z) in enumerate(wires):
        m, n = ex.values[w].shape
        x0 = 20 + k * panel_w
        xl, xr = x0 + 30, x0 + panel_w - 50
        parts.append(_text(x0 + (panel_w - 20) / 2, 24, tensor_caption(ex, w), 15))
        parts.append(_text(xl, 46, tensor_label(ex, x), 14, italic=True))
        parts.append(_text(xr, 46, tensor_label(ex, z), 14, italic=True))

        def y(i: int, count: int) -> float:
            return top + (rows - count) * pitch / 2 + i * pitch + pitch / 2

        for i in range(m):
            for j in range(n):
                if ex.values[w][i, j] == 1:
                    parts.append(_arrow(xl + r, y(j, n), xr - r - 2, y(i, m), FWD, width=1.8))
        for j in range(n):
            parts.append(f"<circle cx='{xl:.1f}' cy='{y(j, n):.1f}' r='{r}' fill='white' stroke='{INK}' stroke-width='1.5'/>")
            parts.append(_text(xl, y(j, n) + 5, f"x{_sub(j + 1)}", 14, italic=True))
        for i in range(m):
            parts.append(f"<circle cx='{xr:.1f}' cy='{y(i, m):.1f}' r='{r}' fill='white' stroke='{INK}' stroke-width='1.5'/>")
            parts.append(_text(xr, y(i, m) + 5, f"z{_sub(i + 1)}", 14, italic=True))
    return _svg(20 + len(wires) * panel_w, height, parts)


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


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
    parts.append(_text(sx + bw / 2, sy + bh + 26, _("scores"), 12))
    x = sx + bw
    steps = []
    if h.scaled is not None:
        steps.append("÷ √dₖ")  # no number in the text: a student's copy hides numbers equal to an answer
    if h.masked:
        steps.append(_("causal mask"))
    steps.append(_("softmax"))
    y_mid = sy + (bh + 36) / 2
    for s in steps:
        sw = {_("softmax"): 100, _("causal mask"): 112}.get(s, 76)
        parts.append(_arrow(x, y_mid, x + 28, y_mid, INK))
        parts.append(_box(x + 28, y_mid - bh / 2, sw, bh, s, 14))
        if s == _("softmax"):
            parts.append(_text(x + 28 + sw / 2, y_mid + bh / 2 + 18, _("each column"), 12))
        if s == _("causal mask"):
            parts.append(_text(x + 28 + sw / 2, y_mid + bh / 2 + 18, _("later keys out"), 12))
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


# -- multi-head attention (chapter multi-head): two heads side by side, stacked, then W_O ------------


def multi_head_svg(ex: Exercise) -> str | None:
    """X → for each head, on its own row: Wq·X, Wk·X, Wv·X → Kᵀ·Q → softmax → A → V·A = Zₕ (V
    carried under the row); the heads' Z stacked [Z₁ ; Z₂] and multiplied by W_O — found by
    structure (two attention heads whose outputs meet in a ``vstack`` that a weight multiplies).
    Flat on purpose: it prints under the grid without pushing the last layer to a page of its own."""
    heads = attention_parts(ex)
    if len(heads) != 2:
        return None
    g = ex.graph
    zs = [h.z for h in heads]
    stack = next((n for n in g.forward_nodes if n.op == "vstack" and list(n.ins) == zs), None)
    if stack is None:
        return None
    out = next((n for n in g.forward_nodes if n.op in ("matmul", "linear") and n.ins[-1] == stack.out), None)
    if out is None:
        return None
    lab = lambda n: tensor_label(ex, n)  # noqa: E731
    parts = [_defs()]
    bh = 28
    rows = (38.0, 96.0)
    x_in = heads[0].x
    y_x = sum(rows) / 2
    parts.append(_text(28, y_x + 6, lab(x_in), 18, "start", italic=True))
    z_ends: list[tuple[float, float]] = []
    for k, (h, yc) in enumerate(zip(heads, rows)):
        top = yc - bh / 2
        qkv = ", ".join(f"{lab(h.weights[n])}·{lab(x_in)}" if n in h.weights else lab(n) for n in (h.q, h.k, h.v))
        parts.append(_arrow(50, y_x, 84, yc, INK))
        parts.append(_box(84, top, 184, bh, qkv))
        parts.append(_text(84, top - 6, _("head {0}").format(k + 1), 14, "start", italic=True, value=""))
        parts.append(_arrow(268, yc, 328, yc, INK))
        parts.append(_text(298, yc - 6, f"{lab(h.q)}, {lab(h.k)}", 14, italic=True))
        parts.append(_box(328, top, 90, bh, f"{lab(h.k)}ᵀ·{lab(h.q)}"))
        if k == 0:
            parts.append(_text(373, top - 6, _("scores"), 13))
        parts.append(_arrow(418, yc, 442, yc, INK))
        parts.append(_box(442, top, 84, bh, _("softmax")))
        if k == 0:
            parts.append(_text(484, top - 6, _("each column"), 13))
        parts.append(_arrow(526, yc, 568, yc, INK))
        parts.append(_text(547, yc - 6, lab(h.a), 14, italic=True))
        parts.append(_box(568, top, 84, bh, f"{lab(h.v)}·{lab(h.a)}"))
        # V goes under the row, from the Q, K, V box to V·A
        yb = yc + bh / 2 + 11
        parts.append(
            f"<path d='M240,{yc + bh / 2:.1f} C240,{yb:.1f} 240,{yb:.1f} 322,{yb:.1f} L552,{yb:.1f} "
            f"C610,{yb:.1f} 610,{yb:.1f} 610,{yc + bh / 2 + 1:.1f}' fill='none' stroke='{INK}' stroke-width='1.6' "
            "marker-end='url(#a)'/>"
        )
        parts.append(_text(298, yb - 2, lab(h.v), 14, italic=True))
        parts.append(_arrow(652, yc, 678, yc, INK))
        parts.append(_text(682, yc + 6, lab(h.z), 16, "start", italic=True))
        z_ends.append((708.0, yc))
    # the heads meet: stacked, then W_O
    stx, sty = 748.0, y_x
    for x, y in z_ends:
        parts.append(_arrow(x, y, stx, sty + (-8 if y < sty else 8), INK))
    stack_text = f"[{lab(zs[0])} ; {lab(zs[1])}]"
    parts.append(_box(stx, sty - bh / 2, 100, bh, stack_text))
    parts.append(_text(stx + 50, sty + bh / 2 + 17, _("stack"), 13))
    ox = stx + 100 + 26
    parts.append(_arrow(stx + 100, sty, ox, sty, INK))
    parts.append(_box(ox, sty - bh / 2, 130, bh, f"{lab(out.ins[0])}·{stack_text}"))
    parts.append(_arrow(ox + 130, sty, ox + 156, sty, INK))
    parts.append(_text(ox + 160, sty + 6, lab(out.out), 18, "start", italic=True))
    return _svg(ox + 190, rows[1] + bh / 2 + 16, parts)


# -- the LSTM cell (issue 13) -------------------------------------------------------------------


@dataclass
class LstmStep:
    """One LSTM step found in the graph: the gates, the states in and out."""

    f: str
    i: str
    g: str
    o: str
    c_in: str
    c: str
    h_in: str
    x: str
    h: str


def _lstm_steps(ex: Exercise) -> list[LstmStep] | None:
    """``C = F ⊙ C₋₁ + I ⊙ G``, ``H = O ⊙ tanh(C)`` with F, I, O hard sigmoids and G a hard tanh
    of crossings with ``[X ; H₋₁ ; 1]``; None when the graph has none."""
    g = ex.graph
    made_by = {n.out: n for n in g.forward_nodes}
    steps: list[LstmStep] = []

    def op(name: str) -> str:
        n = made_by.get(name)
        return n.op if n is not None else ""

    for n in g.forward_nodes:
        if n.op != "add" or not all(op(i) == "mul" for i in n.ins):
            continue
        fc, ig = (made_by[i] for i in n.ins)
        f, c_in = fc.ins
        i, gg = ig.ins
        if (op(f), op(i), op(gg)) != ("hard_sigmoid", "hard_sigmoid", "hard_tanh"):
            continue
        t = next((m for m in g.forward_nodes if m.op == "hard_tanh" and m.ins == (n.out,)), None)
        hn = next((m for m in g.forward_nodes if t is not None and m.op == "mul" and m.ins[1] == t.out), None)
        if t is None or hn is None or op(hn.ins[0]) != "hard_sigmoid":
            continue
        z = made_by[made_by[f].ins[0]]
        col = made_by.get(z.ins[-1])
        if z.op != "linear" or col is None or col.op != "vstack":
            continue
        x, h_in = col.ins
        steps.append(LstmStep(f, i, gg, hn.ins[0], c_in, n.out, h_in, x, hn.out))
    return steps or None


def lstm_svg(ex: Exercise) -> str | None:
    """The LSTM cell as drawn on a whiteboard: the long-term memory C runs along the top (× the
    forget gate, + the input gate × the candidate), the short-term memory H and the input X enter
    at the bottom and feed the four gates, and the new H leaves as O × tanh(C). One cell per step,
    the states carried to the right."""
    steps = _lstm_steps(ex)
    if steps is None:
        return None
    g, p = ex.graph, ex.precision
    hidden = {c[0] for c in ex.blank_cells()}

    def val(name: str) -> tuple[str, str | None]:
        v = _vec(ex.values[name], p)
        return ("", v) if name not in g.leaves or name in hidden else (v, None)

    def lbl(name: str) -> str:
        return tensor_label(ex, name)

    cell_w, top, bot = 420.0, 52.0, 196.0
    parts = [_defs(), _text(12, 18, _("C: long-term memory · H: short-term memory · σ, tanh: the hard ones"),
                            13, "start", italic=True)]

    def node(x: float, y: float, sym: str) -> None:
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='12' fill='white' stroke='{INK}' stroke-width='1.8'/>")
        parts.append(_text(x, y + 5, sym, 15))

    def box(x: float, y: float, sym: str, name: str) -> None:
        parts.append(f"<rect x='{x - 24:.1f}' y='{y - 15:.1f}' width='48' height='30' rx='5' fill='#dff3df' "
                     f"stroke='{INK}' stroke-width='1.6'/>")
        parts.append(_text(x, y + 5, sym, 14, italic=sym != "tanh"))
        parts.append(_text(x + 28, y - 18, lbl(name), 13, "start", italic=True))

    x0 = 110.0
    for k, st in enumerate(steps):
        ox = x0 + k * cell_w
        parts.append(f"<rect x='{ox - 60:.1f}' y='{top - 26:.1f}' width='{cell_w - 40:.1f}' height='{bot - top + 42:.1f}' "
                     f"rx='14' fill='none' stroke='#999' stroke-width='1.2' stroke-dasharray='5 4'/>")
        fx, ix, gx, ox_, tx = ox, ox + 70, ox + 140, ox + 210, ox + 280
        gy = 132.0
        # the inputs: H₋₁ from the left along the bottom, X from below, joined
        if k == 0:
            shown, masked = val(st.h_in)
            parts.append(_text(ox - 100, bot - 8, lbl(st.h_in), 14, "start", italic=True))
            parts.append(_text(ox - 100, bot + 18, shown, 12, "start", value=masked))
            parts.append(_arrow(ox - 100, bot, ox - 30, bot, INK, width=2))
            shown, masked = val(st.c_in)
            parts.append(_text(ox - 100, top - 8, lbl(st.c_in), 14, "start", italic=True))
            parts.append(_text(ox - 100, top + 18, shown, 12, "start", value=masked))
        parts.append(_arrow(ox - 30, bot + 40, ox - 30, bot + 2, FWD, width=2))
        shown, masked = val(st.x)
        parts.append(_text(ox - 30, bot + 56, f"{lbl(st.x)} = {shown}", 13, value=masked))
        parts.append(f"<line x1='{ox - 30:.1f}' y1='{bot:.1f}' x2='{ox_ :.1f}' y2='{bot:.1f}' stroke='{INK}' stroke-width='2'/>")
        for x, sym, name in ((fx, "σ", st.f), (ix, "σ", st.i), (gx, "tanh", st.g), (ox_, "σ", st.o)):
            parts.append(_arrow(x, bot, x, gy + 17, INK, width=1.6))
            box(x, gy, sym, name)
        # the long-term memory along the top: × F, + I × G
        start = ox - 100 if k == 0 else ox - 60
        parts.append(_arrow(start, top, fx - 14, top, INK, width=2))
        node(fx, top, "×")
        parts.append(_arrow(fx, gy - 17, fx, top + 14, INK))
        parts.append(_arrow(fx + 12, top, gx - 14, top, INK, width=2))
        node((ix + gx) / 2, 92, "×")
        parts.append(_arrow(ix, gy - 17, (ix + gx) / 2 - 10, 99, INK))
        parts.append(_arrow(gx, gy - 17, (ix + gx) / 2 + 10, 99, INK))
        parts.append(_arrow((ix + gx) / 2 + 8, 83, gx - 8, top + 10, INK))
        node(gx, top, "+")
        end = ox + cell_w - 60
        parts.append(_arrow(gx + 12, top, end, top, INK, width=2))
        # the new states' values beyond the cell's dashed edge (the last cell: after the arrow's tip),
        # never written across that edge
        last = k == len(steps) - 1
        shown, masked = val(st.c)
        if last:
            parts.append(_text(end + 6, top + 5, f"{lbl(st.c)} = ", 13, "start", italic=True, value=masked or shown))
        else:
            parts.append(_text(end - 40, top - 10, f"{lbl(st.c)} = ", 13, italic=True, value=masked or shown))
        # the new short-term memory: O × tanh(C)
        parts.append(_arrow(tx, top, tx, 80, INK))
        parts.append(f"<rect x='{tx - 24:.1f}' y='80' width='48' height='26' rx='13' fill='white' "
                     f"stroke='{INK}' stroke-width='1.4'/>")
        parts.append(_text(tx, 98, "tanh", 13))
        node(tx, 155, "×")
        parts.append(_arrow(tx, 106, tx, 143, INK))
        parts.append(_arrow(ox_ + 24, gy, tx - 10, 149, INK))
        parts.append(_arrow(tx, 167, tx, bot - 2, INK))
        parts.append(_arrow(tx, bot, end, bot, INK, width=2))
        shown, masked = val(st.h)
        if last:
            parts.append(_text(end + 6, bot + 5, f"{lbl(st.h)} = ", 13, "start", italic=True, value=masked or shown))
        else:
            parts.append(_text(end - 40, bot + 20, f"{lbl(st.h)} = ", 13, italic=True, value=masked or shown))
    width = x0 + len(steps) * cell_w - 20 + 110  # room for the last values after the arrows
    return _svg(width, bot + 64, parts)


# -- a tiny GAN step (issue 13) ----------------------------------------------------------------


@dataclass
class GanParts:
    """The GAN step found in the graph: G's layer, the two samples, D's layer and scores, and the
    gradients the sheet asks (None where the level stops)."""

    z: str
    g_weight: str
    g_out: str  # G(z), after the activation
    g_act: str
    real: str
    d_weight: str
    d_logits: str
    d_scores: str
    d_grad: str | None = None  # dZD = D − yᴰ
    g_grad: str | None = None  # at the fake's logit: D(G(z)) − yᴳ
    back: str | None = None  # the gradient back through D into G(z)
    g_weight_grad: str | None = None


def gan_parts(ex: Exercise) -> GanParts | None:
    """``ZD = [WD | bD]·[x  G(z) ; 1  1]`` with ``G(z) = act([WG | bG]·[z ; 1])`` and ``D = σ(ZD)``:
    a σ over a crossing whose columns are a given sample and a generator's output."""
    g = ex.graph
    made_by = {n.out: n for n in g.forward_nodes}
    for n in g.forward_nodes:
        if n.op not in ("hard_sigmoid", "sigmoid"):
            continue
        lin = made_by.get(n.ins[0])
        if lin is None or lin.op != "linear":
            continue
        join = made_by.get(lin.ins[2])
        if join is None or join.op != "hstack" or len(join.ins) != 2:
            continue
        real, fake = join.ins
        act = made_by.get(fake)
        gen = made_by.get(act.ins[0]) if act is not None and act.ins else None
        if real not in g.leaves or act is None or gen is None or gen.op != "linear" or gen.ins[2] not in g.leaves:
            continue
        parts = GanParts(gen.ins[2], gen.ins[0], fake, act.op, real, lin.ins[0], lin.out, n.out)
        for u in g.forward_nodes:
            if u.op == "sub" and u.ins[0] == n.out:
                parts.d_grad = u.out
            src = made_by.get(u.ins[0]) if u.ins else None
            if u.op == "sub" and src is not None and src.op == "col_of" and src.ins[0] == n.out:
                parts.g_grad = u.out
            if u.op == "matmul" and parts.g_grad is not None and u.ins[1] == parts.g_grad:
                parts.back = u.out
            if u.op == "matmul" and u.ins[1] in made_by and made_by[u.ins[1]].op == "transpose" \
                    and made_by[u.ins[1]].ins[0] == gen.ins[2]:
                parts.g_weight_grad = u.out
        return parts
    return None


def gan_svg(ex: Exercise) -> str | None:
    """The GAN step as drawn on a whiteboard: z → G → G(z), the fake; the real x and the fake both
    into D → the two scores; then each loss's wish (D's: real → 1, fake → 0; G's: fake → 1) with
    the gradient at the logits, and (hard) G's gradient running back through D into G (blue, dashed)."""
    gp = gan_parts(ex)
    if gp is None:
        return None
    p = ex.precision
    g = ex.graph
    hidden = {c[0] for c in ex.blank_cells()}

    def val(name: str) -> tuple[str, str | None]:
        t = ex.values[name]
        v = "[" + ", ".join(fmt(x, p) for x in t.data) + "]"
        return ("", v) if name not in g.leaves or name in hidden else (v, None)

    def lbl(name: str) -> str:
        return tensor_label(ex, name)

    parts = [_defs(), _text(12, 20, _("G makes a fake from noise; D scores a real sample and the fake (σ: the hard sigmoid)"),
                            14, "start", italic=True)]
    act = "ReLU" if gp.g_act == "relu" else gp.g_act
    y_fake, y_real, y_mid = 150.0, 70.0, 110.0
    # z → G → G(z)
    shown, masked = val(gp.z)
    parts.append(_text(60, y_fake - 8, lbl(gp.z), 16, italic=True))
    parts.append(_text(60, y_fake + 16, shown or "", 14, value=masked))
    parts.append(_arrow(92, y_fake, 150, y_fake, FWD, width=2))
    parts.append(_box(152, y_fake - 26, 120, 52, f"G: {lbl(gp.g_weight)}, {act}", 15, "#fff4e0"))
    parts.append(_arrow(272, y_fake, 330, y_fake, FWD, width=2))
    shown, masked = val(gp.g_out)
    parts.append(_text(380, y_fake - 8, _("{name} (fake)").format(name=lbl(gp.g_out)), 15, italic=True))
    parts.append(_text(380, y_fake + 16, shown, 14, value=masked))
    # the real sample
    shown, masked = val(gp.real)
    parts.append(_text(380, y_real - 8, _("{name} (real)").format(name=lbl(gp.real)), 15, italic=True))
    parts.append(_text(380, y_real + 16, shown, 14, value=masked))
    # both into D
    parts.append(_arrow(440, y_real, 518, y_mid - 8, FWD, width=2))
    parts.append(_arrow(440, y_fake, 518, y_mid + 8, FWD, width=2))
    parts.append(_box(520, y_mid - 28, 130, 56, f"D: {lbl(gp.d_weight)}, σ", 15, "#e8f0fb"))
    parts.append(_arrow(650, y_mid - 12, 700, y_real, FWD, width=2))
    parts.append(_arrow(650, y_mid + 12, 700, y_fake, FWD, width=2))
    d = ex.values[gp.d_scores]
    scores = gp.d_scores in hidden
    for k, y in enumerate((y_real, y_fake)):
        s = fmt(d.data[k], p)
        head = f"D({lbl(gp.real) if k == 0 else lbl(gp.g_out)}) = "
        parts.append(_text(705, y + 5, head, 15, "start", value=s) if scores else _text(705, y + 5, head + s, 15, "start"))
    width, height = 900.0, 200.0
    # the losses: what each side wants, and the gradient at the logits
    if gp.d_grad is not None:
        y = 250.0 if gp.back is not None else 220.0
        shown, masked = val(gp.d_grad)
        loss = _("D's loss: D(real) → 1, D(fake) → 0;   {name} = D − yᴰ = ").format(name=lbl(gp.d_grad))
        parts.append(_text(20, y, loss, 15, "start",
                           color=GRAD, value=masked or shown))
        height = y + 20
        if gp.g_grad is not None:
            y += 30
            shown, masked = val(gp.g_grad)
            loss = _("G's loss: D(fake) → 1;   {name} = D(G(z)) − 1 = ").format(name=lbl(gp.g_grad))
            parts.append(_text(20, y, loss, 15, "start",
                               color=GRAD, value=masked or shown))
            height = y + 20
    if gp.back is not None:  # G's gradient back through D into G (blue, dashed, under the forward arrows)
        yb = y_fake + 40
        parts.append(_arrow(585, y_mid + 30, 585, yb, GRAD, dash="6 4"))
        parts.append(f"<line x1='585' y1='{yb:.1f}' x2='214' y2='{yb:.1f}' stroke='{GRAD}' stroke-width='1.6' "
                     "stroke-dasharray='6 4'/>")
        parts.append(_arrow(214, yb, 214, y_fake + 28, GRAD, dash="6 4"))
        shown, masked = val(gp.back)
        parts.append(_text(400, yb - 6, f"{lbl(gp.back)} = WDᵀ·{lbl(gp.g_grad or '')} = ", 13, color=GRAD,
                           value=masked or shown))
        if gp.g_weight_grad is not None:
            height = max(height, yb + 30)
            gate = _("through {act}'s gate to {name}").format(act=act, name=lbl(gp.g_weight_grad))
            parts.append(_text(120, yb + 22, gate, 13, "start", color=GRAD))
    return _svg(width, max(height, 200.0) + 10, parts)
