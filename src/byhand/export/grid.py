"""The by-hand grid as a plain HTML table with inline styles, for places that strip style sheets
and scripts (an LMS question). Blanks are filled by the caller (a Moodle cloze code, a Canvas
``[b3]`` marker), once per badge; a badge's other cells say "= [3]".

Made from the exercise file alone: ``dot``, ``matmul`` and ``linear`` are crossings as on paper
(the left operand on the left, the right operand on top, the result where they meet; a linear
layer's bias is a grey column beside W and its input gets a row of 1s); other ops show their
result as a labelled grid.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from byhand.engine.values import fmt
from byhand.export._doc import Doc
from byhand.i18n import N_, gettext, tr_phrases, tr_text
from byhand.notation import op_pieces, tensor_caption, tensor_note
from byhand.render.text import piece_text

TD = "border:1px solid #999;padding:2px 6px;min-width:2.2em;height:1.9em;text-align:center;"
STYLE = {
    "input": TD + "background:#fff6c9;",
    "bias": TD + "background:#e6e6e6;",
    "ones": TD + "background:#e6e6e6;border-style:dashed;color:#555;",
    "grad": TD + "background:#dbe8fb;border-style:dashed;color:#1f5fbf;",
    "target": TD + "border-style:dotted;",
    "blank": TD + "border:2px solid #222;background:#fff;",
    "plain": TD + "background:#fff;",
}
PAD = '<td style="border:none;min-width:1em;"></td>'
TABLE = '<table style="border-collapse:collapse;margin:4px 0 12px 0;">'


def _index_rows(shape: tuple[int, ...]) -> list[list[tuple[int, ...]]]:
    if not shape:
        return [[()]]
    if len(shape) == 1:
        return [[(i,)] for i in range(shape[0])]
    return [[(i, j) for j in range(shape[1])] for i in range(shape[0])]


class GridPainter:
    def __init__(self, doc: Doc, blank: Callable[[int], str]):
        self.d = doc
        self.blank = blank
        self.placed: set[int] = set()

    def cell(self, name: str, idx: tuple[int, ...], style: str | None = None) -> str:
        d = self.d
        badge = d.badge_of.get((name, idx))
        if badge is not None:
            if badge in self.placed:
                return f'<td style="{STYLE["blank"]}">= [{badge}]</td>'
            self.placed.add(badge)
            return f'<td style="{STYLE["blank"]}">{self.blank(badge)}</td>'
        role = d.roles.get(name, "")
        s = STYLE.get(style or role, STYLE["plain"])
        return f'<td style="{s}">{escape(fmt(d.value(name, idx), d.precision))}</td>'

    def grid(self, name: str) -> str:
        rows = _index_rows(self.d.shapes[name])
        body = "".join("<tr>" + "".join(self.cell(name, i) for i in r) + "</tr>" for r in rows)
        return TABLE + body + "</table>"

    def crossing(self, op: str, ins: tuple[str, ...], out: str) -> str:
        d = self.d
        left, top = ins[0], ins[-1]
        bias = ins[1] if op == "linear" else None
        left_rows: list[list[tuple[int, ...]]]
        left_rows = [[(i,) for i in range(d.shapes[left][0])]] if op == "dot" else _index_rows(d.shapes[left])
        top_rows = _index_rows(d.shapes[top])
        res_rows = _index_rows(d.shapes[out])
        pad = PAD * (len(left_rows[0]) + (1 if bias else 0)) + PAD
        h = [TABLE]
        for r in top_rows:
            h.append("<tr>" + pad + "".join(self.cell(top, i) for i in r) + "</tr>")
        if bias:
            h.append("<tr>" + pad + f'<td style="{STYLE["ones"]}">1</td>' * len(top_rows[0]) + "</tr>")
        for i, lr in enumerate(left_rows):
            cells = "".join(self.cell(left, x) for x in lr)
            if bias:
                cells += self.cell(bias, (i,), "bias")
            res = "".join(self.cell(out, x) for x in res_rows[i])
            h.append(f'<tr>{cells}<td style="border:none;color:#888;text-align:center;">→</td>{res}</tr>')
        h.append("</table>")
        return "".join(h)

    def html(self) -> str:
        d = self.d
        drawn = {i for o in d.forward if o.op in ("dot", "matmul", "linear") for i in o.ins}
        parts = ["<div>"]
        given = [n for n in d.leaves if n not in drawn]
        if given:
            parts.append(f"<div><p><b>{escape(gettext(GIVEN))}</b></p>")
            for name in given:
                parts.append(_figure(tensor_caption(d.raw, name), self.grid(name)))
            parts.append("</div>")
        for o in d.ops:
            # in the question's language: the formula's words piece by piece (the names already are), and the note
            head = _written(d.raw, {"op": o.op, "in": list(o.ins), "out": o.out, "attrs": o.attrs})
            note = tr_text(tensor_note(d.raw, o.out))
            head += f" ({note})" if note else ""
            body = self.crossing(o.op, o.ins, o.out) if o.op in ("dot", "matmul", "linear") else self.grid(o.out)
            parts.append(_figure(head, body))
        parts.append("</div>")
        return "".join(parts)


GIVEN = N_("Given")  # the heading over the printed inputs


def _written(raw: Any, op: dict[str, Any]) -> str:
    """An op as written (``P′ = (top 3) ÷ Σ top``), its words in the reader's language: each piece between the names
    on its own (``the``, `` whose range of ``), as the sheet translates them."""
    return "".join(piece_text({**p, "s": tr_phrases(p["s"])} if p["t"] == "text" else p) for p in op_pieces(raw, op))


def _figure(caption: str, body: str) -> str:
    """One block of the sheet; blocks flow side by side and wrap, as on the web page."""
    return (
        '<div style="display:inline-block;vertical-align:bottom;margin:0 22px 10px 0;">'
        f'<p style="margin:0 0 2px 0;"><i>{escape(caption)}</i></p>{body}</div>'
    )


def grid_html(doc: Doc, blank: Callable[[int], str]) -> str:
    """The sheet as one HTML fragment with inline styles; ``blank(badge)`` fills each blank once."""
    return GridPainter(doc, blank).html()
