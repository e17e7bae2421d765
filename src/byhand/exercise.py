"""The exercise: one complete by-hand problem, and its file format ``byhand-exercise/1``.

An :class:`Exercise` holds the graph (tensors and ops), every value, the blanks with their badge
numbers and answers, and the worked steps. Everything downstream — the terminal view, the JSON
file, ``check``, printing and the web — works from this object alone and never from a topic.

>>> ex = Exercise.from_json('''{"format": "byhand-exercise/1", "topic": "dot", "title": "Dot product",
...   "tensors": {"a": {"values": [2, 3]}, "b": {"values": [1, 1]}, "c": {"values": 5}},
...   "ops": [{"op": "dot", "in": ["a", "b"], "out": "c"}],
...   "blanks": [{"badge": 1, "cells": [["c", []]], "answer": 5}]}''')
>>> ex.check({"1": "5"}).score
1.0
"""

from __future__ import annotations

import difflib
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Any, TypeVar

from byhand import __version__, limits
from byhand.engine import values as V
from byhand.engine.graph import Graph, Node, Step
from byhand.engine.ops import OPS
from byhand.engine.relations import Cell, cell_str
from byhand.engine.solver import solve
from byhand.engine.tensor import Tensor, flat, indices, nested_shape
from byhand.engine.values import Value
from byhand.errors import ByHandError, FormatError, GraphError, LimitError, SolveError
from byhand.i18n import M_, N_
from byhand.notation import namer

FORMAT = "byhand-exercise/1"
GENERATOR = f"byhand {__version__}"
MAX_FILE_BYTES = 2_000_000


@dataclass(slots=True)
class Blank:
    """One badge: the cells that show it (the same value asked in several places) and its answer."""

    badge: int
    cells: list[Cell]
    answer: Value

    def to_json(self) -> dict[str, Any]:
        return {"badge": self.badge, "cells": [[c[0], list(c[1])] for c in self.cells], "answer": V.to_json(self.answer)}


@dataclass
class Verdict:
    badge: int
    verdict: str  # "correct" | "wrong" | "blank" | "not a number"
    given: str | None
    answer: Value
    cells: list[Cell]

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"


@dataclass
class CheckResult:
    verdicts: list[Verdict]
    unknown_badges: list[str] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return sum(v.correct for v in self.verdicts)

    @property
    def total(self) -> int:
        return len(self.verdicts)

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "correct": self.correct,
            "total": self.total,
            "badges": {str(v.badge): {"verdict": v.verdict, "given": v.given} for v in self.verdicts},
            "unknown_badges": self.unknown_badges,
        }


class Exercise:
    """A by-hand exercise. Build one with :func:`byhand.make` or :meth:`from_json`."""

    def __init__(
        self,
        *,
        topic: str,
        title: str,
        graph: Graph,
        values: Mapping[str, Tensor],
        blanks: Sequence[Blank],
        seed: int | None = None,
        level: str | None = None,
        options: Mapping[str, Any] | None = None,
        instructions: str = "",
        precision: int = 3,
        generator: str = GENERATOR,
        minutes: int | None = None,
    ):
        self.topic = topic
        self.title = title
        self.graph = graph
        self.values = dict(values)
        self.blanks = list(blanks)
        self.seed = seed
        self.level = level
        self.options = dict(options or {})
        self.instructions = instructions
        self.precision = precision
        self.generator = generator
        self.minutes = minutes  # about how long a student needs (estimated from the work), if known
        self._steps: list[Step] | None = None

    # -- reading ----------------------------------------------------------------------------

    def value(self, cell: Cell) -> Value:
        return self.values[cell[0]][cell[1]]  # type: ignore[no-any-return]

    @property
    def steps(self) -> list[Step]:
        if self._steps is None:
            self._steps = list(self.graph.steps(self.values, self.precision))
        return self._steps

    def blank_cells(self) -> dict[Cell, int]:
        """Every blank cell and its badge."""
        return {c: b.badge for b in self.blanks for c in b.cells}

    def answers(self) -> dict[str, Value]:
        return {str(b.badge): b.answer for b in self.blanks}

    def step_for(self, cell: Cell) -> Step | None:
        for s in self.steps:
            if s.cell == cell:
                return s
        return None

    def explain(self, cell: Cell) -> str:
        """How a cell is found: its step, or for a hidden input or weight (an inverse problem) the
        relation that determines it, with the answer put back in."""
        step = self.step_for(cell)
        if step is not None:
            return step.text
        g = self.graph
        # the way a student finds it: from the printed cells only (a hidden input read back through
        # the one-to-one wire that shows it, not through a sum that is itself a blank)
        blank = {c for b in self.blanks for c in b.cells} | {cell}
        known = {(n, i): self.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) not in blank}
        r = solve(g, known, blank, eliminate=False, check=False).how.get(cell)
        if r is None:  # not found from the printed cells alone: from every other cell
            known = {(n, i): self.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) != cell}
            r = solve(g, known, [cell], eliminate=False, check=False).how.get(cell)
        name = namer(self, english=True)  # in English, like a step; the view translates it (tr_text)
        if r is None:
            return f"{name(cell)} is given"

        def get(c: Cell) -> Value:
            return self.value(c)

        return (
            f"{name(cell)} is hidden: find it from {name(r.out)} = {r.text(get, self.precision, name)}, "
            f"so {name(cell)} = {V.fmt(self.value(cell), self.precision)}"
        )

    @property
    def identity(self) -> str:
        """What regenerates this exercise: ``byhand:topic:seed=7:level=easy:v=0.1.0``."""
        parts = self.generator.split()
        version = parts[-1] if parts else "?"
        if self.seed is None:
            return f"byhand:{self.topic}:custom:v={version}"
        opts = "".join(f":{k}={v}" for k, v in sorted(self.options.items()))
        return f"byhand:{self.topic}:seed={self.seed}:level={self.level}{opts}:v={version}"

    # -- checking ---------------------------------------------------------------------------

    def check(self, answers: Mapping[Any, Any]) -> CheckResult:
        """Per-badge verdicts for a student's answers ``{"1": "5", "2": "-2"}``.

        Keys are badge numbers, as text (``"1"``) or as integers (``1``); the same badge twice is an
        error. An answer is text (or a JSON number); anything else, or an answer over a limit
        (:mod:`byhand.limits`), is a :class:`FormatError` naming the badge."""
        given_by_badge = normalise_answers(answers)
        verdicts = []
        known = {str(b.badge) for b in self.blanks}
        for b in self.blanks:
            raw = given_by_badge.get(str(b.badge))
            given = None if raw is None else str(raw)
            if given is None or given.strip() == "":
                verdicts.append(Verdict(b.badge, "blank", given, b.answer, b.cells))
                continue
            try:
                v = V.parse_answer(given)
            except ValueError:
                verdicts.append(Verdict(b.badge, "not a number", given, b.answer, b.cells))
                continue
            ok = _accept(v, given, b.answer, self.precision)
            verdicts.append(Verdict(b.badge, "correct" if ok else "wrong", given, b.answer, b.cells))
        unknown = sorted((k for k in given_by_badge if k not in known), key=lambda k: (len(k), k))
        return CheckResult(verdicts, unknown)

    # -- the file ---------------------------------------------------------------------------

    def to_dict(self, *, steps: bool = True) -> dict[str, Any]:
        """The exercise file as a dict. ``steps=False`` leaves out the worked steps (not a complete
        file: for a printer that draws the grid and never reads them)."""
        g = self.graph
        tensors: dict[str, Any] = {}
        for name in g.shapes:
            d: dict[str, Any] = {"values": self.values[name].to_nested(V.to_json), "role": g.roles[name]}
            if g.labels[name] != name:
                d["label"] = g.labels[name]
            if g.notes.get(name):
                d["note"] = g.notes[name]
            tensors[name] = d
        return {
            "format": FORMAT,
            "topic": self.topic,
            "title": self.title,
            "seed": self.seed,
            "level": self.level,
            "options": self.options,
            "generator": self.generator,
            "identity": self.identity,
            "instructions": self.instructions,
            "precision": self.precision,
            **({"minutes": self.minutes} if self.minutes is not None else {}),
            "tensors": tensors,
            "ops": [n.to_json() for n in g.nodes],
            "blanks": [b.to_json() for b in self.blanks],
            "steps": [] if not steps else [
                {
                    "cell": [s.cell[0], list(s.cell[1])],
                    "uses": [[c[0], list(c[1])] for c in s.uses],
                    "text": s.text,
                    "value": V.to_json(s.value),
                    "op": s.op,
                    "phase": s.phase,
                }
                for s in self.steps
            ],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, doc: str | bytes | Mapping[str, Any]) -> Exercise:
        """Read and verify an exercise file: every value is recomputed by the engine, every blank
        must be determined by the shown cells, the steps must agree with the values, and an
        identity (topic + seed + level) must regenerate these very values."""
        d = load_document(doc)
        graph, leaves, given = _graph_from_doc(d, allow_null=False)
        vals = graph.evaluate(leaves)
        precision = _precision(d)
        for name, t in given.items():
            for idx in indices(t.shape):
                a, b = t[idx], vals[name][idx]
                if not _same(a, b, precision):
                    raise FormatError(
                        M_("tensor {name}, cell {idx}: the file says {fmt} but the ops give {fmt2}; fix the value or the ops",
                           name=name, idx=list(idx), fmt=V.fmt(a, precision), fmt2=V.fmt(b, precision))
                    )
        blanks = _blanks_from_doc(d, graph, vals, precision)
        ex = _from_doc(d, graph, vals, blanks, precision)
        _check_steps(d, ex)
        _check_determined(ex)
        _check_identity(d, ex)
        return ex

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exercise) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        from byhand.render.text import render_text

        return render_text(self)

    def __repr__(self) -> str:
        return f"<Exercise {self.identity} blanks={len(self.blanks)}>"

    # -- notebooks (Jupyter shows an Exercise as its worksheet) ------------------------------

    def _repr_html_(self) -> str:
        from byhand.export.notebook import exercise_html

        return exercise_html(self)

    def reveal(self, k: int | None = None) -> Any:
        """The worked solution up to step k, as HTML in a notebook; ``k=None``: all of it, with a
        step slider (in a trusted notebook) to walk through it."""
        from byhand.export.notebook import reveal, slider

        return slider(self) if k is None else reveal(self, k)


# ---------------------------------------------------------------------------------------------


def normalise_answers(answers: Any) -> dict[str, Any]:
    """Answers keyed by badge as text: ``{1: "5"}`` and ``{"1": "5"}`` mean the same; a badge given
    twice, a key that is not a badge, an answer that is not text or a number, or one over a limit is
    a :class:`FormatError` (checked before any answer is computed)."""
    if not isinstance(answers, Mapping):
        raise FormatError('answers must be an object keyed by badge, e.g. {"1": "5", "2": "-2"}')
    out: dict[str, Any] = {}
    for k, raw in answers.items():
        if isinstance(k, bool) or not isinstance(k, (str, int)):
            raise FormatError(M_('answers: the key {k!r} is not a badge number; key answers by badge, e.g. {{"1": "5"}}', k=k))
        key = str(k).strip()
        if key in out:
            raise FormatError(M_("answers: badge {key} is given twice; give each badge one answer", key=key))
        if raw is not None:
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise FormatError(M_('answers: badge {key}: {kind} is not an answer; write it as text, e.g. "3/4"',
                                     key=key, kind=_kind(raw)))
            try:
                limits.check_answer(str(raw))
            except LimitError as e:
                raise LimitError(M_("answers: badge {key}: {e}", key=key, e=e)) from None
        out[key] = raw
    return out


def _kind(x: Any) -> str:
    if x is True or x is False:
        return M_("true/false")
    if isinstance(x, dict):
        return M_("an object")
    if isinstance(x, list):
        return M_("a list")
    return type(x).__name__


def _accept(v: Value, given: str, answer: Value, precision: int) -> bool:
    """Exact values must be written exactly (``0.012`` for 3/250 is exact, so it is right). A
    fraction that never ends as a decimal (1/28) may instead be written rounded to the sheet's
    precision or finer (``0.036``, ``0.0357``); an inexact value (base e) within the precision."""
    if isinstance(answer, float):
        return V.equal_answer(v, answer, precision)
    if Fraction(v) == Fraction(answer):
        return True
    if type(answer) is Fraction and not V.terminates(answer):
        places = V.decimals_written(given)
        if places is not None and places >= precision:
            return Fraction(v) == V.rounded(answer, places)
    return False


def _same(a: Value, b: Value, precision: int) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(Fraction(a) - Fraction(b)) <= Fraction(1, 2 * 10**precision) + Fraction(1, 10**9)
    return Fraction(a) == Fraction(b)


def schema() -> dict[str, Any]:
    """The JSON Schema of ``byhand-exercise/1``, shipped inside the package."""
    text = resources.files("byhand").joinpath("schema/exercise.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


_VALIDATOR: Any = None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            others = ", ".join(repr(x) for x in list(d)[:4] if x != k)
            ctx = M_(" (in the object with {others})", others=others) if others else ""
            raise FormatError(M_("the key {k!r} appears twice{ctx}; JSON would silently keep the last one, so keep one",
                                 k=k, ctx=ctx))
        d[k] = v
    return d


def _no_constant(name: str) -> Any:
    raise FormatError(M_("{name} is not a number; write a finite value", name=name))


def _int(text: str) -> int:
    if len(text) > limits.MAX_DIGITS + 1:
        raise LimitError(
            M_("an integer of {digits} digits {limit}",
               digits=len(text.lstrip('-')), limit=limits.limit('digits of a value', limits.MAX_DIGITS))
        )
    return int(text)


def _float(text: str) -> float:
    if len(text) > 4 * limits.MAX_DIGITS:
        limits.check_digit_string(text, "a number")
    return float(text)


JSON_ERRORS = frozenset((
    N_("Expecting value"), N_("Expecting property name enclosed in double quotes"), N_("Expecting ':' delimiter"),
    N_("Expecting ',' delimiter"), N_("Unterminated string starting at"), N_("Invalid control character at"),
    N_("Invalid \\escape"), N_("Invalid \\uXXXX escape"), N_("Extra data"),
    N_("Illegal trailing comma before end of object"), N_("Illegal trailing comma before end of array"),
))
"""What Python's JSON reader says of a broken file (shown in the reader's language)."""


def parse_json(text: str | bytes, what: str = M_("the exercise file")) -> Any:
    """Strict JSON: a key twice in one object, NaN/Infinity, a number over the digit limit or nesting
    over the depth limit is a :class:`FormatError` naming it, never a silent last-one-wins."""
    try:
        data = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_int=_int, parse_float=_float
        )
    except json.JSONDecodeError as e:
        raise FormatError(M_("{what} is not valid JSON: {msg} at line {lineno}, column {colno}",
                             what=what, msg=M_(e.msg) if e.msg in JSON_ERRORS else e.msg, lineno=e.lineno,
                             colno=e.colno)) from None
    except UnicodeDecodeError:
        raise FormatError(M_("{what} is not valid JSON: it is not UTF-8 text", what=what)) from None
    except RecursionError:
        raise LimitError(
            M_("{what} is nested more than {max_depth} deep {limit}",
               what=what, max_depth=limits.MAX_DEPTH, limit=limits.limit('nesting depth', limits.MAX_DEPTH))
        ) from None
    except FormatError as e:
        raise type(e)(M_("{what}: {e}", what=what, e=e)) from None
    limits.check_depth(data, what)
    return data


def _where(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the top level"


OP_KEYS = ("op", "in", "out", "attrs")
BLANK_KEYS = ("badge", "cells", "answer")
GRAD_ATTRS = ("of", "wrt")


def _suggest(key: str, choices: Sequence[str]) -> str | None:
    m = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return m[0] if m else None


def _check_closed(d: Mapping[str, Any]) -> None:
    """Op and blank objects are closed: an unknown key is an error naming it, with a did-you-mean
    (an attribute written beside the op instead of inside attrs: ``did you mean attrs.base?``)."""
    ops = d.get("ops")
    for k, o in enumerate(ops if isinstance(ops, list) else []):
        if not isinstance(o, dict):
            continue
        name = o.get("op")
        op_attrs: tuple[str, ...] = ()
        if name == "grad":
            op_attrs = GRAD_ATTRS
        elif isinstance(name, str) and name in OPS:
            op_attrs = tuple(OPS[name].attrs)
        for key in o:
            if key in OP_KEYS:
                continue
            if key in op_attrs:
                hint = M_("did you mean attrs.{key}?", key=key)
            elif (s := _suggest(key, OP_KEYS)) is not None:
                hint = M_("did you mean {s}?", s=s)
            elif (s := _suggest(key, op_attrs)) is not None:
                hint = M_("did you mean attrs.{s}?", s=s)
            else:
                hint = M_("an op has only op, in, out and attrs")
            raise FormatError(M_("ops[{k}].{key}: unknown key; {hint}", k=k, key=key, hint=hint))
        attrs = o.get("attrs")
        if isinstance(attrs, dict) and isinstance(name, str) and (name in OPS or name == "grad"):
            for key in attrs:
                if key not in op_attrs:
                    s = _suggest(key, op_attrs)
                    hint = (M_("did you mean {s}?", s=s) if s else M_("it takes {takes}", takes=", ".join(op_attrs))
                            if op_attrs else M_("it takes none"))
                    raise FormatError(M_("ops[{k}].attrs.{key}: unknown attribute {key!r} of {name}; {hint}",
                                         k=k, key=key, name=name, hint=hint))
    blanks = d.get("blanks")
    for k, b in enumerate(blanks if isinstance(blanks, list) else []):
        if not isinstance(b, dict):
            continue
        for key in b:
            if key not in BLANK_KEYS:
                s = _suggest(key, BLANK_KEYS)
                hint = M_("did you mean {s}?", s=s) if s else M_("a blank has only badge, cells and answer")
                raise FormatError(M_("blanks[{k}].{key}: unknown key; {hint}", k=k, key=key, hint=hint))


def _validator() -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema

        sch = schema()
        base = jsonschema.validators.validator_for(sch)
        # exact types: 1.0 is not an integer (JSON Schema says it is), true is not a number
        checker = base.TYPE_CHECKER.redefine("integer", lambda _c, x: type(x) is int)
        _VALIDATOR = jsonschema.validators.extend(base, type_checker=checker)(sch)
    return _VALIDATOR


def load_document(doc: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Parse and schema-check an exercise document; one-line FormatError otherwise."""
    if isinstance(doc, (str, bytes)):
        if len(doc) > MAX_FILE_BYTES:
            raise FormatError(M_("the exercise file is larger than {max_file_bytes} MB; an exercise is a few KB",
                                 max_file_bytes=MAX_FILE_BYTES // 1_000_000))
        d = parse_json(doc)
    elif isinstance(doc, Mapping):
        limits.check_depth(doc, "the exercise")
        d = dict(doc)
    else:
        raise FormatError('an exercise is a JSON object with "format", "tensors" and "ops"')
    if not isinstance(d, dict):
        raise FormatError('an exercise file is a JSON object with "format", "tensors" and "ops"')
    if d.get("format") != FORMAT:
        raise FormatError(M_('"format" must be "{format}", not {given!r}', format=FORMAT, given=d.get("format")))
    _check_closed(d)
    errors = list(_validator().iter_errors(d))
    if errors:
        import jsonschema

        err = jsonschema.exceptions.best_match(sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]))
        msg = _schema_message(err)
        if isinstance(err.instance, bool):
            msg = M_('{value} is not a number; write an integer, "p/q" or a decimal', value=json.dumps(err.instance))
        raise FormatError(M_("at {where}: {msg}", where=_where(list(err.absolute_path)), msg=msg))
    return d


def _schema_message(err: Any) -> str:
    """What the schema found, in words a reader's language can show: the common cases as catalogued messages, the
    rest as the validator says it (English)."""
    from byhand.i18n import Msg

    kind, inst, want = err.validator, err.instance, err.validator_value
    english = str(err.message[:200])  # English stays the validator's own words

    def M_(template: str, **parts: Any) -> Msg:  # noqa: N802 - the catalogue's marker, extracted by scripts/i18n.py
        return Msg(template, parts, english)

    shown = json.dumps(inst, ensure_ascii=False)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    if kind == "type":
        wants = ", ".join(want) if isinstance(want, list) else str(want)
        return M_("{value} is not of type {wants}", value=shown, wants=wants)
    if kind == "enum":
        return M_("{value} is not one of {choices}", value=shown, choices=", ".join(json.dumps(w) for w in want))
    if kind == "pattern":
        return M_("{value} is not allowed here (it must match {pattern})", value=shown, pattern=want)
    if kind == "required":
        missing = [k for k in want if isinstance(inst, dict) and k not in inst]
        return M_("{key!r} is missing", key=missing[0] if missing else want[0])
    if kind in ("minItems", "minLength", "minProperties"):
        return M_("it is empty or too short")
    if kind in ("minimum", "exclusiveMinimum"):
        return M_("{value} is too small (at least {least})", value=shown, least=want)
    if kind in ("maximum", "exclusiveMaximum"):
        return M_("{value} is too large (at most {most})", value=shown, most=want)
    return english


# -- what a file claims, checked ----------------------------------------------------------------

Regenerator = Callable[[str, int, str, Mapping[str, Any]], "Exercise"]
_REGENERATE: list[Regenerator] = []


def register_regenerator(fn: Regenerator) -> None:
    """The chapters register how to remake an exercise from its identity (data flows topic →
    exercise: this module never imports a chapter)."""
    _REGENERATE[:] = [fn]


def _check_identity(d: Mapping[str, Any], ex: Exercise) -> None:
    """An identity (``byhand:linear:seed=7:level=medium:v=0.1.0``) promises that these fields remake
    this exercise. The written identity must match the fields, and a seed of this byhand version must
    remake these very values (an older version cannot be checked: its sampling may differ)."""
    claimed = d.get("identity")
    if claimed is not None and claimed != ex.identity:
        raise FormatError(
            M_('identity: the file says {claimed!r} but its topic, seed, level and options say {identity!r}; fix them '
               'or drop "identity"',
               claimed=claimed, identity=ex.identity)
        )
    if ex.seed is None:
        return
    if ex.level is None:
        raise FormatError('level: an exercise with a seed needs its level ("easy", "medium" or "hard"); or set "seed" to null')
    version = ex.generator.split()[-1]
    if ex.options.get("values") == "given" or version != __version__ or not _REGENERATE:
        return
    try:
        opts = {k: v for k, v in ex.options.items()}
        again = _REGENERATE[0](ex.topic, ex.seed, ex.level, opts)
    except ByHandError as e:
        raise FormatError(
            M_('identity {identity}: it cannot be regenerated ({e}); set "seed" to null for your own exercise',
               identity=ex.identity, e=e)
        ) from None
    for name, t in ex.values.items():
        other = again.values.get(name)
        if other is None or other.shape != t.shape or again.graph.nodes != ex.graph.nodes:
            raise FormatError(
                M_('identity {identity}: that chapter and seed make another sheet (tensor {name}); set "seed" to null '
                   'for your own exercise',
                   identity=ex.identity, name=name)
            )
        for idx in indices(t.shape):
            if not _same(t[idx], other[idx], ex.precision):
                raise FormatError(
                    M_('identity {identity}: that seed makes {cell} = {fmt}, the file says {fmt2}; set "seed" to null '
                       'for your own numbers',
                       identity=ex.identity, cell=cell_str((name, idx)), fmt=V.fmt(other[idx], ex.precision),
                       fmt2=V.fmt(t[idx], ex.precision))
                )


def _check_steps(d: Mapping[str, Any], ex: Exercise) -> None:
    """Steps written in the file must agree with the values; they are never silently regenerated."""
    raw = d.get("steps")
    if not raw:
        return
    by_cell = {s.cell: s for s in ex.steps}
    for k, st in enumerate(raw):
        c = _cell(ex.graph, st["cell"], f"steps[{k}].cell")
        mine = by_cell.get(c)
        if mine is None:
            raise FormatError(M_("steps[{k}]: {cell} is not computed by any op, so it has no step; remove this step",
                                 k=k, cell=cell_str(c)))
        v = V.from_json(st["value"], where=f"steps[{k}].value")
        if v is None or not _same(v, mine.value, ex.precision):
            raise FormatError(
                M_('steps[{k}]: the step for {cell} says {st!r} but the cell is {fmt}; fix the step or drop "steps" '
                   '(byhand writes them)',
                   k=k, cell=cell_str(c), st=st['value'], fmt=V.fmt(mine.value, ex.precision))
            )
        for j, u in enumerate(st["uses"]):
            _cell(ex.graph, u, f"steps[{k}].uses[{j}]")


def _check_determined(ex: Exercise) -> None:
    """Every blank must have exactly one answer given the shown cells; otherwise a student's valid
    alternative would be marked wrong, so such a file is refused."""
    blank = ex.blank_cells()
    g = ex.graph
    if not any(c[0] in g.leaves for c in blank):
        return  # every computed cell is a function of the shown leaves
    known = {(n, i): ex.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) not in blank}
    sol = solve(g, known, list(blank), precision=ex.precision, check=False)
    if sol.undetermined:
        c = sol.undetermined[0]
        more = M_(" (and {n} more cells)", n=len(sol.undetermined) - 1) if len(sol.undetermined) > 1 else ""
        raise FormatError(
            M_("blank {blank} at {cell}{more}: the shown cells allow more than one value, so a right answer could be "
               "marked wrong; show another cell or remove the blank",
               blank=blank[c], cell=cell_str(c), more=more)
        )


def _precision(d: Mapping[str, Any]) -> int:
    p = d.get("precision", 3)
    if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 10:
        raise FormatError('"precision" must be a whole number of decimals from 0 to 10')
    return p


def _tensor(name: str, raw: Any, allow_null: bool) -> Tensor:
    shape = nested_shape(raw)
    if shape is None:
        raise FormatError(M_("tensor {name}: values must be a number, a flat list or a list of equal rows", name=name))
    t = Tensor.from_nested(raw)
    data = []
    for x in t.data:
        v = V.from_json(x, where=M_("tensor {name}", name=name))
        if v is None and not allow_null:
            raise FormatError(M_("tensor {name}: null (unknown) is only allowed in files given to 'byhand solve'", name=name))
        data.append(v)
    return Tensor(shape, data)


def _graph_from_doc(d: Mapping[str, Any], allow_null: bool) -> tuple[Graph, dict[str, Tensor], dict[str, Tensor]]:
    """The graph, the leaf tensors and the given computed tensors of a document."""
    tensors = d.get("tensors") or {}
    raw_ops = d.get("ops") or []
    nodes = []
    for o in raw_ops:
        nodes.append(Node(o["op"], tuple(o.get("in", [])), o["out"], dict(o.get("attrs") or {})))
    defined = {n.out for n in nodes}
    for name in tensors:
        if name not in defined and "values" not in tensors[name]:
            raise FormatError(M_("tensor {name} has no values", name=name))
    all_t = {
        name: _tensor(name, spec.get("values"), allow_null)
        for name, spec in tensors.items()
        if "values" in spec and not (allow_null and spec["values"] is None and name in defined)
    }
    leaves = {k: v for k, v in all_t.items() if k not in defined}
    used = (
        {i for n in nodes for i in n.ins}
        | {n.attrs.get("wrt") for n in nodes if n.op == "grad"}
        | {n.attrs.get("of") for n in nodes if n.op == "grad"}
    )
    for name in sorted(x for x in used if isinstance(x, str)):
        if name not in defined and name not in leaves:
            raise FormatError(M_('tensor {name!r} is used by an op but not given; add it to "tensors" with its values',
                                 name=name))
    roles = {k: v["role"] for k, v in tensors.items() if isinstance(v.get("role"), str)}
    labels = {k: v["label"] for k, v in tensors.items() if isinstance(v.get("label"), str)}
    notes = {k: v["note"] for k, v in tensors.items() if isinstance(v.get("note"), str)}
    try:
        graph = Graph(nodes, {k: v.shape for k, v in leaves.items()}, roles, labels, notes)
    except GraphError as e:  # the same message, its template and parts kept (shown in the reader's language)
        raise FormatError(e.args[0] if len(e.args) == 1 else str(e)) from None
    for name in all_t:
        if name in defined and all_t[name].shape != graph.shapes[name]:
            raise FormatError(
                M_("tensor {name}: the file gives a {shape} but the ops make a {shape2}",
                   name=name, shape=V_shape(all_t[name].shape), shape2=V_shape(graph.shapes[name]))
            )
    given = {k: v for k, v in all_t.items() if k in defined}
    return graph, leaves, given


def V_shape(s: tuple[int, ...]) -> str:
    from byhand.engine.tensor import shape_str

    return shape_str(s)


def _cell(graph: Graph, raw: Any, where: str) -> Cell:
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], list)):
        raise FormatError(M_("{where}: a cell is [tensor, [row, column]]", where=where))
    name, idx = raw[0], tuple(raw[1])
    if name not in graph.shapes:
        raise FormatError(M_("{where}: no tensor named {name!r}", where=where, name=name))
    shape = graph.shapes[name]
    if len(idx) != len(shape) or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < s for i, s in zip(idx, shape)):
        raise FormatError(M_("{where}: {name} is a {shape}, index {idx} is outside it (indices count from 0)",
                             where=where, name=name, shape=V_shape(shape), idx=list(idx)))
    return (name, idx)


def _blanks_from_doc(d: Mapping[str, Any], graph: Graph, vals: Mapping[str, Tensor], precision: int) -> list[Blank]:
    out = []
    seen_badges: set[int] = set()
    seen_cells: set[Cell] = set()
    for b in d.get("blanks") or []:
        badge = b["badge"]
        if badge in seen_badges:
            raise FormatError(M_("badge {badge} is listed twice; one entry per badge, with all its cells", badge=badge))
        seen_badges.add(badge)
        cells = [_cell(graph, c, M_("blank {badge}", badge=badge)) for c in b["cells"]]
        for c in cells:
            if c in seen_cells:
                raise FormatError(M_("blank {badge}: cell {cell} already carries another badge", badge=badge, cell=cell_str(c)))
            seen_cells.add(c)
        ans = V.from_json(b.get("answer"), where=M_("blank {badge} answer", badge=badge))
        for c in cells:
            v = vals[c[0]][c[1]]
            if ans is None or not _same(ans, v, precision):
                raise FormatError(
                    M_("blank {badge}: the answer {given!r} is not the value of {cell}, {fmt}",
                       badge=badge, given=b.get('answer'), cell=cell_str(c), fmt=V.fmt(v, precision))
                )
        out.append(Blank(badge, cells, vals[cells[0][0]][cells[0][1]]))
    out.sort(key=lambda b: b.badge)
    return out


_COPIES: weakref.WeakKeyDictionary[Graph, list[tuple[Cell, Cell]]] = weakref.WeakKeyDictionary()


def copy_pairs(graph: Graph) -> list[tuple[Cell, Cell]]:
    """Every (copy, source) cell pair of the copying ops (transpose, stack), in sheet order. A graph
    never changes once built, so the pairs are listed once per graph, not once per variant."""
    pairs = _COPIES.get(graph)
    if pairs is None:
        pairs = []
        for n in graph.forward_nodes:
            op = OPS[n.op]
            if not op.copies:
                continue
            shapes = [graph.shapes[i] for i in n.ins]
            attrs = dict(n.attrs)
            for idx in indices(graph.shapes[n.out]):
                pairs.append(((n.out, idx), op.relation(idx, n.ins, n.out, shapes, attrs).uses[0]))
        pairs += _gradient_copies(graph)
        _COPIES[graph] = pairs
    return pairs


_T = TypeVar("_T")


def _per_graph(cache: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], _T]], graph: Graph,
               cells: Sequence[Cell], make: Callable[[], _T]) -> _T:
    """What depends on a graph and a set of cells only, made once (every variant of most chapters
    asks the same cells); at most 256 sets a graph, so a long run of different blanks stays bounded."""
    per_graph = cache.get(graph)
    if per_graph is None:
        per_graph = cache[graph] = {}
    key = tuple(cells)
    out = per_graph.get(key, _MISSING)
    if out is _MISSING:
        if len(per_graph) > 256:
            per_graph.clear()
        out = per_graph[key] = make()
    return out  # type: ignore[return-value]


_MISSING: Any = object()


_CLOSED: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], list[Cell]]] = weakref.WeakKeyDictionary()


def _gradient_copies(graph: Graph) -> list[tuple[Cell, Cell]]:
    """Gradient cells that only copy a cell of a stack's gradient — dH₁ = the top rows of
    d[H₁ ; X₂] — are the same number asked twice unless they share a badge. (A bias gradient
    equal to dZ for one sample is not a copy of a stack: it is the sum over the batch, kept.)"""
    if not graph.grad_nodes:
        return []
    from byhand.engine.relations import PolyRelation
    from byhand.errors import GraphError

    try:
        rels = graph.relations()
    except GraphError:  # an op without a cell-by-cell gradient: the sheet draws no backward steps
        return []
    made_by = {n.out: n.op for n in graph.forward_nodes}
    stacked = {n.out for n in graph.grad_nodes if made_by.get(n.attrs["wrt"]) in ("vstack", "hstack")}
    out = []
    for cell, r in rels.items():
        if r.phase != "forward" and isinstance(r, PolyRelation) and len(r.terms) == 1:
            t = r.terms[0]
            if t.coef == 1 and len(t.cells) == 1 and not t.inv and t.gate is None and t.cells[0][0] in stacked:
                out.append((cell, t.cells[0]))
    return out


def close_over_copies(graph: Graph, cells: Sequence[Cell]) -> list[Cell]:
    """A copy (transpose, stack) of a blank cell is blank too, or it would show the answer."""
    out: list[Cell] = _per_graph(_CLOSED, graph, cells, lambda: _close_over_copies(graph, cells))
    return list(out)


def _close_over_copies(graph: Graph, cells: Sequence[Cell]) -> list[Cell]:
    out = list(dict.fromkeys(cells))
    blank = set(out)
    for dst, src in copy_pairs(graph):  # in sheet order: a copy of a copy follows its source
        if src in blank and dst not in blank:
            blank.add(dst)
            out.append(dst)
    return out


_RANKS: weakref.WeakKeyDictionary[Graph, dict[Cell, int]] = weakref.WeakKeyDictionary()


def _sheet_rank(graph: Graph) -> dict[Cell, int]:
    """Every cell's place in sheet order (tensor by tensor, row-major), listed once per graph."""
    rank = _RANKS.get(graph)
    if rank is None:
        rank = {}
        for name, shp in graph.shapes.items():
            for idx in indices(shp):
                rank[(name, idx)] = len(rank)
        _RANKS[graph] = rank
    return rank


_BADGES: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], list[tuple[list[Cell], str, int]]]] = (
    weakref.WeakKeyDictionary()
)


def badges_for(graph: Graph, vals: Mapping[str, Tensor], cells: Sequence[Cell]) -> list[Blank]:
    """Number blank cells in sheet order; cells that are copies of each other (a transpose) share a badge."""
    # the grouping depends on the graph and the cells only: worked out once for a set of blanks
    # (every variant of most chapters asks the same cells), and only the answers read per variant
    groups = _per_graph(_BADGES, graph, cells, lambda: [
        (b.cells, b.cells[0][0], flat(graph.shapes[b.cells[0][0]], b.cells[0][1])) for b in _badges(graph, vals, cells)
    ])
    return [Blank(k, list(cs), vals[name].data[i]) for k, (cs, name, i) in enumerate(groups, start=1)]


def _badges(graph: Graph, vals: Mapping[str, Tensor], cells: Sequence[Cell]) -> list[Blank]:
    rank = _sheet_rank(graph)
    parent: dict[Cell, Cell] = {c: c for c in cells}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            c = parent[c]
        return c

    for dst, src in copy_pairs(graph):
        if dst in parent and src in parent:
            parent[find(dst)] = find(src)
    groups: dict[Cell, list[Cell]] = {}
    for c in sorted(cells, key=rank.__getitem__):
        groups.setdefault(find(c), []).append(c)
    # the groups were met in the order of their first cells: that is the badge order
    return [Blank(k, cs, vals[cs[0][0]][cs[0][1]]) for k, cs in enumerate(groups.values(), start=1)]


def solve_document(doc: str | bytes | Mapping[str, Any]) -> Exercise:
    """Fill every null of a teacher's exercise file, or raise SolveError naming each problem.

    A given cell is never changed: one that the ops contradict is reported as inconsistent. The
    problems are listed in sheet order, the same on every run. The cells that were null become the
    blanks (unless the file lists its own blanks)."""
    d = load_document(doc)
    graph, leaves, given = _graph_from_doc(d, allow_null=True)
    precision = _precision(d)
    known: dict[Cell, Value] = {}
    unknown: list[Cell] = []
    for name in graph.shapes:
        t = leaves.get(name) or given.get(name)
        for idx in indices(graph.shapes[name]):
            v = t[idx] if t is not None else None
            if v is None:
                unknown.append((name, idx))
            else:
                known[(name, idx)] = v
    sol = solve(graph, known, unknown, precision=precision)
    order = {name: k for k, name in enumerate(graph.shapes)}
    problems: list[str] = [M_("{cell} is under-determined: the shown cells allow more than one value", cell=cell_str(c))
                           for c in sol.undetermined]
    problems += [M_("inconsistent: {s}", s=s) for s in sorted(set(sol.inconsistent))]
    if problems:
        raise SolveError(problems)
    filled = {
        name: Tensor(graph.shapes[name], [sol.values[(name, idx)] for idx in indices(graph.shapes[name])])
        for name in graph.leaves
    }
    vals = graph.evaluate(filled)
    changed = [
        c
        for c in sorted(known, key=lambda c: (order[c[0]], c[1]))
        if c[0] not in graph.leaves and not _same(known[c], vals[c[0]][c[1]], precision)
    ]
    if changed:
        raise SolveError(
            [
                M_("inconsistent: {cell} is given as {given} but the other cells make it {value}", cell=cell_str(c),
                   given=V.fmt(known[c], precision), value=V.fmt(vals[c[0]][c[1]], precision))
                for c in changed
            ]
        )
    nulls = close_over_copies(graph, unknown)
    if d.get("blanks"):
        blanks = _blanks_from_doc(d, graph, vals, precision)
    else:
        blanks = badges_for(graph, vals, nulls)
    ex = _from_doc(d, graph, vals, blanks, precision)
    _check_steps(d, ex)
    _check_determined(ex)
    _check_identity(d, ex)
    return ex


def _from_doc(d: Mapping[str, Any], graph: Graph, vals: dict[str, Tensor], blanks: list[Blank], precision: int) -> Exercise:
    return Exercise(
        topic=str(d.get("topic") or "custom"),
        title=str(d.get("title") or d.get("topic") or "Exercise"),
        graph=graph,
        values=vals,
        blanks=blanks,
        seed=d.get("seed"),
        level=d.get("level"),
        options=d.get("options") or {},
        instructions=str(d.get("instructions") or ""),
        precision=precision,
        generator=str(d.get("generator") or GENERATOR),
        minutes=_minutes(d.get("minutes")),
    )


def _minutes(v: Any) -> int | None:
    """The estimated minutes, if the file has a sensible number (the field is optional)."""
    if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 10_000:
        return v
    return None
