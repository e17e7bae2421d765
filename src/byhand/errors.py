"""byhand's one exception hierarchy.

Every error a user can cause is a :class:`ByHandError` whose message is one line that says what
is wrong and how to fix it. The CLI prints that line and exits non-zero; it never shows a
traceback for these.
"""

from __future__ import annotations


class ByHandError(Exception):
    """Base of every error byhand raises on purpose."""

    exit_code = 2


class FormatError(ByHandError):
    """An exercise file or values file is malformed (broken JSON, wrong field, bad value)."""


class LimitError(FormatError):
    """An input asks for more work than any worksheet needs (a huge number, exponent, tensor or
    nesting); the message names the limit. Raised before the work is done."""


class GraphError(ByHandError):
    """The computation is impossible: unknown op, missing tensor, shapes that do not fit."""


class UnknownTopicError(ByHandError):
    """No chapter of that name."""


class GenerationError(ByHandError):
    """No hand-friendly variant could be found within the sampling budget."""


class SolveError(ByHandError):
    """A teacher's exercise has under-determined cells or inconsistent relations.

    ``problems`` lists each one as a line.
    """

    exit_code = 1

    def __init__(self, problems: list[str]):
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''}: " + "; ".join(problems[:3]) + (" …" if n > 3 else ""))
