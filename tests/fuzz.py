"""Mutated exercise files and answers, for the fuzz test (tests/test_fuzz.py) and its longer run
(benchmarks/fuzz.py). Everything is driven by one ``random.Random``, so Hypothesis can replay and
shrink a case, and the benchmark can print the seed of the slowest one.

A case is a byhand exercise file (or a teacher's file with nulls, for ``solve``) mutated one to
three times at the JSON level (a value replaced by a hostile one, a key dropped or added, a
number nudged, a cell made null) or at the text level (a key twice, a 5,000-digit number,
NaN, nesting 3,000 deep, a cut or a stray character), plus a dict of answers drawn from tricky
strings. ``run_case`` feeds it to ``Exercise.from_json``, ``check`` and ``byhand.solve`` and
returns the outcome; anything but a :class:`byhand.ByHandError` escaping is a crash.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Iterator
from typing import Any

import byhand
from byhand.engine.values import to_json
from byhand.errors import ByHandError

RAW = "\u0000RAW{}\u0000"
RAW_LITERALS = [
    "9" * 5000,
    "-" + "7" * 4400,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "1e-999",
    "1" * 120,
    "[" * 3000 + "1" + "]" * 3000,
    "{" + '"a": {' * 2000 + "1" + "}" * 2000 + "}",
    '"' + "1/" + "3" * 200 + '"',
]

POOL: list[Any] = [
    0, 1, -1, 2, 3, 7, 10, 16, 17, 64, 65, 100, 101, 1000, -1000, 10**7, 10**30, 2**63, -(2**63),
    1.0, 7.0, 0.5, -0.5, 1e-300, 1e300, 1e308, -1e308, 5e-324, 709.0, 710.0,
    True, False, None, "", " ", "x", "e", "E", "3", "3/4", "1/0", "0/0", "-5", "+5", "\u22122", "1e999999999",
    "1/" + "9" * 99, "1/" + "9" * 101, "99999999999999999999999999/7",
    "softmax", "sigmoid", "grad", "div", "hstack", "stack", "matmul", "cross_entropy", "relu", "leaky_relu",
    "W", "W1", "X", "Z", "Z1", "A1", "P", "Y", "L", "a", "b", "c",
    [], [1], [[1]], [[1, 2], [3]], [None], [[None, 1], [2, 3]], [True], [1.0, 2.0], [1] * 17, [1] * 65, [[1] * 16] * 16,
    {}, {"a": 1}, {"base": 3}, {"base": "e"}, {"base": 1}, {"temperature": "1/1000"}, {"temperature": 0}, {"alpha": "1/10"},
    {"seed": 1}, {"stats": 1}, {"level": "easy"}, {"depth": 2.5}, {"depth": True}, {"values": "given"}, {"base": 3},
    {"of": "L", "wrt": ["W"]}, {"of": "L", "wrt": "L"}, {"values": None}, {"values": [1, 2]},
    ["c", []], [["c", []]], ["W", [0, 0]], ["W", [99, 0]], ["W", [-1, 0]], ["W", [0.0, 0]],
    RAW,
]

KEYS = [
    "base", "alpha", "temperature", "of", "wrt", "foo", "values", "badge", "answer", "cells", "op", "in", "out", "attrs",
    "steps", "seed", "level", "identity", "generator", "precision", "role", "label", "format", "tensors", "ops", "blanks",
]

ANSWERS: list[Any] = [
    "5", "-5", "\u22125", "+5", "3/4", "0.75", "0.0124", "0.012", "0.036", "1/0", "0/0", "abc", "", " ", "1e999",
    "1e999999999", "-1e999", "1e-999", "nan", "inf", "Infinity", "1" * 100, "1" * 101, "x" * 1000, "1,5", "1/2/3",
    "  -3 / 4 ", "1e3", "٣", "½", 5, -2, 0.5, 1e300, True, None, [1], {"a": 1},
]

TOPICS = [
    ("dot", "medium", {}), ("dot", "hard", {}), ("matmul", "hard", {}), ("linear", "hard", {}), ("relu", "hard", {}),
    ("mlp", "easy", {}), ("softmax", "hard", {}), ("softmax", "medium", {"base": "e"}), ("cross-entropy", "medium", {}),
    ("gradient", "hard", {}), ("backprop", "easy", {"depth": 2}), ("resnet", "easy", {"blocks": 1}), ("gradient-flow", "easy", {}),
    ("attention", "hard", {}), ("transformer", "easy", {}), ("multi-head", "easy", {}), ("embeddings", "hard", {}),
]
TOPICS.append(("rnn", "hard", {}))  # the new chapters, one line each (issues 12 and 13)
TOPICS.append(("lstm", "hard", {}))


def seed_docs() -> list[str]:
    """The unmutated files: one exercise per chapter, and the same as a teacher's file with nulls."""
    out = []
    for topic, level, opts in TOPICS:
        ex = byhand.make(topic, seed=1, level=level, **opts)
        out.append(ex.to_json())
        d = ex.to_dict()
        for b in d.pop("blanks"):
            for name, idx in b["cells"]:
                v = d["tensors"][name]["values"]
                if not idx:
                    d["tensors"][name]["values"] = None
                elif len(idx) == 1:
                    v[idx[0]] = None
                else:
                    v[idx[0]][idx[1]] = None
        for k in ("steps", "identity", "seed"):
            d.pop(k, None)
        out.append(json.dumps(d))
        custom = ex.to_dict()  # no seed: a teacher's own complete exercise, so values reach the engine
        for k in ("steps", "identity", "seed"):
            custom.pop(k, None)
        out.append(json.dumps(custom))
    return out


def _paths(obj: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every value inside obj."""
    stack = [obj]
    while stack:
        o = stack.pop()
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
        for k, v in items:
            yield o, k
            if isinstance(v, (dict, list)):
                stack.append(v)


def _pool(rng: random.Random) -> Any:
    v = rng.choice(POOL)
    return json.loads(json.dumps(v))  # a fresh copy


def mutate(text: str, rng: random.Random) -> str:
    doc = json.loads(text)
    for _ in range(rng.randint(1, 3)):
        region = rng.choices(["tensors", "ops", "blanks", None, "steps"], [40, 25, 15, 15, 5])[0]
        root = doc.get(region) if isinstance(doc, dict) and region else doc
        places = list(_paths(root)) if isinstance(root, (dict, list)) else []
        if region is None and isinstance(doc, dict):
            places = [(doc, k) for k in doc] or places
        if not places:
            places = list(_paths(doc))
        if not places:
            break
        parent, key = rng.choice(places)
        kind = rng.randrange(8)
        if kind <= 2:
            parent[key] = _pool(rng)
        elif kind == 3 and isinstance(parent, dict):
            del parent[key]
        elif kind == 3 and isinstance(parent, list) and parent:
            parent.pop(key if key < len(parent) else -1)
        elif kind == 4:
            target = parent[key] if isinstance(parent[key], dict) else (parent if isinstance(parent, dict) else doc)
            target[rng.choice(KEYS)] = _pool(rng)
        elif kind == 5 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            x = parent[key]
            parent[key] = rng.choice([x + 1, -x, x * 1000, x + 0.5, str(x), float(x), x * 10**40, x / 3])
        elif kind == 6:
            parent[key] = None
        elif kind == 7 and isinstance(parent[key], list) and parent[key]:
            parent[key].append(json.loads(json.dumps(parent[key][0])))
        else:
            parent[key] = _pool(rng)
    out = json.dumps(doc, ensure_ascii=False)
    while RAW in out or json.dumps(RAW)[1:-1] in out:
        out = out.replace(json.dumps(RAW), rng.choice(RAW_LITERALS), 1)
    r = rng.random()
    if r < 0.08:  # a key twice
        i = out.find('": ', rng.randrange(max(1, len(out))))
        j = out.rfind(', "', 0, i) if i > 0 else -1
        if i > 0 and j > 0:
            pair = out[j + 2 : out.find(",", i) if out.find(",", i) > 0 else i + 3]
            out = out[: j + 2] + pair + ", " + out[j + 2 :]
    elif r < 0.12:  # cut short
        out = out[: rng.randrange(len(out))]
    elif r < 0.15:  # a stray character
        k = rng.randrange(len(out))
        out = out[:k] + rng.choice('{}[],:"x0-.e\\') + out[k:]
    return out


def answers(rng: random.Random) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for _ in range(rng.randint(0, 6)):
        key = rng.choice([str(rng.randint(0, 12)), rng.randint(0, 12), "x", "01", " 1"])
        out[key] = rng.choice(ANSWERS)
    return out


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run_case(text: str, given: dict[Any, Any], budget: float = 10.0) -> tuple[str, float, BaseException | None]:
    """Read, check and solve one input. Returns (outcome, seconds, crash): outcome is 'ok',
    the ByHandError class name of the first refusal, or 'CRASH'/'HANG'."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    t = time.perf_counter()
    outcome = ""
    try:
        try:
            ex = byhand.Exercise.from_json(text)
            _ = ex.steps
            try:
                ex.check(given)
                outcome = "read|checked"
            except ByHandError as e:
                outcome = f"read|check:{type(e).__name__}"
        except ByHandError as e:
            outcome = f"read:{type(e).__name__}"
        try:
            byhand.solve(text)
            outcome += "|solved"
        except ByHandError as e:
            outcome += f"|solve:{type(e).__name__}"
        return outcome, time.perf_counter() - t, None
    except Hang as e:
        return "HANG", time.perf_counter() - t, e
    except Exception as e:  # noqa: BLE001 - the point: nothing but a ByHandError may escape
        return "CRASH", time.perf_counter() - t, e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


VALUE_TOPICS = [("linear", "medium"), ("relu", "hard"), ("softmax", "medium"), ("cross-entropy", "medium"), ("mlp", "easy")]


def values_case(rng: random.Random) -> tuple[str, str, str]:
    """A teacher's --values file for a chapter, mutated: (topic, level, JSON text)."""
    topic, level = rng.choice(VALUE_TOPICS)
    ex = byhand.make(topic, seed=rng.randrange(50), level=level)
    leaves = {name: ex.values[name].to_nested(to_json) for name in ex.graph.leaves}
    return topic, level, mutate(json.dumps({"tensors": leaves}), rng)


def run_values(topic: str, level: str, text: str, budget: float = 10.0) -> tuple[str, float, BaseException | None]:
    """``byhand make TOPIC --values FILE``, as the CLI does it."""
    from byhand.exercise import parse_json

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    t = time.perf_counter()
    try:
        try:
            doc = parse_json(text, "values file")
            values = doc.get("tensors", doc) if isinstance(doc, dict) else doc
            byhand.make(topic, level=level, values=values)
            return "made", time.perf_counter() - t, None
        except ByHandError as e:
            return f"values:{type(e).__name__}", time.perf_counter() - t, None
    except Hang as e:
        return "HANG", time.perf_counter() - t, e
    except Exception as e:  # noqa: BLE001
        return "CRASH", time.perf_counter() - t, e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
