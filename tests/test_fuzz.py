"""Fuzz of the reader, ``check`` and ``solve``: thousands of mutated files and answers per run, and
only byhand's own errors may escape — no traceback, no hang, no runaway memory (issue 11).

The mutations live in tests/fuzz.py; benchmarks/fuzz.py runs many more and prints the figures.
Derandomized, so CI sees the same cases each run (a failure is replayable), within ~30 s.
"""

from __future__ import annotations

import random
import resource
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzz

CASES_PER_EXAMPLE = 10
EXAMPLES = 200  # 2,000 mutated files, each with mutated answers, read + checked + solved
BUDGET_S = 5.0  # per input; the slowest real one takes about 0.2 s
MEMORY_MB = 300  # growth of the peak resident memory over the whole run


def test_only_byhand_errors_escape_within_budget() -> None:
    docs = fuzz.seed_docs()
    counts: Counter[str] = Counter()
    crashes: list[str] = []
    slowest = [0.0]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.randoms(use_true_random=False))
    def run(rng: random.Random) -> None:
        for _ in range(CASES_PER_EXAMPLE):
            text = fuzz.mutate(rng.choice(docs), rng)
            outcome, dt, err = fuzz.run_case(text, fuzz.answers(rng), budget=BUDGET_S)
            counts["inputs"] += 1
            counts[outcome] += 1
            slowest[0] = max(slowest[0], dt)
            if err is not None:
                crashes.append(f"{outcome}: {err!r} on {text[:300]!r}")

    run()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(f"\nfuzz: {counts['inputs']} inputs, slowest {slowest[0]:.3f} s, peak memory +{grown_mb:.0f} MB")
    for k, v in counts.most_common(12):
        print(f"  {v:6}  {k}")
    assert not crashes, crashes[:3]
    assert counts["inputs"] >= EXAMPLES * CASES_PER_EXAMPLE
    assert slowest[0] < BUDGET_S
    assert grown_mb < MEMORY_MB
    assert counts["read|checked|solved"] > 0  # some inputs get through to check and solve


def test_the_fuzz_finds_a_planted_crash() -> None:
    """The harness itself can fail: an input that would crash an unguarded reader is reported as CRASH."""
    outcome, _, err = fuzz.run_case('{"format": "byhand-exercise/1"', {"1": object()})
    assert outcome.startswith("read:FormatError") and err is None
    import byhand

    real = byhand.Exercise.from_json
    try:
        byhand.Exercise.from_json = classmethod(lambda cls, t: 1 / 0)  # type: ignore[assignment]
        outcome, _, err = fuzz.run_case("{}", {})
    finally:
        byhand.Exercise.from_json = real  # type: ignore[method-assign]
    assert outcome == "CRASH" and isinstance(err, ZeroDivisionError)


def test_values_files_only_byhand_errors_escape() -> None:
    """`byhand make TOPIC --values FILE` with mutated teacher numbers: 500 inputs."""
    counts: Counter[str] = Counter()
    crashes: list[str] = []

    @settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=False))
    def run(rng: random.Random) -> None:
        for _ in range(CASES_PER_EXAMPLE):
            topic, level, text = fuzz.values_case(rng)
            outcome, dt, err = fuzz.run_values(topic, level, text, budget=BUDGET_S)
            counts[outcome] += 1
            if err is not None:
                crashes.append(f"{outcome}: {err!r} on {topic} {text[:300]!r}")

    run()
    print(f"\nvalues fuzz: {sum(counts.values())} inputs: {dict(counts)}")
    assert not crashes, crashes[:3]
    assert counts["made"] > 0
