"""Every chapter × level × 200 seeds: torch replays the JSON to the same values, every blank is
uniquely determined by the shown cells, every value a student writes is hand-friendly, the JSON
round-trips, and seeds give reproducible, distinct variants."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import byhand
from byhand.engine.solver import solve
from byhand.engine.tensor import indices
from byhand.topics import _space, resolve_options
from byhand.topics import get as get_topic
from tests.oracle import assert_matches

SEEDS = range(200)
CHAPTERS = [t.name for t in byhand.topics()]
LEVELS = ["easy", "medium", "hard"]
BOUND = {"easy": 20, "medium": 30, "hard": 50}
POWER_BOUND = 3**6  # the softmax's 3ᶻ column and its Σ: the method's own numbers go that high (3⁵ = 243, Σ 250)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("topic", CHAPTERS)
def test_chapter_variants(topic: str, level: str) -> None:
    distinct = set()
    for seed in SEEDS:
        ex = byhand.make(topic, seed=seed, level=level)
        doc = ex.to_dict()
        # 1. an independent program (torch) replays the file to the same numbers
        assert_matches(doc)
        # 2. every blank is determined by the shown cells, one step at a time, with its answer
        g = ex.graph
        powers = {n.out for n in g.forward_nodes if n.op in ("exp", "colsum")}
        blank = set(ex.blank_cells())
        assert blank, "an exercise asks for something"
        known = {(n, i): ex.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) not in blank}
        sol = solve(g, known, blank, eliminate=False)
        assert not sol.undetermined, (ex.identity, sol.undetermined)
        assert not sol.inconsistent
        for b in ex.blanks:
            for c in b.cells:
                assert sol.values[c] == b.answer
        # 3. hand-friendly: answers are small integers, or fractions with small denominators
        for b in ex.blanks:
            a = b.answer
            assert not isinstance(a, float), "by-hand answers are exact"
            assert abs(a) <= (POWER_BOUND if b.cells[0][0] in powers else BOUND[level]), (ex.identity, a)
            if isinstance(a, Fraction):
                assert a.denominator <= 1000
        for name, t in ex.values.items():
            for v in t.data:
                if not isinstance(v, float):
                    assert abs(v) <= (POWER_BOUND * 4 if name in powers else 50), (ex.identity, name, v)
        # pedagogy: ReLU has something to cross out; no weight row is all zeros
        for n in g.forward_nodes:
            if n.op == "linear" and n.ins[0] in g.leaves:
                w = ex.values[n.ins[0]]
                assert all(any(w.row(i)) for i in range(w.shape[0]))
        layer_inputs = {n.ins[-1] for n in g.forward_nodes if n.op in ("linear", "matmul")}
        for name in g.leaves:
            t = ex.values[name]
            if name in layer_inputs and len(t.shape) == 2 and t.shape[1] > 1:
                assert all(any(t.row(i)) for i in range(t.shape[0])), (ex.identity, name)
        relus = [n for n in g.forward_nodes if n.op in ("relu", "leaky_relu")]
        if relus:
            assert any(v < 0 for n in relus for v in ex.values[n.ins[0]].data), ex.identity
        # 4. the file round-trips and stays valid JSON
        text = ex.to_json()
        again = byhand.Exercise.from_json(text)
        assert again == ex
        assert json.loads(again.to_json()) == json.loads(text)
        distinct.add(json.dumps({n: doc["tensors"][n]["values"] for n in g.leaves}))
    # 5. a class of 40 gets 40 different exercises (and 200 seeds nearly 200)
    m = get_topic(topic)
    if hasattr(m, "space"):  # few variants, all listed: consecutive seeds walk them without repeats
        n = len(_space(m, resolve_options(m, level, {})))
        assert len(distinct) == min(len(SEEDS), n), (topic, level, len(distinct), n)
    else:
        assert len(distinct) >= 0.8 * len(SEEDS), (topic, level, len(distinct))


@pytest.mark.parametrize("topic", CHAPTERS)
def test_same_seed_same_exercise(topic: str) -> None:
    a = byhand.make(topic, seed=11, level="medium").to_json()
    b = byhand.make(topic, seed=11, level="medium").to_json()
    assert a == b
    assert byhand.make(topic, seed=12, level="medium").to_json() != a


def test_forty_students_forty_variants() -> None:
    for topic in CHAPTERS:
        docs = {byhand.make(topic, seed=s, level="medium").to_json() for s in range(100, 140)}
        assert len(docs) == 40, topic


def test_options_change_the_sheet() -> None:
    ex = byhand.make("backprop", seed=1, level="medium", depth=4, width=2)
    assert ex.graph.shapes["W4"] == (2, 2)
    assert ex.options == {"depth": 4}
    assert "depth=4" in ex.identity


def test_bad_options_are_clear() -> None:
    with pytest.raises(byhand.ByHandError, match="no option 'colour'"):
        byhand.make("mlp", colour=3)
    with pytest.raises(byhand.ByHandError, match="out of range"):
        byhand.make("deep", depth=99)
    with pytest.raises(byhand.ByHandError, match="whole number"):
        byhand.make("deep", depth="abc")
    with pytest.raises(byhand.UnknownTopicError, match="chapters are"):
        byhand.make("resnets")
    with pytest.raises(byhand.ByHandError, match="level"):
        byhand.make("dot", level="impossible")
    with pytest.raises(byhand.ByHandError, match="seed"):
        byhand.make("dot", seed=-1)


def test_no_variant_says_whether_the_seed_or_the_options_are_at_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Try another seed' is advice only when another seed works: nearby seeds are tried and named, and options
    with no friendly variant at all are named instead (attention over 5 tokens: no lcm of its softmax columns fits)."""
    with pytest.raises(byhand.GenerationError, match=r"no hand-friendly attention variant with tokens=5 \(seeds 1 to 4 "):
        byhand.make("attention", seed=1, tokens=5)
    m = get_topic("dot")
    real, calls = m.sample, []

    def unlucky(*a: object) -> object:  # the first seed's 50 draws all fail, the next seed's first draw works
        calls.append(1)
        if len(calls) <= 50:
            raise byhand.GenerationError("unlucky draw")
        return real(*a)

    monkeypatch.setattr(m, "sample", unlucky)
    with pytest.raises(byhand.GenerationError, match=r"no hand-friendly dot variant for seed 7 after 50 tries; seed 8 has one"):
        byhand.make("dot", seed=7)
