"""The exercise file as exporters read it: values, shapes, ops and blanks, from the JSON alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from byhand.engine.tensor import Shape, nested_shape
from byhand.engine.values import Value, from_json
from byhand.errors import FormatError
from byhand.i18n import M_

Nested = Any  # a value, a list of values or a list of rows


@dataclass(frozen=True)
class OpRec:
    op: str
    ins: tuple[str, ...]
    out: str
    attrs: dict[str, Any]


class Doc:
    """A ``byhand-exercise/1`` document, read for export (values exact: int, Fraction, float)."""

    def __init__(self, source: Any):
        d: Mapping[str, Any] = source.to_dict() if hasattr(source, "to_dict") else source
        if not isinstance(d, Mapping) or d.get("format") != "byhand-exercise/1":
            raise FormatError("an exporter needs an exercise file (byhand-exercise/1)")
        self.raw = d
        self.topic: str = str(d.get("topic") or "custom")
        self.title: str = str(d.get("title") or self.topic)
        self.seed: int | None = d.get("seed")
        self.level: str | None = d.get("level")
        self.options: dict[str, Any] = dict(d.get("options") or {})
        self.identity: str = str(d.get("identity") or f"byhand:{self.topic}")
        self.instructions: str = str(d.get("instructions") or "")
        self.precision: int = int(d.get("precision", 3))
        self.tensors: dict[str, Nested] = {}
        self.shapes: dict[str, Shape] = {}
        self.labels: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        for name, spec in (d.get("tensors") or {}).items():
            raw = spec.get("values")
            shape = nested_shape(raw)
            if shape is None or raw is None:
                raise FormatError(M_("tensor {name}: an exporter needs every value (solve the file first)", name=name))
            self.tensors[name] = _nested(raw, name)
            self.shapes[name] = shape
            self.labels[name] = str(spec.get("label") or name)
            self.roles[name] = str(spec.get("role") or "")
        self.ops = [OpRec(o["op"], tuple(o.get("in", [])), o["out"], dict(o.get("attrs") or {})) for o in d.get("ops") or []]
        self.forward = [o for o in self.ops if o.op != "grad"]
        self.grads = [o for o in self.ops if o.op == "grad"]
        defined = {o.out for o in self.ops}
        self.leaves = [n for n in self.tensors if n not in defined]
        self.blanks: list[dict[str, Any]] = [dict(b) for b in d.get("blanks") or []]
        self.badge_of: dict[tuple[str, tuple[int, ...]], int] = {
            (c[0], tuple(c[1])): int(b["badge"]) for b in self.blanks for c in b["cells"]
        }
        self.steps: list[dict[str, Any]] = list(d.get("steps") or [])

    def value(self, name: str, idx: tuple[int, ...]) -> Value:
        v = self.tensors[name]
        for i in idx:
            v = v[i]
        return v  # type: ignore[no-any-return]

    def blanks_in(self, name: str) -> dict[tuple[int, ...], int]:
        return {idx: b for (n, idx), b in self.badge_of.items() if n == name}


def _nested(raw: Any, name: str) -> Nested:
    if isinstance(raw, list):
        return [_nested(x, name) for x in raw]
    v = from_json(raw, where=f"tensor {name}")
    if v is None:
        raise FormatError(M_("tensor {name}: an exporter needs every value (solve the file first)", name=name))
    return v
