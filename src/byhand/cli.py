"""The ``byhand`` command: a thin layer over the library.

Every error a user can cause prints one line, ``byhand: error: …``, and exits non-zero (2 for bad
input, 1 for an exercise that ``solve`` finds faulty); no traceback (set BYHAND_DEBUG=1 for one).
Files are written whole or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import io
import json
import os
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

import byhand
from byhand.errors import ByHandError, FormatError, SolveError
from byhand.i18n import (
    LANGUAGES,
    M_,
    N_,
    _,
    current_language,
    gettext,
    lookup,
    ngettext,
    reset_language,
    set_language,
    tr_message,
)

FORMATS = ("text", "json", "key")
PRINT_FORMATS = ("pdf", "png", "svg")
CODE_FORMATS = ("pytorch", "numpy")
FORMAT_BY_SUFFIX = {".pdf": "pdf", ".png": "png", ".svg": "svg", ".json": "json"}
"""What ``make -o FILE`` writes when no --format is given."""
PAPER = click.Choice(["a4", "letter"])


MAX_INPUT_BYTES = 5_000_000


def _set_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    from byhand.i18n import set_language

    if value is not None:
        set_language(value)


def _lang_in(argv: list[str]) -> str | None:
    """The ``--lang`` of a command line, read before click parses it: then click's own messages (a wrong option,
    a missing argument) and the help screen are in that language too, wherever ``--lang`` stands."""
    for k, a in enumerate(argv):
        if a == "--":
            break
        if a == "--lang" and k + 1 < len(argv):
            v = argv[k + 1]
        elif a.startswith("--lang="):
            v = a[len("--lang="):]
        else:
            continue
        if v.strip().lower() in LANGUAGES:
            return v.strip().lower()
    return None


def _click_speaks_byhand() -> None:
    """Click marks its own words (Usage:, Options:, "No such option", "is not one of") for gettext
    (``from gettext import gettext as _`` in each module); they are looked up in byhand's catalogue instead,
    in the language of the run."""
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types

    for mod in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
        if hasattr(mod, "_"):
            mod._ = gettext  # type: ignore[attr-defined]
        if hasattr(mod, "ngettext"):
            mod.ngettext = ngettext  # type: ignore[attr-defined]
    # the name of a value's type, which click puts into its messages ("'abc' is not a valid integer.") and, upper
    # case, into the help as the value's placeholder (--seed INTEGER): click keeps it untranslated in a class
    # attribute; here it is read from the catalogue at the moment click shows it
    for cls, english in CLICK_TYPE_NAMES:
        cls.name = property(lambda _self, english=english: gettext(english))  # type: ignore[assignment,misc]


CLICK_TYPE_NAMES = ((click.types.IntParamType, N_("integer")), (click.types.FloatParamType, N_("float")),
                    (click.types.IntRange, N_("integer range")), (click.types.FloatRange, N_("float range")),
                    (click.types.BoolParamType, N_("boolean")), (click.types.StringParamType, N_("text")))
"""Click's own type names that byhand's commands use (int, float, a range, a flag's boolean)."""

_click_speaks_byhand()


class _VersionLine(str):
    """``byhand, version 0.1.0`` in the language of the run: click fills it in (``message % values``) when it
    prints it, long after the decorator took it."""

    def __mod__(self, values: Any) -> str:
        return gettext(N_("{prog}, version {version}")).format(**values)


class _Localized:
    """A command whose help (its text, its options' help, its subcommands' one-liners) is shown in the
    language of the run: the English strings stay the catalogue's keys (``scripts/i18n.py`` reads them
    from the commands), and are swapped for their translations only while the help is written."""

    def get_help(self, ctx: click.Context) -> str:
        with _help_in_language(ctx.command, ctx):
            return super().get_help(ctx)  # type: ignore[misc]


@contextlib.contextmanager
def _help_in_language(cmd: click.Command, ctx: click.Context) -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []

    def swap(obj: Any, attr: str) -> None:
        v = getattr(obj, attr, None)
        if isinstance(v, str) and v:
            saved.append((obj, attr, v))
            setattr(obj, attr, help_text(v))

    objs: list[click.Command] = [cmd]
    if isinstance(cmd, click.Group):
        objs += list(cmd.commands.values())
    for c in objs:
        swap(c, "help")
        swap(c, "short_help")
        for p in c.get_params(ctx):
            if p is c.get_help_option(ctx) and p.help:  # click made it (and keeps it) in the language of its first run
                saved.append((p, "help", p.help))
                p.help = gettext("Show this message and exit.")
                continue
            swap(p, "help")
    try:
        yield
    finally:
        for obj, attr, v in reversed(saved):
            setattr(obj, attr, v)


def help_text(text: str) -> str:
    """A help string in the language of the run: catalogued whole (a docstring with its paragraphs)."""
    found = lookup(inspect.cleandoc(text))
    return text if found is None else found


def _with_lang(params: list[click.Parameter] | None) -> list[click.Parameter]:
    """Every command takes ``--lang`` (its messages and help, at least, are in that language)."""
    params = list(params or [])
    if not any(p.name == "lang" for p in params):
        params.append(click.Option(["--lang"], type=click.Choice(list(LANGUAGES)), default=None, expose_value=False,
                                   is_eager=True, callback=_set_lang, help=LANG_HELP))
    return params


class LocalizedCommand(_Localized, click.Command):
    def __init__(self, *args: Any, params: list[click.Parameter] | None = None, **kw: Any) -> None:
        super().__init__(*args, params=_with_lang(params), **kw)  # type: ignore[misc]


class LocalizedGroup(_Localized, click.Group):
    command_class = LocalizedCommand
    group_class = type

    def __init__(self, *args: Any, params: list[click.Parameter] | None = None, **kw: Any) -> None:
        super().__init__(*args, params=_with_lang(params), **kw)


LANG_HELP = "Language of the sheet, key and messages: en, hi (Hindi), bn (Bengali) [default: $BYHAND_LANG or en]."
lang_option = click.option(
    "--lang", type=click.Choice(["en", "hi", "bn"]), default=None, expose_value=False, is_eager=True, callback=_set_lang,
    help=LANG_HELP,
)


def _read(path: str, what: str) -> str:
    """A text file (or '-' for standard input), read at most 5 MB: /dev/zero or an endless pipe is
    refused, not read until memory runs out."""
    try:
        if path == "-":
            if sys.stdin is None:
                raise ByHandError(M_("{what}: standard input is closed", what=what))
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise ByHandError(M_("{what} {path} does not exist", what=what, path=path)) from None
    except IsADirectoryError:
        raise ByHandError(M_("{what} {path} is a folder; give a file", what=what, path=path)) from None
    except PermissionError:
        raise ByHandError(M_("{what} {path} cannot be read (permission denied)", what=what, path=path)) from None
    if len(data) > MAX_INPUT_BYTES:
        raise FormatError(M_("{what} {path} is larger than 5 MB; an exercise file is a few KB", what=what, path=path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(M_("{what} {path} is not UTF-8 text", what=what, path=path)) from None


def _json(path: str, what: str) -> Any:
    """A JSON file read strictly: a key twice, NaN, a huge number or deep nesting is an error."""
    from byhand.exercise import parse_json

    return parse_json(_read(path, what), M_("{what} {path}", what=what, path=path))


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


def _target(out: str) -> Path:
    """Where bytes for ``out`` go: through a symlink to its target (the link stays a link)."""
    p = Path(out)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    return p


def check_outputs(outs: list[str]) -> None:
    """Refuse, before any work, an output whose folder is missing or that is a folder."""
    for out in outs:
        if out == "-":
            continue
        p = _target(out)
        if p.is_dir():
            raise ByHandError(M_("output {out} is a folder; give a file name", out=out))
        d = p.parent if str(p.parent) else Path(".")
        if not d.is_dir():
            raise ByHandError(M_("output folder {folder} does not exist", folder=d) if not d.exists()
                              else M_("output folder {folder} is not a folder", folder=d))


def write_files(items: list[tuple[str, bytes]]) -> None:
    """Write every output of a run, all or nothing, like a careful Unix tool.

    Each file goes to a temporary file next to its target and is renamed into place only once
    every file has been written, so a failure leaves nothing behind (no class PDF without its
    key, no half the frames). New files get the mode the umask allows (an existing file keeps
    its mode); a symlink is written through to its target; a device or pipe (``/dev/full``,
    ``/dev/stdout``) is written to, never replaced; '-' is standard output."""
    check_outputs([o for o, _ in items])
    staged: list[tuple[str, Path, str | None, bytes]] = []
    umask = _umask()
    try:
        for out, data in items:
            if out == "-":
                staged.append((out, Path(out), None, data))
                continue
            p = _target(out)
            if p.exists() and not p.is_file():  # a device or a pipe: write to it, never replace it
                staged.append((out, p, None, data))
                continue
            mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o666 & ~umask
            fd, tmp_name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
            staged.append((out, p, tmp_name, data))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp_name, mode)
        for out, p, tmp, data in staged:
            if tmp is not None:
                continue
            if out == "-":
                _stdout_bytes(data)
                continue
            try:
                with open(p, "wb") as f:
                    f.write(data)
            except OSError as e:
                raise ByHandError(M_("cannot write {out}: {reason}", out=out, reason=e.strerror or e)) from None
        for _out, p, tmp, _data in staged:
            if tmp is not None:
                os.replace(tmp, p)
    except BaseException:
        for _, _, left, _ in staged:
            if left is not None:
                Path(left).unlink(missing_ok=True)
        raise
    for out, _, _, _ in staged:
        if out != "-":
            click.echo(gettext("wrote {0}").format(out), err=True)


def _stdout_bytes(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except OSError as e:
        raise ByHandError(M_("cannot write to standard output: {reason}", reason=e.strerror or e)) from None


def write_output(text: str, out: str | None) -> None:
    """Print, or write the file atomically: a crash never leaves half a file behind."""
    if out is None or out == "-":
        try:
            click.echo(text)
        except OSError as e:
            raise ByHandError(M_("cannot write to standard output: {reason}", reason=e.strerror or e)) from None
        return
    write_bytes((text if text.endswith("\n") else text + "\n").encode("utf-8"), out)


def write_bytes(data: bytes, out: str) -> None:
    """Write a binary file atomically (a temp file in the same folder, then os.replace); '-' is stdout."""
    write_files([(out, data)])


def page_files(pages: list[bytes], fmt: str, out: str | None, default_stem: str) -> list[tuple[str, bytes]]:
    """A PDF as one file; PNG or SVG as one file per page: STEM-1.png, STEM-2.png …"""
    if fmt == "pdf":
        return [(out or f"{default_stem}.pdf", pages[0])]
    if out == "-":
        raise ByHandError(M_("--format {fmt} writes one file per page; give -o NAME.{fmt}", fmt=fmt))
    stem = out or default_stem
    for ext in (".pdf", ".png", ".svg"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    return [(f"{stem}-{k}.{fmt}", page) for k, page in enumerate(pages, start=1)]


def write_pages(pages: list[bytes], fmt: str, out: str | None, default_stem: str) -> None:
    """Every page of one output, all or nothing (a failed frame leaves no frames behind)."""
    write_files(page_files(pages, fmt, out, default_stem))


def _progress_bar() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
        console=Console(stderr=True),
    )


def _quiet_print_warnings() -> None:
    import warnings

    from byhand.printing import PrintWarning

    if not os.environ.get("BYHAND_DEBUG"):
        warnings.simplefilter("ignore", PrintWarning)


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ByHandError(M_("--set {pair!r}: write KEY=VALUE, e.g. --set depth=3", pair=pair))
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@click.group(cls=LocalizedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(byhand.__version__, prog_name="byhand", message=_VersionLine("%(prog)s, version %(version)s"))
def cli() -> None:
    """Deep learning by hand: exact, hand-friendly exercises, answer keys and checking."""


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
def topics(fmt: str) -> None:
    """The chapters, in curriculum order."""
    ts = byhand.topics()
    if fmt == "json":
        click.echo(json.dumps([t.to_json() for t in ts], indent=2, ensure_ascii=False))
        return
    w = max(len(t.name) for t in ts)
    for t in ts:
        click.echo(f"{t.chapter:2}  {t.name.ljust(w)}  {_(t.title)} — {_(t.summary)}")


@cli.command()
@click.argument("topic")
@click.option("--seed", type=int, default=0, show_default=True, help="Variant number: the same seed gives the same exercise.")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium", show_default=True)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="A chapter option, e.g. --set depth=3 (see 'byhand topics --format json').",
)
@click.option("--values", "values_file", metavar="FILE", help="Your own numbers for the given tensors, as JSON by sheet name.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS + PRINT_FORMATS + CODE_FORMATS),
    default=None,
    help="text: the sheet; json: the exercise file; key: the answers with their steps; "
    "pdf, png, svg: the printed worksheet (png and svg: one file per page); "
    "pytorch, numpy: the same exercise as a runnable script that checks the sheet's numbers. "
    "Default: from the extension of -o (.pdf, .png, .svg, .json), otherwise text.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of the terminal.")
@click.option("--paper", type=PAPER, default="a4", show_default=True, help="Paper size (pdf, png, svg).")
@click.option("--no-answer-strip", is_flag=True, help="Leave out the rotated answers at the foot of each page (pdf, png, svg).")
@lang_option
def make(
    topic: str,
    seed: int,
    level: str,
    sets: tuple[str, ...],
    values_file: str | None,
    fmt: str | None,
    output: str | None,
    paper: str,
    no_answer_strip: bool,
) -> None:
    """Make one exercise of TOPIC (see 'byhand topics')."""
    from byhand.render.text import render_key

    if fmt is None:  # "-o sheet.pdf" means a PDF, not the text sheet in a file named .pdf
        fmt = FORMAT_BY_SUFFIX.get(Path(output).suffix.lower(), "text") if output else "text"
    if output is not None:
        check_outputs([output])
    values = _json(values_file, M_("values file")) if values_file else None
    ex = byhand.make(topic, seed=seed, level=level, values=values, **_options(sets))
    if fmt in PRINT_FORMATS:
        from byhand import documents

        _quiet_print_warnings()
        pages = documents.worksheet(ex, fmt=fmt, paper=paper, answer_strip=not no_answer_strip)
        write_pages(pages, fmt, output, f"{ex.topic}-{seed}")
        return
    if fmt in CODE_FORMATS:
        from byhand.export.code import script

        write_output(script(ex, fmt), output)
        return
    text = ex.to_json(indent=2) if fmt == "json" else render_key(ex) if fmt == "key" else str(ex)
    write_output(text, output)


@cli.command()
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", metavar="FILE")
def solve(file: str, fmt: str, output: str | None) -> None:
    """Fill every null of a teacher's exercise FILE, or name each problem (exit 1).

    Cells given as null are unknown; the cells that were null become the blanks."""
    from byhand.render.text import render_key

    ex = byhand.solve(_read(file, M_("exercise file")))
    text = ex.to_json(indent=2) if fmt == "json" else render_key(ex) if fmt == "key" else str(ex)
    write_output(text, output)


@cli.command()
@click.argument("exercise")
@click.argument("answers")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
def check(exercise: str, answers: str, fmt: str) -> None:
    """Check ANSWERS ({"1": "5", "2": "-2"}) against EXERCISE; per-badge verdicts and a score."""
    ex = byhand.Exercise.from_json(_read(exercise, M_("exercise file")))
    given = _json(answers, M_("answers file"))
    if not isinstance(given, dict):
        raise FormatError('the answers file must be a JSON object keyed by badge, e.g. {"1": "5", "2": "-2"}')
    res = ex.check(given)
    if fmt == "json":
        click.echo(json.dumps(res.to_json(), indent=2, ensure_ascii=False))
        return
    for v in res.verdicts:
        mark = {"correct": "✓", "wrong": "✗", "blank": "·", "not a number": "?"}[v.verdict]
        given_s = "" if v.given is None else f" {v.given!r}"
        click.echo(f"[{v.badge}] {mark} {_(v.verdict)}{given_s}")
    for k in res.unknown_badges:
        click.echo(f"[{k}] ? " + _("no such badge on this exercise (ignored)"))
    click.echo(_("score") + f": {res.correct}/{res.total} ({res.score:.0%})")


STRESS_COLUMNS = ((N_("level"), 7), (N_("zeros"), 6), (N_("top"), 6), (N_("max den"), 7), (N_("max |v|"), 7),
                  (N_("blanks"), 6), (N_("minutes"), 8), (N_("distinct"), 8), (N_("accept"), 7), (N_("seconds"), 7),
                  (N_("per s"), 7), (N_("broken"), 6))
"""The columns of ``byhand stress`` (every level), each with its width."""
STRESS_KEYS = {
    "topic": N_("chapter"), "level": N_("level"), "variants": N_("variants"), "failed": N_("failed"),
    "breaking_a_rule": N_("breaking a rule"), "zero_share": N_("share of zeros"),
    "zero_share_max": N_("share of zeros, most"), "most_common_share": N_("most common answer's share"),
    "most_common_share_max": N_("most common answer's share, most"), "largest_denominator": N_("largest denominator"),
    "largest_abs_answer": N_("largest |answer|"), "minutes": N_("minutes"), "acceptance_rate": N_("share of drawn rows accepted"),
    "rows_drawn": N_("rows drawn"), "rows_accepted": N_("rows accepted"), "distinct_variants": N_("distinct variants"),
    "value_range": N_("value range"), "answer_range": N_("answer range"), "blanks_per_variant": N_("blanks per variant"),
    "inexact_answers": N_("inexact answers"), "seconds": N_("seconds"), "variants_per_second": N_("variants per second"),
}
"""The lines of ``byhand stress --level L`` in the reader's language (English shows the report's keys, as in JSON)."""


def _pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded to ``width`` columns as a terminal shows it: a vowel sign or virama (Hindi, Bengali) takes none."""
    shown = sum(1 for c in text if unicodedata.category(c) not in ("Mn", "Cf"))
    fill = " " * max(0, width - shown)
    return fill + text if right else text + fill


@cli.command()
@click.argument("topic")
@click.option("-n", "count", type=click.IntRange(1, 1_000_000), default=1000, show_default=True, help="How many variants.")
@click.option(
    "--level",
    type=click.Choice(["all", "easy", "medium", "hard"]),
    default="all",
    show_default=True,
    help="all: one row per level.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="First seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def stress(topic: str, count: int, level: str, seed: int, sets: tuple[str, ...], fmt: str) -> None:
    """Make many variants: what a student meets (zeros, the most common answer, denominators, size,
    minutes), distinct variants, acceptance rate, time, and variants that break a rule."""
    opts = _options(sets)
    levels = ["easy", "medium", "hard"] if level == "all" else [level]
    for lv in levels:
        byhand.make(topic, seed=seed, level=lv, **opts)  # fail fast on a bad topic or option
    reps = []
    with _progress_bar() as bar:
        for lv in levels:
            task = bar.add_task(f"{topic} {lv}", total=count)

            def done(k: int, t: Any = task) -> None:
                bar.update(t, completed=k)

            reps.append(byhand.stress(topic, n=count, level=lv, seed0=seed, progress=done, **opts))
    if fmt == "json":
        click.echo(json.dumps(reps if level == "all" else reps[0], indent=2))
        return
    english = current_language() == "en"  # English keeps the report's own keys and column names, as documented
    if level != "all":
        for k, v in reps[0].items():
            label = k if english else gettext(STRESS_KEYS.get(k, k))
            click.echo(f"{_pad(label, 22)} {v}")
        return
    click.echo(" ".join(_pad(gettext(w), n, right=i > 0) for i, (w, n) in enumerate(STRESS_COLUMNS)))
    for r in reps:
        mins = f"{r['minutes'][0]}–{r['minutes'][1]}" if r["minutes"][0] != r["minutes"][1] else str(r["minutes"][0])
        click.echo(
            f"{r['level']:7} {r['zero_share']:6.1%} {r['most_common_share']:6.1%} {r['largest_denominator']:7} "
            f"{r['largest_abs_answer']:>7} {r['blanks_per_variant']:6.1f} {mins:>8} {r['distinct_variants']:8} "
            f"{r['acceptance_rate']:7.1%} {r['seconds']:7.2f} {r['variants_per_second'] or 0:7.0f} {r['breaking_a_rule']:6}"
        )


@cli.command()
@click.argument("topics", nargs=-1, required=True)
@click.option("--students", type=int, default=30, show_default=True, help="How many students: one unique variant each (1…500).")
@click.option("--seed", type=int, default=0, show_default=True, help="Student k gets seed SEED + k.")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium", show_default=True)
@click.option("--paper", type=PAPER, default="a4", show_default=True)
@click.option("-o", "--output", metavar="FILE", default="class.pdf", show_default=True, help="The students' PDF.")
@click.option("--key", "key_out", metavar="FILE", help="The answer key PDF [default: OUTPUT with -key].")
@click.option("--solutions", is_flag=True, help="Add each blank's worked step to the key.")
@click.option("--answer-strip", is_flag=True, help="Also print each page's answers on the student pages (off for a class set).")
@click.option("--no-answer-strip", is_flag=True, hidden=True)
@click.option("--secret", "secret_file", metavar="FILE",
              help="The class secret that seals the codes on the pages (made on first use) "
              "[default: class-secret.txt in your config folder].")
@click.option("--open-codes", is_flag=True,
              help="Print each exercise's open identity (seed) instead of a sealed code: for self-study.")
@lang_option
def sheet(
    topics: tuple[str, ...],
    students: int,
    seed: int,
    level: str,
    paper: str,
    output: str,
    key_out: str | None,
    solutions: bool,
    answer_strip: bool,
    no_answer_strip: bool,
    secret_file: str | None,
    open_codes: bool,
) -> None:
    """A class set: one unique variant of TOPICS for each student, and the answer key.

    Each exercise prints a sealed code (footer and QR) that only your class secret opens:
    'byhand key CODE' makes its answers again. --open-codes prints the seeds instead."""
    from byhand import documents

    if not 1 <= students <= documents.MAX_STUDENTS:
        raise ByHandError(M_("--students must be between 1 and {max_students}, not {students}",
                             max_students=documents.MAX_STUDENTS, students=students))
    if key_out is None:
        key_out = output[:-4] + "-key.pdf" if output.lower().endswith(".pdf") else output + "-key.pdf"
    if Path(key_out).resolve() == Path(output).resolve():
        raise ByHandError("--key must name another file than -o")
    if open_codes and secret_file:
        raise ByHandError("--open-codes prints no sealed codes, so it takes no --secret; give one or the other")
    check_outputs([output, key_out])
    _quiet_print_warnings()
    documents.class_exercises(list(topics), 1, seed, level)  # a wrong chapter fails before a secret is made
    seal = None if open_codes else _class_seal(secret_file, create=True)
    with _progress_bar() as bar:
        task = bar.add_task("students", total=students)

        def progress(done: int, total: int) -> None:
            if done > students:
                bar.update(task, description="answer key", completed=done - students)
            else:
                bar.update(task, completed=done)

        class_pdf, key_pdf = documents.class_set(
            list(topics),
            students=students,
            seed=seed,
            level=level,
            paper=paper,
            answer_strip=answer_strip and not no_answer_strip,
            solutions=solutions,
            progress=progress,
            seal=seal,
        )
    write_files([(output, class_pdf), (key_out, key_pdf)])


def _class_seal(secret_file: str | None, *, create: bool) -> Any:
    """The seal of the class secret in FILE or the config folder; made (and said so) on first use."""
    from byhand.seal import Seal, default_secret_path, load_or_create_secret, read_secret

    path = Path(secret_file) if secret_file else default_secret_path()
    if path.is_dir():
        raise ByHandError(M_("--secret {path} is a folder; give a file name", path=path))
    if not create:
        return Seal(read_secret(path), source=M_("the class secret {path}", path=path))
    if secret_file and not path.parent.exists():
        raise ByHandError(M_("the folder of --secret {path} does not exist", path=path))
    secret, made = load_or_create_secret(path)
    if made:
        click.echo("byhand: " + tr_message(M_("made a new class secret in {path}. Keep it, and a copy: 'byhand key CODE' "
                                              "needs it to open the sealed codes on these sheets; if it is lost, so are "
                                              "their answer keys.", path=path)), err=True)
    else:
        click.echo("byhand: " + tr_message(M_("codes sealed with the class secret {path}", path=path)), err=True)
    return Seal(secret, source=M_("the class secret {path}", path=path))


@cli.command("key")
@click.argument("codes", nargs=-1, required=True)
@click.option("--secret", "secret_file", metavar="FILE",
              help="The class secret the sheets were made with [default: the config folder's].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="key", show_default=True,
              help="key: the answers with their steps; text: the exercise; json: the exercise file.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of the terminal.")
@lang_option
def key_cmd(codes: tuple[str, ...], secret_file: str | None, fmt: str, output: str | None) -> None:
    """Open sealed CODES from a class set (as on the page, or a scanned QR's text): each student's
    exercise and answers, made again with the class secret."""
    from byhand.render.text import render_key

    seal = _class_seal(secret_file, create=False)
    opened = [(c, seal.open(c)) for c in codes]  # every code checked before anything is printed
    parts = []
    for code, v in opened:
        ex = byhand.make(v.topic, seed=v.seed, level=v.level)
        body = ex.to_json(indent=2) if fmt == "json" else render_key(ex) if fmt == "key" else str(ex)
        parts.append(body if fmt == "json" and len(codes) == 1 else f"# {code.strip()}\n{body}" if fmt != "json" else body)
    if fmt == "json" and len(codes) > 1:
        text = "[\n" + ",\n".join(parts) + "\n]"
    else:
        text = "\n\n".join(parts)
    write_output(text, output)


@cli.command()
@click.option("-o", "--output", metavar="FILE", default="workbook.pdf", show_default=True)
@click.option("--chapters", metavar="LIST", help="Chapters by number or name: 1-5, 1,3,8, linear,softmax [default: all].")
@click.option("--per-chapter", type=int, default=3, show_default=True, help="Exercises per chapter, easy to hard (1…30).")
@click.option("--seed", type=int, default=1, show_default=True, help="First seed of each chapter.")
@click.option("--paper", type=PAPER, default="a4", show_default=True)
@click.option("--solutions", is_flag=True, help="Worked solutions at the end of each chapter.")
@click.option("--no-answer-strip", is_flag=True, help="Leave out the rotated answers at the foot of each page.")
@lang_option
def book(
    output: str, chapters: str | None, per_chapter: int, seed: int, paper: str, solutions: bool, no_answer_strip: bool
) -> None:
    """The workbook: title page, contents, every chapter in order, exercises from easy to hard."""
    from byhand import documents

    chosen = documents.parse_chapters(chapters)
    check_outputs([output])
    if not 1 <= per_chapter <= documents.MAX_PER_CHAPTER:
        raise ByHandError(M_("--per-chapter must be between 1 and {max_per_chapter}, not {per_chapter}",
                             max_per_chapter=documents.MAX_PER_CHAPTER, per_chapter=per_chapter))
    _quiet_print_warnings()
    with _progress_bar() as bar:
        task = bar.add_task("workbook", total=len(chosen) * per_chapter + 1)
        pages = documents.book(
            chapters=chapters,
            per_chapter=per_chapter,
            seed=seed,
            paper=paper,
            solutions=solutions,
            answer_strip=not no_answer_strip,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    write_bytes(pages[0], output)


@cli.command()
@click.argument("topic")
@click.option("--seed", type=int, default=0, show_default=True, help="Variant number: the same seed gives the same exercise.")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium", show_default=True)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A chapter option, e.g. --set depth=3.")
@click.option(
    "--group",
    type=click.Choice(["cell", "row", "layer"]),
    default="cell",
    show_default=True,
    help="What one step reveals: a cell, a row, or a whole layer.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "html", "png", "svg"]),
    default="pdf",
    show_default=True,
    help="pdf: one 16:9 page per step; html: one offline file (arrow keys, click, swipe); "
    "png, svg: one image per step (PNG at 1280×720).",
)
@click.option("-o", "--output", metavar="FILE", help="Output file [default: TOPIC-SEED-slides.FORMAT; png/svg: STEM-K.png].")
@lang_option
def slides(topic: str, seed: int, level: str, sets: tuple[str, ...], group: str, fmt: str, output: str | None) -> None:
    """Lecture mode: TOPIC as the whiteboard animation, one step per frame ([1] … [N])."""
    from byhand import documents

    if output is not None:
        check_outputs([output])
    ex = byhand.make(topic, seed=seed, level=level, **_options(sets))
    _quiet_print_warnings()
    pages = documents.slides(ex, group=group, fmt=fmt)
    stem = f"{ex.topic}-{seed}-slides"
    if fmt == "html":
        write_bytes(pages[0], output or f"{stem}.html")
    else:
        write_pages(pages, fmt, output, stem)


@cli.command("export")
@click.argument("topics", nargs=-1, required=True)
@click.option("--students", type=int, default=30, show_default=True, help="Variants per chapter: one for each student (1…500).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["moodle", "qti"]),
    required=True,
    help="moodle: Moodle XML; qti: a QTI 1.2 zip for Canvas.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Variant k uses seed SEED + k, as in 'byhand sheet'.")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium", show_default=True)
@click.option("--title", default="byhand", show_default=True, help="The quiz title (QTI) or the top question category (Moodle).")
@click.option("-o", "--output", metavar="FILE", help="[default: byhand-moodle.xml or byhand-qti.zip]")
@lang_option
def export_cmd(topics: tuple[str, ...], students: int, fmt: str, seed: int, level: str, title: str, output: str | None) -> None:
    """TOPICS for an LMS: a question bank with N variants of each chapter (Moodle XML, or QTI for Canvas)."""
    from byhand import documents
    from byhand.export.lms import moodle_xml, qti_zip

    if not 1 <= students <= documents.MAX_STUDENTS:
        raise ByHandError(M_("--students must be between 1 and {max_students}, not {students}",
                             max_students=documents.MAX_STUDENTS, students=students))
    exercises = []
    for topic in topics:
        found = _distinct_variants(topic, students, seed, level)
        if len(found) < students:
            note = M_("{topic} has only {n} different variants at level {level}; using them all", topic=topic, n=len(found),
                      level=M_(level))
            click.echo("byhand: " + _("note") + ": " + tr_message(note), err=True)
        exercises += found
    if fmt == "moodle":
        write_bytes(moodle_xml(exercises, course_category=title), output or "byhand-moodle.xml")
    else:
        write_bytes(qti_zip(exercises, title=title), output or "byhand-qti.zip")


def _distinct_variants(topic: str, n: int, seed: int, level: str) -> list[Any]:
    """N different exercises: seeds SEED+1, SEED+2 …, skipping a variant equal to an earlier one."""
    seen: set[str] = set()
    out: list[Any] = []
    k = 0
    while len(out) < n and k < 20 * n:
        k += 1
        ex = byhand.make(topic, seed=seed + k, level=level)
        key = json.dumps(ex.to_dict()["tensors"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(ex)
    return out


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the exercise file (byhand-exercise/1)."""
    click.echo(json.dumps(byhand.schema(), indent=2, ensure_ascii=False))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 serves the whole LAN.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--db", default=None, help="A file path, sqlite:///FILE or postgresql://USER@HOST/DB (default: SQLite in the user data dir)."
)
@click.option("--secure-cookies", is_flag=True, help="Send the session cookie over HTTPS only (behind a TLS proxy).")
@click.option("--signup", type=click.Choice(["open", "invite", "closed"]), default="invite", show_default=True,
              help="Teacher accounts: anyone, by one-time invitation from the admin (the first account), or none.")
@click.option("--public-url", metavar="URL", help="The address students type (join link, QR code), e.g. http://10.0.0.5:8000.")
@click.option("--trusted-proxy", metavar="ADDRS",
              help="Proxies (comma-separated addresses or networks) whose X-Forwarded-For is believed.")
@click.option("--hsts", is_flag=True, help="Send Strict-Transport-Security (only when served over HTTPS).")
def serve(host: str, port: int, db: str | None, secure_cookies: bool, signup: str, public_url: str | None,
          trusted_proxy: str | None, hsts: bool) -> None:
    """Practice in the browser, and a classroom server for a teacher."""
    import byhand.web

    gone = byhand.web.missing()
    if gone:
        raise ByHandError(M_("byhand serve needs the web extra: pip install 'byhand[web]' (missing: {gone})",
                             gone=', '.join(gone)))
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise ByHandError(M_("--public-url {public_url!r}: give the whole address, e.g. http://10.0.0.5:{port}",
                             public_url=public_url, port=port))
    byhand.web.serve(host=host, port=port, db=db, secure_cookies=secure_cookies, signup=signup, public_url=public_url,
                     trusted_proxy=trusted_proxy, hsts=hsts)


@cli.group()
def experiment() -> None:
    """Computers later: runs on the CPU; needs the 'experiment' extra (torch, scikit-learn, matplotlib)."""


@experiment.command("resnet")
@click.option("-o", "--output-dir", "out_dir", metavar="DIR", default=".", show_default=True, help="Folder for the PNG and CSVs.")
@click.option("--depths", metavar="LIST", help="Weight layers per network, even numbers [default: 8,20,56; 4,12 with --quick].")
@click.option("--epochs", type=click.IntRange(1, 1000), help="[default: 100; 3 with --quick]")
@click.option("--quick", is_flag=True, help="A tiny run for tests and CI: depths 4 and 12, 3 epochs, 360 images (seconds).")
@click.option("--batch-norm", is_flag=True, help="A batch-norm after every hidden linear layer, as in the ResNet paper.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True, help="CPU threads for torch.")
def experiment_resnet(
    out_dir: str, depths: str | None, epochs: int | None, quick: bool, batch_norm: bool, seed: int, threads: int
) -> None:
    """Plain vs residual networks of several depths on the 8×8 digits: the degradation problem, on your CPU.

    Writes experiment-resnet.png (training loss, training error, gradient norm per layer at
    initialisation) and the numbers as experiment-resnet-metrics.csv and experiment-resnet-gradients.csv.
    """
    from byhand.experiment import run_resnet_experiment

    chosen: list[int] | None = None
    if depths is not None:
        try:
            chosen = [int(d) for d in depths.split(",") if d.strip()]
        except ValueError:
            raise ByHandError(M_("--depths {depths!r}: give even numbers separated by commas, e.g. 8,20,56",
                                 depths=depths)) from None
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ByHandError(M_("--output-dir {out_dir} is a file; give a folder", out_dir=out_dir))
    out.mkdir(parents=True, exist_ok=True)
    with _progress_bar() as bar:
        task = bar.add_task("plain vs residual", total=None)
        result = run_resnet_experiment(
            depths=chosen,
            epochs=epochs,
            quick=quick,
            seed=seed,
            out_dir=out,
            batch_norm=batch_norm,
            threads=threads,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    click.echo(result.summary())
    for p in (result.png, result.metrics_csv, result.gradients_csv):
        click.echo(gettext("wrote {0}").format(p), err=True)


class _ClosedStream(io.RawIOBase):
    """Stands in for a standard output that was closed when byhand started: writing to it is an
    error, so ``byhand make dot >&-`` fails instead of exiting 0 having written nothing."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _stdout_failed() -> None:
    """After stdout failed, send what is left in its buffer nowhere (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit


def main(argv: list[str] | None = None) -> int:
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_ClosedStream()), encoding="utf-8")
    try:
        code = _main(argv)
    finally:
        reset_language()  # --lang holds for this run only: a caller in the same process is back in its own language
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as e:
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        _stdout_failed()
        if code == 0:  # otherwise the failure has been reported already
            _say_error(M_("cannot write to standard output: {reason}", reason=msg))
        return code or 2
    return code


def _say_error(message: Any, translated: bool = False) -> None:
    """``byhand: error: …`` in the language of the run. A message with no translation yet is printed in English,
    prefix and all: one language a line. ``translated``: the message was built in the run's language already."""
    english = str(message.args[0] if isinstance(message, BaseException) and message.args else message)
    said = english if translated else str(tr_message(message))
    click.echo("byhand: " + (_("error") if said != english or translated else "error") + f": {said}", err=True)


def _main(argv: list[str] | None = None) -> int:
    reset_language()  # each run starts from $BYHAND_LANG or English (--lang sets it for the run)
    early = _lang_in(sys.argv[1:] if argv is None else list(argv))
    if early is not None:
        set_language(early)
    try:
        cli.main(args=argv, prog_name="byhand", standalone_mode=False)
    except SolveError as e:
        for p in e.problems:
            click.echo(f"byhand: {tr_message(p)}", err=True)
        n = len(e.problems)
        said = ngettext("{n} problem in the exercise", "{n} problems in the exercise", n).format(n=n)
        click.echo("byhand: " + (_("error") if said.split()[-1] != "exercise" else "error") + f": {said}", err=True)
        return e.exit_code
    except ByHandError as e:
        _say_error(e)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("byhand: " + _("aborted"), err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as e:  # plain 'byhand': the help, not an error line
        click.echo(e.format_message(), err=True)
        return e.exit_code
    except click.ClickException as e:
        _say_error(e.format_message(), translated=True)  # click's words come from the catalogue (_click_speaks_byhand)
        return e.exit_code
    except OSError as e:
        if e.filename is None and e.errno in (errno.EPIPE, errno.EBADF, errno.ENOSPC, errno.EIO):
            _stdout_failed()
            _say_error(M_("cannot write to standard output: {reason}", reason=e.strerror or e))
            return 2
        click.echo(f"byhand: error: {e.strerror or e}{' (' + str(e.filename) + ')' if e.filename else ''}", err=True)
        return 2
    except Exception as e:  # never a traceback for a user
        if os.environ.get("BYHAND_DEBUG"):
            raise
        click.echo(
            f"byhand: internal error: {type(e).__name__}: {e} (please report this; BYHAND_DEBUG=1 shows details)", err=True
        )
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
