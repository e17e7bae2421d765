"""The degradation experiment (``byhand experiment resnet``), its quick version: files, numbers, gradient flow."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from byhand.errors import ByHandError  # noqa: E402
from byhand.experiment import (  # noqa: E402
    GRADIENT_COLUMNS,
    KINDS,
    METRIC_COLUMNS,
    QUICK_DEPTHS,
    QUICK_EPOCHS,
    Result,
    run_resnet_experiment,
)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    out = tmp_path_factory.mktemp("experiment")
    result = run_resnet_experiment(quick=True, seed=0, out_dir=out, progress=lambda done, total: calls.append((done, total)))
    return result, calls


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_files_written(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    result, _ = quick
    for p in (result.png, result.metrics_csv, result.gradients_csv):
        assert p.is_file() and p.stat().st_size > 0
    assert result.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(result.png.parent.glob(".*.tmp")), "a temp file was left behind"
    PIL = pytest.importorskip("PIL.Image")
    with PIL.open(result.png) as im:
        w, h = im.size
    assert w > 2 * h > 400  # three panels side by side


def test_metrics_csv(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    result, _ = quick
    columns, rows = _rows(result.metrics_csv)
    assert tuple(columns) == METRIC_COLUMNS
    assert len(rows) == len(QUICK_DEPTHS) * len(KINDS) * (QUICK_EPOCHS + 1)  # epoch 0 is the untrained network
    for depth in QUICK_DEPTHS:
        for kind in KINDS:
            epochs = sorted(int(r["epoch"]) for r in rows if int(r["depth"]) == depth and r["kind"] == kind)
            assert epochs == list(range(QUICK_EPOCHS + 1))
    for r in rows:
        for col in ("train_loss", "test_loss"):
            assert math.isfinite(float(r[col])) and float(r[col]) >= 0
        for col in ("train_error", "test_error"):
            assert 0 <= float(r[col]) <= 1
    # the CSV holds the same numbers as the result
    assert [float(r["train_loss"]) for r in rows] == [m["train_loss"] for m in result.metrics]


def test_gradients_csv(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    result, _ = quick
    columns, rows = _rows(result.gradients_csv)
    assert tuple(columns) == GRADIENT_COLUMNS
    assert len(rows) == sum(QUICK_DEPTHS) * len(KINDS)  # one row per weight layer
    for depth in QUICK_DEPTHS:
        for kind in KINDS:
            layers = [int(r["layer"]) for r in rows if int(r["depth"]) == depth and r["kind"] == kind]
            assert layers == list(range(1, depth + 1))
    assert all(math.isfinite(float(r["grad_norm"])) and float(r["grad_norm"]) > 0 for r in rows)


def test_gradient_vanishes_without_skips(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    """At initialisation the plain net's gradient shrinks towards the input; with skips it does not.

    Measured over seeds 0–7 at depth 12: plain first/last layer ratio 1e-3…4e-3, residual 0.9…1.1;
    the bounds below leave a wide margin.
    """
    result, _ = quick
    deep = max(QUICK_DEPTHS)
    plain = result.grad_norms(deep, "plain")
    residual = result.grad_norms(deep, "residual")
    assert plain[0] < plain[-1] * 0.05
    assert 0.2 < residual[0] / residual[-1] < 5
    assert residual[0] > 10 * plain[0]


def test_deep_residual_trains_faster_than_deep_plain(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    result, _ = quick
    deep = max(QUICK_DEPTHS)
    plain, residual = result.final(deep, "plain"), result.final(deep, "residual")
    assert residual["train_loss"] < plain["train_loss"]
    assert plain["train_loss"] > 2.0  # still near chance, ln 10 ≈ 2.30, after the quick run's 3 epochs


def test_progress_and_summary(quick: tuple[Result, list[tuple[int, int]]]) -> None:
    result, calls = quick
    total = len(QUICK_DEPTHS) * len(KINDS) * (QUICK_EPOCHS + 1)
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}
    text = result.summary()
    assert len(text.splitlines()) == 1 + len(QUICK_DEPTHS) * len(KINDS)
    assert "residual" in text and "plain" in text


def test_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ra = run_resnet_experiment(depths=(4,), epochs=1, quick=True, seed=3, out_dir=a)
    rb = run_resnet_experiment(depths=(4,), epochs=1, quick=True, seed=3, out_dir=b)
    assert ra.metrics_csv.read_bytes() == rb.metrics_csv.read_bytes()
    assert ra.gradients_csv.read_bytes() == rb.gradients_csv.read_bytes()


def test_independent_of_global_torch_settings(tmp_path: Path) -> None:
    """tests/oracle.py sets torch's default dtype to float64 for the whole session; the experiment must not care."""
    import torch

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
    try:
        torch.set_default_dtype(torch.float32)
        ra = run_resnet_experiment(depths=(4,), epochs=1, quick=True, out_dir=a)
        torch.set_default_dtype(torch.float64)
        rb = run_resnet_experiment(depths=(4,), epochs=1, quick=True, out_dir=b)
        assert torch.get_default_dtype() == torch.float64  # restored
    finally:
        torch.set_default_dtype(old_dtype)
    assert torch.get_num_threads() == old_threads
    assert ra.metrics_csv.read_bytes() == rb.metrics_csv.read_bytes()


@pytest.mark.parametrize(
    "kwargs",
    [{"depths": (5,)}, {"depths": (0,)}, {"depths": ()}, {"epochs": 0}, {"lr": -1.0}, {"width": 1}],
)
def test_bad_settings(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ByHandError):
        run_resnet_experiment(quick=True, out_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ByHandError, match="does not exist"):
        run_resnet_experiment(quick=True, out_dir=tmp_path / "nope")


def test_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ByHandError, match=r"pip install 'byhand\[experiment\]'") as e:
        run_resnet_experiment(quick=True, out_dir=tmp_path)
    assert "\n" not in str(e.value) and "matplotlib" in str(e.value)


def test_cli_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`byhand experiment resnet --quick` (skipped until the command is registered in cli.py)."""
    from byhand import cli

    if "experiment" not in cli.cli.commands:
        pytest.skip("byhand experiment is not registered in cli.py yet")
    out = tmp_path / "new"  # the command makes the folder
    assert cli.main(["experiment", "resnet", "--quick", "-o", str(out)]) == 0
    assert (out / "experiment-resnet.png").is_file()
    assert "residual" in capsys.readouterr().out
    assert cli.main(["experiment", "resnet", "--quick", "--depths", "5", "-o", str(out)]) == 2
