"""Whiteboard diagrams come from the graph: names, skips and numbers are the exercise's own."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

import byhand
from byhand.engine.values import fmt
from byhand.notation import subscript
from byhand.render.diagram import diagram_svg


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.parametrize("seed", range(10))
def test_residual_block_diagram(seed: int) -> None:
    ex = byhand.make("resnet", seed=seed, level="hard")
    svg = diagram_svg(ex)
    assert svg is not None
    t = texts(svg)
    assert "W₁·X + b₁" in t and "W₂·A₁ + b₂" in t  # boxes named from the graph, the maths' names
    assert "skip: + X" in t  # the identity block beside W2 is drawn as the skip
    assert "+" in t and "<circle" in svg
    dx = "[" + ", ".join(fmt(v) for v in ex.values["dX"].data) + "]"
    assert f"dX = {dx}" in t  # the gradient's numbers on the diagram
    assert any("down the skip" in s for s in t)


def test_plain_network_has_no_skip() -> None:
    svg = diagram_svg(byhand.make("mlp", seed=1))
    assert svg is not None and not any("skip" in s for s in texts(svg))


@pytest.mark.parametrize(("level", "n"), [("easy", 4), ("medium", 3), ("hard", 4)])
def test_gradient_flow_diagram(level: str, n: int) -> None:
    ex = byhand.make("gradient-flow", seed=4, level=level)
    svg = diagram_svg(ex)
    assert svg is not None
    t = texts(svg)
    ds = [ex.values[f"d{i}"].data[0] for i in range(1, n + 1)]
    for i, d in enumerate(ds, start=1):
        assert f"d{subscript(str(i))} = {fmt(d)}" in t  # the maths' names: d₁
    plain = Fraction(1)
    total = Fraction(1)
    for d in ds:
        plain *= d
        total *= 1 + d
    assert any(s.endswith(f"product = {fmt(plain)}") for s in t)
    assert any(s.endswith(f"= {fmt(total)}") and "paths" in s for s in t)
    # the two highlighted paths differ in line style too, not only colour (photocopy-safe)
    assert re.search(r"stroke-dasharray", svg)


def test_no_diagram_for_a_dot_product() -> None:
    assert diagram_svg(byhand.make("dot", seed=1)) is None
