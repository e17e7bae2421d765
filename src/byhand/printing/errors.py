"""The errors printing raises: all are :class:`byhand.errors.ByHandError`, so the CLI prints one line."""

from __future__ import annotations

from byhand.errors import ByHandError


class PrintError(ByHandError):
    """Something went wrong while printing (bad paper size, nothing to print, a failed compile)."""


class ExerciseFormatError(PrintError):
    """The exercise dict does not follow ``byhand-exercise/1`` closely enough to print."""


class TypstCompileError(PrintError):
    """The Typst compiler rejected the template or the plan; carries Typst's own diagnostic.

    ``str()`` is one line (what the CLI prints); ``diagnostic``, ``hints`` and ``trace`` keep the
    whole report, with file, line and caret."""

    exit_code = 3  # not the user's fault: the template or the plan is wrong

    def __init__(
        self, message: str, diagnostic: str = "", hints: list[str] | None = None, trace: list[str] | None = None
    ) -> None:
        self.message = message
        self.diagnostic = diagnostic
        self.hints = list(hints or [])
        self.trace = list(trace or [])
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        for line in self.diagnostic.splitlines():
            if "┌─" in line:
                where = f" (at {line.split('┌─', 1)[1].strip()})"
                break
        hint = f"; hint: {self.hints[0]}" if self.hints else ""
        return f"Typst could not compile the page: {self.message}{where}{hint}"

    def report(self) -> str:
        """The whole diagnostic, as Typst printed it."""
        return "\n".join([str(self), self.diagnostic.rstrip(), *(f"hint: {h}" for h in self.hints), *self.trace]).rstrip()


class PrintWarning(UserWarning):
    """The page was printed, but something in it may look wrong (an overlapping label, a Typst warning)."""
