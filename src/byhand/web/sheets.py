"""The exercise as a web page, without its answers; and the worked steps, sent only when asked for.

:func:`byhand.render.html.sheet_html` draws the grid with every value in ``data-show`` (the lecture
deck needs them). The practice page must not carry any answer before the learner submits, so
:func:`page_sheet` strips every ``data-show``, puts an ``<input>`` in each blank, and removes a
crossed-out ReLU input (``<s>−2</s> 0``) whose pre-activation is itself a blank.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from html import escape, unescape
from typing import Any

import byhand
from byhand.engine.relations import Cell
from byhand.engine.values import fmt
from byhand.exercise import Exercise
from byhand.i18n import _, current_language, tr_text
from byhand.notation import cell_label
from byhand.render.html import key, sheet_html
from byhand.seal import Seal

_TD = re.compile(r'<td class="([^"]*)" data-cell="([^"]*)" data-show="([^"]*)"(?: data-badge="(\d+)")?>(.*?)</td>')


_made: OrderedDict[tuple[str, int, str], Exercise] = OrderedDict()
_lock = threading.Lock()
KEEP = 8192


def made(topic: str, seed: int, level: str) -> Exercise | None:
    """The exercise if it is already made (cheap: safe to call on the event loop), else None."""
    with _lock:
        ex = _made.get((topic, seed, level))
        if ex is not None:
            _made.move_to_end((topic, seed, level))
        return ex


def exercise(topic: str, seed: int, level: str) -> Exercise:
    """One exercise (chapter, seed, level); made once and kept (making one can take a few milliseconds)."""
    ex = made(topic, seed, level)
    if ex is None:
        ex = byhand.make(topic, seed=seed, level=level)
        with _lock:
            _made[(topic, seed, level)] = ex
            while len(_made) > KEEP:
                _made.popitem(last=False)
    return ex


def student_seed(salt: int, student_id: int, item: int) -> int:
    """Each student's own variant of exercise ``item`` of an assignment: stable, and unguessable by others."""
    h = hashlib.sha256(f"byhand-web/1:{salt}:{student_id}:{item}".encode()).digest()
    # above every practice seed (the practice API never reaches it), and within what a sealed code holds (2^37)
    return 1_000_000_000 + int.from_bytes(h[:8], "big") % 2**36


def assignment_items(salt: int, topics: tuple[str, ...] | list[str], count: int, student_id: int) -> list[tuple[str, int]]:
    """A student's exercises of an assignment, as on screen: item k is chapter ``topics[k % len]``
    with seed :func:`student_seed`."""
    return [(topics[k % len(topics)], student_seed(salt, student_id, k)) for k in range(count)]


def extra_items(salt: int, topics: tuple[str, ...] | list[str], count: int, n: int,
                taken: set[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """``n`` anonymous copies of an assignment, for students without a device: the per-student seeding
    continued with ids −1, −2, … (a real student's id is never negative), skipping any copy that would
    repeat an exercise in ``taken`` or in an earlier copy, so every copy is distinct. Always the same copies."""
    seen = set(taken)
    out: list[list[tuple[str, int]]] = []
    pseudo = 0
    while len(out) < n and pseudo < 100 * (n + 1):
        pseudo += 1
        items = assignment_items(salt, topics, count, -pseudo)
        if any(it in seen for it in items):
            continue
        seen.update(items)
        out.append(items)
    return out


def print_seal(server_secret: str) -> Seal:
    """The seal of this server's assignment printouts (paper): derived from the server's own secret,
    which it keeps in its database, so the codes on a printout open only with that server's key PDF
    and never give a student the seed. The same secret gives the same codes, so a printout prints the
    same bytes again."""
    return Seal.from_text(server_secret, "web assignment printouts", source="this server's secret")


def _parse(c: str) -> Cell:
    name, _, idx = c.partition(":")
    return (name, tuple(int(i) for i in idx.split(",")) if idx else ())


def page_sheet(topic: str, seed: int, level: str) -> str:
    """The grid for the page: blanks are inputs; no answer anywhere in the HTML. In the page's language."""
    return _page_sheet(topic, seed, level, current_language())


@lru_cache(maxsize=1024)
def _page_sheet(topic: str, seed: int, level: str, lang: str) -> str:
    ex = exercise(topic, seed, level)
    blanks = ex.blank_cells()
    made = {n.out: n for n in ex.graph.forward_nodes}

    def td(m: re.Match[str]) -> str:
        cls, cell, _show, badge, inner = m.groups()
        c = _parse(cell)
        attrs = f'class="{cls}" data-cell="{cell}"'
        if c in blanks:
            b = blanks[c]
            label = _("blank {badge}, {cell}").format(badge=b, cell=cell_label(ex, c[0], c[1]))
            return (
                f'<td {attrs} data-badge="{b}"><span class="badge">{b}</span>'
                f'<input type="text" class="blank" data-badge="{b}" aria-label="{escape(label)}" autocomplete="off" '
                f'autocapitalize="off" spellcheck="false" enterkeyhint="next" maxlength="24"></td>'
            )
        node = made.get(c[0])
        if "<s>" in unescape(inner) and node is not None and (node.ins[0], c[1]) in blanks:
            inner = escape(fmt(ex.value(c), ex.precision))  # the struck value would give a blank away
        return f"<td {attrs}>{inner}</td>"

    return _TD.sub(td, sheet_html(ex))


@lru_cache(maxsize=1024)
def _shown(topic: str, seed: int, level: str) -> dict[str, str]:
    ex = exercise(topic, seed, level)
    return {m.group(2): unescape(m.group(3)) for m in _TD.finditer(sheet_html(ex, hidden=set()))}


def hint(ex: Exercise, badge: int) -> dict[str, Any] | None:
    """The step for one blank: how its value is found (this gives that one answer away, on request)."""
    b = next((b for b in ex.blanks if b.badge == badge), None)
    if b is None:
        return None
    c = b.cells[0]
    step = ex.step_for(c)
    uses = [key(u) for u in step.uses] if step is not None else []
    return {"badge": badge, "cell": key(c), "name": cell_label(ex, c[0], c[1]), "text": ex.explain(c), "uses": uses}


def solution(topic: str, seed: int, level: str) -> dict[str, Any]:
    """The worked solution, step by step, for the Reveal walk-through."""
    ex = exercise(topic, seed, level)
    shown = _shown(topic, seed, level)
    blanks = ex.blank_cells()
    steps = [
        {"cell": key(s.cell), "name": cell_label(ex, s.cell[0], s.cell[1]), "uses": [key(u) for u in s.uses],
         "text": tr_text(s.text),  # in the page's language (byhand.i18n); the maths and numbers as they are
         "show": shown.get(key(s.cell), ""), "phase": s.phase}
        for s in ex.steps
    ]
    stepped = {s.cell for s in ex.steps}
    for c in blanks:  # an inverse problem: a hidden input or weight, found from a relation
        if c not in stepped:
            steps.append({"cell": key(c), "name": cell_label(ex, c[0], c[1]), "uses": [], "text": tr_text(ex.explain(c)),
                          "show": shown.get(key(c), ""),
                          "phase": "forward"})
    answers = {str(b.badge): fmt(b.answer, ex.precision) for b in ex.blanks}
    return {"steps": steps, "answers": answers, "blanks": {key(c): b for c, b in blanks.items()}}
