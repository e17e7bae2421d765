"""The LSTM chapter: one step worked by hand and pinned as literal numbers, the hard-sigmoid
convention said on the sheet, each gate a crossing [W | U | b]·[Xₜ ; Hₜ₋₁ ; 1], two steps as an
option, and a print of the hard level."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from pypdf import PdfReader

import byhand
from byhand.cli import main
from byhand.printing.layout import plan_exercise
from tests.oracle import assert_matches

# one hidden unit, one input: x = 1, h₀ = 1, c₀ = −1
HAND = {
    "Wf": [[1]], "Uf": [[1]], "bf": [0],
    "Wg": [[1]], "Ug": [[0]], "bg": [0],
    "Wi": [[1]], "Ui": [[-1]], "bi": [0],
    "Wo": [[-1]], "Uo": [[0]], "bo": [4],
    "X1": [[1]], "H0": [[1]], "C0": [[-1]],
}


def test_one_step_by_hand() -> None:
    """Zf = 1·1 + 1·1 + 0 = 2, F = 2/6 + 1/2 = 5/6; Zg = 1, G = tanh(1) = 1 (the corner);
    Zi = 1 − 1 + 0 = 0, I = 1/2; Zo = −1 + 0 + 4 = 3, O = σ(3) = 1 (the corner);
    F ⊙ C₀ = −5/6, I ⊙ G = 1/2, C₁ = −1/3, tanh(C₁) = −1/3, H₁ = 1·(−1/3) = −1/3."""
    ex = byhand.make("lstm", level="easy", values=HAND)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert (v["Zf1"], v["F1"]) == ([[2]], [[Fraction(5, 6)]])
    assert (v["Zg1"], v["G1"]) == ([[1]], [[1]])
    assert (v["Zi1"], v["I1"]) == ([[0]], [[Fraction(1, 2)]])
    assert (v["Zo1"], v["O1"]) == ([[3]], [[1]])
    assert v["FC1"] == [[Fraction(-5, 6)]] and v["IG1"] == [[Fraction(1, 2)]]
    assert v["C1"] == [[Fraction(-1, 3)]] and v["T1"] == [[Fraction(-1, 3)]] and v["H1"] == [[Fraction(-1, 3)]]
    assert_matches(ex.to_dict())
    # torch's own hard sigmoid and hard tanh, written the usual LSTM way, agree
    x, h, c = torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([-1.0])
    f = F.hardsigmoid(x + h)
    g = F.hardtanh(x)
    i = F.hardsigmoid(x - h)
    o = F.hardsigmoid(-x + 4)
    c1 = f * c + i * g
    assert torch.allclose(o * F.hardtanh(c1), torch.tensor([-1 / 3]))


def test_the_key_writes_each_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lstm.json"
    path.write_text(json.dumps(HAND))
    assert main(["make", "lstm", "--level", "easy", "--values", str(path), "--format", "key"]) == 0
    out = capsys.readouterr().out
    assert "2/6 + 1/2 = 5/6" in out  # the hard sigmoid between its corners
    assert "σ(3) = 1 (3 ≥ 3)" in out  # … and at a corner
    assert "tanh(1) = 1 (1 ≥ 1)" in out
    assert "(5/6)·(−1) = −5/6" in out  # F ⊙ C₀, entry by entry
    assert "1·(−1/3) = −1/3" in out  # H₁ = O ⊙ tanh(C₁)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_the_sheet_says_which_sigmoid(level: str) -> None:
    ex = byhand.make("lstm", seed=3, level=level)
    assert "σ here is the hard sigmoid: 0 below −3, 1 above 3, z/6 + 1/2 between" in ex.instructions
    assert "hard tanh" in ex.instructions
    # every gate and state value is exact: gates 0, 1 or sixths; H in sixths (the sampler's rule)
    for name, t in ex.values.items():
        assert all(not isinstance(x, float) for x in t.data), name
        if name[0] in "FIO" and name[1:].isdigit():
            assert all(0 <= x <= 1 and (6 * Fraction(x)).denominator == 1 for x in t.data), (name, t.data)
        if name.startswith("H") and name != "H0":
            assert all((6 * Fraction(x)).denominator == 1 for x in t.data), (name, t.data)


@pytest.mark.parametrize("seed", range(5))
def test_each_gate_is_a_crossing(seed: int) -> None:
    """[Wk | Uk | bk] left of Zk, on its rows; [X₁ ; H₀ ; 1] on top, in its column, drawn once
    for the four gates (the published sheet: the gate blocks one under the other)."""
    ex = byhand.make("lstm", seed=seed, level="hard")
    plan = plan_exercise(ex.to_dict(), 1)
    by: dict[str | None, list[dict]] = {}
    for b in plan["blocks"]:
        by.setdefault(b["tensor"], []).append(b)
    for k in "fgio":
        (z,) = by[f"Z{k}1"]
        (w,) = by[f"W{k}"]
        (u,) = by[f"U{k}"]
        (b,) = by[f"b{k}"]
        assert w["y"] == u["y"] == b["y"] == z["y"]
        assert w["x"] + w["cols"] * w["cw"] == pytest.approx(u["x"])
        assert u["x"] + u["cols"] * u["cw"] == pytest.approx(b["x"])
        x = next(t for t in by["X1"] if t["x"] == z["x"] and t["y"] < z["y"])
        h = next(t for t in by["H0"] if t["x"] == z["x"] and t["y"] == x["y"] + x["rows"])
        assert h["y"] + h["rows"] < z["y"] + 1e-9
    assert len(by["X1"]) == 1 and len(by["H0"]) == 1  # the column is not drawn again for each gate
    assert [by[f"Z{k}1"][0]["y"] for k in "fgio"] == sorted(by[f"Z{k}1"][0]["y"] for k in "fgio")


def test_two_steps_carry_the_state() -> None:
    ex = byhand.make("lstm", seed=5, level="hard", steps=2)
    v = ex.values
    assert v["S2"].data == v["X2"].data + v["H1"].data  # H₁ on the next column, under X₂
    assert any(n.ins == ("F2", "C1") for n in ex.graph.forward_nodes)  # C₁ carried to the forget gate
    assert_matches(ex.to_dict())


def test_no_gradient_step_is_asked() -> None:
    """Forward only: the hard sigmoid's slope has two corners and no per-cell step (ops say so)."""
    for level in ("easy", "medium", "hard"):
        ex = byhand.make("lstm", seed=1, level=level)
        assert not ex.graph.grad_nodes


pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")


def test_hard_prints_with_the_convention() -> None:
    from byhand import documents

    ex = byhand.make("lstm", seed=2, level="hard")
    (pdf,) = documents.worksheet([ex])
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "hard sigmoid" in text and "forget gate" in text and "output gate" in text
    for forbidden in ("hard_sigmoid", "hard_tanh", "FC1", "IG1", "WUf"):
        assert forbidden not in text


def test_two_steps_carry_a_state_that_keeps_the_next_step_whole() -> None:
    """steps=2: the first step's output gate saturates (O = 0 or 1, drawn for the input, not
    hoped for), so the second step's pre-activations are whole and its gates sixths; the answers
    keep the rules (Fraction(1) counted as the 1 it prints)."""

    for level in ("easy", "medium", "hard"):
        for seed in range(60):
            v = byhand.make("lstm", seed=seed, level=level, steps=2).values
            assert set(v["O1"].data) <= {0, 1}
            for k in "fgio":
                assert all(type(z) is int or Fraction(z).denominator == 1 for z in v[f"Z{k}2"].data)
                assert all(-6 <= z <= 6 for z in v[f"Z{k}2"].data)
