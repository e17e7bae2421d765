"""The chapters, in curriculum order, and the one driver that turns a chapter into an exercise.

A chapter is a small module with the same few names (PrairieLearn's lifecycle, by hand):

``NAME``, ``TITLE``, ``SUMMARY``
    what the chapter is called and teaches;
``OPTIONS``
    ``{option: Option}`` — the knobs (sizes, depth, loss …) with their per-level defaults;
``build(o) -> Sheet``
    the graph: ops, leaf shapes, labels, the instruction line;
``sample(o, rng, stats) -> {leaf: Tensor}``
    hand-friendly leaf values, drawn layer by layer;
``blanks(o, vals, rng) -> [cell]``
    which cells the student fills.

A chapter may add ``accept(o, vals) -> bool``, its own rule for a good variant (checked after the
blanks are proved), and ``given(o, values) -> (o, values)``, which reads a teacher's ``--values`` by
the published names (an RNN's whole sequence ``X``, split into the steps the sheet draws; the
sizes taken from the matrices). A chapter whose variants are few may define ``space(o)`` instead of relying on ``sample``: every
valid set of leaves; seeds then walk a fixed shuffle of it, so consecutive seeds never repeat.

Everything after this point (text, JSON, check, print, web) reads the :class:`Exercise` only.
"""

from __future__ import annotations

import random
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType
from typing import Any

from byhand.engine.graph import Graph, Node
from byhand.engine.relations import Cell, cell_str
from byhand.engine.solver import _touching, solve
from byhand.engine.tensor import Shape, Tensor, indices, shape_str
from byhand.engine.values import Value, fmt, is_exact
from byhand.errors import ByHandError, FormatError, GenerationError, GraphError, UnknownTopicError
from byhand.exercise import Blank, Exercise, _per_graph, badges_for, close_over_copies, register_regenerator
from byhand.i18n import M_
from byhand.topics import _rules, _sampling

LEVELS = ("easy", "medium", "hard")
GENERATOR_TRIES = 50
"""Whole-exercise restarts allowed after row-level sampling (rarely more than one is used)."""


@dataclass(frozen=True)
class Option:
    """A chapter's knob: its default at each level, and the range a user may ask for."""

    easy: Any
    medium: Any
    hard: Any
    help: str
    choices: tuple[Any, ...] | None = None
    lo: int | None = None
    hi: int | None = None

    def default(self, level: str) -> Any:
        return getattr(self, level)

    def parse(self, name: str, raw: Any) -> Any:
        """Strict: a whole-number option takes an int or its digits as text ("3" from --set);
        2.7, 2.0, True and "3.5" are refused, never rounded."""
        if self.choices is not None:
            for c in self.choices:
                if type(raw) is type(c) and raw == c:
                    return raw
                if isinstance(raw, str) and type(c) is int and raw.strip() == str(c):
                    return c
                if type(raw) is int and isinstance(c, str) and c == str(raw):
                    return c
            raise ByHandError(M_("option {name}={raw!r} is not allowed; choose one of {choices}",
                                 name=name, raw=raw, choices=', '.join(map(str, self.choices))))
        if type(raw) is int:
            v = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d{1,9}\s*", raw):
            v = int(raw)
        else:
            span = M_(" from {lo} to {hi}", lo=self.lo, hi=self.hi) if self.lo is not None and self.hi is not None else ""
            raise ByHandError(M_("option {name}={raw!r} must be a whole number{span}", name=name, raw=raw, span=span))
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise ByHandError(M_("option {name}={v} is out of range; use {lo}…{hi}", name=name, v=v, lo=self.lo, hi=self.hi))
        return v


@dataclass
class Sheet:
    """What a chapter's ``build`` returns: the graph's parts and the words around it."""

    nodes: list[Node]
    leaves: dict[str, Shape]
    instructions: str
    labels: dict[str, str] = field(default_factory=dict)  # maths names where the name is not enough (Ŷ)
    notes: dict[str, str] = field(default_factory=dict)  # what a tensor is, in words ("no skip")
    roles: dict[str, str] = field(default_factory=dict)
    bound: int = 20  # the largest |value| a student may have to write


@dataclass(frozen=True)
class TopicInfo:
    name: str
    title: str
    summary: str
    chapter: int
    options: dict[str, Option]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "chapter": self.chapter,
            "options": {
                k: {
                    "help": o.help,
                    "easy": o.easy,
                    "medium": o.medium,
                    "hard": o.hard,
                    **({"choices": list(o.choices)} if o.choices else {"min": o.lo, "max": o.hi}),
                }
                for k, o in self.options.items()
            },
        }


def _modules() -> list[ModuleType]:
    from byhand.topics import (
        activation,
        attention,
        autoencoder,
        backprop,
        batch_norm,
        connections,
        conv,
        cross_entropy,
        deep,
        dot,
        dropout,
        embeddings,
        gradient,
        gradient_flow,
        linear,
        matmul,
        mlp,
        moe,
        multi_head,
        resnet,
        sampling,
        softmax,
        transformer,
        wide,
    )

    first = [dot, matmul, linear, activation, mlp, deep, wide, softmax, cross_entropy, gradient, backprop, resnet, gradient_flow]
    # the new chapters (issues 12 and 13), in the order of byhand.seal.TOPIC_IDS
    from byhand.topics import gan, lstm, rnn

    new = [embeddings, attention, multi_head, transformer, sampling, rnn, lstm, batch_norm, dropout, moe, autoencoder,
           conv, gan, connections]
    return first + new


_REGISTRY: dict[str, ModuleType] | None = None


def registry() -> dict[str, ModuleType]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = {m.NAME: m for m in _modules()}
    return _REGISTRY


def topics() -> list[TopicInfo]:
    """The chapters in curriculum order."""
    return [TopicInfo(m.NAME, m.TITLE, m.SUMMARY, k, dict(m.OPTIONS)) for k, m in enumerate(registry().values(), start=1)]


def get(name: str) -> ModuleType:
    reg = registry()
    key = name.strip().lower().replace("_", "-")
    if key not in reg:
        if key.startswith("byhand:sealed:") or re.fullmatch(r"[0-9a-z]{5}(-[0-9a-z]{5}){3}", key):
            raise UnknownTopicError(M_("{name!r} is a sealed code from a class set, not a chapter; open it with the "
                                       "class secret: byhand key CODE --secret FILE",
                                       name=name))
        raise UnknownTopicError(M_("no chapter named {name!r}; the chapters are: {chapters}", name=name, chapters=', '.join(reg)))
    return reg[key]


def resolve_options(m: ModuleType, level: str, options: Mapping[str, Any]) -> dict[str, Any]:
    if level not in LEVELS:
        raise ByHandError(M_("level {level!r} is unknown; use easy, medium or hard", level=level))
    o = {k: opt.default(level) for k, opt in m.OPTIONS.items()}
    for k, raw in options.items():
        if raw is None:
            continue
        if k not in m.OPTIONS:
            known = ", ".join(m.OPTIONS) or "none"
            raise ByHandError(M_("chapter {name} has no option {k!r}; its options are: {known}", name=m.NAME, k=k, known=known))
        o[k] = m.OPTIONS[k].parse(k, raw)
    return o


def make(
    topic: str,
    seed: int = 0,
    level: str = "medium",
    *,
    values: Mapping[str, Any] | None = None,
    stats: _sampling.Stats | None = None,
    **options: Any,
) -> Exercise:
    """Make one exercise: chapter + seed + level (+ options) → always the identical exercise.

    ``values``: a teacher's own numbers for the leaf tensors, by sheet name; byhand computes the
    rest, chooses the blanks and proves them.
    """
    m = get(topic)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ByHandError(M_("seed must be a whole number from 0 to 2^63−1, not {seed!r}", seed=seed))
    o = resolve_options(m, level, options)
    if values is not None and hasattr(m, "given"):  # the chapter's published names (an RNN's X, split into its steps)
        asked = {k: o[k] for k, raw in options.items() if raw is not None}
        o, values = m.given(o, values)
        for k, v in asked.items():  # the sizes come from the matrices: an option that says otherwise is refused
            if o[k] != v:
                raise ByHandError(M_("option {k}={v} contradicts the values, which give {k}={given}; "
                                     "leave the option out or change the values", k=k, v=v, given=o[k]))
    non_default = {k: v for k, v in o.items() if v != m.OPTIONS[k].default(level)}
    rng = random.Random(f"byhand/1/{m.NAME}/{level}/{seed}/{sorted(non_default.items())}")
    sheet = _sheet(m, o)
    stats = stats if stats is not None else _sampling.Stats()
    if values is not None:
        leaves = _teacher_values(sheet, values, getattr(m, "implied", None))
        graph = Graph(sheet.nodes, {k: v.shape for k, v in leaves.items()}, sheet.roles, sheet.labels, sheet.notes)
        vals = graph.evaluate(leaves)
        cells, blanks = _choose_blanks(m, graph, o, vals, rng, strict=False)
    else:
        graph = _graph(m.NAME, o, sheet)
        space = _space(m, o) if hasattr(m, "space") else None
        for _attempt in range(GENERATOR_TRIES):
            try:
                leaves = space[seed % len(space)] if space else m.sample(o, rng, stats)
            except GenerationError:
                continue
            vals = graph.evaluate(leaves)
            try:
                cells, blanks = _choose_blanks(m, graph, o, vals, rng, strict=True, bound=sheet.bound)
            except _Reject:
                continue
            break
        else:
            raise _no_variant(m, o, level, seed, non_default, graph, sheet, space)
    if values is not None:
        non_default["values"] = "given"  # the identity cannot regenerate a teacher's numbers: say so
    return Exercise(
        topic=m.NAME,
        title=m.TITLE,
        graph=graph,
        values=vals,
        blanks=blanks,
        seed=seed,
        level=level,
        options=non_default,
        instructions=sheet.instructions + _hidden_givens(graph, cells),
        minutes=_rules.minutes(graph, vals, [b.cells[0] for b in blanks]),
    )


def _no_variant(m: ModuleType, o: dict[str, Any], level: str, seed: int, non_default: dict[str, Any], graph: Graph,
                sheet: Sheet, space: Any) -> GenerationError:
    """The error when a seed's draws all failed, with advice that holds: a few nearby seeds are tried (as many
    draws each), so the message can say which seed works, or that these options have no friendly variant at all
    (trying another seed would not help)."""
    for other in range(seed + 1, min(seed + 1 + _PROBE_SEEDS, 2**63)):
        rng = random.Random(f"byhand/1/{m.NAME}/{level}/{other}/{sorted(non_default.items())}")
        for _attempt in range(GENERATOR_TRIES):
            try:
                leaves = space[other % len(space)] if space else m.sample(o, rng, _sampling.Stats())
                _choose_blanks(m, graph, o, graph.evaluate(leaves), rng, strict=True, bound=sheet.bound)
            except (GenerationError, _Reject):
                continue
            return GenerationError(M_("no hand-friendly {name} variant for seed {seed} after {tries} tries; "
                                      "seed {other} has one", name=m.NAME, seed=seed, tries=GENERATOR_TRIES, other=other))
    if non_default:
        return GenerationError(M_("no hand-friendly {name} variant with {options} (seeds {seed} to {last} tried); "
                                  "use smaller options or the level's own", name=m.NAME, seed=seed, last=seed + _PROBE_SEEDS,
                                  options=", ".join(f"{k}={v}" for k, v in sorted(non_default.items()))))
    return GenerationError(M_("no hand-friendly {name} variant at level {level} (seeds {seed} to {last} tried)",
                              name=m.NAME, level=level, seed=seed, last=seed + _PROBE_SEEDS))


_PROBE_SEEDS = 3


def _hidden_givens(graph: Graph, cells: list[Cell]) -> str:
    """Name each hidden given (an inverse problem) and where it is found: the instructions say
    what the sheet asks, so a student never takes a missing input for a misprint. (The words
    depend on the graph and the blanks only: made once for a set of blanks.)"""
    return _per_graph(_HIDDEN, graph, cells, lambda: _hidden_givens_text(graph, cells))


_HIDDEN: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], str]] = weakref.WeakKeyDictionary()


def _hidden_givens_text(graph: Graph, cells: list[Cell]) -> str:
    leaves = graph.leaves
    if not any(c[0] in leaves for c in cells):
        return ""  # no hidden given (the common case)
    from byhand.notation import names

    nm = names(graph).in_english()  # instructions are stored in the file, in English
    out = []
    for c in cells:
        if c[0] in graph.leaves:
            users = [graph.forward_nodes[k].out for k in graph.consumers.get(c[0], [])]
            where = f": find it from {', '.join(nm.label(u) for u in users)}" if users else ""
            out.append(f" {nm.cell(c[0], c[1])} is hidden{where}.")
    return "".join(out)


def _regenerate(topic: str, seed: int, level: str, options: Mapping[str, Any]) -> Exercise:
    m = get(topic)
    for k in options:
        if k not in m.OPTIONS:  # "seed", "stats" … are not chapter options: never make()'s keywords
            raise ByHandError(M_("chapter {name} has no option {k!r}; its options are: {options}",
                                 name=m.NAME, k=k, options=', '.join(m.OPTIONS) or 'none'))
    return make(m.NAME, seed=seed, level=level, **options)


register_regenerator(_regenerate)  # lets a file's identity be checked without the reader importing a chapter


_GRAPHS: dict[tuple[str, tuple[tuple[str, Any], ...]], Graph] = {}
_SHEETS: dict[tuple[str, tuple[tuple[str, Any], ...]], Sheet] = {}


def _sheet(m: ModuleType, o: dict[str, Any]) -> Sheet:
    """The chapter's sheet for these options, built once: ``build`` depends on the options only,
    and a sheet is read, never changed, so variants share it as they share the graph."""
    key = (m.NAME, tuple(sorted(o.items())))
    try:
        sh = _SHEETS.get(key)
    except TypeError:  # an option that is not a plain value: build it afresh
        return m.build(o)  # type: ignore[no-any-return]
    if sh is None:
        if len(_SHEETS) > 512:
            _SHEETS.clear()
        sh = _SHEETS[key] = m.build(o)
    return sh


def _graph(name: str, o: dict[str, Any], sheet: Sheet) -> Graph:
    """The graph of a chapter with these options. Graphs are immutable once built, so variants share
    one, and with it the relations (the step structure) computed once."""
    key = (name, tuple(sorted(o.items())))
    g = _GRAPHS.get(key)
    if g is None:
        if len(_GRAPHS) > 512:
            _GRAPHS.clear()
        g = _GRAPHS[key] = Graph(sheet.nodes, sheet.leaves, sheet.roles, sheet.labels, sheet.notes)
    return g


_SPACES: dict[tuple[str, tuple[tuple[str, Any], ...]], list[dict[str, Tensor]]] = {}


def _space(m: ModuleType, o: dict[str, Any]) -> list[dict[str, Tensor]]:
    """A chapter whose variants are few (a chain of scalar factors) lists them all; seeds walk a
    fixed shuffle of that list, so any run of consecutive seeds — a class — gets distinct variants."""
    key = (m.NAME, tuple(sorted(o.items())))
    if key not in _SPACES:
        items = list(m.space(o))
        sheet: Sheet = m.build(o)
        graph = _graph(m.NAME, o, sheet)
        rng = random.Random(0)
        items = [
            leaves
            for leaves in items
            if not _rules.violations(
                graph,
                vals := graph.evaluate(leaves),
                [b.cells[0] for b in badges_for(graph, vals, close_over_copies(graph, m.blanks(o, graph, vals, rng)))],
                dead_unit_ok=True,
            )
        ]  # the rules, once for the whole list: few zeros, no value dominating
        if not items:
            raise GenerationError(M_("chapter {name} has no hand-friendly variant with these options", name=m.NAME))
        random.Random(f"byhand/1/space/{m.NAME}/{key[1]}").shuffle(items)
        _SPACES[key] = items
    return _SPACES[key]


class _Reject(Exception):
    pass


def _friendly(v: Value, bound: int) -> bool:
    """Could a student write this with a pencil? Integers within the bound; fractions with small
    denominators; decimals (base-e softmax, sigmoid) are written to the sheet's precision."""
    if type(v) is int:
        return abs(v) <= bound
    if isinstance(v, float):
        return abs(v) <= bound
    assert isinstance(v, Fraction)
    return abs(v) <= bound and v.denominator <= 1000


def _choose_blanks(
    m: ModuleType, graph: Graph, o: dict[str, Any], vals: dict[str, Tensor], rng: random.Random, strict: bool, bound: int = 50
) -> tuple[list[Cell], list[Blank]]:
    """The blank cells (closed over copies) and their badges; strict (a sampled variant): every
    rule checked, else ``_Reject``."""
    cells: list[Cell] = close_over_copies(graph, m.blanks(o, graph, vals, rng))
    if strict:
        blanks = badges_for(graph, vals, cells)
        for b in blanks:  # the cells of one badge are copies of one value: each value checked once
            v = b.answer
            if type(v) is int:
                if -bound <= v <= bound:
                    continue
            elif type(v) is Fraction and type(bound) is int:  # _friendly's test, in whole numbers
                d = v.denominator
                if d <= 1000 and -bound * d <= v.numerator <= bound * d:
                    continue
            elif _friendly(v, bound):
                continue
            raise _Reject
        if not getattr(m, "RULES_BUILT_IN", False) and _rules.violations(
            graph,
            vals,
            [b.cells[0] for b in blanks],  # one answer per badge
            softmax_chapter=getattr(m, "FREE_DENOMINATORS", False),
            dead_unit_ok=getattr(m, "DEAD_UNIT_OK", False),
            answers=[b.answer for b in blanks],
        ):
            raise _Reject  # few zeros, no value dominating, gradients alive, ReLU crosses out, small denominators
        if hasattr(m, "accept") and not m.accept(o, vals):
            raise _Reject  # the chapter's own rule (e.g. a gradient that reaches the input)
    if not prove_unique(graph, vals, cells):
        if strict:
            raise _Reject
        # a teacher's numbers may make an inverse blank ambiguous: fall back to the computed cells
        cells = [c for c in cells if c[0] not in graph.leaves]
        if not cells or not prove_unique(graph, vals, cells):
            raise GraphError("these values leave a blank without a unique answer; change the values")
        return cells, badges_for(graph, vals, cells)
    return cells, blanks if strict else badges_for(graph, vals, cells)


def prove_unique(graph: Graph, vals: Mapping[str, Tensor], cells: list[Cell]) -> bool:
    """Is every blank determined, one step at a time, by the shown cells?

    When no blank is a leaf, every blank is a function of the shown leaves: unique. Otherwise
    the solver propagates from the shown cells as a student would, and must find each blank with
    exactly its value."""
    plan = _per_graph(_PROOFS, graph, cells, lambda: _proof_plan(graph, cells))
    if plan is None:
        return True
    parts, blank, hidden, never = plan
    known: dict[Cell, Value] = {}
    for name, keys, at in parts:  # the shown cells the solver may read
        d = vals[name].data
        known.update(zip(keys, [d[i] for i in at]))
    sol = solve(graph, known, blank, eliminate=False, check=False, until=hidden, never=never, ordered=False)
    if any(c not in sol.values for c in hidden):  # (a hidden given is never among the known cells)
        return False
    return all(sol.values[c] == vals[c[0]][c[1]] for c in hidden)


_Plan = tuple[list[tuple[str, list[Cell], list[int]]], list[Cell], set[Cell], set[Cell]] | None
_PROOFS: weakref.WeakKeyDictionary[Graph, dict[tuple[Cell, ...], _Plan]] = weakref.WeakKeyDictionary()


def _proof_plan(graph: Graph, cells: list[Cell]) -> _Plan:
    """What :func:`prove_unique` asks the solver, which depends on the graph and the blanks only (the
    same for every variant of a chapter): None when no blank is a hidden given; else, per tensor,
    its cells and those left unknown, the blanks to find, the hidden givens, and the blanks the
    solver may leave alone.

    The solver is given only the shown cells it may read: propagating (no elimination, no check)
    it reads the cells of a relation that touches an unknown cell, and it finds only unknown cells,
    so the cells of the relations that touch a blank are all it can ever read."""
    leaves = graph.leaves
    if not any(c[0] in leaves for c in cells):
        return None
    blank = set(cells)
    # a tensor none of whose inputs holds a hidden given is worked forward from shown cells: its
    # blanks are determined as they are, so the solver is asked only about the hidden givens'
    # descendants (the proof stays exact and costs a fraction: variants are made at speed)
    tainted = {c[0] for c in blank if c[0] in graph.leaves}
    for n in graph.forward_nodes:
        if any(i in tainted for i in n.ins):
            tainted.add(n.out)
    tainted |= {n.out for n in graph.grad_nodes}
    shown: set[str] = set()
    for name in tainted:
        if name not in graph.leaves and any((name, idx) not in blank for idx in indices(graph.shapes[name])):
            shown.add(name)
    blank = {c for c in blank if c[0] in tainted}
    touching = _touching(graph, graph.relations())
    readable = {c for b in blank for r in touching.get(b, ()) for c in (r.out, *r.uses)} - blank
    parts = []
    for name, shape in graph.shapes.items():
        at = [k for k, idx in enumerate(indices(shape)) if (name, idx) in readable]  # row-major, as the data
        if at:
            parts.append((name, [c for idx in indices(shape) if (c := (name, idx)) in readable], at))
    # once the hidden givens are found from the shown cells, every other blank is worked forward
    # from the givens: the solver may stop there
    hidden = {c for c in blank if c[0] in graph.leaves}
    # and a blank that is no ancestor of a shown computed cell cannot lead back to a hidden given
    # (whatever uses it is itself unknown): the solver leaves those alone
    made = {n.out: n.ins for n in graph.forward_nodes}
    useful, stack = set(shown), list(shown)
    while stack:
        for i in made.get(stack.pop(), ()):
            if i not in useful:
                useful.add(i)
                stack.append(i)
    never = set() if graph.grad_nodes else {c for c in blank if c[0] not in useful and c[0] not in graph.leaves}
    return parts, sorted(blank), hidden, never


def _teacher_values(
    sheet: Sheet, values: Mapping[str, Any], implied: Callable[[dict[str, Tensor]], dict[str, Tensor]] | None = None
) -> dict[str, Tensor]:
    """A teacher's numbers as leaf tensors. ``implied``: the chapter's own leaves that follow from
    the others (the identity of a ResNet skip) — filled in, and if given anyway, they must agree."""
    from byhand.engine import values as V
    from byhand.engine.tensor import nested_shape

    if not isinstance(values, Mapping):
        raise FormatError('the values file must be a JSON object such as {"X": [[2, -1], [1, 1]], "W1": …}')
    unknown = sorted(set(values) - set(sheet.leaves))
    if unknown:
        raise FormatError(
            M_("the values name {unknown!r}, which this chapter does not have; its given tensors are: {leaves}",
               unknown=unknown[0], leaves=', '.join(sheet.leaves))
        )
    own = set(implied({}) if implied is not None else ())
    missing = [k for k in sheet.leaves if k not in values and k not in own]
    if missing:
        wanted = {k: s for k, s in sheet.leaves.items() if k not in own}
        raise FormatError(
            M_("the values lack {missing}; give every one of: {leaves}", missing=", ".join(missing),
               leaves=M_(", ".join(f"{{n{k}}} ({{s{k}}})" for k in range(len(wanted))),  # no words: each shape translated
                         **{f"n{k}": name for k, name in enumerate(wanted)},
                         **{f"s{k}": shape_str(s) for k, s in enumerate(wanted.values())}))
        )
    out = {}
    for k in sheet.leaves:
        if k not in values:
            continue
        raw = values[k]
        shp = nested_shape(raw)
        if shp is None or len(shp) != len(sheet.leaves[k]):
            raise FormatError(M_("{k} must be a {kind}, e.g. a {shape_str}",
                                 k=k, kind=_kind(sheet.leaves[k]), shape_str=shape_str(sheet.leaves[k])))
        t = Tensor.from_nested(raw)
        data = []
        for x in t.data:
            v = V.from_json(x, where=M_("values of {k}", k=k))
            if v is None:
                raise FormatError(M_("{k}: null is not a value here; give every number (use 'byhand solve' for unknowns)", k=k))
            data.append(v)
        out[k] = Tensor(shp, data)
    if implied is not None:
        for k, t in implied(out).items():
            if k not in sheet.leaves:  # a constant of another level of the chapter
                continue
            if k in out and out[k] != t:
                raise FormatError(M_("{k} is implied by the chapter ({k} = {value}); leave it out of the values",
                                     k=k, value=t.to_nested()))
            out[k] = t
    return out


def _kind(s: Shape) -> str:
    return (M_("scalar"), M_("vector (a flat list)"), M_("matrix (a list of rows)"))[len(s)]


def stress(
    topic: str,
    n: int = 1000,
    level: str = "medium",
    seed0: int = 0,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """R/exams-style stress test: make ``n`` variants of one chapter and level; report what a
    student meets (the share of answers that are 0, the share of the most common answer, the
    largest denominator and |value|, blanks, estimated minutes), how many variants are distinct,
    how many draws were accepted, the time, and how many variants break a rule (should be 0)."""
    import time

    m = get(topic)
    stats = _sampling.Stats()
    lo: Value = 0
    hi: Value = 0
    answer_lo: Value = 0
    answer_hi: Value = 0
    distinct: set[str] = set()
    inexact = 0
    blanks = 0
    fails = 0
    zero_shares: list[float] = []
    top_shares: list[float] = []
    minutes: list[int] = []
    biggest_den = 1
    biggest_abs: Value = 0
    broken = 0
    t0 = time.perf_counter()
    for k in range(n):
        try:
            ex = make(m.NAME, seed=seed0 + k, level=level, stats=stats, **options)
        except GenerationError:
            fails += 1
            continue
        key = []
        for name, t in ex.values.items():
            for v in t.data:
                if isinstance(v, float):
                    continue
                lo, hi = min(lo, v), max(hi, v)
            if name in ex.graph.leaves:
                key.append(repr(t.data))
        answers = []
        for b in ex.blanks:
            blanks += 1
            if not is_exact(b.answer):
                inexact += 1
                continue
            answers.append(b.answer)
            answer_lo, answer_hi = min(answer_lo, b.answer), max(answer_hi, b.answer)
            biggest_den = max(biggest_den, _rules.denominator(b.answer))
            size: Value = b.answer if b.answer >= 0 else -b.answer
            if size > biggest_abs:
                biggest_abs = size
        sh = _rules.shares(answers)
        zero_shares.append(sh.zero_share)
        top_shares.append(sh.top_share)
        if ex.minutes is not None:
            minutes.append(ex.minutes)
        if _rules.violations(
            ex.graph,
            ex.values,
            [b.cells[0] for b in ex.blanks],
            softmax_chapter=getattr(m, "FREE_DENOMINATORS", False),
            dead_unit_ok=getattr(m, "DEAD_UNIT_OK", False),
        ):
            broken += 1
        distinct.add("|".join(key))
        if progress:
            progress(k + 1)
    dt = time.perf_counter() - t0
    made = max(1, n - fails)
    return {
        "topic": m.NAME,
        "level": level,
        "variants": n,
        "failed": fails,
        "breaking_a_rule": broken,
        "zero_share": round(sum(zero_shares) / made, 3),
        "zero_share_max": round(max(zero_shares, default=0.0), 3),
        "most_common_share": round(sum(top_shares) / made, 3),
        "most_common_share_max": round(max(top_shares, default=0.0), 3),
        "largest_denominator": biggest_den,
        "largest_abs_answer": fmt(biggest_abs),
        "minutes": [min(minutes, default=0), max(minutes, default=0)],
        "acceptance_rate": round(stats.accepted / stats.drawn, 4) if stats.drawn else 1.0,
        "rows_drawn": stats.drawn,
        "rows_accepted": stats.accepted,
        "distinct_variants": len(distinct),
        "value_range": [fmt(lo), fmt(hi)],
        "answer_range": [fmt(answer_lo), fmt(answer_hi)],
        "blanks_per_variant": round(blanks / made, 2),
        "inexact_answers": inexact,
        "seconds": round(dt, 3),
        "variants_per_second": round(n / dt, 1) if dt else None,
    }


__all__ = ["Option", "Sheet", "TopicInfo", "topics", "make", "get", "stress", "prove_unique", "LEVELS", "cell_str"]
