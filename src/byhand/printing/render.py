"""Render print plans to PDF, PNG or SVG through the Typst compiler (the ``typst`` PyPI package).

The exercises are planned in Python (:mod:`byhand.printing.layout`: where every cell goes) and the
plan is handed to static Typst templates (package data, read with :mod:`importlib.resources`) as
JSON in ``sys.inputs``; no Typst source is ever built from exercise values, and no Typst package is
fetched. Output is deterministic: only the fonts embedded in the Typst compiler are used (system
fonts are ignored), the PDF creation date is fixed and the document date unset, so the same input
gives byte-identical files on every machine.

    >>> pdf = render_pdf([exercise.to_dict()], paper="a4")          # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import threading
import warnings
from collections.abc import Iterable
from importlib import resources
from typing import Any

import typst

from byhand.i18n import M_, fonts_dir, localize_plan, typst_words_json
from byhand.printing.errors import PrintError, PrintWarning, TypstCompileError
from byhand.printing.layout import plan_document, plan_exercise
from byhand.printing.slides import PROJECTOR_PPI

PAPERS = ("a4", "letter")
FORMATS = ("pdf", "png", "svg")
TEMPLATES = ("main.typ", "exercise.typ", "style.typ", "slides.typ")
#: Fixed creation time written into the PDF (the Unix epoch): same input, same bytes.
FIXED_TIMESTAMP = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

# One compiler per process: it keeps Typst's caches (fonts, parsed template) between renders.
# The Rust compiler is not safe to share between threads, so calls go through a lock.
_compilers: dict[str, typst.Compiler] = {}
_lock = threading.Lock()


def template_files() -> dict[str, bytes]:
    """The Typst templates, read from the package data."""
    base = resources.files("byhand.printing").joinpath("templates")
    return {name: base.joinpath(name).read_bytes() for name in TEMPLATES}


_files = contextlib.ExitStack()
atexit.register(_files.close)


def _get_compiler(template: str = "main.typ") -> typst.Compiler:
    if template not in _compilers:
        # the package's template folder (a real folder for any ordinary install; extracted to a
        # temporary one if the package is zipped). root= keeps Typst inside it; nothing is fetched;
        # embedded fonts only, so the output is identical everywhere
        folder = _files.enter_context(resources.as_file(resources.files("byhand.printing").joinpath("templates")))
        _compilers[template] = typst.Compiler(input=str(folder / template), root=str(folder), ignore_system_fonts=True,
                                              font_paths=[str(fonts_dir())])  # + the shipped Noto fonts (Hindi, Bengali)
    return _compilers[template]


def plan_json(plan: dict[str, Any]) -> str:
    """The plan as the one string the template reads from ``sys.inputs.data``."""
    plan = localize_plan(plan)  # the words a reader sees, in the current language (byhand.i18n)
    return json.dumps(plan, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def compile_data(data: str, fmt: str = "pdf", ppi: float | None = None,
                 template: str = "main.typ", tags: bool = True) -> bytes | list[bytes]:
    """Compile the templates with a finished plan (JSON text): Typst's own work, nothing else.

    ``template`` is the document's main file: ``main.typ`` (worksheets, books) or ``slides.typ``.
    ``tags=False`` leaves out the PDF's structure tags (a piece that will be joined: the joined file
    cannot keep each piece's structure tree)."""
    if fmt not in FORMATS:
        raise PrintError(M_("format must be one of {formats}, not {fmt!r}", formats=', '.join(FORMATS), fmt=fmt))
    with _lock:
        try:
            out, typst_warnings = _get_compiler(template).compile_with_warnings(
                format=fmt,  # type: ignore[arg-type]
                ppi=ppi, sys_inputs={"data": data, "words": typst_words_json()}, timestamp=FIXED_TIMESTAMP, pdf_tags=tags,
            )
        except typst.TypstError as exc:
            raise TypstCompileError(
                str(getattr(exc, "message", exc)),
                str(getattr(exc, "diagnostic", "")),
                list(getattr(exc, "hints", None) or []),
                list(getattr(exc, "trace", None) or []),
            ) from exc
    for w in typst_warnings:
        warnings.warn(PrintWarning(f"Typst: {w.message}"), stacklevel=3)
    if out is None:
        raise PrintError("Typst produced no output")
    return out


def evict_caches() -> None:
    """Let Typst forget the documents compiled so far.

    Typst memoizes nearly all of its work (comemo), and the ``typst`` package evicts only what the
    last 10 compiles did not use (``comemo::evict(10)`` after each compile). For a long run of
    different documents (the chunks of a class set) that kept about ten chunks' layouts alive:
    hundreds of MiB. Ten compiles of an empty document age them out; they take about 5 ms. The
    compiler itself, its fonts and the parsed templates' files stay."""
    with _lock:
        compiler = _get_compiler("style.typ")  # definitions only: an empty page, in microseconds
        for _ in range(EVICT_AGE):
            compiler.compile(format="svg", timestamp=FIXED_TIMESTAMP)


EVICT_AGE = 10
"""How many compiles an unused memoized result survives in the ``typst`` package."""


def _check_plan(plan: dict[str, Any]) -> None:
    if plan.get("paper") not in PAPERS:
        raise PrintError(M_("paper must be one of {papers}, not {given!r}", papers=', '.join(PAPERS), given=plan.get('paper')))
    if not plan.get("items"):
        raise PrintError("nothing to print")
    for item in plan["items"]:
        for message in item.get("warnings", ()):
            warnings.warn(PrintWarning(f"exercise {item.get('number')}: {message}"), stacklevel=4)


def render_pieces(plans: Iterable[dict[str, Any]], *, title: str | None = None) -> bytes:
    """One PDF from planned documents compiled one at a time and joined as they come
    (:class:`byhand.printing.join.PdfJoiner`): memory stays that of one piece, however many there are.

    ``plans`` may be a generator: each plan is made, compiled and let go before the next. Each piece
    starts on a new page and counts its own pages (a student's "page 1 of 2")."""
    from byhand.printing.join import PdfJoiner

    joiner = PdfJoiner(title=title)
    for k, plan in enumerate(plans):
        if k:  # Typst forgets the piece before; after the last one there is nothing to make room
            evict_caches()  # for, and the next compiles (of this run or a later one) age it out
        joiner.add(render_piece(plan, forget=False), bookmark=plan.get("bookmark"))
    return joiner.finish()


def render_piece(plan: dict[str, Any], forget: bool = True) -> bytes:
    """One piece of a document printed in pieces: an untagged PDF, after which Typst forgets it
    (``forget``). A plan's ``bookmark`` (if any) names the piece in the joined file's outline."""
    _check_plan(plan)
    out = compile_data(plan_json(plan), "pdf", tags=False)
    if forget:
        evict_caches()
    return out if isinstance(out, bytes) else out[0]


def render_document(plan: dict[str, Any], fmt: str = "pdf", ppi: float = 144.0) -> list[bytes]:
    """A planned document (:func:`byhand.printing.layout.plan_document`): one PDF, or one PNG/SVG per page."""
    _check_plan(plan)
    out = compile_data(plan_json(plan), fmt, ppi if fmt == "png" else None)
    return out if isinstance(out, list) else [out]


def worksheet_plan(
    exercises: list[dict[str, Any]],
    *,
    paper: str = "a4",
    answer_strip: bool = True,
    key: bool = False,
    title: str | None = None,
) -> dict[str, Any]:
    """A worksheet: a name/date line, then the exercises (``byhand-exercise/1`` dicts), as many per page as fit."""
    if not exercises:
        raise PrintError("nothing to print: no exercises")
    items = [plan_exercise(ex, i + 1, key=key, with_answers=answer_strip) for i, ex in enumerate(exercises)]
    return plan_document(items, paper=paper, answer_strip=answer_strip, key=key, title=title, name_line=True)


def render_pdf(exercises: list[dict[str, Any]], *, paper: str = "a4", answer_strip: bool = True, key: bool = False,
               title: str | None = None) -> bytes:
    """A printable worksheet PDF of the exercises.

    ``answer_strip`` prints each page's answers, rotated, in a strip at the bottom of the page;
    ``key`` fills every blank with its answer and crosses out ReLU's negative inputs."""
    return render_document(worksheet_plan(exercises, paper=paper, answer_strip=answer_strip, key=key, title=title))[0]


def render_png(exercises: list[dict[str, Any]], *, paper: str = "a4", answer_strip: bool = True, key: bool = False,
               title: str | None = None, ppi: float = 144.0) -> list[bytes]:
    """One PNG image per page."""
    plan = worksheet_plan(exercises, paper=paper, answer_strip=answer_strip, key=key, title=title)
    return render_document(plan, "png", ppi)


def render_svg(exercises: list[dict[str, Any]], *, paper: str = "a4", answer_strip: bool = True, key: bool = False,
               title: str | None = None) -> list[bytes]:
    """One SVG document per page."""
    return render_document(worksheet_plan(exercises, paper=paper, answer_strip=answer_strip, key=key, title=title), "svg")


def render_slides(plan: dict[str, Any], fmt: str = "pdf", ppi: float = PROJECTOR_PPI) -> list[bytes]:
    """A planned lecture deck (:func:`byhand.printing.slides.plan_deck`): one PDF with a 16:9 page per
    frame, or one PNG/SVG per frame (PNG at projector size, 1280×720, by default)."""
    if not plan.get("frames"):
        raise PrintError("nothing to show: no frames")
    out = compile_data(plan_json(plan), fmt, ppi if fmt == "png" else None, template="slides.typ")
    return out if isinstance(out, list) else [out]
