"""Languages: every word a student or teacher reads goes through one gettext catalogue (``byhand``).

The catalogues live in the package (``byhand/locale/LANG/LC_MESSAGES/byhand.po`` and the compiled
``.mo`` beside it, both committed; ``scripts/i18n.py`` extracts, updates, compiles and reports what is
untranslated). English is the source language: the exercise file keeps its English text (it is the one
source of truth), and each view translates what it shows at the moment it shows it, in the language
of the current context (:func:`use_language`; the CLI's ``--lang``, the web's picker).

Numbers are never translated: they stay in the international digits the textbooks use, and a
sentence that carries numbers is looked up with its numbers as ``{0}``, ``{1}`` … (:func:`tr_text`),
so "Run all 4 layers forward" and "Run all 6 layers forward" are one message. Maths notation
(``Z₁ = W₁·X + b₁``) is copied into the translation unchanged.

    >>> with use_language("hi"):                                   # doctest: +SKIP
    ...     _("Answer key")
    'उत्तर कुंजी'
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as _gettext
import os
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DOMAIN = "byhand"
LANGUAGES: dict[str, str] = {"en": "English", "hi": "हिन्दी", "bn": "বাংলা"}
"""The languages byhand speaks, each named in itself (for a language picker)."""

_current: contextvars.ContextVar[str] = contextvars.ContextVar("byhand_language", default="")


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it here (it is translated where it is shown)."""
    return message


def locale_dir() -> Path:
    """The folder that holds ``LANG/LC_MESSAGES/byhand.mo`` (package data)."""
    return Path(str(resources.files("byhand").joinpath("locale")))


def fonts_dir() -> Path:
    """The Noto fonts for Devanagari and Bengali shipped with byhand (Typst and the web page use them)."""
    return Path(str(resources.files("byhand").joinpath("fonts")))


def check_language(lang: str) -> str:
    """``lang`` if byhand speaks it; otherwise a one-line error naming the choices."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        from byhand.errors import ByHandError

        raise ByHandError(M_("language {lang!r} is not available; choose one of {languages}", lang=lang,
                             languages=", ".join(LANGUAGES)))
    return code


def current_language() -> str:
    """The language of this context: set by :func:`use_language`, else ``$BYHAND_LANG``, else English."""
    lang = _current.get()
    if lang:
        return lang
    env = os.environ.get("BYHAND_LANG", "")
    code = env.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else "en"


def set_language(lang: str) -> None:
    """Set the language of the current context (a CLI run, a web request)."""
    _current.set(check_language(lang))


def reset_language() -> None:
    """Back to the default (``$BYHAND_LANG`` or English): a new CLI run in the same process."""
    _current.set("")


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Within the block, everything shown is in ``lang`` (None keeps the current language)."""
    if lang is None:
        yield current_language()
        return
    token = _current.set(check_language(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def _translations(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(locale_dir()), languages=[lang], fallback=True)


def lookup(message: str, lang: str | None = None) -> str | None:
    """The translation of ``message`` exactly as catalogued, or None when there is none."""
    lang = lang or current_language()
    if lang == "en" or not message:
        return None
    t = _translations(lang)
    out = t.gettext(message)
    return out if out != message or message in getattr(t, "_catalog", {}) else None


def gettext(message: str) -> str:
    """``message`` in the current language (the message itself when it has no translation)."""
    found = lookup(message)
    return message if found is None else found


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    lang = current_language()
    if lang == "en":
        return singular if n == 1 else plural
    return _translations(lang).ngettext(singular, plural, n)


# -- messages with parts that vary (errors) ---------------------------------------------------------


class Msg(str):
    """A message built from a catalogued template and its parts: it *is* the English text (``str``), and
    remembers the template and parts so each view can show it in its reader's language (:func:`tr_text`).

    Made by :func:`M_`; an error raised with one (``raise FormatError(M_("tensor {name} has no values",
    name=name))``) prints in English everywhere (logs, tests, ``str(e)``) and in Hindi or Bengali where the CLI
    or the web shows it to a reader."""

    template: str
    parts: dict[str, Any]

    def __new__(cls, template: str, parts: dict[str, Any], english: str | None = None) -> Msg:
        """``english``: the English text when it is not the template's (another library's own wording)."""
        text = english if english is not None else template.format(**{k: _english(v) for k, v in parts.items()})
        self = super().__new__(cls, text)
        self.template = template
        self.parts = parts
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # an error that crosses a process (a print worker) keeps its parts
        return (Msg, (self.template, self.parts, str(self)))


def M_(template: str, **parts: Any) -> Msg:
    """A message whose template is in the catalogue and whose parts (names, numbers, other messages) vary.

    Parts are formatted as in ``str.format`` (``{name!r}`` quotes); a part that is itself a :class:`Msg` or an
    error raised with one is shown in the reader's language too."""
    return Msg(template, parts)


def _english(v: Any) -> Any:
    if isinstance(v, BaseException) and v.args and isinstance(v.args[0], Msg):
        return str(v.args[0])
    return v


class _Part:
    """A part of a message shown in the reader's language, that still formats with ``!r`` and format specs."""

    def __init__(self, value: Any, lang: str) -> None:
        self.value, self.lang = value, lang

    def __format__(self, spec: str) -> str:
        return format(tr_message(self.value, self.lang), spec)

    def __repr__(self) -> str:
        return repr(str(tr_message(self.value, self.lang)))

    def __str__(self) -> str:
        return str(tr_message(self.value, self.lang))


def tr_message(message: Any, lang: str | None = None) -> Any:
    """A message (a :class:`Msg`, an error, or plain English text) in the reader's language.

    A :class:`Msg` is shown through its template's translation with each part translated in turn; plain text
    goes through :func:`tr_text` (a sentence catalogued whole, or with its numbers as ``{0}``). Anything with no
    translation stays in English. Non-text parts (numbers, names) are returned as they are."""
    lang = lang or current_language()
    if isinstance(message, BaseException):
        message = message.args[0] if len(message.args) == 1 and isinstance(message.args[0], str) else str(message)
    if isinstance(message, Msg):
        if lang == "en":
            return str(message)
        t = lookup(message.template, lang)
        if t is None:
            if re.search(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}", "", message.template)):
                return str(message)  # words nobody translated yet: the whole message in English
            t = message.template  # only structure ("{n0} ({s0}), {n1} ({s1})"): its parts are translated
        parts = {k: _Part(v, lang) if isinstance(v, (Msg, BaseException)) else v for k, v in message.parts.items()}
        try:
            return t.format(**parts)
        except (KeyError, IndexError, ValueError):
            return str(message)
    if isinstance(message, str):
        return tr_text(message, lang)
    return message


# -- sentences with numbers and maths --------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_NUMBER = re.compile(r"(?<![0-9₀-₉⁰-⁹])[0-9]+(?![0-9])")

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (N_("{cell} is hidden: find it from {relation}."), re.compile(r"(?P<cell>\S+) is hidden: find it from (?P<relation>.+)\.")),
    (N_("{cell} is hidden."), re.compile(r"(?P<cell>\S+) is hidden\.")),
    (N_("{cell} is hidden: find it from {relation}, so {result}"),
     re.compile(r"(?P<cell>\S+) is hidden: find it from (?P<relation>.+), so (?P<result>\S+ = .+)")),
    (N_("For {target}, look where {row} meets {column}, and at {rest}."),
     re.compile(r"For (?P<target>.+?), look where (?P<row>row \d+ of .+?) meets (?P<column>column \d+ of .+?)"
                r", and at (?P<rest>.+)\.")),
    (N_("For {target}, look where {row} meets {column}."),
     re.compile(r"For (?P<target>.+?), look where (?P<row>row \d+ of .+?) meets (?P<column>column \d+ of .+)\.")),
    (N_("For {target}, look at {cells}."), re.compile(r"For (?P<target>.+?), look at (?P<cells>.+)\.")),
    (N_("ReLU({z}): does {z} stay, or is it crossed out (0)? So {cell} = ?"),
     re.compile(r"ReLU\((?P<z>\S+)\): does (?P=z) stay, or is it crossed out \(0\)\? So (?P<cell>\S+) = \?")),
    (N_("LeakyReLU({z}): does {z} stay, or is it multiplied by {alpha}? So {cell} = ?"),
     re.compile(r"LeakyReLU\((?P<z>\S+)\): does (?P=z) stay, or is it multiplied by (?P<alpha>\S+)\? So (?P<cell>\S+) = \?")),
    (N_("The gate: is {z} > 0? Then the gradient passes, {cell} = {src}; if not, it is blocked (0). So {cell} = ?"),
     re.compile(r"The gate: is (?P<z>\S+) > 0\? Then the gradient passes, (?P<cell>\S+) = (?P<src>.+?); if not, it is "
                r"blocked \(0\)\. So (?P=cell) = \?")),
    (N_("The gate: is {z} > 0? Then the gradient passes, {cell} = {src}; if not, it is multiplied by {alpha}. So {cell} = ?"),
     re.compile(r"The gate: is (?P<z>\S+) > 0\? Then the gradient passes, (?P<cell>\S+) = (?P<src>.+?); if not, it is "
                r"multiplied by (?P<alpha>\S+)\. So (?P=cell) = \?")),
    (N_("Write the relation that contains {cell}, put in the numbers you know, and solve it."),
     re.compile(r"Write the relation that contains (?P<cell>\S+), put in the numbers you know, and solve it\.")),
    (N_("{relation}: solve it for ?"), re.compile(r"(?P<relation>.+): solve it for \?")),
    (N_("{cell} is not given, but {known} is, and it uses {cell}."),
     re.compile(r"(?P<cell>\S+) is not given, but (?P<known>\S+) is, and it uses (?P=cell)\.")),
    (N_("{value} ({relation}: stays)"), re.compile(r"(?P<value>\S+) \((?P<relation>.+ > 0): stays\)")),
    (N_("{value} ({relation}: crossed out)"), re.compile(r"(?P<value>\S+) \((?P<relation>.+ ≤ 0): crossed out\)")),
    (N_("{value} (blocked: {relation})"), re.compile(r"(?P<value>\S+) \(blocked: (?P<relation>.+)\)")),
    (N_("{value} (passed: {relation})"), re.compile(r"(?P<value>\S+) \(passed: (?P<relation>.+)\)")),
    # a hint's last rung, cut where the answer would stand ("0 (passed: Z₁[1,1] = ?")
    (N_("{value} (blocked: {relation}"), re.compile(r"(?P<value>\S+) \(blocked: (?P<relation>[^()]+)")),
    (N_("{value} (passed: {relation}"), re.compile(r"(?P<value>\S+) \(passed: (?P<relation>[^()]+)")),
    (N_("Write the relation that contains {cell}, put in the numbers you know, and solve it: {cell} = ?"),
     re.compile(r"Write the relation that contains (?P<cell>\S+), put in the numbers you know, and solve it: (?P=cell) = \?")),
    (N_("{cell} is found from the other values on the sheet: which relation contains it?"),
     re.compile(r"(?P<cell>\S+) is found from the other values on the sheet: which relation contains it\?")),
    # the steps of a sort and of a gate's top-k choice, whose lists of numbers vary in length
    (N_("the {n}th largest of {values} = {value}"),
     re.compile(r"the (?P<n>\d+)(?:st|nd|rd|th) largest of (?P<values>.+) = (?P<value>\S+)")),
    (N_("{x} is the largest of {values} → {r}"), re.compile(r"(?P<x>\S+) is the largest of (?P<values>.+) → (?P<r>\S+)")),
    (N_("{x} is not the largest of {values} → {r}"),
     re.compile(r"(?P<x>\S+) is not the largest of (?P<values>.+) → (?P<r>\S+)")),
    (N_("{x} is one of the {k} largest of {values} → {r}"),
     re.compile(r"(?P<x>\S+) is one of the (?P<k>\d+) largest of (?P<values>.+) → (?P<r>\S+)")),
    (N_("{x} is not one of the {k} largest of {values} → {r}"),
     re.compile(r"(?P<x>\S+) is not one of the (?P<k>\d+) largest of (?P<values>.+) → (?P<r>\S+)")),
    (N_("the {n}th largest, {value}, is in row {row}"),
     re.compile(r"the (?P<n>\d+)(?:st|nd|rd|th) largest, (?P<value>\S+), is in row (?P<row>\S+)")),
    (N_("{r} is in {range}: rank {k}, word {w}"),
     re.compile(r"(?P<r>\S+) is in (?P<range>\[[^\]]*?\)): rank (?P<k>\d+), word (?P<w>\S+)")),
    (N_("{relation}: keep → {r}"), re.compile(r"(?P<relation>\S+ ≥ \S+): keep → (?P<r>\S+)")),
    (N_("{relation}: drop → {r}"), re.compile(r"(?P<relation>\S+ < \S+): drop → (?P<r>\S+)")),
    (N_("{value} (key {k} comes after query {q}: crossed out)"),
     re.compile(r"(?P<value>\S+) \(key (?P<k>\d+) comes after query (?P<q>\d+): crossed out\)")),
    (N_("The causal mask: row {i} is key {i}, column {j} is query {j}. Does the key come after the query (crossed out, 0), "
        "or does {cell} stay? So {target} = ?"),
     re.compile(r"The causal mask: row (?P<i>\d+) is key (?P=i), column (?P<j>\d+) is query (?P=j)\. Does the key come "
                r"after the query \(crossed out, 0\), or does (?P<cell>\S+) stay\? So (?P<target>.+) = \?")),
]
"""Sentences built around maths that varies (a cell's name, a relation): the maths is kept, the words translated."""


FRAGMENTS: list[tuple[str, re.Pattern[str]]] = [
    (N_("row {n} of {name}"), re.compile(r"row (?P<n>\d+) of (?P<name>[^\s,]+)")),
    (N_("column {n} of {name}"), re.compile(r"column (?P<n>\d+) of (?P<name>[^\s,]+)")),
    (N_("entries {list} of {name}"), re.compile(r"entries (?P<list>[\d, and]+?) of (?P<name>[^\s,]+)")),
    (N_(" and "), re.compile(r" and ")),
]
"""Pieces of a sentence that name cells ("row 2 of W"): translated inside a pattern's parts."""


def _fragments(text: str, lang: str) -> str:
    for msgid, pattern in FRAGMENTS:
        t = lookup(msgid, lang)
        if t is None:
            continue
        text = pattern.sub(lambda m, t=t: t.format(**m.groupdict()), text)  # type: ignore[misc]
    return text


def catalogue_form(sentence: str) -> str:
    """The message a sentence is looked up as: its pattern's (a hidden cell, a ReLU step), else its :func:`template`."""
    for msgid, pattern in PATTERNS:
        if pattern.fullmatch(sentence):
            return msgid
    return template(sentence)[0]


def template(sentence: str) -> tuple[str, list[str]]:
    """The catalogue form of a sentence: each run of digits becomes ``{0}``, ``{1}`` … (braces doubled)."""
    nums: list[str] = []

    def sub(m: re.Match[str]) -> str:
        nums.append(m.group(0))
        return "\0" + str(len(nums) - 1) + "\1"

    marked = _NUMBER.sub(sub, sentence)
    marked = marked.replace("{", "{{").replace("}", "}}")
    return marked.replace("\0", "{").replace("\1", "}"), nums


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (the pieces :func:`tr_text` looks up one at a time)."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def _tr_sentence(s: str, lang: str) -> str:
    found = lookup(s, lang)
    if found is not None:
        return found
    for msgid, pattern in PATTERNS:
        m = pattern.fullmatch(s)
        if m:
            t = lookup(msgid, lang)
            if t is not None:
                parts = {k: _fragments(v, lang) for k, v in m.groupdict().items()}
                try:
                    return t.format(**parts)
                except (KeyError, IndexError, ValueError):
                    return s
    form, nums = template(s)
    if nums:
        t = lookup(form, lang)
        if t is not None:
            try:
                return t.format(*nums)
            except (KeyError, IndexError, ValueError):
                return s
    head, eq, rest = s.partition(" = ")
    if eq and rest and _NAMED.fullmatch(head):  # a hint's "A₁[1,1] = 1 (1 > 0: stays)": the cell, then a step
        said = _tr_sentence(rest, lang)
        if said != rest:
            return head + eq + said
    return s


_NAMED = re.compile(r"\(?[^\s=]*(?:\s[^\s=]+)*?\)?\[\d+(?:,\d+)?\]|\ue000[\ue001-\uefff]")
"""A cell's name as a hint writes it before its step: ``A₁[1,1]``, ``(G(z))[2,1]``, ``(P↓)[1,1]`` (or a name put aside
by :func:`_protect`)."""


def tr_text(text: str, lang: str | None = None) -> str:
    """A text (an exercise's instructions, a footer) in the current language, sentence by sentence.

    A sentence with no translation stays in English; numbers and maths are kept as they are."""
    lang = lang or current_language()
    if isinstance(text, Msg):
        return str(tr_message(text, lang))
    if lang == "en" or not text:
        return text
    marked, shown = _protect(text, lang)  # names that are words: put aside, then back in the reader's language
    whole = _tr_sentence(marked.strip(), lang)
    if whole != marked.strip():
        return _keep_space(text, _restore(whole, shown))
    return _by_sentence(text, marked, shown, lang)


def _by_sentence(text: str, marked: str, shown: list[str], lang: str) -> str:
    parts = _SENTENCE_END.split(marked.strip())
    seps = _SENTENCE_END.findall(marked.strip())
    out = [_tr_sentence(p, lang) for p in parts]
    joined = out[0] + "".join(sep + p for sep, p in zip(seps, out[1:]))
    return _keep_space(text, _restore(joined, shown))


def _keep_space(original: str, new: str) -> str:
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()):]
    return lead + new + trail


# -- names that are words ---------------------------------------------------------------------------

NAMES: list[tuple[str, re.Pattern[str], bool]] = [
    (N_("word"), re.compile(r"word"), False),
    (N_("sampled"), re.compile(r"sampled"), False),
    (N_("mask"), re.compile(r"mask"), False),
    (N_("top {k}"), re.compile(r"top (?P<k>\d+)"), False),
    (N_("the {n} paths"), re.compile(r"the (?P<n>\d+) paths"), False),
    (N_("word (top {k})"), re.compile(r"word \(top (?P<k>\d+)\)"), True),
    (N_("Σ top"), re.compile(r"Σ top"), True),
    (N_("{x} masked"), re.compile(r"(?P<x>[^\s()\[\]]*[^\sA-Za-z()\[\]][^\s()\[\]]*) masked"), True),
    (N_("{x} plain"), re.compile(r"(?P<x>∂[^\s()\[\]]+) plain"), True),
    (N_("{x} with skips"), re.compile(r"(?P<x>∂[^\s()\[\]]+) with skips"), True),
]
"""Tensor names that are words (sampling's ``word``, ``top 3``; attention's ``3ᶻ masked``; gradient flow's
``∂L/∂h₀ with skips``): the exercise file keeps them in English, and each view shows them in its reader's language
(:func:`tr_label` for a name, :func:`tr_text` for the names inside a step or a hint). The last are unmistakable
anywhere in a text; the first only where they name a cell (``word[2,1]``, ``(top 3)[1,1]``)."""


def tr_label(label: str, lang: str | None = None) -> str:
    """A tensor's name in the reader's language: ``word (top 3)`` → ``शब्द (शीर्ष 3)``; maths and numbers kept,
    a name that is no word (``W₂``, ``P′``) as it is."""
    lang = lang or current_language()
    if lang == "en" or not label or not re.search(r"[a-z]{3}", label):
        return label
    for msgid, pattern, _anywhere in NAMES:
        m = pattern.fullmatch(label)
        if m:
            t = lookup(msgid, lang)
            if t is None:
                return label
            try:
                return t.format(**m.groupdict())
            except (KeyError, IndexError, ValueError):
                return label
    return label


_CELL_INDEX = re.compile(r"\[\d+(?:,\d+)?\]")
_PROTECT = "\ue000"  # a private-use mark, then one more per name: no digit, no space, so a pattern's \S+ takes it


def _protect(text: str, lang: str) -> tuple[str, list[str]]:
    """The word-names of a text put aside as marks, each with its translation to put back (:func:`_restore`): a name
    with spaces (``(top 3)[1,1]``) would break a sentence pattern that takes a name as one run of non-space."""
    if not re.search(r"[a-z]{3}", text):
        return text, []
    from byhand.notation import shown_cell

    shown: list[str] = []
    out: list[str] = []
    pos = 0
    for m in _CELL_INDEX.finditer(text):  # a cell: its name ends where its index starts
        start = _name_start(text, m.start())
        if start is None or start < pos:
            continue
        name = text[start: m.start()]
        bare = name[1:-1] if name.startswith("(") and name.endswith(")") else name
        if tr_label(bare, lang) == bare:
            continue
        out.append(text[pos:start])
        out.append(_PROTECT + chr(0xE001 + len(shown)))
        shown.append(shown_cell(tr_label(bare, lang), m.group(0)))
        pos = m.end()
    out.append(text[pos:])
    text = "".join(out)
    for msgid, pattern, anywhere in NAMES:  # a scalar named in words ("∂L/∂h₀ with skips = …")
        if anywhere and lookup(msgid, lang) is not None:
            def mark(m: re.Match[str]) -> str:
                shown.append(tr_label(m.group(0), lang))
                return _PROTECT + chr(0xE000 + len(shown))

            text = pattern.sub(mark, text)
    return text, shown


def _name_start(text: str, end: int) -> int | None:
    """Where the cell name that ends at ``end`` starts: a bracketed name (``(word (top 3))``) or a run of letters."""
    if end == 0:
        return None
    if text[end - 1] == ")":
        depth = 0
        for i in range(end - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth == 0:
                return i
        return None
    i = end
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_′"):  # a word-name is letters: word, sampled, mask
        i -= 1
    return i if i < end else None


def _restore(text: str, shown: list[str]) -> str:
    if not shown:
        return text
    return re.sub(_PROTECT + "([\ue001-\uefff])", lambda m: shown[ord(m.group(1)) - 0xE001], text)


PHRASES: tuple[str, ...] = (N_("along each row"), N_("Σ of each column of"), N_("the top rows of"), N_("the bottom rows of"),
           N_("the left columns of"), N_("the right columns of"), N_("per column"), N_("in every cell"))
"""Words inside a formula or beside a grid ("Σ dZ₂ along each row"): replaced where they occur, the maths kept."""
PHRASES += (N_("the square root"), N_("the diagonal matrix"), N_("the causal mask"))  # layer norm, attention
# the words an op is drawn with ("the padding ( X ) = Xₚ") and the words inside its formula ("P sorted, the largest first")
PHRASES += (N_("the patches as columns"), N_("laid out as a map"), N_("the max-pool"), N_("the padding"), N_("the pick"),
            N_("the mask"), N_("causal mask"), N_(" read row by row"), N_("row by row"), N_(" sorted, the largest first"),
            N_(", the largest first"), N_(" to the power"), N_(", negatives ×"), N_("running Σ of"), N_(": the skip)"))

PHRASE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (N_("the first {k} rows of"), re.compile(r"the first (?P<k>\d+) rows of")),
    (N_("the rows of"), re.compile(r"the rows of")),
    (N_("top-{k} one-hot of each column of"), re.compile(r"top-(?P<k>\d+) one-hot of each column of")),
    (N_("max-pool {a}×{b} of"), re.compile(r"max-pool (?P<a>\d+)×(?P<b>\d+) of")),
    (N_("row {n} of"), re.compile(r"(?<![\w-])row (?P<n>\d+) of")),
    (N_("column {n} of"), re.compile(r"(?<![\w-])column (?P<n>\d+) of")),
    (N_(" as a {k}-row map"), re.compile(r" as a (?P<k>\d+)-row map")),
    (N_(", stride {n}"), re.compile(r", stride (?P<n>\d+)")),
    (N_(" with a border of {n} zeros"), re.compile(r" with a border of (?P<n>\d+) zeros?")),
    (N_("(rows {a}–{b}"), re.compile(r"\(rows (?P<a>\d+)–(?P<b>\d+)")),
]
"""Words inside a formula or a caption with a number (``row 2 of``): the maths and the numbers kept. A name next
to them stays where it is, so a translation that would put it first says so with a colon (``पंक्ति 2, इसमें से:``)."""

PIECES: tuple[str, ...] = (N_(" = the "), N_(" whose range of "), N_(" holds "))
"""The words between the names of a formula (``the word whose range of C holds r``), each a piece of its own."""


def tr_phrases(text: str, lang: str | None = None) -> str:
    """The words of a formula piece, a symbol or a caption in the reader's language; maths, names and numbers kept."""
    lang = lang or current_language()
    if lang == "en" or not text:
        return text
    if text in PIECES:
        t = lookup(text, lang)
        return text if t is None else t
    for p in PHRASES:
        if p in text:
            t = lookup(p, lang)
            if t is not None:
                text = text.replace(p, t)
    if not re.search(r"[a-z]{3}", text):
        return text
    for msgid, pattern in PHRASE_PATTERNS:
        t = lookup(msgid, lang)
        if t is not None and pattern.search(text):
            text = pattern.sub(lambda m, t=t: t.format(**m.groupdict()), text)  # type: ignore[misc]
    return text


def tr_joined(text: str, sep: str = " · ") -> str:
    """A line of parts joined by ``sep`` (a footer: "Answer key · Linear layer · seeds 1–30"), each part translated;
    a class set's key is titled by its chapters, then ": answers" ("Dot product · Linear layer: answers")."""
    if text.endswith(ANSWERS_SUFFIX) and current_language() != "en":
        t = lookup(ANSWERS_TITLE)
        if t is not None:
            return t.format(title=tr_joined(text[: -len(ANSWERS_SUFFIX)], sep))
    return sep.join(tr_text(p) for p in text.split(sep))


ANSWERS_SUFFIX = ": answers"
ANSWERS_TITLE = N_("{title}: answers")


# -- the words printed by the Typst templates ------------------------------------------------------

TYPST_WORDS: dict[str, str] = {
    "name": N_("Name"),
    "date": N_("Date"),
    "answer_key": N_("ANSWER KEY"),
    "chapter": N_("Chapter"),
    "worksheet": N_("Worksheet"),
    "student": N_("Student"),
    "contents": N_("Contents"),
    "minutes": N_("about {0} min"),
    "fill": N_("Fill in every bold box; boxes with the same number hold the same value."),
    "continued": N_("Exercise {0}, continued"),
    "exercise": N_("Exercise"),
    "lecture": N_("lecture"),
    "relu": N_("ReLU"),
    "leaky_relu": N_("leaky ReLU"),
    "sigmoid": N_("sigmoid"),
    "softmax": N_("softmax"),
    "transpose": N_("transpose"),
    "sum": N_("sum"),
    "solution": N_("solution"),
    "level": N_("level"),
    "lv-easy": N_("easy"),
    "lv-medium": N_("medium"),
    "lv-hard": N_("hard"),
    "ex": N_("Ex"),
    "identity": N_("Identity (QR)"),
    "badge_answer": N_("Answers: badge → answer"),
    "page_of": N_("page {0} of {1}"),
    "steps_then": N_("{0} steps · then the full solution"),
    "the_task": N_("the task"),
    "forward": N_("forward"),
    "code": N_("code"),
    "chapter_lc": N_("chapter"),
    "seed": N_("seed"),
    "answers_to": N_("Answers to exercise {0}"),
    "fold": N_("(fold under or cut off before copying for students)"),
    "backward": N_("backward"),
    # the words under an op drawn as a narrow column (exercise.typ's op-caption)
    "top_onehot": N_("largest → 1"),
    "sort": N_("sort"),
    "argsort": N_("word no."),
    "topk": N_("top k"),
    "top_n": N_("top {0}"),
    "cumsum": N_("running Σ"),
    "hard_sigmoid": N_("σ (hard)"),
    "hard_tanh": N_("tanh (hard)"),
}
"""Every word the templates print, by key: the plan carries them translated as ``plan.t``."""


def typst_words() -> dict[str, str]:
    return {k: gettext(v) for k, v in TYPST_WORDS.items()}


def typst_words_json() -> str:
    """The template words and the language, as the ``words`` input the templates read (style.typ)."""
    import json

    return json.dumps({**typst_words(), "lang": current_language()}, ensure_ascii=False, sort_keys=True)


_PLAN_TEXT_KEYS = ("instructions", "note", "text", "subtitle", "summary")
_PLAN_LINE_KEYS = ("footer", "title")  # a class set is titled by its chapters: "Dot product · Linear layer"


def localize_plan(plan: Any) -> Any:
    """A print plan with every text a reader sees in the current language, and the template words as ``t``.

    Only text fields are touched (titles, instructions, notes, headings, legends, footers); values,
    names, codes and identities are left exactly as they are."""
    lang = current_language()
    if isinstance(plan, dict):
        plan = _localize(plan, lang) if lang != "en" else plan
        return {**plan, "lang": lang}
    return plan


def _localize(node: Any, lang: str) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if isinstance(v, str) and k in _PLAN_TEXT_KEYS:
                out[k] = tr_text(v, lang)
            elif isinstance(v, str) and k in _PLAN_LINE_KEYS:
                out[k] = tr_joined(v)
            elif k == "labels" and isinstance(v, list):  # a block's caption: its name and note were made in the language
                out[k] = [{**x, "text": tr_phrases(x["text"], lang)} if isinstance(x, dict) and isinstance(x.get("text"), str)
                          else x for x in v]
            elif k == "symbols" and isinstance(v, list):
                out[k] = [{**x, "text": tr_phrases(x["text"], lang)} if isinstance(x, dict) and isinstance(x.get("text"), str)
                          else x for x in v]
            elif k == "formulas" and isinstance(v, list):
                out[k] = [[{**x, "s": tr_phrases(x["s"], lang)} if isinstance(x, dict) and isinstance(x.get("s"), str) else x
                           for x in f] if isinstance(f, list) else f for f in v]
            elif k == "lines" and isinstance(v, list):
                out[k] = [tr_joined(x) if isinstance(x, str) else x for x in v]
            elif isinstance(v, (dict, list)) and k not in ("formulas", "blocks", "labels", "symbols", "arrows", "copies",
                                                          "answers", "bands", "canvas"):
                out[k] = _localize(v, lang)
            else:
                out[k] = v
        return out
    if isinstance(node, list):
        return [_localize(x, lang) for x in node]
    return node


DOCUMENT_WORDS = (
    N_("Answer key"),
    N_("Worked solutions"),
    N_("Worked solutions, chapter {0}"),
    N_("Student {0}"),
    N_("Deep learning by hand"),
    N_("A workbook: {0} chapters, {1} exercises"),
    N_("Every number is computed by one exact engine; every blank has exactly one answer."),
    N_("The answers of each page are in the strip at its foot, turned sideways: fold it under before copying."),
    N_("byhand worksheet"),
    N_("seed {0}"),
    N_("seeds {0}–{1}"),
    N_("seeds {0}–{1}, level easy"),
    N_("seeds {0}–{1}, level medium"),
    N_("seeds {0}–{1}, level hard"),
    N_("student {0}"),
    N_("students {0}–{1}"),
    N_("chapter {0}"),
    N_("chapters {0}–{1}"),
    N_("with worked solutions"),
    N_("{0} exercise, easy"),
    N_("{0} exercises, easy → hard"),
    N_("{0} exercises, easy → medium → hard"),
    N_("correct"),
    N_("wrong"),
    N_("blank"),
    N_("not a number"),
    N_("A workbook: {0} chapter, {1} exercises"),
    N_("The QR code by each exercise of this workbook regenerates it: byhand make TOPIC --seed N --level L --format key."),
    N_("(A class set for homework or a test prints sealed codes instead: only the teacher's class secret opens those.)"),
)
"""Words that documents.py puts into print plans (headings, footers, the title page), looked up by :func:`tr_text`."""


JS_WORDS = (
    N_("The server cannot be reached. Your answers are still in the boxes; try again."),
    N_("The server said {status}."),
    N_("{correct} of {total} right."),
    N_("{n} more follows from your own earlier answer (→): the method is right."),
    N_("{n} more follow from your own earlier answers (→): the method is right."),
    N_("All {total} right!"),
    N_("Try a new variant."),
    N_("{n} answer is not a number (write −5, 3/4 or 0.75)."),
    N_("{n} answers are not a number (write −5, 3/4 or 0.75)."),
    N_("where to look"),
    N_("the expression"),
    N_("the step"),
    N_("Every blank is right already."),
    N_("Hint {level} of {levels} for [{badge}] {name}: {rung}"),
    N_("Worked solution: {n} steps"),
    N_("Press → to see the first step."),
    N_("After you open the worked solution this exercise takes no more answers. Open it?"),
)
"""The practice page script's words (byhand.js): the page carries them translated as JSON (``#byhand-words``)."""


def js_words() -> dict[str, str]:
    """The script's words in the current language (English: none needed, the script has them)."""
    if current_language() == "en":
        return {}
    return {w: gettext(w) for w in JS_WORDS}
