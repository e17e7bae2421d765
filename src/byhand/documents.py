"""Printed documents: a worksheet, a class set with its answer key, and the workbook.

This is where chapters meet print: exercises are made here with :func:`byhand.make` and handed to
:mod:`byhand.printing` as ``byhand-exercise/1`` dicts (topic → exercise → print). Printing itself
never imports a chapter.

    >>> pdf = worksheet(byhand.make("linear", seed=7))[0]                        # doctest: +SKIP
    >>> class_pdf, key_pdf = class_set(["linear", "relu"], students=30, seed=100)  # doctest: +SKIP
    >>> sheets_pdf = roster_sheets([("Ada", exs_ada), ("", exs_extra)], title="Homework")  # doctest: +SKIP
    >>> book_pdf = book(chapters="1-5", per_chapter=6, paper="letter")           # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import byhand
from byhand.errors import ByHandError
from byhand.exercise import Exercise
from byhand.i18n import M_
from byhand.notation import cell_label
from byhand.printing import PAPERS
from byhand.printing.layout import plan_document, plan_exercise, value_atom
from byhand.printing.render import render_document, render_pieces
from byhand.seal import QR_PREFIX, Seal

LEVELS = ("easy", "medium", "hard")
MAX_STUDENTS = 500
MAX_SHEET_TOPICS = 12
MAX_PER_CHAPTER = 30
MAX_EXERCISES = 3000
"""The most exercises one document may hold (about a thousand pages)."""

CHUNK_STUDENTS = 8
"""Students compiled per piece of a class set: Typst's memory is that of one piece (about 3 MiB a
student), and each piece's fonts and set-up cost a few milliseconds."""
KEY_CHUNK_STUDENTS = 40
"""Students per piece of an answer key (each piece starts on a new page)."""
SOLUTION_CHUNK_STUDENTS = 10
"""Students per piece of a key's worked solutions."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called as exercises are made and documents compiled."""


def _check_paper(paper: str) -> None:
    if paper not in PAPERS:
        raise ByHandError(M_("paper {paper!r} is not known; use {papers}", paper=paper, papers=' or '.join(PAPERS)))


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ByHandError(M_("level {level!r} is not known; use easy, medium or hard", level=level))


def _chapters_by_name() -> dict[str, Any]:
    return {t.name: t for t in byhand.topics()}


def chapter_label(topic: str) -> str | None:
    """The chapter number of a topic, as the footer prints it (``"3"``), or None for a custom topic."""
    t = _chapters_by_name().get(topic)
    return str(t.chapter) if t is not None else None


def solution_rows(ex: Exercise) -> list[dict[str, Any]]:
    """Each blank's worked step: badge, cells, answer and the step's text (from the engine's record)."""
    rows = []
    for b in ex.blanks:
        rows.append(
            {
                "badge": b.badge,
                "cells": ", ".join(cell_label(ex, c[0], c[1]) for c in b.cells),
                "answer": value_atom(_json_value(b.answer), ex.precision),
                "text": ex.explain(b.cells[0]),
            }
        )
    return rows


def _json_value(v: Any) -> Any:
    from byhand.engine.values import to_json

    return to_json(v)


def _answers(ex: Exercise) -> list[dict[str, Any]]:
    return [{"badge": b.badge, "answer": value_atom(_json_value(b.answer), ex.precision)} for b in ex.blanks]


def _solutions_entry(number: str, ex: Exercise) -> dict[str, Any]:
    return {"number": number, "title": ex.title, "identity": ex.identity, "rows": solution_rows(ex)}


def print_diagram(ex: Exercise) -> str | None:
    """The whiteboard diagram printed under an exercise's grid, or None.

    Only where it shows what the grid cannot: a skip connection (the line into a circled "+") or
    a chain of local derivatives with its paths. A plain network's boxes-and-arrows add little to
    its staircase of crossings and pushed the larger ones (deep, backprop) onto a second page.

    Its words are in the sheet's language: the print plan lifts them out of the SVG and Typst places them over
    the picture in the sheet's font (``printing.layout._diagram``), because Typst (usvg) breaks Hindi and Bengali
    clusters inside an SVG."""
    from byhand.render.diagram import chain_svg, network_svg, special_svg

    return _print_diagram(ex, chain_svg, network_svg, special_svg)


def _print_diagram(ex: Exercise, chain_svg: Any, network_svg: Any, special_svg: Any) -> str | None:
    special = special_svg(ex)  # a chapter's own drawing: the attention block, MoE routing, an unrolled RNN …
    if special is not None:
        return special
    chain = chain_svg(ex)
    if chain is not None:
        return chain
    net = network_svg(ex)
    return net if net is not None and "<circle" in net else None


def _plan(ex: Exercise, number: int | str, code: str | None = None, **kw: Any) -> dict[str, Any]:
    """The print plan of one exercise, with its whiteboard diagram (see :func:`print_diagram`).

    With a sealed ``code`` the plan prints the code (footer and QR) in place of the seed and identity."""
    d = ex.to_dict(steps=False)  # the printed grid never reads the worked steps: not derived for it
    if code is None:
        return plan_exercise(d, number, diagram=print_diagram(ex), **kw)
    d["identity"] = f"{QR_PREFIX}{code}"  # what the QR code holds
    return {**plan_exercise(d, number, diagram=print_diagram(ex), **kw), "code": code, "seed": "sealed"}


def _render(plan: dict[str, Any], fmt: str = "pdf", ppi: float = 144.0) -> list[bytes]:
    return render_document(plan, fmt, ppi)


# -- one worksheet ----------------------------------------------------------------------------


def worksheet(
    ex: Exercise | Sequence[Exercise],
    *,
    fmt: str = "pdf",
    paper: str = "a4",
    answer_strip: bool = True,
    key: bool = False,
    ppi: float = 144.0,
) -> list[bytes]:
    """A worksheet of one or more exercises: one PDF, or one PNG/SVG per page.

    The answer strip is on by default (a single sheet is for the teacher to copy after folding the
    strip under); ``answer_strip=False`` leaves it off."""
    _check_paper(paper)
    exercises = [ex] if isinstance(ex, Exercise) else list(ex)
    if not exercises:
        raise ByHandError("nothing to print: no exercises")
    items = [_plan(e, i + 1, key=key, with_answers=answer_strip, chapter=chapter_label(e.topic)) for i, e in enumerate(exercises)]
    title = exercises[0].title if len(exercises) == 1 else "byhand worksheet"
    footer = f"byhand · {exercises[0].identity}" if len(exercises) == 1 else "byhand worksheet"
    plan = plan_document(items, paper=paper, answer_strip=answer_strip, key=key, title=title, footer=footer, name_line=True)
    return _render(plan, fmt, ppi)


# -- a class set ------------------------------------------------------------------------------


def class_exercises(
    topics: Sequence[str], students: int, seed: int, level: str, progress: Progress | None = None, total: int | None = None
) -> list[list[Exercise]]:
    """Student k (1 … students) gets every topic with seed ``seed + k``: a unique variant each."""
    if not topics:
        raise ByHandError("name at least one chapter, e.g. byhand sheet linear relu")
    if len(topics) > MAX_SHEET_TOPICS:
        raise ByHandError(M_("{topics} chapters on one sheet is too many; use at most {max_sheet_topics}",
                             topics=len(topics), max_sheet_topics=MAX_SHEET_TOPICS))
    if not 1 <= students <= MAX_STUDENTS:
        raise ByHandError(M_("--students must be between 1 and {max_students}, not {students}",
                             max_students=MAX_STUDENTS, students=students))
    _check_level(level)
    for t in topics:  # fail fast, before the first student, on a chapter that does not exist
        byhand.make(t, seed=seed + 1, level=level)
    out: list[list[Exercise]] = []
    n = total or students * len(topics)
    for k in range(1, students + 1):
        out.append([byhand.make(t, seed=seed + k, level=level) for t in topics])
        if progress:
            progress(k * len(topics), n)
    return out


def class_set(
    topics: Sequence[str],
    *,
    students: int = 30,
    seed: int = 0,
    level: str = "medium",
    paper: str = "a4",
    answer_strip: bool = False,
    solutions: bool = False,
    title: str | None = None,
    progress: Progress | None = None,
    seal: Seal | None = None,
    chunk: int = CHUNK_STUDENTS,
) -> tuple[bytes, bytes]:
    """The student PDF and the key PDF of a class set.

    Each student starts on a new page with a name/date line and a student number; the answers are
    not on the student pages (unless ``answer_strip``), the key lists every student's answers
    (student, identity, badge → answer) and, with ``solutions``, each blank's worked step.

    With a ``seal`` each exercise prints a sealed code (footer and QR) instead of its seed and
    identity: only ``seal`` opens it (:mod:`byhand.seal`). The PDFs are compiled ``chunk`` students
    at a time and joined, so memory does not grow with the class; ``progress(done, total)`` counts
    students, the sheets first and then the key."""
    _check_paper(paper)
    if chunk < 1:
        raise ByHandError("chunk must be at least 1 student")
    if not 1 <= students <= MAX_STUDENTS:
        raise ByHandError(M_("--students must be between 1 and {max_students}, not {students}",
                             max_students=MAX_STUDENTS, students=students))
    first = class_exercises(topics, 1, seed, level)[0]  # checks the chapters and the level first
    if title is None:
        names = _chapters_by_name()
        title = " · ".join(names[e.topic].title.split(" — ")[0] if e.topic in names else e.topic for e in first)
    chapters = {e.topic: chapter_label(e.topic) for e in first}
    if seal is not None:  # a seed too large to seal fails now, not after half the class
        for e in first:
            seal.code(e.topic, seed + students, level)
    per_student: list[list[Exercise]] = []  # a few KiB each: kept for the key
    codes: list[list[str | None]] = []
    total = 2 * students

    def pieces() -> Any:
        for start in range(0, students, chunk):
            items: list[dict[str, Any]] = []
            for k in range(start + 1, min(start + chunk, students) + 1):
                exs = first if k == 1 else [byhand.make(t, seed=seed + k, level=level) for t in topics]
                per_student.append(exs)
                codes.append([_code(ex, seal) for ex in exs])
                items.append({"kind": "student", "number": k})
                for i, ex in enumerate(exs, start=1):
                    items.append(_plan(ex, i, codes[-1][i - 1], with_answers=answer_strip, chapter=chapters.get(ex.topic)))
            yield plan_document(items, paper=paper, answer_strip=answer_strip, key=False, title=title, footer=title)
            if progress:
                progress(min(start + chunk, students), total)

    class_pdf = render_pieces(pieces(), title=title)
    seeds = f"seeds {seed + 1}–{seed + students}, level {level}"
    labelled = [(k, exs, codes[k - 1]) for k, exs in enumerate(per_student, start=1)]
    key_pdf = _key_pdf(labelled, paper=paper, title=title, footer=f"Answer key · {title} · {seeds}", solutions=solutions,
                       progress=(lambda done, n: progress(students + done, total)) if progress else None)
    return class_pdf, key_pdf


def _code(ex: Exercise, seal: Seal | None) -> str | None:
    if seal is None:
        return None
    if ex.seed is None:
        raise ByHandError(M_("exercise {title!r} has no seed, so it cannot be sealed; print it with open codes", title=ex.title))
    return seal.code(ex.topic, int(ex.seed), str(ex.level))


def _key_pdf(students: Sequence[tuple[int | str, Sequence[Exercise], Sequence[str | None]]], *, paper: str, title: str,
             footer: str, solutions: bool, progress: Progress | None = None) -> bytes:
    """A key in pieces: the answer table :data:`KEY_CHUNK_STUDENTS` students at a time, then with
    ``solutions`` the worked steps :data:`SOLUTION_CHUNK_STUDENTS` at a time; each piece starts on a
    new page and its footer names its students."""
    n = len(students)

    def span(start: int, group: Sequence[Any]) -> str:
        return f"student {start + 1}" if len(group) == 1 else f"students {start + 1}–{start + len(group)}"

    def pieces() -> Any:
        for start in range(0, n, KEY_CHUNK_STUDENTS):
            group = students[start:start + KEY_CHUNK_STUDENTS]
            items = _key_items(group, False)
            yield plan_document(items, paper=paper, answer_strip=False, key=True,
                                title=f"{title}: answers" if start == 0 else None, footer=f"{footer} · {span(start, group)}")
            if progress:
                progress(min(start + KEY_CHUNK_STUDENTS, n), n)
        if solutions:
            for start in range(0, n, SOLUTION_CHUNK_STUDENTS):
                group = students[start:start + SOLUTION_CHUNK_STUDENTS]
                items = _solution_items(group)
                if start == 0:
                    items.insert(0, {"kind": "heading", "level": 1, "text": "Worked solutions"})
                yield plan_document(items, paper=paper, answer_strip=False, key=True, title=None,
                                    footer=f"Worked solutions · {title} · {span(start, group)}")

    return render_pieces(pieces(), title=f"{title}: answers")


def _key_items(students: Sequence[tuple[int | str, Sequence[Exercise], Sequence[str | None]]],
               solutions: bool) -> list[dict[str, Any]]:
    """A key: one table row per student's exercise (identity or sealed code, badge → answer), then
    with ``solutions`` each student's worked steps."""
    rows: list[dict[str, Any]] = []
    for label, exs, codes in students:
        for i, (ex, code) in enumerate(zip(exs, codes), start=1):
            rows.append(
                {
                    "first": i == 1,
                    "student": label,
                    "number": str(i),
                    "title": ex.title,
                    "identity": ex.identity if code is None else code,
                    "answers": _answers(ex),
                }
            )
    items: list[dict[str, Any]] = [{"kind": "key-table", "rows": rows}]
    if solutions:
        items += [{"kind": "pagebreak"}, {"kind": "heading", "level": 1, "text": "Worked solutions"}, *_solution_items(students)]
    return items


def _solution_items(students: Sequence[tuple[int | str, Sequence[Exercise], Sequence[str | None]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for label, exs, codes in students:
        entries = []
        for i, (ex, code) in enumerate(zip(exs, codes), start=1):
            entry = _solutions_entry(str(i), ex)
            if code is not None:
                entry["identity"] = code
            entries.append(entry)
        out += [{"kind": "heading", "level": 2, "text": f"Student {label}"}, {"kind": "solutions", "entries": entries}]
    return out


Roster = Sequence[tuple[str, Sequence[Exercise]]]
"""A named class set: each student's name (empty for an anonymous copy) and their ready-made exercises."""


def _roster_label(k: int, name: str) -> str:
    return f"{k} · {name}" if name else str(k)


def _check_roster(roster: Roster) -> None:
    if not roster:
        raise ByHandError("nothing to print: no students")
    if len(roster) > MAX_STUDENTS:
        raise ByHandError(M_("{roster} students is too many for one class set; use at most {max_students}",
                             roster=len(roster), max_students=MAX_STUDENTS))
    n = sum(len(exs) for _, exs in roster)
    if n > MAX_EXERCISES:
        raise ByHandError(M_("{n} exercises is too many for one class set; use at most {max_exercises}",
                             n=n, max_exercises=MAX_EXERCISES))
    if any(not exs for _, exs in roster):
        raise ByHandError("nothing to print: a student has no exercises")


def roster_sheets(roster: Roster, *, title: str, paper: str = "a4", answer_strip: bool = False,
                  seal: Seal | None = None, chunk: int = CHUNK_STUDENTS) -> bytes:
    """The student PDF of a class set made elsewhere (e.g. a classroom assignment): student k of the
    roster starts on a new page headed "Student k · NAME" (the name also in the item's ``name``)
    with its exercises in the order given; no answers unless ``answer_strip``. With a ``seal``,
    sealed codes instead of seeds (as :func:`class_set`); compiled ``chunk`` students at a time."""
    _check_paper(paper)
    _check_roster(roster)

    def pieces() -> Any:
        for start in range(0, len(roster), chunk):
            items: list[dict[str, Any]] = []
            for k in range(start + 1, min(start + chunk, len(roster)) + 1):
                name, exs = roster[k - 1]
                items.append({"kind": "student", "number": _roster_label(k, name), "name": name})
                for i, ex in enumerate(exs, start=1):
                    items.append(_plan(ex, i, _code(ex, seal), with_answers=answer_strip, chapter=chapter_label(ex.topic)))
            yield plan_document(items, paper=paper, answer_strip=answer_strip, key=False, title=title, footer=title)

    return render_pieces(pieces(), title=title)


def roster_key(roster: Roster, *, title: str, paper: str = "a4", solutions: bool = False, note: str | None = None,
               seal: Seal | None = None) -> bytes:
    """The answer key of :func:`roster_sheets`: per student (by the same label), each exercise's
    identity (or, with ``seal``, its sealed code) and every badge's answer; with ``solutions``, each
    blank's worked step."""
    _check_paper(paper)
    _check_roster(roster)
    labelled = [(_roster_label(k, name), exs, [_code(ex, seal) for ex in exs]) for k, (name, exs) in enumerate(roster, start=1)]
    footer = f"Answer key · {title}" + (f" · {note}" if note else "")
    return _key_pdf(labelled, paper=paper, title=title, footer=footer, solutions=solutions)


# -- the workbook -----------------------------------------------------------------------------


def parse_chapters(spec: str | None) -> list[Any]:
    """Chapters by number ranges, lists or names: ``1-5``, ``1,3,8``, ``linear,softmax``, ``2-4,backprop``.

    None means every chapter. Returned in curriculum order, each once."""
    all_topics = byhand.topics()
    if spec is None or spec.strip() in ("", "all"):
        return all_topics
    by_number = {t.chapter: t for t in all_topics}
    by_name = {t.name: t for t in all_topics}
    chosen: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi or lo not in by_number or hi not in by_number:
                raise ByHandError(M_("chapters {part!r}: the chapters are numbered 1-{all_topics}",
                                     part=part, all_topics=len(all_topics)))
            chosen.update(range(lo, hi + 1))
        elif part.isdigit():
            if int(part) not in by_number:
                raise ByHandError(M_("chapter {part} does not exist; the chapters are numbered 1-{all_topics}",
                                     part=part, all_topics=len(all_topics)))
            chosen.add(int(part))
        else:
            key = part.lower().replace("_", "-")
            if key not in by_name:
                raise ByHandError(M_("no chapter named {part!r}; the chapters are: {by_name} (or numbers, e.g. 1-5)",
                                     part=part, by_name=', '.join(by_name)))
            chosen.add(by_name[key].chapter)
    if not chosen:
        raise ByHandError("--chapters names no chapter; write e.g. 1-5, 1,3,8 or linear,softmax")
    return [by_number[c] for c in sorted(chosen)]


def book_levels(n: int) -> list[str]:
    """Rising difficulty across a chapter's n exercises: easy first, hard last."""
    if n == 1:
        return ["easy"]
    return [LEVELS[round(i * 2 / (n - 1))] for i in range(n)]


BOOK_PIECES_OVER = 45
"""A workbook with more exercises than this is printed a chapter at a time (bounded memory); the
default book (13 chapters × 3) is one Typst document, with its PDF structure tags."""


def book(
    *,
    chapters: str | None = None,
    per_chapter: int = 3,
    seed: int = 1,
    paper: str = "a4",
    solutions: bool = False,
    answer_strip: bool = True,
    title: str = "Deep learning by hand",
    progress: Progress | None = None,
    fmt: str = "pdf",
    ppi: float = 144.0,
    pieces: bool | None = None,
) -> list[bytes]:
    """The workbook: a title page, contents, and per chapter an opener with its summary, then
    ``per_chapter`` exercises from easy to hard (answers in each page's strip) and, with
    ``solutions``, the chapter's worked solutions.

    A large book (more than :data:`BOOK_PIECES_OVER` exercises; ``pieces`` forces either way) is
    printed a chapter at a time: each chapter is compiled once to count its pages and again with
    its page numbers, the contents list the chapters' pages, and the PDF's bookmarks are rebuilt,
    so memory stays that of one chapter."""
    _check_paper(paper)
    if not 1 <= per_chapter <= MAX_PER_CHAPTER:
        raise ByHandError(M_("--per-chapter must be between 1 and {max_per_chapter}, not {per_chapter}",
                             max_per_chapter=MAX_PER_CHAPTER, per_chapter=per_chapter))
    chosen = parse_chapters(chapters)
    total = len(chosen) * per_chapter + 1
    if total > MAX_EXERCISES:
        raise ByHandError(M_("{total} exercises is too many for one book; use at most {max_exercises}",
                             total=total - 1, max_exercises=MAX_EXERCISES))
    levels = book_levels(per_chapter)
    parts: list[list[dict[str, Any]]] = []
    done = 0
    for t in chosen:
        note = f"{per_chapter} exercise{'s' if per_chapter != 1 else ''}, " + (
            " → ".join(dict.fromkeys(levels)) if per_chapter > 1 else levels[0]
        )
        opener = {"kind": "chapter", "number": t.chapter, "title": t.title, "summary": t.summary, "note": note}
        items: list[dict[str, Any]] = [opener]
        entries = []
        for i, level in enumerate(levels, start=1):
            ex = byhand.make(t.name, seed=seed + i - 1, level=level)
            number = f"{t.chapter}.{i}"
            items.append(_plan(ex, number, with_answers=answer_strip, chapter=str(t.chapter)))
            if solutions:
                entries.append(_solutions_entry(number, ex))
            done += 1
            if progress:
                progress(done, total)
        if solutions:
            items.append({"kind": "pagebreak"})
            items.append({"kind": "solutions", "title": f"Worked solutions, chapter {t.chapter}", "entries": entries})
        parts.append(items)
    n_ex = len(chosen) * per_chapter
    span = f"chapters {chosen[0].chapter}–{chosen[-1].chapter}" if len(chosen) > 1 else f"chapter {chosen[0].chapter}"
    title_page: dict[str, Any] = {
        "kind": "title-page",
        "title": title,
        "subtitle": f"A workbook: {len(chosen)} chapter{'s' if len(chosen) != 1 else ''}, {n_ex} exercises",
        "lines": [
            f"byhand {byhand.__version__} · {span} · {paper.upper() if paper == 'a4' else 'Letter'}"
            + (" · with worked solutions" if solutions else ""),
            "Every number is computed by one exact engine; every blank has exactly one answer.",
            "The answers of each page are in the strip at its foot, turned sideways: fold it under before copying.",
            "The QR code by each exercise of this workbook regenerates it: "
            "byhand make TOPIC --seed N --level L --format key.",
            "(A class set for homework or a test prints sealed codes instead: only the teacher's class secret opens those.)",
        ],
    }

    def plan(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {**plan_document(items, paper=paper, answer_strip=answer_strip, key=False, title=title, footer=title), **extra}

    if fmt != "pdf" or not (pieces if pieces is not None else n_ex > BOOK_PIECES_OVER):
        out = _render(plan([title_page, {"kind": "toc"}, *(it for part in parts for it in part)]), fmt, ppi)
    else:
        out = [_book_in_pieces(title, title_page, parts, [t.title for t in chosen], plan)]
    if progress:
        progress(total, total)
    return out


def _book_in_pieces(title: str, title_page: dict[str, Any], parts: list[list[dict[str, Any]]], names: list[str],
                    plan: Callable[..., dict[str, Any]]) -> bytes:
    """The book a chapter at a time: first each chapter alone, to count its pages; then the title
    page and contents (two pages, the contents listing where each chapter starts) and every chapter
    again with its page numbers in the book, joined."""
    from byhand.printing.join import PdfJoiner, page_count
    from byhand.printing.render import render_piece

    count = page_count
    head_pages = 2  # the title page, and the contents (at most 13 lines: one page)
    sizes = [count(render_piece(plan(items))) for items in parts]
    starts = [head_pages + 1 + sum(sizes[:i]) for i in range(len(parts))]
    pages = head_pages + sum(sizes)
    joiner = PdfJoiner(title=title)
    contents = [{"title": n, "page": str(p)} for n, p in zip(names, starts)]
    head = render_piece(plan([title_page, {"kind": "toc", "entries": contents}], page_total=pages))
    if count(head) != head_pages:
        raise ByHandError(M_("the contents of this book take {count} pages; print fewer chapters at once", count=count(head) - 1))
    joiner.add(head)
    for items, start, name in zip(parts, starts, names):
        joiner.add(render_piece(plan(items, page_offset=start - 1, page_total=pages)), bookmark=name)
    return joiner.finish()


# -- lecture mode -----------------------------------------------------------------------------


SLIDE_FORMATS = ("pdf", "png", "svg", "html")


def slides(ex: Exercise, *, group: str = "cell", fmt: str = "pdf", ppi: float | None = None) -> list[bytes]:
    """The exercise as a lecture deck: title frame, one frame per step (or row, or layer), the solution.

    ``pdf``: one 16:9 page per frame; ``png``/``svg``: one image per frame (PNG at 1280×720 unless
    ``ppi``); ``html``: one self-contained file (arrow keys, click or swipe to step)."""
    from byhand.printing.render import render_slides
    from byhand.printing.slides import PROJECTOR_PPI, plan_deck
    from byhand.slides import frames

    if fmt not in SLIDE_FORMATS:
        raise ByHandError(M_("--format {fmt!r} is unknown for slides; use {slide_formats}",
                             fmt=fmt, slide_formats=', '.join(SLIDE_FORMATS)))
    if fmt == "html":
        from byhand.render.html import deck_html

        return [deck_html(ex, group).encode("utf-8")]
    fs = frames(ex, group)
    plan = plan_deck(ex.to_dict(), [f.to_json() for f in fs], group=group)
    return render_slides(plan, fmt, ppi or PROJECTOR_PPI)
