"""byhand's message catalogue: extract every message, update the translations, compile them, report gaps.

    python scripts/i18n.py            # extract + update + compile (run after changing any text)
    python scripts/i18n.py report     # every message a language lacks (exit 0; --strict: exit 1 if any)

Messages come from two places, so a new chapter's words are found without anyone marking them:

* the source: ``_()``, ``N_()``, ``gettext``, ``ngettext`` in ``src/byhand/**.py`` and ``{{ _("…") }}`` /
  ``{% trans %}`` in the web templates (Babel's extractors);
* the chapters themselves: every chapter in the registry (``byhand.topics.registry()``, so chapters
  added later are included) gives its title, summary and option help, and a few exercises per level
  give their instructions and the words of their worked steps, each sentence in its catalogue form
  (numbers as ``{0}``, ``{1}`` …, see :func:`byhand.i18n.catalogue_form`).

The catalogue files live in ``src/byhand/locale``: ``byhand.pot`` (the template), ``LANG/LC_MESSAGES/byhand.po``
(the translations, edited by hand) and ``byhand.mo`` (compiled, committed, read at run time).
"""

from __future__ import annotations

import argparse
import datetime
import io
import re
import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "byhand"
LOCALE = PKG / "locale"
LANGS = ("hi", "bn")
KEYWORDS = {"_": None, "N_": None, "M_": None, "gettext": None, "ngettext": (1, 2),
            # an error raised with a plain string is shown through the catalogue too (byhand.i18n.tr_message)
            "ByHandError": None, "FormatError": None, "LimitError": None, "GraphError": None, "UnknownTopicError": None,
            "GenerationError": None, "SealError": None, "PrintError": None, "ExerciseFormatError": None,
            "TypstCompileError": None, "fail": (2,), "_need": (2,)}
CLICK_MODULES = ("core.py", "decorators.py", "exceptions.py", "formatting.py", "parser.py", "types.py")
"""Click's own words (Usage:, Options:, "No such option: …"): the CLI looks them up in byhand's catalogue."""
CLICK_SKIP = re.compile(r"declaration|defined twice|Deprecat|deprecated|Boolean option|No options defined|Could not determine|"
                        r"must be an iterable|^Choice\(|%\(prog\)s|^\(dynamic\)$|^env var|Invalid start character|"
                        r"^unknown error$|UUID|prompting|continue\?|Could not open file|Aborted!|executable")
"""Click's words that byhand's CLI never shows (a programmer's mistake, a feature it does not use): left out."""
SEEDS = (0, 1, 2, 3)
_WORDY = re.compile(r"[A-Za-z]{3,}")
_NOTE_WORDY = re.compile(r"\b[a-z][a-z-]{2,}\b")
"""A note with a word in it ("no skip"), not only maths names (``Σ dZD``, ``D(G(z)) − yᴳ``)."""
_MATHS_WORDS = re.compile(r"\b(max|min|tanh|exp|log|sqrt|ReLU|LeakyReLU|softmax|argmax|sigmoid)\b")
"""Function names a worked step writes as maths (``max(3, −1) = 3``): a step with only these has no words."""


def _source_messages() -> list[tuple[str | tuple[str, str], str]]:
    """(message, where) from the code and the templates."""
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options_map = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true",
                                            "trimmed": "true"}}
    out: list[tuple[str | tuple[str, str], str]] = []
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(PKG), method_map=method_map, options_map=options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if isinstance(message, tuple):
            if len(message) == 2 and all(isinstance(m, str) and m for m in message):
                out.append(((message[0], message[1]), f"src/byhand/{filename}:{lineno}"))
            elif message and isinstance(message[0], str) and message[0]:
                out.append((message[0], f"src/byhand/{filename}:{lineno}"))
        elif message:
            out.append((message, f"src/byhand/{filename}:{lineno}"))
    return out


def _click_messages() -> list[tuple[str | tuple[str, str], str]]:
    """Click marks its words for gettext; byhand's CLI shows them through its own catalogue (byhand.cli)."""
    import click

    root = Path(click.__file__).parent
    out: list[tuple[str | tuple[str, str], str]] = []
    for name in CLICK_MODULES:
        with (root / name).open("rb") as f:
            for lineno, message, _comments, _ctx in extract("python", f, keywords=KEYWORDS):
                if isinstance(message, tuple):
                    if len(message) == 2 and all(isinstance(m, str) and m for m in message):
                        out.append(((message[0], message[1]), f"click/{name}:{lineno}"))
                elif message and not CLICK_SKIP.search(message):
                    out.append((message, f"click/{name}:{lineno}"))
    return out


def _cli_messages() -> list[tuple[str, str]]:
    """The help of every command and option of ``byhand`` (shown translated by byhand.cli.help_text)."""
    import inspect

    sys.path.insert(0, str(ROOT / "src"))
    import click

    from byhand.cli import cli

    out: list[tuple[str, str]] = []

    def walk(cmd: click.Command, path: str) -> None:
        for text in (cmd.help, cmd.short_help):
            if text:
                out.append((inspect.cleandoc(text), f"cli {path}"))
        for p in cmd.params:
            h = getattr(p, "help", None)
            if h:
                out.append((inspect.cleandoc(h), f"cli {path} {p.name}"))
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "byhand")
    return out


def _chapter_messages() -> list[tuple[str, str]]:
    """(message, where) from every chapter in the registry: a chapter added later is found the same way."""
    sys.path.insert(0, str(ROOT / "src"))
    import byhand
    from byhand.i18n import catalogue_form, sentences
    from byhand.topics import LEVELS, registry

    out: list[tuple[str, str]] = []
    for name, m in registry().items():
        where = f"chapter {name}"
        out += [(m.TITLE, where), (m.SUMMARY, where)]
        out += [(o.help, f"{where} option {k}") for k, o in m.OPTIONS.items() if getattr(o, "help", "")]
        for level in LEVELS:
            for seed in SEEDS:
                try:
                    ex = byhand.make(name, seed=seed, level=level)
                except Exception as e:  # a chapter that cannot make this variant: say so, go on
                    print(f"i18n: note: {name} {level} seed {seed}: {e}", file=sys.stderr)
                    continue
                for s in sentences(ex.instructions):
                    out.append((catalogue_form(s), f"{where} instructions"))
                for note in (getattr(ex.graph, "notes", None) or {}).values():  # a block's caption: "Z₂′ (no skip)"
                    form = catalogue_form(note)
                    if _NOTE_WORDY.search(_MATHS_WORDS.sub("", re.sub(r"\{[a-z0-9]+\}", "", form))):
                        out.append((form, f"{where} notes"))
                for b in ex.blanks:
                    step = ex.explain(b.cells[0])
                    form = catalogue_form(step)
                    if _WORDY.search(_MATHS_WORDS.sub("", re.sub(r"\{[a-z0-9]+\}", "", form))):
                        out.append((form, f"{where} steps"))
    try:
        from byhand.printing.layout import LEGEND_TEXT

        out += [(t, "printing legend") for t in LEGEND_TEXT.values()]
    except ImportError:
        pass
    return out


def template() -> Catalog:
    """The catalogue of every message byhand shows (the .pot), built from the current code."""
    cat = Catalog(project="byhand", domain="byhand", charset="utf-8", fuzzy=False)
    for msg, where in [*_source_messages(), *_click_messages(), *_cli_messages(), *_chapter_messages()]:
        if isinstance(msg, str) and not _WORDY.search(msg):
            continue  # pure maths or a number: nothing to translate
        path, _, line = where.partition(":")
        cat.add(msg, locations=[(path, int(line) if line.isdigit() else None)])
    return cat


def _po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "byhand.po"


FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
"""The dates written into the compiled files: the same .po always compiles to the same .mo bytes."""


def read(lang: str) -> Catalog:
    path = _po_path(lang)
    if not path.exists():
        cat = Catalog(locale=lang, project="byhand", domain="byhand", fuzzy=False)
    else:
        with path.open("rb") as f:
            cat = read_po(f, locale=lang, domain="byhand")
    cat.creation_date = cat.revision_date = FIXED_DATE
    return cat


def _dump_po(cat: Catalog, **kw: Any) -> bytes:
    buf = io.BytesIO()
    write_po(buf, cat, width=120, sort_output=True, omit_header=False, **kw)
    # the POT-Creation-Date changes each run: keep the files stable
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*"\n', b"", buf.getvalue())


def extract_update_compile() -> None:
    pot = template()
    LOCALE.mkdir(parents=True, exist_ok=True)
    (LOCALE / "byhand.pot").write_bytes(_dump_po(pot, ignore_obsolete=True, include_lineno=False))
    for lang in LANGS:
        cat = read(lang)
        cat.update(pot, no_fuzzy_matching=True)
        path = _po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_dump_po(cat, ignore_obsolete=True, include_lineno=False))
    compile_all()
    print(f"i18n: {len(pot)} messages; " + "; ".join(f"{lang}: {len(missing(lang, pot))} untranslated" for lang in LANGS))


def compile_all() -> None:
    for lang in LANGS:
        cat = read(lang)
        buf = io.BytesIO()
        write_mo(buf, cat, use_fuzzy=False)
        (_po_path(lang).with_suffix(".mo")).write_bytes(buf.getvalue())


def missing(lang: str, pot: Catalog | None = None) -> list[str]:
    """The messages of the current code that ``lang`` does not translate (absent, empty or fuzzy)."""
    pot = pot if pot is not None else template()
    cat = read(lang)
    out = []
    for m in pot:
        if not m.id:
            continue
        t = cat.get(m.id)
        if t is None or t.fuzzy or not t.string or (isinstance(t.string, tuple) and not all(t.string)):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def report(strict: bool) -> int:
    pot = template()
    total = 0
    for lang in LANGS:
        gaps = missing(lang, pot)
        total += len(gaps)
        print(f"{lang}: {len(pot) - len(gaps)} of {len(pot)} messages translated, {len(gaps)} untranslated")
        for m in gaps:
            where = ", ".join(p for p, _ in (pot.get(m).locations if pot.get(m) else [])[:2])
            print(f"  {lang} untranslated: {m!r}  ({where})")
    return 1 if strict and total else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", nargs="?", default="all", choices=["all", "compile", "report"])
    ap.add_argument("--strict", action="store_true", help="report: exit 1 when a message is untranslated")
    a = ap.parse_args(argv)
    if a.command == "report":
        return report(a.strict)
    if a.command == "compile":
        compile_all()
        return 0
    extract_update_compile()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
