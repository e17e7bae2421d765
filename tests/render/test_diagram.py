"""Whiteboard diagrams come from the graph: names, skips and numbers are the exercise's own."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

import byhand
from byhand.documents import print_diagram
from byhand.engine.values import fmt
from byhand.notation import tensor_label
from byhand.printing.layout import plan_exercise
from byhand.render.diagram import MIN_FONT, diagram_svg


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
    assert f"{tensor_label(ex, 'dX')} = {dx}" in t  # the gradient's numbers on the diagram
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
    hidden = {c[0] for c in ex.blank_cells()}
    for i, d in enumerate(ds, start=1):
        if f"d{i}" not in hidden:
            assert f"{tensor_label(ex, f'd{i}')} = {fmt(d)}" in t
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


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_no_chain_on_the_gradient_chapter(level: str) -> None:
    """The gradient chapter (change dW, see dZ, divide) has no chain of local derivatives to draw."""
    for seed in range(1, 6):
        assert print_diagram(byhand.make("gradient", seed=seed, level=level)) is None


@pytest.mark.parametrize("topic", ["gradient-flow", "resnet"])
@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_given_numbers_are_never_hidden_and_text_is_large_enough(topic: str, level: str) -> None:
    for seed in range(1, 6):
        ex = byhand.make(topic, seed=seed, level=level)
        svg = print_diagram(ex)
        assert svg is not None
        sizes = [int(x) for x in re.findall(r"font-size='(\d+)'", svg)]
        assert min(sizes) >= MIN_FONT
        printed = plan_exercise(ex.to_dict(), 1, diagram=svg)["diagram"]
        shown = [t["body"] for t in printed["texts"]]  # the words, lifted out of the picture for Typst to place
        assert len(shown) == len([t for t in texts(svg) if t.strip()]) and not texts(printed["svg"])
        hidden = {c[0] for c in ex.blank_cells()}
        for name in ex.graph.leaves:  # every given number the diagram names stays readable
            if ex.graph.shapes[name] == () and name not in hidden:
                label = f"{tensor_label(ex, name)} = "
                for s in shown:
                    if s.startswith(label):
                        assert "?" not in s, (topic, level, seed, s)


def test_moe_routing_diagram() -> None:
    """Mixture of experts: every token has a line to every expert with its score and the
    one-hot's verdict; the student's copy hides them (and the outputs), the key shows them."""
    from byhand.printing.layout import mask_svg
    from byhand.render.diagram import diagram_svg, routing_svg

    ex = byhand.make("moe", seed=3, level="hard")
    svg = routing_svg(ex)
    assert svg is not None and diagram_svg(ex) == svg
    s, m = ex.values["S"], ex.values["M"]
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            assert f"<tspan class='a'>{fmt(s[(i, j)])}</tspan> → {fmt(m[(i, j)])}" in svg  # M is printed
    assert svg.count("<line") == s.shape[0] * s.shape[1]
    assert "E₁, b₁" in svg and "E₃, b₃" in svg and "2 largest scores" in svg
    answers = {Fraction(str(b.answer)) for b in ex.blanks}
    student = re.sub(r"<[^>]+>", "", mask_svg(svg, answers, ex.precision))
    assert student.count("? → ") == s.shape[0] * s.shape[1] and "y₁ = [?, ?, ?]" in student
    assert routing_svg(byhand.make("resnet", seed=1, level="easy")) is None
@pytest.mark.parametrize(("level", "steps"), [("easy", 3), ("medium", 4), ("hard", 2)])
def test_rnn_is_drawn_unrolled(level: str, steps: int) -> None:
    """One cell per time step with the same weights, the state carried from cell to cell, the
    inputs from below and the outputs at the top; backprop through time runs back along the states."""
    ex = byhand.make("rnn", seed=3, level=level)
    svg = diagram_svg(ex)
    assert svg is not None and svg == print_diagram(ex)
    t = texts(svg)
    assert t.count("A·H + B·X") == steps and t.count("ReLU") == steps and t.count("C") == steps
    for k in range(1, steps + 1):
        x = "[" + ", ".join(fmt(v) for v in ex.values[f"X{k}"].data) + "]"
        assert f"X{'₀₁₂₃₄₅₆'[k]} = {x}" in t  # a given input, written out
        y = "[" + ", ".join(fmt(v) for v in ex.values[f"Y{k}"].data) + "]"
        assert f"Y{'₀₁₂₃₄₅₆'[k]} = {y}" in t
        assert f"<tspan class='a'>{y}</tspan>" in svg  # a computed output: masked on a student's copy
    for k in range(1, steps):
        assert f"H{'₀₁₂₃₄₅₆'[k]}" in t  # the carried state between cells
    assert (level == "hard") == any("backprop through time" in s for s in t)
    if level == "hard":
        dh = "[" + ", ".join(fmt(v) for v in ex.values["dH1"].data) + "]"
        assert f"dH₁ = {dh}" in t
    sizes = [int(m) for m in re.findall(r"font-size='(\d+)'", svg)]
    assert min(sizes) >= MIN_FONT


@pytest.mark.parametrize(("level", "steps"), [("easy", 1), ("hard", 1), ("hard", 2)])
def test_lstm_cell_is_drawn(level: str, steps: int) -> None:
    """The LSTM cell from the graph: one cell per step, four gate boxes (σ, σ, tanh, σ) each,
    the states carried in written out, the computed C and H masked on a student's copy."""
    ex = byhand.make("lstm", seed=3, level=level, steps=steps)
    svg = diagram_svg(ex)
    assert svg is not None and svg == print_diagram(ex)
    t = texts(svg)
    assert t.count("σ") == 3 * steps and t.count("tanh") == 2 * steps  # the candidate's and tanh(C)
    for name in ("F", "I", "G", "O"):  # each gate named at its box (F, or F₁ and F₂)
        assert sum(1 for s in t if s == name or (s.startswith(name) and s[1:] in "₁₂" and s[1:])) == steps
    c0 = "[" + ", ".join(fmt(v) for v in ex.values["C0"].data) + "]"
    assert c0 in t  # a given state, written out
    for k in range(1, steps + 1):
        for name in (f"C{k}", f"H{k}"):
            v = "[" + ", ".join(fmt(x) for x in ex.values[name].data) + "]"
            assert f"<tspan class='a'>{v}</tspan>" in svg, name  # computed: masked on a student's copy
    assert diagram_svg(byhand.make("rnn", seed=3)) is not None and "σ, tanh" not in diagram_svg(byhand.make("rnn", seed=3))


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_gan_step_is_drawn(level: str) -> None:
    """The GAN step from the graph: z → G → G(z); x and G(z) → D → the two scores; the losses'
    wishes and their gradients at the logits (medium); G's gradient back through D (hard). Given
    numbers written out, computed ones masked on a student's copy."""
    from byhand.render.diagram import gan_svg

    ex = byhand.make("gan", seed=3, level=level)
    svg = diagram_svg(ex)
    assert svg is not None and svg == gan_svg(ex) == print_diagram(ex)
    t = texts(svg)
    assert "G: WG, ReLU" in t and "D: WD, σ" in t and "G(z) (fake)" in t and "x (real)" in t
    z = "[" + ", ".join(fmt(v) for v in ex.values["z"].data) + "]"
    assert z in t  # the noise is given: written out
    fake = "[" + ", ".join(fmt(v) for v in ex.values["Xf"].data) + "]"
    assert f"<tspan class='a'>{fake}</tspan>" in svg  # G(z) is computed: masked on a student's copy
    assert f"<tspan class='a'>{fmt(ex.values['D'].data[1])}</tspan>" in svg
    assert any("D(real) → 1, D(fake) → 0" in s for s in t) == (level != "easy")
    assert any("WDᵀ·dZf" in s for s in t) == (level == "hard")
    assert min(int(m) for m in re.findall(r"font-size='(\d+)'", svg)) >= MIN_FONT
    assert gan_svg(byhand.make("lstm", seed=3)) is None and gan_svg(byhand.make("backprop", seed=3)) is None
