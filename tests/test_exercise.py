"""The exercise file: round trip, schema, verification, checking answers, bad files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import byhand
from byhand.errors import FormatError, LimitError


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
    try:
        v = ex.check({"1": typed}).verdicts[0]
    except LimitError as e:  # "1e99999": over the answer limits, refused and named
        assert "(limit: answer" in str(e)
        return
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


# -- issue 11: strict input, one test per defect, each with its file under tests/data/bad ---------

BAD_DIR = __import__("pathlib").Path(__file__).parent / "data" / "bad"


def _bad(name: str) -> str:
    return (BAD_DIR / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "msg"),
    [
        ("attr_beside_op.json", "ops[0].base: unknown key; did you mean attrs.base?"),
        ("blank_unknown_key.json", "blanks[0].anwser: unknown key; did you mean answer?"),
        ("duplicate_tensor.json", "the key 'a' appears twice"),
        ("duplicate_attr.json", "the key 'base' appears twice"),
        ("badge_float.json", "at blanks[0].badge: 1.0 is not of type 'integer'"),
        ("seed_float.json", "at seed: 7.0 is not of type"),
        ("level_unknown.json", "at level: 'expert' is not one of"),
        ("bool_value.json", "at tensors.a.values[0]: true is not a number"),
        ("generator_blank.json", "at generator"),
        ("grad_wrt_list.json", "at ops[1].attrs.wrt: ['a'] is not of type 'string'"),
        ("identity_mismatch.json", "identity: the file says 'byhand:dot:seed=5:level=medium:v=0.1.0'"),
        ("identity_wrong_seed.json", 'that seed makes a[0] = −2, the file says 1; set "seed" to null'),
        ("steps_contradict.json", "steps[0]: the step for c says 6 but the cell is 5"),
        ("undetermined_blank.json", "blank 1 at a[0]: the shown cells allow more than one value"),
    ],
)
def test_strict_reader_names_the_place(name: str, msg: str) -> None:
    with pytest.raises(FormatError) as e:
        byhand.Exercise.from_json(_bad(name))
    assert msg in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("name", "msg"),
    [
        ("big_integer.json", "(limit: digits of a value, 100)"),
        ("big_fraction.json", "(limit: digits of a value, 100)"),
        ("cross_entropy_tiny_p.json", "(limit: digits of a value, 100)"),
        ("deep_nesting.json", "(limit: nesting depth, 32)"),
        ("softmax_e_1000.json", "op softmax → p: e^(z/T): the exponent 1000 is beyond ±100"),
        ("softmax_3_huge.json", "op softmax → p: 3^(z/T): the exponent 10000000"),
        ("sigmoid_minus_1000.json", "op sigmoid → s: e^−z: the exponent -1000"),
        ("temperature_tiny.json", "(limit: exponent, 100)"),
        ("square_40_times.json", "op mul → x8: a number with more than 100 digits"),
        ("stack_then_multiply.json", "(limit: side of a computed tensor, 64)"),
    ],
)
def test_over_a_limit_is_refused_before_computing(name: str, msg: str) -> None:
    import time

    t = time.perf_counter()
    with pytest.raises(LimitError) as e:
        byhand.Exercise.from_json(_bad(name))
    assert msg in str(e.value)
    assert time.perf_counter() - t < 2.0


def test_a_file_with_a_seed_must_regenerate_its_values() -> None:
    ex = byhand.make("linear", seed=7, level="medium")
    assert byhand.Exercise.from_json(ex.to_json()) == ex
    d = ex.to_dict()
    d["seed"] = None
    del d["identity"]
    assert byhand.Exercise.from_json(d).identity.startswith("byhand:linear:custom")  # a custom exercise is fine


@pytest.mark.parametrize(
    ("answer", "typed", "verdict"),
    [
        ("3/250", "0.0124", "wrong"),  # 3/250 ends: 0.012, so it must be written exactly
        ("3/250", "0.012", "correct"),  # … and 0.012 IS 3/250 exactly
        ("1/250", "0.0036", "wrong"),
        ("1/250", "0.004", "correct"),
        ("1/28", "0.036", "correct"),  # never ends: rounded to the sheet's 3 decimals
        ("1/28", "0.0357", "correct"),  # or finer, rounded right
        ("1/28", "0.0360", "wrong"),  # four decimals that are not 1/28 rounded
        ("1/3", "0.33", "wrong"),  # coarser than the sheet
        ("2/3", "0.667", "correct"),
    ],
)
def test_a_decimal_is_accepted_only_for_a_fraction_that_never_ends(answer: str, typed: str, verdict: str) -> None:
    ex = byhand.Exercise.from_json(_one(answer))
    assert ex.check({"1": typed}).verdicts[0].verdict == verdict


def test_answers_keyed_by_int_or_text_the_same_and_never_twice() -> None:
    ex = byhand.Exercise.from_json(_one("3/4"))
    assert ex.check({1: "3/4"}).verdicts[0].verdict == "correct"
    assert ex.check({"1": "3/4"}).verdicts[0].verdict == "correct"
    with pytest.raises(FormatError, match="badge 1 is given twice"):
        ex.check({1: "3/4", "1": "1"})
    with pytest.raises(FormatError, match="not a badge number"):
        ex.check({True: "3/4"})
    with pytest.raises(FormatError, match="true/false is not an answer"):
        ex.check({"1": True})


def test_an_answer_over_a_limit_is_refused_at_once() -> None:
    """`1e999999999` hung check (a billion-digit number); now it is refused before computing."""
    import time

    ex = byhand.Exercise.from_json(_one("3/4"))
    t = time.perf_counter()
    with pytest.raises(LimitError, match="answer exponent"):
        ex.check({"1": "1e999999999"})
    with pytest.raises(LimitError, match="answer length"):
        ex.check({"1": "1" * 101})
    assert time.perf_counter() - t < 0.5


def test_a_huge_answer_on_an_inexact_value_is_wrong_not_a_crash() -> None:
    ex = byhand.make("softmax", seed=1, level="hard", base="e")
    assert isinstance(ex.blanks[0].answer, float)
    assert ex.check({"1": "1e999"}).verdicts[0].verdict == "wrong"
    assert ex.check({"1": "-1e999"}).verdicts[0].verdict == "wrong"


@pytest.mark.parametrize("raw", [2.7, 2.0, True, "2.7", "two"])
def test_options_are_whole_numbers_never_rounded(raw: object) -> None:
    with pytest.raises(byhand.ByHandError, match="must be a whole number"):
        byhand.make("mlp", depth=raw)


def test_option_text_from_the_command_line_is_read() -> None:
    assert byhand.make("mlp", depth="3").options == {"depth": 3}


def test_a_dict_is_read_as_strictly_as_a_file() -> None:
    """The Python API reads a dict with the same strictness as a file."""
    d = json.loads(_bad("attr_beside_op.json"))
    with pytest.raises(FormatError, match="did you mean attrs.base"):
        byhand.Exercise.from_json(d)


@pytest.mark.parametrize("opts", [{"seed": 1}, {"stats": 1}, {"depth": 2.5}, {"base": 3}])
def test_options_that_are_not_the_chapters_are_named(opts: dict[str, object]) -> None:
    d = byhand.make("mlp", seed=1).to_dict()
    d["options"] = opts
    del d["identity"]
    with pytest.raises(FormatError, match="it cannot be regenerated"):
        byhand.Exercise.from_json(d)
