"""An exercise in a Jupyter notebook: the web page's grid (``byhand.render.html.sheet_html``), the
diagram as SVG, and the worked solution step by step (``ex.reveal(k)``, the lecture deck's frames).

The page's style sheet is scoped to a ``div.byhand-nb`` so it styles the exercise and nothing
else in the notebook. No script, no network: the output is plain HTML and SVG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from byhand.i18n import gettext, tr_text

if TYPE_CHECKING:
    from byhand.exercise import Exercise

SCOPE = "byhand-nb"

EXTRA_CSS = """
.byhand-nb { background: #fafafa; padding: 10px 14px; border-radius: 6px; }
.byhand-nb h3.byhand-title { margin: 0 0 2px; font-size: 1.15em; }
.byhand-nb .task { color: #444; margin: 0 0 10px; }
.byhand-nb .ident { color: #777; font-size: .8em; margin-top: 8px; }
.byhand-nb .diagram { margin-top: 10px; }
.byhand-nb ol.steps { margin: 10px 0 0; padding-left: 2.2em; }
.byhand-nb ol.steps li.current { font-weight: bold; }
.byhand-nb table { border-collapse: collapse; }
"""


def scoped_css(css: str, scope: str = SCOPE) -> str:
    """Prefix every selector with ``.scope`` (``:root`` and ``body`` become the scope itself)."""
    out = []
    for rule in css.split("}"):
        if "{" not in rule:
            continue
        sel, body = rule.split("{", 1)
        parts = []
        for s in sel.split(","):
            s = s.strip()
            if not s:
                continue
            if s in (":root", "body"):
                parts.append(f".{scope}")
            elif s.startswith(("body ", "body[")):
                parts.append(f".{scope}{s[4:]}")
            else:
                parts.append(f".{scope} {s}")
        out.append(f"{', '.join(parts)} {{{body}}}")
    return "\n".join(out)


def _style() -> str:
    from byhand.render.html import CSS

    return f"<style>{scoped_css(CSS)}{EXTRA_CSS}</style>"


def _diagram(ex: Exercise) -> str:
    from byhand.render.diagram import diagram_svg

    svg = diagram_svg(ex)
    return f'<div class="diagram">{svg}</div>' if svg else ""


def _head(ex: Exercise) -> str:
    return f'<h3 class="byhand-title">{escape(gettext(ex.title))}</h3><p class="task">{escape(tr_text(ex.instructions))}</p>'


def exercise_html(ex: Exercise) -> str:
    """The worksheet as the web page draws it: blanks as boxes with their badges, and the diagram."""
    from byhand.render.html import sheet_html

    n = len(ex.blanks)
    return (
        f'<div class="{SCOPE}">{_style()}{_head(ex)}{sheet_html(ex)}{_diagram(ex)}'
        f'<p class="ident">{escape(ex.identity)} · {n} blank{"s" if n != 1 else ""} · '
        f"ex.reveal(k) shows the first k worked steps</p></div>"
    )


@dataclass
class Reveal:
    """The worked solution up to step ``k`` of ``n`` (shown as HTML in a notebook)."""

    k: int
    n: int
    html: str
    steps: list[str]

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return "\n".join(f"{i}. {s}" for i, s in enumerate(self.steps, start=1)) or "(no step yet)"


def _mark(html: str, cells: list[str], cls: str) -> str:
    for key in cells:
        html = re.sub(rf'<td class="([^"]*)" data-cell="{re.escape(key)}"', rf'<td class="\1 {cls}" data-cell="{key}"', html)
    return html


def reveal(ex: Exercise, k: int | None = None) -> Reveal:
    """Step k of the lecture deck, drawn still: the cells computed by steps 1…k filled in, step k's
    cell outlined and the cells it used tinted, and the steps written out below the grid.
    ``k=0`` is the task; ``k=None`` (or k ≥ n) is the full solution."""
    from byhand.notation import cell_label
    from byhand.render.html import key, sheet_html
    from byhand.slides import frames

    fs = frames(ex)
    n = len(fs) - 2
    if k is None or k > n:
        k = n + 1
    if k < 0:
        raise ValueError(f"reveal(k): k counts the steps shown, from 0 to {n}, not {k}")
    f = fs[k]
    leaves = set(ex.graph.leaves)
    blank = set(ex.blank_cells())
    every = {(name, idx) for name, t in ex.values.items() for idx in t.indices()}
    hidden = {c for c in every if (c[0] not in leaves or c in blank) and c not in f.revealed}
    grid = sheet_html(ex, hidden=hidden)
    grid = _mark(grid, [key(c) for c in f.new], "new")
    grid = _mark(grid, [key(c) for c in f.uses], "uses")
    done = [s for s in fs[1 : min(k, n) + 1]]
    lines = [f"{cell_label(ex, *s.new[0])} = {tr_text(s.text)}" if s.new else tr_text(s.text) for s in done]
    items = "".join(
        f'<li class="{"current" if i == len(lines) - 1 and f.kind == "step" else ""}">{escape(t)}</li>'
        for i, t in enumerate(lines)
    )
    what = "the task" if k == 0 else "the full solution" if f.kind == "final" else f"step {k} of {n}"
    html = (
        f'<div class="{SCOPE}">{_style()}{_head(ex)}<p class="ident">{escape(what)}</p>{grid}'
        + (f'<ol class="steps">{items}</ol>' if items else "")
        + "</div>"
    )
    return Reveal(min(k, n), n, html, lines)


_SLIDER_JS = """
(function () {
  const root = document.getElementById(%(id)s);
  const D = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  const n = D.frames.length, hideable = new Set(D.hideable);
  const tds = [...root.querySelectorAll('td[data-cell]')];
  const slider = root.querySelector('input.byhand-step'), where = root.querySelector('.where');
  const ol = root.querySelector('ol.steps');
  function show(k) {
    const fin = k > n, f = (!fin && k > 0) ? D.frames[k - 1] : null, rev = new Set(D.start);
    for (let i = 0; i < Math.min(k, n); i++) D.frames[i].add.forEach(c => rev.add(c));
    for (const td of tds) {
      const c = td.dataset.cell, hide = !fin && hideable.has(c) && !rev.has(c);
      td.classList.toggle('hidden', hide);
      td.innerHTML = hide ? (td.dataset.badge ? '<span class="badge">' + td.dataset.badge + '</span>' : '') : td.dataset.show;
      td.classList.toggle('new', !!f && f.new.includes(c));
      td.classList.toggle('uses', !!f && f.uses.includes(c));
    }
    ol.innerHTML = '';
    D.frames.slice(0, Math.min(k, n)).forEach((fr, i) => {
      const li = document.createElement('li'); li.textContent = fr.line;
      if (i === k - 1 && !fin) li.className = 'current';
      ol.appendChild(li);
    });
    where.textContent = k === 0 ? 'the task' : fin ? 'the full solution' : 'step ' + k + ' of ' + n;
  }
  slider.addEventListener('input', () => show(+slider.value));
  show(+slider.value);
})();
"""


def slider(ex: Exercise) -> Reveal:
    """The worked solution with a step slider (0 = the task … n = the last step, n + 1 = all).

    Without scripts (an untrusted notebook, a static viewer) it is the full solution, as
    ``reveal()``; in a trusted notebook the slider walks through the lecture deck's frames."""
    import hashlib
    import json

    from byhand.notation import cell_label
    from byhand.render.html import key, sheet_html
    from byhand.slides import frames

    fs = frames(ex)
    n = len(fs) - 2
    leaves = set(ex.graph.leaves)
    blank = set(ex.blank_cells())
    every = [(name, idx) for name, t in ex.values.items() for idx in t.indices()]
    hideable = [c for c in every if c[0] not in leaves or c in blank]
    lines = [f"{cell_label(ex, *fs[i].new[0])} = {tr_text(fs[i].text)}" if fs[i].new else tr_text(fs[i].text)
             for i in range(1, n + 1)]
    data: dict[str, Any] = {
        "hideable": [key(c) for c in hideable],
        "start": sorted(key(c) for c in fs[0].revealed),
        "frames": [
            {
                "add": sorted(key(c) for c in fs[i].revealed - fs[i - 1].revealed),
                "new": [key(c) for c in fs[i].new],
                "uses": [key(c) for c in fs[i].uses],
                "line": lines[i - 1],
            }
            for i in range(1, n + 1)
        ],
    }
    ident = "byhand-" + hashlib.sha1(ex.identity.encode() + json.dumps(data["start"]).encode()).hexdigest()[:10]
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    steps = lines
    items = "".join(f"<li>{escape(t)}</li>" for t in steps)
    html = (
        f'<div class="{SCOPE}" id="{ident}">{_style()}{_head(ex)}'
        f'<p class="ident"><input class="byhand-step" type="range" min="0" max="{n + 1}" value="{n + 1}" '
        f'aria-label="worked step" style="width:22em;vertical-align:middle"> <span class="where">the full solution</span></p>'
        f"{sheet_html(ex, hidden=set())}"
        f'<ol class="steps">{items}</ol>'
        f'<script type="application/json">{payload}</script>'
        f"<script>{_SLIDER_JS % {'id': json.dumps(ident)}}</script></div>"
    )
    return Reveal(n, n, html, steps)
