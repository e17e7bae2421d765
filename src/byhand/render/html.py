"""The by-hand grid in HTML, and the self-contained lecture deck.

The layout comes from the ops, as on paper: ``dot``, ``matmul`` and ``linear`` are crossings (left
operand on the left, right operand on top, the result where they meet; a linear layer's bias is a
grey column and its input gets a row of 1s); other ops show their result as a labelled grid.
Every cell is a ``<td data-cell="Z1:0,1">`` so a script (the deck, the practice page) and a test
can find it. No network: the CSS and the script are inline.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from byhand.engine.relations import Cell
from byhand.engine.values import fmt
from byhand.notation import names
from byhand.render import caption, formula

if TYPE_CHECKING:
    from byhand.exercise import Exercise


def key(c: Cell) -> str:
    return f"{c[0]}:{','.join(map(str, c[1]))}"


def _cell_html(ex: Exercise, name: str, idx: tuple[int, ...], hidden: set[Cell], badges: dict[Cell, int]) -> str:
    role = ex.graph.roles[name]
    c = (name, idx)
    v = ex.values[name][idx]
    shown = escape(fmt(v, ex.precision))
    # ReLU by crossing out: the negative input struck through, 0 beside it
    made = next((n for n in ex.graph.forward_nodes if n.out == name), None)
    if made is not None and made.op in ("relu", "leaky_relu"):
        z = ex.values[made.ins[0]][idx]
        if not z > 0:
            shown = f"<s>{escape(fmt(z, ex.precision))}</s> {shown}"
    attrs = f'data-cell="{key(c)}" data-show="{escape(shown, quote=True)}"'
    cls = f"cell role-{role}"
    b = badges.get(c)
    if b is not None:
        attrs += f' data-badge="{b}"'
    if c in hidden:
        inner = f'<span class="badge">{b}</span>' if b is not None else ""
        return f'<td class="{cls} hidden" {attrs}>{inner}</td>'
    return f'<td class="{cls}" {attrs}>{shown}</td>'


def _rows(ex: Exercise, name: str) -> list[list[tuple[int, ...]]]:
    shape = ex.graph.shapes[name]
    if not shape:
        return [[()]]
    if len(shape) == 1:
        return [[(i,)] for i in range(shape[0])]
    return [[(i, j) for j in range(shape[1])] for i in range(shape[0])]


def _crossing(ex: Exercise, op: str, ins: tuple[str, ...], out: str, hidden: set[Cell], badges: dict[Cell, int]) -> str:
    left, top = ins[0], ins[-1]
    bias = ins[1] if op == "linear" else None
    left_rows: list[list[tuple[int, ...]]]
    if op == "dot":  # a as a row on the left, b as a column on top
        left_rows = [[(i,) for i in range(ex.graph.shapes[left][0])]]
    else:
        left_rows = _rows(ex, left)
    top_rows = _rows(ex, top)
    res_rows = _rows(ex, out)
    nl = len(left_rows[0]) + (1 if bias else 0)
    h = ['<table class="crossing">']
    for r in top_rows:
        h.append(
            "<tr>"
            + '<td class="pad"></td>' * nl
            + '<td class="gap"></td>'
            + "".join(_cell_html(ex, top, i, hidden, badges) for i in r)
            + "</tr>"
        )
    if bias:
        h.append(
            "<tr>"
            + '<td class="pad"></td>' * nl
            + '<td class="gap"></td>'
            + '<td class="cell ones">1</td>' * len(top_rows[0])
            + "</tr>"
        )
    pad = '<td class="pad"></td>' * nl + '<td class="gap"></td>'
    h.append("<tr>" + pad + '<td class="arrow">↓</td>' * len(top_rows[0]) + "</tr>")
    for i, lr in enumerate(left_rows):
        cells = "".join(_cell_html(ex, left, x, hidden, badges) for x in lr)
        if bias:
            cells += _cell_html(ex, bias, (i,), hidden, badges).replace('class="cell', 'class="cell bias', 1)
        res = "".join(_cell_html(ex, out, x, hidden, badges) for x in res_rows[i])
        h.append(f'<tr>{cells}<td class="arrow">→</td>{res}</tr>')
    h.append("</table>")
    return "".join(h)


def _grid(ex: Exercise, name: str, hidden: set[Cell], badges: dict[Cell, int]) -> str:
    rows = "".join("<tr>" + "".join(_cell_html(ex, name, i, hidden, badges) for i in r) + "</tr>" for r in _rows(ex, name))
    return f'<table class="grid">{rows}</table>'


def sheet_html(ex: Exercise, hidden: set[Cell] | None = None) -> str:
    """The exercise as an HTML fragment; ``hidden`` cells are empty (with their badge, if any)."""
    g = ex.graph
    badges = ex.blank_cells()
    hidden = set(badges) if hidden is None else hidden
    parts = ['<div class="sheet">']
    drawn = {i for n in g.forward_nodes if n.op in ("dot", "matmul", "linear") for i in n.ins}
    given = [n for n in g.leaves if n not in drawn]
    if given:
        parts.append('<div class="given"><h3>Given</h3>')
        for name in given:
            cap = escape(caption(ex, name))
            parts.append(f"<figure><figcaption>{cap}</figcaption>{_grid(ex, name, hidden, badges)}</figure>")
        parts.append("</div>")
    for n in g.nodes:
        what = formula(ex, n)
        if n.op in ("dot", "matmul", "linear"):
            body = _crossing(ex, n.op, n.ins, n.out, hidden, badges)
        else:
            body = _grid(ex, n.out, hidden, badges)
        note = names(ex).note(n.out)
        label = f' <span class="label">{escape(note)}</span>' if note else ""
        phase = "backward" if n.op == "grad" else "forward"
        parts.append(
            f'<figure class="op {phase}" data-tensor="{escape(n.out)}"><figcaption>{escape(what)}'
            f"{label}</figcaption>{body}</figure>"
        )
    parts.append("</div>")
    return "".join(parts)


CSS = """
:root { --ink:#222; --input:#fff6c9; --bias:#e6e6e6; --act:#dff3df; --grad:#dbe8fb; --gradink:#1f5fbf; --fwd:#c25700; }
* { box-sizing: border-box; }
body { font-family: "Libertinus Serif", Georgia, "Times New Roman", serif; color: var(--ink); margin: 0; background: #fafafa; }
.sheet { display: flex; flex-wrap: wrap; gap: 18px 28px; align-items: flex-end; }
figure { margin: 0; }
figcaption { font-style: italic; margin-bottom: 4px; font-size: 0.95em; }
figcaption .label { color: #666; font-style: normal; margin-left: .4em; }
table { border-collapse: collapse; }
td.cell { min-width: 2.3em; height: 2.1em; text-align: center; border: 1px solid #999; padding: 0 .3em;
          font-variant-numeric: tabular-nums; background: white; }
td.role-input { background: var(--input); }
td.bias, td.role-bias { background: var(--bias);
  background-image: repeating-linear-gradient(45deg, transparent 0 5px, #0001 5px 6px); }
td.ones { background: var(--bias); border-style: dashed; color: #555; }
td.role-computed { background: white; }
td.role-grad { background: var(--grad); border-style: dashed; color: var(--gradink); }
td.role-target { border-style: dotted; }
td.hidden { color: transparent; border: 2px solid var(--ink); position: relative; }
td.hidden .badge { position: absolute; left: -7px; top: -7px; background: var(--ink); color: white; border-radius: 9px;
                   font-size: 11px; min-width: 16px; height: 16px; line-height: 16px; padding: 0 3px; }
td.gap, td.pad { border: none; min-width: .8em; }
td.arrow { border: none; color: #888; font-size: .8em; text-align: center; }
td.new { outline: 3px solid var(--fwd); background: #ffe7cf; }
.backward td.new { outline-color: var(--gradink); background: #cfe0fb; }
td.uses { box-shadow: inset 0 0 0 3px #f0b400; }
s { color: #b3261e; }
"""

_DECK_JS = """
const D = JSON.parse(document.getElementById('deck-data').textContent);
const F = D.frames; let k = 0;
const cells = [...document.querySelectorAll('td[data-cell]')];
const computed = new Set(Object.keys(D.values).filter(c => !D.leaves.includes(c.split(':')[0])));
const blanks = new Set(D.blanks);
function show(n) {
  k = Math.max(0, Math.min(F.length - 1, n));
  const f = F[k], rev = new Set(f.revealed), nw = new Set(f.new), us = new Set(f.uses);
  const fin = f.kind === 'final';
  for (const td of cells) {
    const c = td.dataset.cell;
    const hide = fin ? false : (computed.has(c) ? !rev.has(c) : blanks.has(c));
    td.classList.toggle('hidden', hide);
    td.innerHTML = hide ? '' : td.dataset.show;
    td.classList.toggle('new', nw.has(c));
    td.classList.toggle('uses', us.has(c));
  }
  document.getElementById('counter').textContent =
    f.kind === 'title' ? 'task' : f.kind === 'final' ? 'solution' : `[${f.k}/${f.n}]`;
  document.getElementById('step').innerHTML = '';
  const lines = f.lines.length ? f.lines : [f.text];
  for (const l of lines) {
    const p = document.createElement('p'); p.textContent = l; document.getElementById('step').appendChild(p);
  }
  document.body.dataset.frame = String(k);
  document.body.dataset.kind = f.kind;
  if (location.hash !== '#' + k) history.replaceState(null, '', '#' + k);
}
document.addEventListener('keydown', e => {
  if (['ArrowRight', 'PageDown', ' ', 'Enter'].includes(e.key)) { show(k + 1); e.preventDefault(); }
  if (['ArrowLeft', 'PageUp', 'Backspace'].includes(e.key)) { show(k - 1); e.preventDefault(); }
  if (e.key === 'Home') show(0);
  if (e.key === 'End') show(F.length - 1);
});
document.getElementById('next').onclick = () => show(k + 1);
document.getElementById('prev').onclick = () => show(k - 1);
let x0 = null;
document.addEventListener('touchstart', e => { x0 = e.touches[0].clientX; }, {passive: true});
document.addEventListener('touchend', e => { if (x0 === null) return; const dx = e.changedTouches[0].clientX - x0;
  if (Math.abs(dx) > 40) show(k + (dx < 0 ? 1 : -1)); x0 = null; });
show(parseInt((location.hash || '#0').slice(1)) || 0);
"""


def deck_html(ex: Exercise, group: str = "cell") -> str:
    """One self-contained HTML file: arrow keys, click or swipe to step; ``#k`` opens frame k."""
    from byhand.slides import deck_data

    data = deck_data(ex, group)
    data["leaves"] = list(ex.graph.leaves)
    data["blanks"] = [key(c) for c in ex.blank_cells()]
    data.pop("exercise")
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    title = escape(f"{ex.title} — byhand")
    grid = sheet_html(ex, hidden=set(ex.blank_cells()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{CSS}
body {{ padding: 24px 36px; }} header {{ display: flex; justify-content: space-between; align-items: baseline; }}
h1 {{ font-size: 1.6em; margin: 0 0 4px; }} .task {{ color: #444; margin: 0 0 18px; }}
#counter {{ font-size: 1.4em; font-variant-numeric: tabular-nums; }}
#step {{ min-height: 3.2em; font-size: 1.35em; margin-top: 22px; padding: 10px 14px;
         border-left: 5px solid var(--fwd); background: white; }}
#step p {{ margin: .15em 0; }} body[data-kind="step"] .backward ~ #step {{ border-color: var(--gradink); }}
nav {{ margin-top: 14px; }} nav button {{ font-size: 1.1em; padding: .3em 1em; margin-right: .5em; }}
footer {{ margin-top: 18px; color: #777; font-size: .85em; }}
</style></head>
<body data-frame="0">
<header><h1>{escape(ex.title)}</h1><span id="counter"></span></header>
<p class="task">{escape(ex.instructions)}</p>
{grid}
<div id="step" aria-live="polite"></div>
<nav><button id="prev" aria-label="previous step">←</button><button id="next" aria-label="next step">→</button></nav>
<footer>{escape(ex.identity)} · arrow keys, space or a swipe to step · Home/End</footer>
<script type="application/json" id="deck-data">{payload}</script>
<script>{_DECK_JS}</script>
</body></html>
"""
