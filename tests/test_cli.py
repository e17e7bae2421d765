"""The command line: thin, clear, and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from byhand.cli import main
from byhand.seal import TOPIC_IDS


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_topics_in_curriculum_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["topics"], capsys)
    assert code == 0
    names = [line.split()[1] for line in out.splitlines()]
    assert names[:13] == ["dot", "matmul", "linear", "relu", "mlp", "deep", "wide", "softmax", "cross-entropy", "gradient", "backprop", "resnet", "gradient-flow"]
    assert names == [t for t in TOPIC_IDS if t in names]  # the new chapters follow in the order of their sealed ids
    assert {"rnn", "moe", "autoencoder", "sampling", "connections", "dropout", "batch-norm", "attention", "transformer", "multi-head", "embeddings", "lstm", "conv", "gan"} <= set(names)
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


# -- issue 11: strict input and files like a Unix tool ------------------------------------------

BAD = Path(__file__).parent / "data" / "bad"


def test_a_limit_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(BAD / "softmax_3_huge.json"), str(BAD / "duplicate_answers.json")], capsys)
    assert code == 2 and "(limit: exponent, 100)" in err and len(err.strip().splitlines()) == 1


def test_duplicate_keys_in_answers_and_values_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = tmp_path / "ex.json"
    assert main(["make", "dot", "--seed", "1", "--format", "json", "-o", str(ex)]) == 0
    code, _, err = run(["check", str(ex), str(BAD / "duplicate_answers.json")], capsys)
    assert code == 2 and "the key '1' appears twice" in err
    code, _, err = run(["make", "linear", "--values", str(BAD / "duplicate_values.json")], capsys)
    assert code == 2 and "the key 'W' appears twice" in err


def test_an_answer_that_would_hang_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = tmp_path / "ex.json"
    main(["make", "dot", "--seed", "1", "--format", "json", "-o", str(ex)])
    (tmp_path / "a.json").write_text('{"1": "1e999999999"}')
    code, _, err = run(["check", str(ex), str(tmp_path / "a.json")], capsys)
    assert code == 2 and "(limit: answer exponent, 1000)" in err


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_output_respects_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    import os

    old = os.umask(umask)
    try:
        assert main(["make", "dot", "-o", str(tmp_path / "a.txt")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("old")
    p.chmod(0o640)
    assert main(["make", "dot", "-o", str(p)]) == 0
    assert p.stat().st_mode & 0o777 == 0o640 and "a·b" in p.read_text()


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    assert main(["make", "dot", "-o", str(link)]) == 0
    assert link.is_symlink() and "a·b" in (tmp_path / "real.txt").read_text()


def test_a_full_device_is_an_error_and_stays_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    import stat

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    code, _, err = run(["make", "dot", "-o", "/dev/full"], capsys)
    assert code == 2 and "cannot write /dev/full: No space left on device" in err
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_a_failed_class_set_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["sheet", "dot", "--students", "2", "-o", str(tmp_path / "class.pdf"), "--key", str(tmp_path / "nodir/k.pdf")], capsys)
    assert code == 2 and "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_a_run_is_all_or_nothing(tmp_path: Path) -> None:
    """The second output fails while being written: the first is not left behind, nor any temp file."""
    from byhand.cli import write_files, write_pages
    from byhand.errors import ByHandError

    if Path("/dev/full").exists():
        with pytest.raises(ByHandError, match="No space left"):
            write_files([(str(tmp_path / "class.pdf"), b"%PDF"), ("/dev/full", b"key")])
        assert list(tmp_path.iterdir()) == []
    (tmp_path / "s-3.png").mkdir()  # frame 3 cannot be written
    with pytest.raises(ByHandError, match="is a folder"):
        write_pages([b"1", b"2", b"3"], "png", str(tmp_path / "s.png"), "x")
    assert [p.name for p in tmp_path.iterdir()] == ["s-3.png"]


@pytest.mark.parametrize(("redirect", "msg"), [(">&-", "standard output is closed"), ("> /dev/full", "No space left on device")])
def test_a_closed_or_failing_stdout_is_an_error(redirect: str, msg: str) -> None:
    if "full" in redirect and not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    r = subprocess.run(
        ["sh", "-c", f'"$0" -m byhand.cli make dot {redirect}', sys.executable], capture_output=False, stderr=subprocess.PIPE, text=True
    )
    assert r.returncode == 2
    assert f"byhand: error: cannot write to standard output: {msg}" in r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


def test_values_files_and_solve_meet_the_same_limits(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    t = time.perf_counter()
    code, _, err = run(["make", "softmax", "--values", str(BAD / "softmax_values_huge.json")], capsys)
    assert code == 2 and "the exponent 10000000 is beyond ±100" in err
    code, _, err = run(["solve", str(BAD / "stack_then_multiply.json")], capsys)
    assert code == 2 and "(limit: side of a computed tensor, 64)" in err
    code, _, err = run(["solve", str(BAD / "square_40_times.json")], capsys)
    assert code == 2 and "(limit: digits of a value, 100)" in err
    assert time.perf_counter() - t < 5


def test_an_endless_input_is_refused_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    code, _, err = run(["check", "/dev/zero", "/dev/zero"], capsys)
    assert code == 2 and "larger than 5 MB" in err
    r = subprocess.run(["sh", "-c", '"$0" -m byhand.cli check - x <&-', sys.executable], capture_output=True, text=True)
    assert r.returncode == 2 and "standard input is closed" in r.stderr


def test_make_writes_the_format_its_output_file_names(tmp_path: Path) -> None:
    # "-o sheet.pdf" is a PDF a teacher can print, not the text sheet in a file named .pdf
    for name, start in [("s.pdf", b"%PDF-"), ("s.json", b"{"), ("s.txt", b"Linear")]:
        assert main(["make", "linear", "--seed", "3", "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(start), name
    # an explicit --format still wins over the extension
    assert main(["make", "linear", "--seed", "3", "--format", "json", "-o", str(tmp_path / "j.txt")]) == 0
    assert json.loads((tmp_path / "j.txt").read_text())["format"] == "byhand-exercise/1"
