"""The method's notation only: every name a person reads comes from byhand.notation.

Two kinds of test: the API on the published cases (W₂, [A₁ ; X], dW₂ = dZ₂·A₁ᵀ, 1-based cells),
and a sweep that paints every chapter × level (two seeds) in every view — the text sheet, the text
key, the HTML sheet, the slide captions, the hints and worked solutions, and the printed PDFs
(worksheets, the key with worked solutions, a slide deck), and the whiteboard diagrams — and fails on any program name or
programmer notation it finds there.
"""

from __future__ import annotations

import io
import re
from functools import cache
from html import unescape

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.exercise import Exercise
from byhand.notation import NOTATION, cell_label, op_pieces, op_written, tensor_caption, tensor_label
from byhand.render.diagram import diagram_svg
from byhand.render.html import sheet_html
from byhand.render.text import render_key, render_text
from byhand.slides import frames
from byhand.topics import LEVELS, topics

# --- the API -----------------------------------------------------------------------------------


def _ops(ex: Exercise) -> dict[str, str]:
    d = ex.to_dict()
    return {o["out"]: op_written(d, o) for o in d["ops"]}


def test_every_registered_op_has_a_notation() -> None:
    from byhand.engine.ops import OPS

    assert set(OPS) | {"grad"} <= set(NOTATION)
    assert set(OPS) == set(OP_CASES)  # and each is written, forward and backward, below


def test_backprop_is_written_the_methods_way() -> None:
    ex = byhand.make("backprop", seed=1, level="hard")  # depth 3, softmax + cross-entropy
    w = _ops(ex)
    assert w["Z1"] == "Z₁ = W₁·X + b₁"
    assert w["A1"] == "A₁ = ReLU(Z₁)"
    assert w["L"] == "L = −Σ Y·log₃ P"
    assert w["dZ3"] == "dZ₃ = P − Y"
    assert w["dW2"] == "dW₂ = dZ₂·A₁ᵀ"
    assert w["dA1"] == "dA₁ = W₂ᵀ·dZ₂"
    assert w["dZ1"] == "dZ₁ = dA₁ ⊙ [Z₁ > 0]"
    assert "Σ dZ₂" in w["db2"]  # a batch of two: the bias gradient adds the columns
    easy = _ops(byhand.make("backprop", seed=1, level="easy"))
    assert easy["L"] == "L = ½ Σ (Ŷ − Y)²"
    assert easy["dZ2"] == "dŶ = Ŷ − Y"


def test_resnet_stacks_are_their_parts() -> None:
    ex = byhand.make("resnet", seed=1, level="hard")
    d = ex.to_dict()
    assert tensor_label(d, "W2I") == "[W₂ | I]"
    assert tensor_label(d, "A1X") == "[A₁ ; X]"
    assert tensor_label(d, "dA1X") == "d[A₁ ; X]"
    w = _ops(ex)
    assert w["Z2"] == "Z₂ = W₂·A₁ + I·X + b₂"
    assert w["dX"] == "dX = W₁ᵀ·dZ₁ + the bottom rows of d[A₁ ; X]"  # the gradient both ways at the +
    assert tensor_caption(d, "I") == "I (identity)"
    medium = byhand.make("resnet", seed=1, level="medium").to_dict()
    assert tensor_caption(medium, "Q2") == "A₂′ (no skip)"


def test_transpose_and_elementwise_products() -> None:
    ex = byhand.make("gradient", seed=1, level="medium")
    d = ex.to_dict()
    assert tensor_label(d, "XT") == "Xᵀ"
    assert _ops(ex)["E"] == "dW ⊙ Xᵀ"  # tensors, cell by cell
    one = _ops(byhand.make("gradient", seed=1, level="easy"))
    assert one["p"] == "w·x"  # numbers: a plain dot
    assert one["z2"] == "z′ = w′·x + b"
    assert one["dz"] == "dz = z′ − z"


def test_cells_are_one_based() -> None:
    d = byhand.make("mlp", seed=1).to_dict()
    assert cell_label(d, "Z1", [0, 1]) == "Z₁[1,2]"
    assert cell_label(d, "b1", [2]) == "b₁[3]"
    assert cell_label(byhand.make("dot", seed=1).to_dict(), "c", []) == "a·b"


def test_a_label_in_the_file_wins() -> None:
    d = byhand.make("linear", seed=1).to_dict()
    d["tensors"]["Z"]["label"] = "H"
    assert op_written(d, d["ops"][0]) == "H = W·X + b"
    d["tensors"]["Z"]["label"] = "H2"  # a label written the programmer's way still reads as maths
    assert tensor_label(d, "Z") == "H₂"
    old = byhand.make("resnet", seed=1, level="easy").to_dict()
    old["tensors"]["W2I"]["label"] = "[W2 | I]"  # a file from byhand 0.1
    assert tensor_label(old, "W2I") == "[W₂ | I]"


# one small graph per op: the op, then M = OUT ⊙ G, L = Σ M, and the gradient of every input
OP_CASES: dict[str, tuple[dict[str, tuple[int, ...]], dict[str, object]]] = {
    "dot": ({"a": (3,), "b": (3,)}, {}),
    "matmul": ({"A": (2, 3), "B": (3, 2)}, {}),
    "linear": ({"W": (2, 3), "b": (2,), "X": (3, 2)}, {}),
    "add": ({"A": (2, 2), "B": ()}, {}),
    "sub": ({"A": (2, 2), "B": (2, 2)}, {}),
    "mul": ({"A": (2, 2), "B": (2, 2)}, {}),
    "div": ({"A": (2, 2), "B": (1, 2)}, {}),
    "relu": ({"Z": (2, 2)}, {}),
    "leaky_relu": ({"Z": (2, 2)}, {"alpha": "1/2"}),
    "sigmoid": ({"Z": (2, 2)}, {}),
    "softmax": ({"Z": (3, 2)}, {"base": 3, "temperature": 2}),
    "exp": ({"Z": (2, 2)}, {"base": 3}),
    "colsum": ({"E": (2, 2)}, {}),
    "scale": ({"Z": (2, 2)}, {"by": "1/2"}),
    "sum": ({"Z": (2, 2)}, {}),
    "transpose": ({"Z": (2, 3)}, {}),
    "half_sse": ({"Yh": (2, 2), "Y": (2, 2)}, {}),
    "cross_entropy": ({"P": (2, 2), "Y": (2, 2)}, {"base": 3}),
    "hstack": ({"A": (2, 2), "B": (2, 1)}, {}),
    "vstack": ({"A": (2, 2), "B": (1, 2)}, {}),
    "stack": ({"s0": (), "s1": (2,)}, {}),
    # mixture of experts (moe)
    "top_onehot": ({"S": (3, 2)}, {"k": 2}),
    "row_of": ({"A": (3, 2)}, {"row": 1}),
    # convolution (conv)
    "pad_zeros": ({"X": (2, 2)}, {"pad": 1}),
    "im2col": ({"X": (4, 4)}, {"size": 3, "stride": 1}),
    "row_to_map": ({"Y": (1, 4)}, {"rows": 2}),
    "max_pool": ({"A": (2, 4)}, {"size": 2}),
    "map_to_row": ({"K": (3, 3)}, {}),
    "col_of": ({"D": (1, 2)}, {"col": 1}),  # gan
    "relu_gate": ({"dA": (2, 1), "Z": (2, 1)}, {}),
}
OP_CASES |= {  # next-token sampling
    "sort": ({"Z": (3, 2)}, {}),
    "argsort": ({"Z": (3, 2)}, {}),
    "cumsum": ({"Z": (3, 2)}, {}),
    "pick": ({"C": (3, 1), "I": (3, 1), "r": (1, 1)}, {}),
    "topk": ({"Z": (3, 2)}, {"k": 2}),
    "dropmask": ({"R": (3,)}, {"p": "1/2"}),
    "diag": ({"v": (3,)}, {"by": 2}),
    "sqrt": ({"Z": (2, 2)}, {}),
    "mask_causal": ({"E": (3, 3)}, {}),
    "hard_sigmoid": ({"Z": (2, 2)}, {}),  # the LSTM's exact σ and tanh
    "hard_tanh": ({"Z": (2, 2)}, {}),
}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_every_op_is_written_forward_and_backward(name: str) -> None:
    from byhand.engine.graph import Graph, Node, grad_node
    from byhand.engine.ops import OPS

    leaves, attrs = OP_CASES[name]
    wrt = [k for k in leaves if not (name == "cross_entropy" and k == "Y")]
    nodes = [Node(name, tuple(leaves), "OUT", attrs), Node("mul", ("OUT", "G"), "M"), Node("sum", ("M",), "L")]
    nodes += [grad_node("L", k, f"d{k}") for k in wrt]
    out_shape = OPS[name].check(list(leaves.values()), attrs, list(leaves))
    g = Graph(nodes, {**leaves, "G": out_shape})
    written = {n.out: op_written(g, n) for n in g.nodes}
    text = "\n".join(written.values())
    assert not _problems(name, text, FORBIDDEN + FORBIDDEN_TEXT), text
    for k in wrt:  # each gradient is a rule in the names on the sheet, never "0" or a bare ∂
        rule = written[f"d{k}"]
        assert " = " in rule and not rule.endswith(" = 0") and "∂" not in rule, rule
    assert "dZ = dZ" not in text  # a transposed gradient stays transposed: dZ = d(Zᵀ)ᵀ


def test_pieces_join_to_the_written_form() -> None:
    for name in ("resnet", "backprop", "gradient-flow", "softmax", "cross-entropy"):
        d = byhand.make(name, seed=2, level="hard").to_dict()
        for o in d["ops"]:
            pieces = op_pieces(d, o)
            joined = "".join(p["s"] if p["t"] != "pow" else _pow_text(p) for p in pieces)
            assert joined == op_written(d, o)
            assert {p["t"] for p in pieces} <= {"name", "text", "pow"}
    d = byhand.make("backprop", seed=1, level="hard").to_dict()
    e_op = next(o for o in d["ops"] if o["op"] == "exp")
    assert {"t": "pow", "s": "3", "e": "Z₃"} in op_pieces(d, e_op)  # the exponent raised when printed


def _pow_text(p: dict[str, str]) -> str:
    e = p["e"]
    return f"{p['s']}^{e}" if re.fullmatch(r"[A-Za-z][₀-₉]*", e) else f"{p['s']}^({e})"


# --- the sweep: no program names anywhere a person reads ------------------------------------------

# anywhere a person reads, including the PDF text layer (whose subscripts come out as plain digits)
FORBIDDEN = [
    (re.compile(r"half_sse|cross_entropy|leaky_relu|hstack|vstack|softmax3|colsum"), "an op's program name"),
    (re.compile(r"\b(?:stack|div|mul|add|sub|sum|grad|linear|matmul|transpose|exp|scale|relu|sigmoid)\("), "an op as a call"),
    (re.compile(r"(?<![\w:])d?[A-Z]\d+[A-Z]+\d*\b"), "a joined helper name (A1X, W2I, dA3A2)"),
    (re.compile(r"\.ᵀ|\.\*"), "numpy notation (.ᵀ, .*)"),
    (re.compile(r"\bone = 1\b|\(the skip\)"), "a helper constant"),
    (re.compile(r"∂L/∂[A-Z]\d+[A-Z]"), "a gradient of a joined name"),
]
# a transpose as a name (XT): only where text is the program's own (Typst sets Xᵀ as X + a raised T,
# which a PDF's text layer gives back as "XT")
XT = (re.compile(r"(?<![\w:])d?[A-Z]T\b"), "a transpose written as a name (XT)")
# in text the program writes itself (not the PDF text layer): names with subscripts, 1-based cells
FORBIDDEN_TEXT = [
    XT,
    (re.compile(r"(?<![\w\[,.:/=-])d?[A-Z]\d\b(?!\])"), "a name with a plain digit (Z1, not Z₁)"),
    (re.compile(r"[^\s\[(,]\[(?:\d+,)*0(?:,\d+)*\]"), "a 0-based cell index"),
]


def _problems(where: str, text: str, rules: list[tuple[re.Pattern[str], str]]) -> list[str]:
    out = []
    for pattern, what in rules:
        for m in pattern.finditer(text):
            lo, hi = max(0, m.start() - 30), m.end() + 30
            out.append(f"{where}: {what}: {m.group(0)!r} in …{text[lo:hi]!r}…")
    return out


def _html_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


SEEDS = (1, 2)


@cache
def _exercises(level: str) -> tuple[Exercise, ...]:
    return tuple(byhand.make(t.name, seed=s, level=level) for t in topics() for s in SEEDS)


def _views(ex: Exercise) -> dict[str, str]:
    from byhand.web.sheets import hint

    views = {
        "text": render_text(ex),
        "key": render_key(ex),
        "html": _html_text(sheet_html(ex)),
        "slides": "\n".join([f.text or "" for f in frames(ex)] + [line for f in frames(ex) for line in f.lines]),
        "solutions": "\n".join(f"{r['cells']}: {r['text']}" for r in documents.solution_rows(ex)),
    }
    svg = diagram_svg(ex)
    views["diagram"] = " | ".join(unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg or "", re.S))
    hints = [hint(ex, b.badge) for b in ex.blanks]
    views["hints"] = "\n".join(f"{h['name']}: {h['text']}" for h in hints if h)
    return views


@pytest.mark.parametrize("level", LEVELS)
def test_no_program_names_in_any_view(level: str) -> None:
    problems: list[str] = []
    for ex in _exercises(level):
        for view, text in _views(ex).items():
            where = f"{ex.topic} {level} seed {ex.seed} ({view})"
            problems += _problems(where, text, FORBIDDEN + FORBIDDEN_TEXT)
    assert not problems, "\n".join(problems[:40])


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("level", LEVELS)
def test_no_program_names_in_the_printed_pdfs(level: str) -> None:
    """Every chapter at this level, two students (seeds 1 and 2): the class set and its key with
    the worked solutions, as printed."""
    names = [t.name for t in topics()]
    problems = []
    for part in [names[i:i + 7] for i in range(0, len(names), 7)]:  # a class set holds at most 12 chapters
        sheets, key = documents.class_set(part, students=len(SEEDS), seed=0, level=level, solutions=True)
        problems += _problems(f"class set {level}", _pdf_text(sheets), FORBIDDEN)
        key_text = _pdf_text(key)
        problems += _problems(f"key {level}", key_text, FORBIDDEN)
        # the worked solutions print cells as the program writes them: 1-based, with subscripts
        solutions = key_text[key_text.find("Worked solutions"):]
        assert "Worked solutions" in key_text
        problems += _problems(f"worked solutions {level}", solutions, FORBIDDEN_TEXT[2:])
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("group", ["cell", "layer"])
def test_no_program_names_on_the_hard_slides(group: str) -> None:
    for name in ("backprop", "resnet"):
        ex = byhand.make(name, seed=1, level="hard")
        text = _pdf_text(documents.slides(ex, group=group)[0])
        problems = _problems(f"{name} hard slides", text, FORBIDDEN + FORBIDDEN_TEXT[2:])
        assert not problems, "\n".join(problems[:40])
