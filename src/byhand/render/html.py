"""The by-hand grid in HTML, and the self-contained lecture deck.

HTML only paints the one sheet layout (:mod:`byhand.printing.layout`): every block, label, symbol,
arrow and ReLU gate sits where the printed page has it (absolutely positioned, in units of one
cell's side), so a fix to the layout reaches paper, slides, web and text at once. Every tensor
cell is a ``<td data-cell="Z1:0,1">`` so a script (the deck, the practice page) and a test can find
it. No network: the CSS and the script are inline.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import TYPE_CHECKING, Any

from byhand.engine.relations import Cell
from byhand.engine.values import fmt
from byhand.i18n import N_, _, current_language, tr_phrases, tr_text

if TYPE_CHECKING:
    from byhand.exercise import Exercise


def key(c: Cell) -> str:
    return f"{c[0]}:{','.join(map(str, c[1]))}"


def _plan(ex: Exercise) -> dict[str, Any]:
    """The one layout of the sheet (:func:`byhand.printing.layout.plan_exercise`): where every block,
    label, symbol and arrow goes. Not in key mode: a ReLU gate over a hidden Z stays empty."""
    from byhand.printing.layout import plan_exercise

    return plan_exercise(ex.to_dict(), 1, with_answers=False)


def _pos(item: dict[str, Any], w: float | None = None, h: float | None = None) -> str:
    """Absolute position (and size) in pitch units: ``--u`` is one cell's side."""
    out = f"left:calc({item['x']:.3f}*var(--u));top:calc({item['y']:.3f}*var(--u))"
    if w is not None:
        out += f";width:calc({w:.3f}*var(--u))"
    if h is not None:
        out += f";height:calc({h:.3f}*var(--u))"
    return out


def _tensor_cell(ex: Exercise, block: dict[str, Any], cell: dict[str, Any], hidden: set[Cell],
                 badges: dict[Cell, int], made: dict[str, Any]) -> str:
    name = block["tensor"]
    idx = tuple(cell["i"])
    c = (name, idx)
    shown = escape(fmt(ex.values[name][idx], ex.precision))
    # ReLU by crossing out: the negative input struck through, 0 beside it (on the tensor itself)
    node = made.get(name)
    if block["label"] is None and node is not None and node.op in ("relu", "leaky_relu"):
        z = ex.values[node.ins[0]][idx]
        if not z > 0:
            shown = f"<s>{escape(fmt(z, ex.precision))}</s> {shown}"
    attrs = f'data-cell="{key(c)}" data-show="{escape(shown, quote=True)}"'
    cls = f"cell role-{block['style']}"
    b = badges.get(c)
    if b is not None:
        attrs += f' data-badge="{b}"'
    if c in hidden:
        inner = f'<span class="badge">{b}</span>' if b is not None else ""
        return f'<td class="{cls} hidden" {attrs}>{inner}</td>'
    return f'<td class="{cls}" {attrs}>{shown}</td>'


def _fixed_cell(block: dict[str, Any], cell: dict[str, Any]) -> str:
    """A cell of the row of 1s or of a ReLU gate (no tensor of its own)."""
    v = cell.get("v")
    text = escape(v["s"]) if v else ""
    gate = f' data-gate="{escape(block["gate"])}:{",".join(map(str, cell["g"]))}"' if block.get("gate") else ""
    return f'<td class="cell role-{block["style"]}"{gate}>{text}</td>'


def _block_html(ex: Exercise, block: dict[str, Any], hidden: set[Cell], badges: dict[Cell, int],
                made: dict[str, Any]) -> str:
    rows: list[list[str]] = [[] for _ in range(block["rows"])]
    for cell in block["cells"]:
        td = _tensor_cell(ex, block, cell, hidden, badges, made) if block["tensor"] else _fixed_cell(block, cell)
        rows[cell["r"]].append(td)
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    # the table exactly as wide as the plan's block: its cells share that width, borders included
    # (cells of their own width plus the collapsed borders drew a few pixels wider, into a neighbour)
    style = f"{_pos(block, block['cols'] * block['cw'])};--cw:{block['cw']:.2f}"
    return f'<table class="block style-{block["style"]}" style="{style}">{body}</table>'


_SYMBOL_WORDS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "σ", "softmax": "softmax", "transpose": "ᵀ",
                 "sum": "Σ"}
_SYMBOL_WORDS |= {"sort": N_("sort ↓"), "argsort": N_("word no."), "topk": N_("top k"), "cumsum": N_("running Σ")}  # sampling
_SYMBOL_WORDS |= {"hard_sigmoid": "σ", "hard_tanh": "tanh"}  # the LSTM's exact σ and tanh (issue 13)


def _symbol_html(sym: dict[str, Any]) -> str:
    text = tr_phrases(sym["text"]) if sym["kind"] == "text" else _(_SYMBOL_WORDS.get(sym["kind"], ""))
    kind = "word" if sym["kind"] == "text" else "act"
    return f'<div class="sym {kind}" style="{_pos(sym, sym["w"], sym["h"])}">{escape(text)}</div>'


_POWER = re.compile(r"\^\((.+?)\)")


def _name_html(name: str) -> str:
    """A name as HTML: a power the name writes ``3^(Z/T)`` with its exponent raised, as by hand."""
    return _POWER.sub(r"<sup>\1</sup>", escape(name))


def _formula_html(pieces: list[dict[str, str]]) -> str:
    def one(p: dict[str, str]) -> str:
        if p["t"] == "name":
            return f"<i>{_name_html(p['s'])}</i>"
        if p["t"] == "pow":  # 3^Z₃: the exponent raised, as written by hand
            return f"{escape(p['s'])}<sup><i>{escape(p['e'])}</i></sup>"
        return escape(tr_phrases(p["s"]))  # "Σ dZ₂ along each row": the words in the page's language

    return "".join(one(p) for p in pieces)


def sheet_html(ex: Exercise, hidden: set[Cell] | None = None) -> str:
    """The exercise as an HTML fragment painted from the one sheet layout (the print plan): every
    block, label, symbol and arrow where the printed page has it; ``hidden`` cells are empty
    (with their badge, if any). Every tensor cell is a ``<td data-cell="Z1:0,1">``."""
    badges = ex.blank_cells()
    hidden = set(badges) if hidden is None else hidden
    plan = _plan(ex)
    made = {n.out: n for n in ex.graph.forward_nodes}
    w, h = plan["canvas"]["width"], plan["canvas"]["height"]
    parts = ['<div class="sheet">',
             '<p class="formulas">' + "; ".join(_formula_html(f) for f in plan["formulas"]) + "</p>",
             f'<div class="plan" style="width:calc({w:.3f}*var(--u));height:calc({h:.3f}*var(--u))">']
    parts += [_block_html(ex, b, hidden, badges, made) for b in plan["blocks"]]
    for a in plan["arrows"]:
        arrow = "→" if a["dir"] == "right" else "↓"
        parts.append(f'<div class="arrow" style="{_pos(a, a["w"], a["h"])}">{arrow}</div>')
    parts += [_symbol_html(s) for s in plan["symbols"]]
    for lbl in plan["labels"]:
        parts.append(f'<div class="lbl side-{lbl["side"]}" style="{_pos(lbl, lbl["w"], lbl["h"])}">'
                     f"{_name_html(tr_phrases(lbl['text']))}</div>")  # "d[A₁ ; X] (rows 4–6: the skip)" as print does
    parts.append("</div></div>")
    return "".join(parts)


CSS = """
:root { --ink:#222; --input:#fff6c9; --bias:#e6e6e6; --act:#dff3df; --grad:#dbe8fb; --gradink:#1f5fbf; --fwd:#c25700; }
* { box-sizing: border-box; }
body { font-family: "Libertinus Serif", Georgia, "Times New Roman", serif; color: var(--ink); margin: 0; background: #fafafa; }
.sheet { --u: 2.6rem; }
.sheet .formulas { margin: 0 0 .8em; }
.plan { position: relative; }
.plan > * { position: absolute; margin: 0; }
table.block { border-collapse: collapse; table-layout: fixed; }
table.block td { height: var(--u); overflow: visible;
  padding: 0; text-align: center; vertical-align: middle; border: 1px solid #999; font-variant-numeric: tabular-nums;
  background: white; white-space: nowrap; }
table.style-input { border-top: 4px solid var(--ink); }
table.style-input td { background: var(--input); }
table.style-bias td { background: var(--bias);
  background-image: repeating-linear-gradient(45deg, transparent 0 5px, #0001 5px 6px); }
table.style-ones td { background: var(--bias); border-style: dashed; color: #555; }
table.style-activation { outline: 3px double var(--ink); }
table.style-activation td { background: var(--act); }
table.style-grad td { background: var(--grad); border-style: dashed; color: var(--gradink); }
table.style-target td { border-style: dotted; }
table.style-loss td { border: 3px solid var(--ink); }
table.style-gate td { border-style: dashed; border-color: #777; }
/* a name in the width the plan gave it (0.19 of a cell a letter, Libertinus' width on paper): the
   browser's bold serif is wider, so a little smaller, never into its neighbour */
.lbl { font-weight: bold; font-size: .8em; letter-spacing: -.01em; white-space: nowrap; line-height: 1; }
.lbl.side-above { display: flex; align-items: flex-end; }
.lbl.side-left { display: flex; align-items: center; justify-content: flex-end; }
.lbl.side-right { display: flex; align-items: center; }
.sym, .arrow { display: flex; align-items: center; justify-content: center; }
.sym.word { font-size: .85em; white-space: nowrap; }  /* "the square root (" on one line, as printed */
.sym.act { border: 1px dotted #999; border-radius: 4px; font-size: .7em; writing-mode: vertical-rl; }
.arrow { color: #888; font-size: .8em; }
td.hidden { color: transparent; border: 2px solid var(--ink) !important; position: relative; }
td.hidden .badge { position: absolute; left: -7px; top: -7px; background: var(--ink); color: white; border-radius: 9px;
                   font-size: 11px; min-width: 16px; height: 16px; line-height: 16px; padding: 0 3px; }
td.new { outline: 3px solid var(--fwd); background: #ffe7cf !important; }
table.style-grad td.new { outline-color: var(--gradink); background: #cfe0fb !important; }
td.uses { box-shadow: inset 0 0 0 3px #f0b400; }
s { color: #b3261e; }
"""

_DECK_JS = """
const D = JSON.parse(document.getElementById('deck-data').textContent);
const F = D.frames; let k = 0;
const cells = [...document.querySelectorAll('td[data-cell]')];
const gates = [...document.querySelectorAll('td[data-gate]')];
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
  for (const td of gates) td.classList.toggle('uses', us.has(td.dataset.gate));  // ReLU's gate, when used
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
    title = escape(f"{_(ex.title)} — byhand")
    grid = sheet_html(ex, hidden=set(ex.blank_cells()))
    keys_word = _("arrow keys, space or a swipe to step · Home/End")
    return f"""<!doctype html>
<html lang="{current_language()}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
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
<header><h1>{escape(_(ex.title))}</h1><span id="counter"></span></header>
<p class="task">{escape(tr_text(ex.instructions))}</p>
{grid}
<div id="step" aria-live="polite"></div>
<nav><button id="prev" aria-label="previous step">←</button><button id="next" aria-label="next step">→</button></nav>
<footer>{escape(ex.identity)} · {escape(keys_word)}</footer>
<script type="application/json" id="deck-data">{payload}</script>
<script>{_DECK_JS}</script>
</body></html>
"""
