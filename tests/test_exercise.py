"""The exercise file: round trip, schema, verification, checking answers, bad files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import byhand
from byhand.errors import FormatError


@pytest.fixture(scope="module")
def ex() -> byhand.Exercise:
    return byhand.make("relu", seed=7, level="medium")


def test_json_has_the_contract_fields(ex: byhand.Exercise) -> None:
    d = json.loads(ex.to_json())
    assert d["format"] == "byhand-exercise/1"
    for k in ("topic", "title", "seed", "level", "generator", "tensors", "ops", "blanks", "steps"):
        assert k in d
    assert d["generator"] == f"byhand {byhand.__version__}"
    assert d["ops"][0] == {"op": "linear", "in": ["W1", "b1", "X"], "out": "Z1"}
    step = d["steps"][0]
    assert (
        step["cell"] == ["Z1", [0, 0]]
        and step["uses"][0] == ["W1", [0, 0]]
        and step["text"].endswith(f"= {step['value']}".replace("-", "−"))
    )
    import jsonschema

    jsonschema.validate(d, byhand.schema())


def test_round_trip(ex: byhand.Exercise) -> None:
    assert byhand.Exercise.from_json(ex.to_json()) == ex
    assert byhand.Exercise.from_json(ex.to_dict()) == ex


def test_check_verdicts(ex: byhand.Exercise) -> None:
    a = {k: str(v) for k, v in ex.answers().items()}
    assert ex.check(a).score == 1.0
    first = ex.blanks[0]
    res = ex.check({str(first.badge): "abc", "999": "1"})
    v = res.verdicts[0]
    assert v.verdict == "not a number"
    assert res.verdicts[1].verdict == "blank"
    assert res.unknown_badges == ["999"]
    assert res.score == 0.0
    wrong = ex.check({str(first.badge): str(first.answer + 1)}).verdicts[0]
    assert wrong.verdict == "wrong"


@pytest.mark.parametrize("typed", ["-5", "−5", " -5 ", "-5.0", "-10/2", "-5,0"])
def test_integer_answers_in_any_spelling(typed: str) -> None:
    ex = byhand.Exercise.from_json(_one("-5"))
    assert ex.check({"1": typed}).verdicts[0].verdict == "correct"


@pytest.mark.parametrize(
    ("answer", "typed", "ok"),
    [
        ("3/4", "0.75", True),
        ("3/4", "3/4", True),
        ("3/4", "6/8", True),
        ("3/4", "0.7", False),
        ("1/28", "0.036", True),
        ("1/28", "0.04", False),
        ("1/28", "1/27", False),
        ("3/4", "1/0", False),
    ],
)
def test_fraction_answers(answer: str, typed: str, ok: bool) -> None:
    ex = byhand.Exercise.from_json(_one(answer))
    assert ex.check({"1": typed}).verdicts[0].correct is ok


@given(st.text(max_size=30))
def test_check_never_crashes_on_any_typed_text(typed: str) -> None:
    ex = byhand.Exercise.from_json(_one("3/4"))
    v = ex.check({"1": typed}).verdicts[0]
    assert v.verdict in ("correct", "wrong", "blank", "not a number")


def _one(value: str) -> str:
    return json.dumps(
        {
            "format": "byhand-exercise/1",
            "tensors": {"a": {"values": value}, "b": {"values": 1}},
            "ops": [{"op": "mul", "in": ["a", "b"], "out": "c"}],
            "blanks": [{"badge": 1, "cells": [["c", []]], "answer": value}],
        }
    )


BAD = [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"format": "other/2", "tensors": {}, "ops": []}', "format"),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1]}}, "ops": [{"op": "conv9", "in": ["a"], "out": "b"}]}',
        "unknown op 'conv9'",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1, 2]}, "b": {"values": [1]}}, "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}]}',
        "one length",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1]}}, "ops": [{"op": "dot", "in": ["a", "q"], "out": "c"}]}',
        "'q' is used by an op but not given",
    ),
    ('{"format": "byhand-exercise/1", "tensors": {"a": {"values": [[1, 2], [3]]}}, "ops": []}', "list of equal rows"),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1, null]}}, "ops": []}',
        "only allowed in files given to 'byhand solve'",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [2]}, "b": {"values": [3]}, "c": {"values": 7}}, "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}]}',
        "the file says 7 but the ops give 6",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [2]}, "b": {"values": [3]}}, "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}], "blanks": [{"badge": 1, "cells": [["c", []]], "answer": 5}]}',
        "is not the value of c",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [2]}, "b": {"values": [3]}}, "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}], "blanks": [{"badge": 1, "cells": [["c", [4]]], "answer": 6}]}',
        "outside it",
    ),
    ('{"format": "byhand-exercise/1", "tensors": {"a": {"values": "x/0"}}, "ops": []}', "at tensors.a.values"),
    ('{"format": "byhand-exercise/1", "tensors": {"a": {"values": "3/0"}}, "ops": []}', "divides by zero"),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1]}}, "ops": [{"op": "relu", "in": ["a"], "out": "a"}]}',
        "defined twice",
    ),
    (
        '{"format": "byhand-exercise/1", "tensors": {"a": {"values": [1]}}, "ops": [{"op": "relu", "in": ["a"], "out": "b", "attrs": {"alpha": 1}}]}',
        "unknown attribute 'alpha'",
    ),
]


@pytest.mark.parametrize(("text", "msg"), BAD)
def test_bad_files_get_one_clear_line(text: str, msg: str) -> None:
    with pytest.raises(FormatError) as e:
        byhand.Exercise.from_json(text)
    assert msg in str(e.value)
    assert "\n" not in str(e.value)


def test_huge_file_is_refused() -> None:
    with pytest.raises(FormatError, match="larger than"):
        byhand.Exercise.from_json("[" + "1," * 2_000_000 + "1]")


def test_same_value_twice_shares_a_badge() -> None:
    """C and its transpose ask for the same values twice: one badge per value, two cells each."""
    doc = {
        "format": "byhand-exercise/1",
        "tensors": {
            "A": {"values": [[1, 2], [0, 1]]},
            "B": {"values": [[1, 0], [1, 1]]},
            "C": {"values": None},
            "CT": {"values": None},
        },
        "ops": [{"op": "matmul", "in": ["A", "B"], "out": "C"}, {"op": "transpose", "in": ["C"], "out": "CT"}],
    }
    ex = byhand.solve(doc)
    assert len(ex.blanks) == 4
    assert all(len(b.cells) == 2 for b in ex.blanks)
    b = next(b for b in ex.blanks if ("C", (0, 1)) in b.cells)
    assert b.cells == [("C", (0, 1)), ("CT", (1, 0))] and b.answer == 2
