"""The code stays lint-clean and type-checked, and the public API is the one documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import byhand

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(), reason="ruff not installed"
)
def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    r = subprocess.run([ruff, "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_clean() -> None:
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_public_api_is_explicit() -> None:
    assert sorted(byhand.__all__) == sorted(
        [
            "__version__",
            "topics",
            "make",
            "stress",
            "solve",
            "schema",
            "Exercise",
            "Blank",
            "CheckResult",
            "Verdict",
            "ByHandError",
            "FormatError",
            "GraphError",
            "GenerationError",
            "SolveError",
            "UnknownTopicError",
        ]
    )
    for name in byhand.__all__:
        assert hasattr(byhand, name)


def test_downstream_never_imports_a_chapter() -> None:
    """Data flows one way: chapter → exercise → (text | JSON | check). Only the chapter registry
    (byhand/topics/__init__.py) names chapter modules."""
    chapters = {p.stem for p in (ROOT / "src/byhand/topics").glob("*.py") if not p.stem.startswith("_")}
    for path in (ROOT / "src/byhand").rglob("*.py"):
        if path.parent.name == "topics":
            continue
        text = path.read_text()
        for c in chapters:
            assert f"topics.{c}" not in text and f"topics import {c}" not in text, (path, c)
