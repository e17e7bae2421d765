"""The command line: thin, clear, and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from byhand.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_topics_in_curriculum_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["topics"], capsys)
    assert code == 0
    names = [line.split()[1] for line in out.splitlines()]
    assert names == ["dot", "matmul", "linear", "relu", "mlp", "deep", "wide", "softmax", "cross-entropy", "gradient", "backprop", "resnet", "gradient-flow"]
    code, out, _ = run(["topics", "--format", "json"], capsys)
    assert json.loads(out)[0]["name"] == "dot"


def test_make_text_shows_badges_not_answers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["make", "linear", "--seed", "7", "--level", "easy"], capsys)
    assert code == 0
    assert "[1]" in out and "[2]" in out
    assert "Z = W·X + b" in out


def test_make_json_check_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = tmp_path / "ex.json"
    assert run(["make", "mlp", "--seed", "7", "--format", "json", "-o", str(ex)], capsys)[0] == 0
    doc = json.loads(ex.read_text())
    answers = {str(b["badge"]): str(b["answer"]) for b in doc["blanks"]}
    answers["1"] = "abc"
    (tmp_path / "a.json").write_text(json.dumps(answers))
    code, out, _ = run(["check", str(ex), str(tmp_path / "a.json")], capsys)
    assert code == 0
    assert "[1] ? not a number 'abc'" in out
    n = len(doc["blanks"])
    assert f"score: {n - 1}/{n}" in out
    code, out, _ = run(["check", str(ex), str(tmp_path / "a.json"), "--format", "json"], capsys)
    assert json.loads(out)["badges"]["1"]["verdict"] == "not a number"


def test_make_with_teacher_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v = tmp_path / "v.json"
    v.write_text(
        json.dumps({"W": [[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]], "b": [1, 1, 0], "X": [[2, -1], [1, 1], [2, 1], [1, 2]]})
    )
    code, out, _ = run(["make", "linear", "--values", str(v), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["tensors"]["Z"]["values"] == [[2, 1], [4, 3], [1, -2]]
    v.write_text(json.dumps({"W": [[1, 0]], "b": [1], "X": [[2], [1], [5]]}))
    code, _, err = run(["make", "linear", "--values", str(v)], capsys)
    assert code == 2 and "W (1×2) has 2 columns but X (3×1) has 3 rows" in err
    v.write_text(json.dumps({"W": [[1, 0]], "b": [1]}))
    code, _, err = run(["make", "linear", "--values", str(v)], capsys)
    assert code == 2 and "lack X" in err


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["make", "resnet9"], "no chapter named 'resnet9'"),
        (["make", "mlp", "--set", "depth=99"], "out of range"),
        (["make", "mlp", "--set", "depth"], "KEY=VALUE"),
        (["check", "/nonexistent.json", "/nonexistent2.json"], "does not exist"),
        (["make", "dot", "--values", "/nonexistent.json"], "does not exist"),
        (["make", "dot", "--level", "expert"], "Invalid value"),
        (["make", "dot", "-o", "/nonexistent-dir/x.txt"], "does not exist"),
    ],
)
def test_bad_input_one_line_nonzero(args: list[str], msg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(args, capsys)
    assert code != 0
    assert msg in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_answers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = tmp_path / "ex.json"
    main(["make", "dot", "--format", "json", "-o", str(ex)])
    (tmp_path / "a.json").write_text("[1, 2]")
    code, _, err = run(["check", str(ex), str(tmp_path / "a.json")], capsys)
    assert code == 2 and "keyed by badge" in err


def test_output_is_written_whole_or_not_at_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ex.json"
    out.write_text("precious")
    code, _, _ = run(["make", "nope", "-o", str(out)], capsys)
    assert code == 2
    assert out.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [out]


def test_stress_reports(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["stress", "mlp", "-n", "50", "--level", "medium", "--format", "json"], capsys)
    rep = json.loads(out)
    assert code == 0 and rep["variants"] == 50 and rep["failed"] == 0
    assert 0 < rep["acceptance_rate"] <= 1
    assert rep["distinct_variants"] == 50
    assert rep["breaking_a_rule"] == 0 and rep["zero_share_max"] <= 0.25 and rep["most_common_share_max"] <= 1 / 3
    code, out, _ = run(["stress", "backprop", "-n", "30"], capsys)  # every level, one row each
    rows = out.splitlines()
    assert code == 0 and rows[0].split()[:3] == ["level", "zeros", "top"]
    assert [r.split()[0] for r in rows[1:]] == ["easy", "medium", "hard"]
    assert all(r.split()[-1] == "0" for r in rows[1:])  # no variant breaks a rule


def test_installed_entry_point() -> None:
    r = subprocess.run([sys.executable, "-m", "byhand.cli", "make", "dot", "--seed", "3"], capture_output=True, text=True)
    assert r.returncode == 0 and "a·b" in r.stdout
