"""The RNN chapter: the published example through the CLI, backprop through time worked by hand,
the published names, and what a teacher's values may and may not say."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import byhand
from byhand.cli import main
from tests.oracle import assert_matches

PUBLISHED = {"A": [[1, -1], [1, 1]], "B": [[1], [2]], "C": [[-1, 1]], "X": [3, 4, 5, 6]}


def test_published_example_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`byhand make rnn --values` with the published A, B, C and x = 3, 4, 5, 6 (h₀ = 0): y = 3, 16, 28, 40."""
    path = tmp_path / "rnn.json"
    path.write_text(json.dumps(PUBLISHED))
    assert main(["make", "rnn", "--values", str(path), "--format", "key"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    ys = [ln for ln in lines if "   Y" in ln]
    assert [ln.split()[1] for ln in ys] == ["3", "16", "28", "40"]
    assert "Y₄[1,1]   (−1)·0 + 1·40 = 40" in out
    assert "Z₃[1,1]   1·1 + (−1)·17 + 1·5 = −11" in out  # the carried state H₂ = [1, 17] meets A
    assert main(["make", "rnn", "--values", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [doc["tensors"][f"Y{t}"]["values"] for t in range(1, 5)] == [[[3]], [[16]], [[28]], [[40]]]
    assert doc["tensors"]["H0"]["values"] == [[0], [0]]
    assert_matches(doc)
    # the same with X as a one-row matrix and h₀ given
    path.write_text(json.dumps(PUBLISHED | {"X": [[3, 4, 5, 6]], "H0": [[0], [0]]}))
    assert main(["make", "rnn", "--values", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tensors"]["Y4"]["values"] == [[40]]


def test_backprop_through_time_by_hand() -> None:
    """Two steps of the published network, x = 3, 4, target Y₂* = 17, worked by hand:
    Z₁ = H₁ = [3, 6], Z₂ = H₂ = [1, 17], Y₂ = 16, dY₂ = −1, dC = [−1, −17], dH₂ = dZ₂ = [1, −1],
    d[H₁ ; X₂] = [A | B]ᵀ·dZ₂ = [0, −2, −1], dZ₁ = [0, −2],
    d[A | B] = dZ₁·[H₀ ; X₁]ᵀ + dZ₂·[H₁ ; X₂]ᵀ = [[3, 6, 4], [−3, −6, −10]]."""
    ex = byhand.make("rnn", level="hard", values=PUBLISHED | {"X": [3, 4], "target": [[17]]})
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["Y2"] == [[16]] and v["L"] == Fraction(1, 2)  # ½ (16 − 17)²
    assert v["dY2"] == [[-1]]
    assert v["dC"] == [[-1, -17]]
    assert v["dZ2"] == [[1], [-1]]
    assert v["dS2"] == [[0], [-2], [-1]]
    assert v["dZ1"] == [[0], [-2]]
    assert v["dAB"] == [[3, 6, 4], [-3, -6, -10]]
    assert "dA" not in v and "dB" not in v  # d[A | B] = [dA | dB] is one tensor: one crossing
    # torch autograd on the unrolled network agrees
    a = torch.tensor([[1.0, -1.0], [1.0, 1.0]], requires_grad=True)
    b = torch.tensor([[1.0], [2.0]], requires_grad=True)
    c = torch.tensor([[-1.0, 1.0]], requires_grad=True)
    h = torch.zeros(2, 1)
    for x in (3.0, 4.0):
        h = torch.relu(a @ h + b * x)
    loss = 0.5 * ((c @ h - 17.0) ** 2).sum()
    loss.backward()
    assert a.grad is not None and b.grad is not None and c.grad is not None
    assert a.grad.tolist() == [[3, 6], [-3, -6]] and b.grad.tolist() == [[4], [-10]] and c.grad.tolist() == [[-1, -17]]


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_levels_are_unrolled_crossings(level: str) -> None:
    ex = byhand.make("rnn", seed=3, level=level)
    steps = ex.graph.shapes
    n = {"easy": 3, "medium": 4, "hard": 2}[level]
    for t in range(1, n + 1):
        node = ex.graph.forward_nodes[ex.graph.defined_by[f"Z{t}"]]
        assert node.op == "matmul" and node.ins == ("AB", f"S{t}")  # [A | B]·[Hₜ₋₁ ; Xₜ], one crossing
        assert f"H{t}" in steps and f"Y{t}" in steps
    assert (level == "hard") == any(b.cells[0][0] == "dAB" for b in ex.blanks)
    if level == "hard":  # BPTT: the gradient reaches the first step, and H₀ is a carried-in state
        assert any(ex.values["dZ1"].data)
        assert any(ex.values["H0"].data) and all(v >= 0 for v in ex.values["H0"].data)
    else:
        assert not any(ex.values["H0"].data)


def test_published_names_in_the_notation() -> None:
    from byhand.notation import names

    ex = byhand.make("rnn", seed=1, level="hard")
    nm = names(ex.graph)
    assert nm.label("AB") == "[A | B]"
    assert nm.label("S2") == "[H₁ ; X₂]"
    assert nm.label("T2") == "Y₂*"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"X": "3 4"}, "X must be the input sequence"),
        ({"X": [[3, 4], [5]]}, "X must be the input sequence"),
        ({"X": [1, 2, 3, 4, 5, 6, 7]}, "at most 6 steps"),
        ({"A": [[1] * 5] * 5}, "A gives 5 hidden"),
        ({"Z9": [[1]]}, "does not have"),
        ({"H0": [[0], [0], [0]]}, "H0"),
        ({"level": "hard"}, 'needs the target of the last output Y₄*: add "target"'),
    ],
)
def test_bad_values_say_what_is_wrong(
    values: dict[str, object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "v.json"
    level = str(values.pop("level", "medium"))
    path.write_text(json.dumps(PUBLISHED | values))
    assert main(["make", "rnn", "--values", str(path), "--level", level]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("topic,part,stack", [("rnn", "dH1", "dS2"), ("resnet", "dA3", "dA3A2")])
def test_a_stacks_gradient_is_asked_once(topic: str, part: str, stack: str) -> None:
    """dH₁ is the top rows of d[H₁ ; X₂]: the same numbers, so one badge each, not two (resnet's
    dA₃ and d[A₃ ; A₂] the same)."""
    ex = byhand.make(topic, seed=1, level="hard")
    rows = ex.values[part].shape[0]
    for i in range(rows):
        (b,) = [b for b in ex.blanks if (part, (i, 0)) in b.cells]
        assert (stack, (i, 0)) in b.cells and b.answer == ex.values[stack][(i, 0)]
    assert len(ex.blanks) < len({c for b in ex.blanks for c in b.cells})


def test_a_size_option_that_contradicts_the_values_is_refused() -> None:
    """The sizes come from a teacher's matrices; --set hidden=3 beside a 2×2 A is a contradiction,
    refused in one line, not silently overridden. The same sizes, or none, are fine."""
    values = {"A": [[1, -1], [1, 1]], "B": [[1], [2]], "C": [[-1, 1]], "X": [3, 4, 5, 6]}
    with pytest.raises(byhand.ByHandError, match=r"option hidden=3 contradicts the values, which give hidden=2"):
        byhand.make("rnn", values=values, hidden=3)
    with pytest.raises(byhand.ByHandError, match=r"option steps=3 contradicts the values, which give steps=4"):
        byhand.make("rnn", values=values, steps=3)
    ex = byhand.make("rnn", values=values, hidden=2, steps=4)
    assert [ex.values[f"Y{t}"].data[0] for t in range(1, 5)] == [3, 16, 28, 40]
