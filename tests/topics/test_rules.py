"""The rules that make a variant worth a student's time, over 1,000 seeds of every chapter × level.

Checked here from the exercise itself, with code of its own (not the sampler's ``_rules``), so a
sampler that forgets a rule fails:

- no gradient tensor entirely zero; a gradient with one column per sample reaches every sample;
- at most a quarter of the answers 0 and no value more than a third of them (fewer than 8
  answers: at most half 0, not all the same; one answer: not 0);
- every ReLU has a negative to cross out;
- no fraction a student writes has a denominator over 100 (the softmax chapter excepted);
- the estimated minutes are within the level's budget.

The fast path: ``make`` without steps or JSON (the torch replay of whole files is
``test_chapters.py``, over fewer seeds).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

import byhand

SEEDS = 1000
CHAPTERS = [t.name for t in byhand.topics()]
LEVELS = ["easy", "medium", "hard"]
BUDGET = {"easy": 10, "medium": 20, "hard": 40}  # about the minutes a teacher plans with
# chapters whose lesson changes a rule (each says so on its sheet or in its module):
FREE_DENOMINATORS = {"softmax", "sampling"}  # the probabilities are the lesson
ZEROS_ALLOWED = {"dropout": 3}  # a third, not a quarter: a dropped unit's mask, D entry and row are 0
REPEATS_ALLOWED = {"batch-norm"}  # every X̂ is ±1 and every (X − μ)² of a row is σ²: no "top" rule


def broken_rules(ex: byhand.Exercise) -> list[str]:
    g = ex.graph
    answers = [b.answer for b in ex.blanks]
    n = len(answers)
    out = []
    counts = Counter(answers)
    zeros = counts.get(0, 0)
    top = max(counts.values())
    if ex.topic in REPEATS_ALLOWED:
        top = 0
    if n >= 8 and (ZEROS_ALLOWED.get(ex.topic, 4) * zeros > n or 3 * top > n):
        out.append(f"{zeros} zeros, one value {top} times, of {n} answers")
    if 1 < n < 8 and (2 * zeros > n or top == n):
        out.append(f"{zeros} zeros, one value {top} times, of {n} answers")
    if n == 1 and zeros:
        out.append("the one answer is 0")
    samples = g.shapes["X"][1] if "X" in g.shapes and len(g.shapes["X"]) == 2 else 1
    for node in g.grad_nodes:
        t = ex.values[node.out]
        if not any(t.data):
            out.append(f"{node.out} is all zero")
        primal = node.attrs["wrt"]
        if samples > 1 and len(t.shape) == 2 and t.shape[1] == samples and (primal == "X" or primal not in g.leaves):
            for j in range(samples):
                if not any(t.col(j)):
                    out.append(f"{node.out} passes no gradient to sample {j + 1}")
    for node in g.forward_nodes:
        if node.op in ("relu", "leaky_relu") and not any(v < 0 for v in ex.values[node.ins[0]].data):
            out.append(f"{node.out}: ReLU crosses nothing out")
    if ex.topic not in FREE_DENOMINATORS:
        for a in answers:
            if isinstance(a, Fraction) and a.denominator > 100:
                out.append(f"an answer {a} (denominator over 100)")
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("topic", CHAPTERS)
def test_every_variant_keeps_the_rules(topic: str, level: str) -> None:
    failures = []
    minutes = []
    for seed in range(SEEDS):
        ex = byhand.make(topic, seed=seed, level=level)
        broken = broken_rules(ex)
        if broken:
            failures.append((seed, broken))
        assert ex.minutes is not None
        minutes.append(ex.minutes)
    assert not failures, failures[:5]
    assert max(minutes) <= BUDGET[level] * 1.25, (topic, level, max(minutes))  # "about"


def test_the_rules_catch_a_bad_variant() -> None:
    """The checker itself can fail: a teacher's own numbers (taken as given, not sampled) that
    kill the first layer and fill the sheet with zeros are reported."""
    dead = {
        "X": [[1, 2], [1, 1]],
        "W1": [[-1, -1], [-1, -2]],
        "b1": [0, 0],
        "W2": [[1, 1], [1, -1]],
        "b2": [1, 0],
        "Y": [[0, 0], [0, 0]],
    }
    ex = byhand.make("backprop", level="medium", values=dead, inputs=2)
    broken = broken_rules(ex)
    assert "dW1 is all zero" in broken
    assert any("zeros" in b for b in broken)
    assert any("ReLU crosses nothing out" not in b for b in broken)
    assert broken_rules(byhand.make("backprop", seed=0, level="medium")) == []


def test_minutes_in_the_file_and_shaped_by_level() -> None:
    """The estimate travels in the exercise file (the schema lists it as optional), is read back,
    and grows with the level: hard backprop is longer than medium, but not four times as long."""
    import json

    mins = {lv: byhand.make("backprop", seed=3, level=lv).minutes for lv in LEVELS}
    assert mins["easy"] is not None and mins["medium"] is not None and mins["hard"] is not None
    assert mins["easy"] < mins["medium"] < mins["hard"] <= 2.5 * mins["medium"]
    ex = byhand.make("backprop", seed=3, level="hard")
    doc = json.loads(ex.to_json())
    assert doc["minutes"] == ex.minutes
    assert byhand.Exercise.from_json(doc).minutes == ex.minutes
    del doc["minutes"]
    assert byhand.Exercise.from_json(doc).minutes is None  # older files have none
    doc["minutes"] = "soon"
    with pytest.raises(byhand.FormatError):
        byhand.Exercise.from_json(doc)  # the schema wants a whole number
