"""byhand — deep learning by hand: exact, hand-friendly exercises with proofs and worked steps.

The whole public API::

    byhand.topics()                          # the chapters, in curriculum order
    ex = byhand.make("mlp", seed=7, level="medium")
    print(ex)                                # the grid, blanks as [1] [2] …
    ex.to_json()                             # the exercise file, byhand-exercise/1
    byhand.Exercise.from_json(text)          # read (and verify) one
    ex.check({"1": "5"})                     # per-badge verdicts and a score
    byhand.solve(teacher_doc)                # fill a teacher's nulls, or name each problem
"""

from __future__ import annotations

__version__ = "0.1.0"

from byhand.errors import (  # noqa: E402
    ByHandError,
    FormatError,
    GenerationError,
    GraphError,
    SolveError,
    UnknownTopicError,
)
from byhand.exercise import Blank, CheckResult, Exercise, Verdict, schema  # noqa: E402
from byhand.exercise import solve_document as solve  # noqa: E402
from byhand.topics import make, stress, topics  # noqa: E402

__all__ = [
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
