"""No blank gives itself away: a computed blank must not be readable back from a printed cell
through an invertible step (the logits from a printed 3ᶻ column, Z from a printed positive ReLU
output, dA from a printed dZ where the gate passes, E from printed P and Σ …).

The check is the student's shortcut, one step backwards: a relation whose result is printed and
whose inputs are all printed but one blank, solved for that blank. Sums of products are solved
exactly (``solve_single``); the functions the solver does not run backwards are listed here by
whether they are one-to-one. Hidden givens (a leaf left blank on purpose, an inverse problem) are
the lesson, not a leak, and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

import byhand
from byhand.engine.relations import Cell, FuncRelation

SEEDS = 30
CHAPTERS = [t.name for t in byhand.topics()]
LEVELS = ["easy", "medium", "hard"]
ONE_TO_ONE = {"exp", "sigmoid", "tanh"}  # y = f(x) gives x back
MANY_TO_ONE = {"softmax", "cross_entropy", "half_sse", "colsum", "sum"}  # checked as sums or not invertible


def leaks(ex: byhand.Exercise, blank: Iterable[Cell] | None = None) -> list[str]:
    g = ex.graph
    hidden = set(blank) if blank is not None else {c for b in ex.blanks for c in b.cells}

    def get(c: Cell) -> object:
        return ex.values[c[0]][c[1]]

    out = []
    for rel in g.relations().values():
        if rel.out in hidden:
            continue
        unknown = [c for c in rel.uses if c in hidden]
        if len(unknown) != 1 or unknown[0][0] in g.leaves:
            continue
        c = unknown[0]
        if isinstance(rel, FuncRelation):
            if rel.op in ONE_TO_ONE:
                out.append(f"{c} from printed {rel.out} ({rel.op})")
            else:
                assert rel.op in MANY_TO_ONE, f"say whether {rel.op} is one-to-one"
            continue
        v = rel.solve_single(c, get)  # type: ignore[arg-type]
        if v is not None and v == get(c):
            out.append(f"{c} from printed {rel.out} ({rel.op})")
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("topic", CHAPTERS)
def test_no_blank_can_be_read_back_from_a_printed_cell(topic: str, level: str) -> None:
    found = []
    for seed in range(SEEDS):
        ex = byhand.make(topic, seed=seed, level=level)
        got = leaks(ex)
        if got:
            found.append((seed, got[:3]))
    assert not found, found[:3]


def test_the_check_finds_the_leaks_it_is_for() -> None:
    """The old backprop hard sheet (logits blank beside a printed 3ᶻ column) and a ReLU whose
    input is blank beside its printed positive output are both reported."""
    ex = byhand.make("backprop", seed=9, level="hard")
    z3 = [("Z3", i) for i in ex.values["Z3"].indices()]
    got = leaks(ex, z3)
    assert len([g for g in got if "(exp)" in g]) == 4, got
    z1 = [("Z1", i) for i in ex.values["Z1"].indices()]
    positive = [c for c in z1 if ex.values["A1"][c[1]] > 0]  # type: ignore[operator]
    got = leaks(ex, z1)
    assert len([g for g in got if "relu" in g]) == len(positive) > 0, got
    # and the sheet as made prints the logits, so nothing is found
    assert leaks(ex) == []
    assert not any(c[0] == "Z3" for b in ex.blanks for c in b.cells)
