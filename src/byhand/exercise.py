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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Any

from byhand import __version__
from byhand.engine import values as V
from byhand.engine.graph import Graph, Node, Step
from byhand.engine.ops import OPS
from byhand.engine.relations import Cell, cell_str
from byhand.engine.solver import solve
from byhand.engine.tensor import Tensor, indices, nested_shape
from byhand.engine.values import Value
from byhand.errors import FormatError, GraphError, SolveError

FORMAT = "byhand-exercise/1"
GENERATOR = f"byhand {__version__}"
MAX_FILE_BYTES = 2_000_000


@dataclass
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
        known = {(n, i): self.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) != cell}
        sol = solve(g, known, [cell], eliminate=False, check=False)
        r = sol.how.get(cell)
        if r is None:
            return f"{cell_str(cell)} is given"

        def get(c: Cell) -> Value:
            return self.value(c)

        return (
            f"{cell_str(r.out)}: {r.text(get, self.precision)}, so {cell_str(cell)} = {V.fmt(self.value(cell), self.precision)}"
        )

    @property
    def identity(self) -> str:
        """What regenerates this exercise: ``byhand:topic:seed=7:level=easy:v=0.1.0``."""
        version = self.generator.split()[-1]
        if self.seed is None:
            return f"byhand:{self.topic}:custom:v={version}"
        opts = "".join(f":{k}={v}" for k, v in sorted(self.options.items()))
        return f"byhand:{self.topic}:seed={self.seed}:level={self.level}{opts}:v={version}"

    # -- checking ---------------------------------------------------------------------------

    def check(self, answers: Mapping[str, Any]) -> CheckResult:
        """Per-badge verdicts for a student's answers ``{"1": "5", "2": "-2"}``."""
        if not isinstance(answers, Mapping):
            raise FormatError('answers must be an object keyed by badge, e.g. {"1": "5", "2": "-2"}')
        verdicts = []
        known = {str(b.badge) for b in self.blanks}
        for b in self.blanks:
            raw = answers.get(str(b.badge))
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
        unknown = sorted((k for k in answers if str(k) not in known), key=str)
        return CheckResult(verdicts, [str(k) for k in unknown])

    # -- the file ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        g = self.graph
        tensors: dict[str, Any] = {}
        for name in g.shapes:
            d: dict[str, Any] = {"values": self.values[name].to_nested(V.to_json), "role": g.roles[name]}
            if g.labels[name] != name:
                d["label"] = g.labels[name]
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
            "steps": [
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
        """Read and verify an exercise file: every value is recomputed by the engine."""
        d = load_document(doc)
        graph, leaves, given = _graph_from_doc(d, allow_null=False)
        vals = graph.evaluate(leaves)
        precision = _precision(d)
        for name, t in given.items():
            for idx in indices(t.shape):
                a, b = t[idx], vals[name][idx]
                if not _same(a, b, precision):
                    raise FormatError(
                        f"tensor {name}, cell {list(idx)}: the file says {V.fmt(a, precision)} but the ops give "
                        f"{V.fmt(b, precision)}; fix the value or the ops"
                    )
        return _from_doc(d, graph, vals, _blanks_from_doc(d, graph, vals, precision), precision)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exercise) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        from byhand.render.text import render_text

        return render_text(self)

    def __repr__(self) -> str:
        return f"<Exercise {self.identity} blanks={len(self.blanks)}>"


# ---------------------------------------------------------------------------------------------


def _accept(v: Value, given: str, answer: Value, precision: int) -> bool:
    if isinstance(answer, float):
        return V.equal_answer(v, answer, precision)
    if Fraction(v) == Fraction(answer):
        return True
    # a non-terminating fraction (1/28) may be written as a decimal to the sheet's precision
    wrote_decimal = "." in given or "," in given
    if wrote_decimal and type(answer) is Fraction:
        return abs(Fraction(v) - answer) <= Fraction(1, 2 * 10**precision)
    return False


def _same(a: Value, b: Value, precision: int) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 0.5 * 10 ** (-precision) + 1e-9
    return Fraction(a) == Fraction(b)


def schema() -> dict[str, Any]:
    """The JSON Schema of ``byhand-exercise/1``, shipped inside the package."""
    text = resources.files("byhand").joinpath("schema/exercise.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


_VALIDATOR: Any = None


def load_document(doc: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Parse and schema-check an exercise document; one-line FormatError otherwise."""
    global _VALIDATOR
    if isinstance(doc, (str, bytes)):
        if len(doc) > MAX_FILE_BYTES:
            raise FormatError(f"the exercise file is larger than {MAX_FILE_BYTES // 1_000_000} MB; an exercise is a few KB")
        try:
            d = json.loads(doc)
        except json.JSONDecodeError as e:
            raise FormatError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
        except UnicodeDecodeError:
            raise FormatError("not valid JSON: the file is not UTF-8 text") from None
    else:
        d = dict(doc)
    if not isinstance(d, dict):
        raise FormatError('an exercise file is a JSON object with "format", "tensors" and "ops"')
    if d.get("format") != FORMAT:
        raise FormatError(f'"format" must be "{FORMAT}", not {d.get("format")!r}')
    if _VALIDATOR is None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema())
        _VALIDATOR = cls(schema())
    err = next(iter(sorted(_VALIDATOR.iter_errors(d), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        where = ".".join(str(p) for p in err.absolute_path) or "the top level"
        raise FormatError(f"at {where}: {err.message[:200]}")
    return d


def _precision(d: Mapping[str, Any]) -> int:
    p = d.get("precision", 3)
    if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 10:
        raise FormatError('"precision" must be a whole number of decimals from 0 to 10')
    return p


def _tensor(name: str, raw: Any, allow_null: bool) -> Tensor:
    shape = nested_shape(raw)
    if shape is None:
        raise FormatError(f"tensor {name}: values must be a number, a flat list or a list of equal rows")
    t = Tensor.from_nested(raw)
    data = []
    for x in t.data:
        v = V.from_json(x, where=f"tensor {name}")
        if v is None and not allow_null:
            raise FormatError(f"tensor {name}: null (unknown) is only allowed in files given to 'byhand solve'")
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
            raise FormatError(f"tensor {name} has no values")
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
            raise FormatError(f'tensor {name!r} is used by an op but not given; add it to "tensors" with its values')
    roles = {k: v["role"] for k, v in tensors.items() if isinstance(v.get("role"), str)}
    labels = {k: v["label"] for k, v in tensors.items() if isinstance(v.get("label"), str)}
    try:
        graph = Graph(nodes, {k: v.shape for k, v in leaves.items()}, roles, labels)
    except GraphError as e:
        raise FormatError(str(e)) from None
    for name in all_t:
        if name in defined and all_t[name].shape != graph.shapes[name]:
            raise FormatError(
                f"tensor {name}: the file gives a {V_shape(all_t[name].shape)} but the ops make a {V_shape(graph.shapes[name])}"
            )
    given = {k: v for k, v in all_t.items() if k in defined}
    return graph, leaves, given


def V_shape(s: tuple[int, ...]) -> str:
    from byhand.engine.tensor import shape_str

    return shape_str(s)


def _cell(graph: Graph, raw: Any, where: str) -> Cell:
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], list)):
        raise FormatError(f"{where}: a cell is [tensor, [row, column]]")
    name, idx = raw[0], tuple(raw[1])
    if name not in graph.shapes:
        raise FormatError(f"{where}: no tensor named {name!r}")
    shape = graph.shapes[name]
    if len(idx) != len(shape) or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < s for i, s in zip(idx, shape)):
        raise FormatError(f"{where}: {name} is a {V_shape(shape)}, index {list(idx)} is outside it (indices count from 0)")
    return (name, idx)


def _blanks_from_doc(d: Mapping[str, Any], graph: Graph, vals: Mapping[str, Tensor], precision: int) -> list[Blank]:
    out = []
    seen_badges: set[int] = set()
    seen_cells: set[Cell] = set()
    for b in d.get("blanks") or []:
        badge = b["badge"]
        if badge in seen_badges:
            raise FormatError(f"badge {badge} is listed twice; one entry per badge, with all its cells")
        seen_badges.add(badge)
        cells = [_cell(graph, c, f"blank {badge}") for c in b["cells"]]
        for c in cells:
            if c in seen_cells:
                raise FormatError(f"blank {badge}: cell {cell_str(c)} already carries another badge")
            seen_cells.add(c)
        ans = V.from_json(b.get("answer"), where=f"blank {badge} answer")
        for c in cells:
            v = vals[c[0]][c[1]]
            if ans is None or not _same(ans, v, precision):
                raise FormatError(
                    f"blank {badge}: the answer {b.get('answer')!r} is not the value of {cell_str(c)}, {V.fmt(v, precision)}"
                )
        out.append(Blank(badge, cells, vals[cells[0][0]][cells[0][1]]))
    out.sort(key=lambda b: b.badge)
    return out


def close_over_copies(graph: Graph, cells: Sequence[Cell]) -> list[Cell]:
    """A copy (transpose, stack) of a blank cell is blank too, or it would show the answer."""
    out = list(dict.fromkeys(cells))
    blank = set(out)
    for n in graph.forward_nodes:
        op = OPS[n.op]
        if not op.copies:
            continue
        shapes = [graph.shapes[i] for i in n.ins]
        for idx in indices(graph.shapes[n.out]):
            src = op.relation(idx, n.ins, n.out, shapes, dict(n.attrs)).uses[0]
            if src in blank and (n.out, idx) not in blank:
                blank.add((n.out, idx))
                out.append((n.out, idx))
    return out


def badges_for(graph: Graph, vals: Mapping[str, Tensor], cells: Sequence[Cell]) -> list[Blank]:
    """Number blank cells in sheet order; cells that are copies of each other (a transpose) share a badge."""
    order = {name: k for k, name in enumerate(graph.shapes)}
    parent: dict[Cell, Cell] = {c: c for c in cells}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            c = parent[c]
        return c

    cellset = set(cells)
    for n in graph.forward_nodes:
        op = OPS[n.op]
        if not op.copies or not any(c[0] in (n.out, *n.ins) for c in cellset):
            continue
        shapes = [graph.shapes[i] for i in n.ins]
        for idx in indices(graph.shapes[n.out]):
            src = op.relation(idx, n.ins, n.out, shapes, dict(n.attrs)).uses[0]
            if (n.out, idx) in cellset and src in cellset:
                parent[find((n.out, idx))] = find(src)
    groups: dict[Cell, list[Cell]] = {}
    for c in sorted(cells, key=lambda c: (order[c[0]], c[1])):
        groups.setdefault(find(c), []).append(c)
    blanks = []
    for k, (_, cs) in enumerate(sorted(groups.items(), key=lambda kv: (order[kv[1][0][0]], kv[1][0][1])), start=1):
        blanks.append(Blank(k, cs, vals[cs[0][0]][cs[0][1]]))
    return blanks


def solve_document(doc: str | bytes | Mapping[str, Any]) -> Exercise:
    """Fill every null of a teacher's exercise file, or raise SolveError naming each problem.

    The cells that were null become the blanks (unless the file lists its own blanks)."""
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
    problems = [f"{cell_str(c)} is under-determined: the shown cells allow more than one value" for c in sol.undetermined]
    problems += [f"inconsistent: {s}" for s in sol.inconsistent]
    if problems:
        raise SolveError(problems)
    filled = {
        name: Tensor(graph.shapes[name], [sol.values[(name, idx)] for idx in indices(graph.shapes[name])])
        for name in graph.leaves
    }
    vals = graph.evaluate(filled)
    nulls = close_over_copies(graph, unknown)
    if d.get("blanks"):
        blanks = _blanks_from_doc(d, graph, vals, precision)
    else:
        blanks = badges_for(graph, vals, nulls)
    return _from_doc(d, graph, vals, blanks, precision)


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
