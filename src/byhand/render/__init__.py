"""Views of an exercise: text (terminal), HTML (lecture deck, web), SVG diagrams. Print lives in
byhand.printing. Every view works from the Exercise alone, and names everything through
:mod:`byhand.notation` (the method's notation, never a program name)."""

from __future__ import annotations

from typing import Any

from byhand.engine.graph import Node
from byhand.notation import NOTATION, names, op_written

OP_WORDS = {name: entry.words for name, entry in NOTATION.items()}
"""Each op in a phrase (``ReLU``, ``the sum Σ``), from the notation table."""


def formula(ex: Any, n: Node) -> str:
    """How a sheet writes an op, whole: ``Z₁ = W₁·X + b₁``, ``A₁ = ReLU(Z₁)``,
    ``L = ½ Σ (Ŷ − Y)²``, ``dW₂ = dZ₂·A₁ᵀ``. ``ex`` is the Exercise (or its file dict)."""
    return op_written(ex, n)


def caption(ex: Any, name: str) -> str:
    """A tensor's caption on a view: its maths name and, when it has one, its note."""
    return names(ex).caption(name)
