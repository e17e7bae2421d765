"""Credit for the method ("error carried forward"): a blank that is wrong only because an earlier answer was.

A student who writes a wrong value in one box and then computes every later box correctly *from that
value* has used the method right. :func:`mark` finds those boxes: the exact engine recomputes every
computed cell of the exercise's graph from the student's own answers (each blank they filled in is
taken as written, every value printed on the sheet as printed), and a wrong answer that equals its
recomputed value is marked ``"follows"`` — "follows from your answer".

>>> import byhand
>>> ex = byhand.Exercise.from_json('''{"format": "byhand-exercise/1", "topic": "dot", "title": "t",
...   "tensors": {"a": {"values": [2, 3]}, "b": {"values": [1, 1]}, "c": {"values": 5}, "d": {"values": 10}},
...   "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}, {"op": "add", "in": ["c", "c"], "out": "d"}],
...   "blanks": [{"badge": 1, "cells": [["c", []]], "answer": 5}, {"badge": 2, "cells": [["d", []]], "answer": 10}]}''')
>>> [m.verdict for m in mark(ex, {"1": "6", "2": "12"})]
['wrong', 'follows']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from byhand.engine import values as V
from byhand.engine.relations import Cell
from byhand.engine.values import Value
from byhand.errors import GraphError
from byhand.exercise import Exercise, Verdict, _accept

FOLLOWS = "follows"
"""The verdict of a blank whose answer is wrong, but right from the student's own earlier answers."""


@dataclass
class Mark:
    badge: int
    verdict: str  # "correct" | "follows" | "wrong" | "blank" | "not a number"
    given: str | None
    expected: Value | None
    """What the student's own earlier answers give here (set when it differs from the answer)."""

    @property
    def credited(self) -> bool:
        return self.verdict == FOLLOWS


def carried_values(ex: Exercise, answers: Mapping[str, Any]) -> dict[Cell, Value]:
    """Every computed cell's value recomputed from the student's answers: a blank the student filled in with a
    number is that number; a value printed on the sheet is as printed; every other blank is recomputed, in step
    order, from what it uses. Cells whose value does not change are left out (they are the true values)."""
    given: dict[Cell, Value] = {}
    blank_of = ex.blank_cells()
    for b in ex.blanks:
        raw = answers.get(str(b.badge))
        if raw is None or str(raw).strip() == "":
            continue
        try:
            v = V.parse_answer(str(raw))
        except ValueError:
            continue
        for c in b.cells:
            given[c] = v
    carried: dict[Cell, Value] = {}

    def get(c: Cell) -> Value:
        if c in given:
            return given[c]
        if c in blank_of and c in carried:
            return carried[c]
        return ex.value(c)

    changed = {c for c, v in given.items() if v != ex.value(c)}
    for cell, rel in ex.graph.relations().items():
        if cell not in blank_of or not any(u in changed and blank_of.get(u) != blank_of[cell] for u in rel.uses):
            continue  # nothing it uses differs (a badge shown in two places does not carry into itself)
        try:
            v = rel.evaluate(get)
        except (ArithmeticError, ValueError, TypeError, OverflowError, GraphError):
            continue  # the student's values leave this cell undefined (a division by zero, a log of 0, √ of a negative)
        if v != ex.value(cell):
            carried[cell] = v
            if cell not in given:
                changed.add(cell)
    return carried


def mark(ex: Exercise, answers: Mapping[str, Any]) -> list[Mark]:
    """Each blank's verdict, with ``"follows"`` for a wrong answer that the student's own earlier answers give."""
    strict = ex.check(answers)
    carried = carried_values(ex, answers) if strict.correct < strict.total else {}
    return [_mark(ex, v, carried) for v in strict.verdicts]


def _mark(ex: Exercise, v: Verdict, carried: Mapping[Cell, Value]) -> Mark:
    expected = next((carried[c] for c in v.cells if c in carried), None)
    if v.verdict == "wrong" and expected is not None and v.given is not None:
        try:
            got = V.parse_answer(v.given)
        except ValueError:  # pragma: no cover - check() said it is a number
            got = None
        if got is not None and _accept(got, v.given, expected, ex.precision):
            return Mark(v.badge, FOLLOWS, v.given, expected)
    return Mark(v.badge, v.verdict, v.given, expected)


def scores(marks: list[Mark]) -> tuple[int, int, int]:
    """(right, follows, total)."""
    return sum(m.verdict == "correct" for m in marks), sum(m.verdict == FOLLOWS for m in marks), len(marks)


__all__ = ["FOLLOWS", "Mark", "carried_values", "mark", "scores"]
