"""The ResNet chapters: the published block, the skip's gradient, and gradient flow as a sum over paths."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import byhand
from byhand.notation import tensor_label
from tests.oracle import assert_matches

X = [[2, -1], [1, 1], [2, 1], [1, 2]]
W1 = [[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]]
B1 = [1, 1, 0]


def test_published_residual_block() -> None:
    """X (columns are samples), W1, b1 from the published block → Z1 = [[2,1],[4,3],[1,−2]]; the
    skip adds X back: [W2 | I]·[A1 ; X] + b2 = W2·A1 + b2 + X."""
    w2 = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
    b2 = [0, 0, 0, -1]
    ident = [[int(i == j) for j in range(4)] for i in range(4)]
    ex = byhand.make("resnet", level="easy", values={"X": X, "W1": W1, "b1": B1, "W2": w2, "b2": b2, "I": ident})
    assert ex.values["Z1"].to_nested() == [[2, 1], [4, 3], [1, -2]]
    assert ex.values["A1"].to_nested() == [[2, 1], [4, 3], [1, 0]]
    assert ex.values["Z2"].to_nested() == [[4, 0], [5, 4], [3, 1], [7, 5]]  # W2·A1 + b2 + X
    assert tensor_label(ex.to_dict(), "W2I") == "[W₂ | I]"
    assert tensor_label(ex.to_dict(), "A1X") == "[A₁ ; X]"
    assert_matches(ex.to_dict())
    assert "crossed out" in ex.explain(("A1", (2, 1)))


@pytest.mark.parametrize("seed", range(30))
def test_gradient_at_the_plus_goes_both_ways(seed: int) -> None:
    """∂L/∂X = (down the skip: ∂L/∂Z2 unchanged) + (through f: W1ᵀ·∂L/∂Z1), against autograd."""
    ex = byhand.make("resnet", seed=seed, level="hard", blocks=1)
    v = {
        k: torch.tensor([[float(x) for x in row] for row in t.to_nested()])
        if len(t.shape) == 2
        else torch.tensor([float(x) for x in t.to_nested()])
        for k, t in ex.values.items()
        if k in ("X", "W1", "b1", "W2", "b2", "Y")
    }
    x = v["X"].clone().requires_grad_(True)
    a1 = torch.relu(v["W1"] @ x + v["b1"][:, None])
    z2 = v["W2"] @ a1 + v["b2"][:, None] + x
    loss = 0.5 * ((torch.relu(z2) - v["Y"]) ** 2).sum()
    (g,) = torch.autograd.grad(loss, x)
    assert [float(c) for c in ex.values["dX"].data] == pytest.approx(g.reshape(-1).tolist())
    dz2 = ex.values["dZ2"]
    dz1 = ex.values["dZ1"]
    w1 = ex.values["W1"]
    for j in range(ex.values["X"].shape[1]):
        for i in range(ex.values["X"].shape[0]):
            skip = dz2[i, j]  # I·dZ2: unchanged down the skip
            through_f = sum(w1[k, i] * dz1[k, j] for k in range(w1.shape[0]))
            assert ex.values["dX"][i, j] == skip + through_f


@pytest.mark.parametrize("level", ["medium", "hard"])
@pytest.mark.parametrize("seed", range(40))
def test_sum_over_paths_is_the_gradient_of_the_chain(level: str, seed: int) -> None:
    """With a skip around each layer, h_i = h_{i−1} + d_i·h_{i−1}: autograd's ∂h_n/∂h_0 equals the
    sum of the 2^k path products; without skips it is the one plain path."""
    ex = byhand.make("gradient-flow", seed=seed, level=level)
    n = ex.options.get("layers") or {"medium": 3, "hard": 4}[level]
    d = [float(ex.values[f"d{i}"].data[0]) for i in range(1, n + 1)]
    h0 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    h, p = h0, h0
    for di in d:
        h = h + di * h
        p = di * p
    (g_res,) = torch.autograd.grad(h, h0)
    (g_plain,) = torch.autograd.grad(p, h0)
    assert float(ex.values["total"].data[0]) == pytest.approx(g_res.item())
    assert len(ex.values["paths"].data) == 2**n
    plain = ex.values["p" + "".join(str(i) for i in range(1, n + 1))].data[0]
    assert float(plain) == pytest.approx(g_plain.item())
    assert abs(Fraction(plain)) <= Fraction(1, 8) <= 1 <= abs(Fraction(ex.values["total"].data[0]))


def test_chain_plain_beside_residual() -> None:
    ex = byhand.make("gradient-flow", seed=2, level="easy")
    n = 4
    plain = ex.values["g1"].data[0]
    res = ex.values["r1"].data[0]
    prod_d = Fraction(1)
    prod_s = Fraction(1)
    for i in range(1, n + 1):
        prod_d *= Fraction(ex.values[f"d{i}"].data[0])
        prod_s *= 1 + Fraction(ex.values[f"d{i}"].data[0])
    assert plain == prod_d and res == prod_s


PUBLISHED = {
    "X": [[2, -1], [1, 1], [2, 1], [1, 2]],
    "W1": [[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]],
    "b1": [1, 1, 0],
    "W2": [[0, 1, 2], [-1, 0, 2], [0, 1, 1], [-1, 0, -3]],
    "b2": [1, 1, 1, 0],
    "W3": [[1, 1, 1, 0]],
    "b3": [-2],
}


def test_published_block_with_its_output_layer_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole published block, as a teacher types it (no I: the skip implies it), through
    ``byhand make resnet --values``: Z1, X + f(X) and the read-out [17, 7] as published."""
    from byhand.cli import main

    path = tmp_path / "published.json"
    path.write_text(json.dumps(PUBLISHED))
    code = main(["make", "resnet", "--values", str(path), "--set", "width=4", "--set", "batch=2", "--format", "key"])
    out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["make", "resnet", "--values", str(path), "--set", "width=4", "--set", "batch=2", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    t = doc["tensors"]
    assert t["Z1"]["values"] == [[2, 1], [4, 3], [1, -2]]
    assert t["Z2"]["values"] == [[9, 3], [2, 1], [8, 5], [-4, 1]]  # X + f(X)
    assert t["Z3"]["values"] == [[17, 7]]  # the output layer, no ReLU
    assert t["I"]["values"] == [[int(i == j) for j in range(4)] for i in range(4)]
    assert t["Z3"]["label"] == "Ŷ" and t["Z3"]["note"] == "W₃·A₂ + b₃, the output"
    assert_matches(doc)
    # the key shows the published results as answers
    assert "17" in out and "-2" in out.replace("−", "-")


def test_identity_is_implied_and_checked() -> None:
    ex = byhand.make("resnet", values=PUBLISHED, width=4, batch=2)
    assert ex.values["Z3"].to_nested() == [[17, 7]]
    with pytest.raises(byhand.FormatError, match="I is implied"):
        byhand.make("resnet", values=PUBLISHED | {"I": [[1, 0, 0, 0]] * 4}, width=4, batch=2)
    with pytest.raises(byhand.FormatError, match="lack W3, b3"):
        byhand.make("resnet", values={k: v for k, v in PUBLISHED.items() if k not in ("W3", "b3")}, width=4, batch=2)
    # without the output layer the published block needs no W3
    ex = byhand.make("resnet", values={k: v for k, v in PUBLISHED.items() if k not in ("W3", "b3")}, head=0)
    assert "Z3" not in ex.values


@pytest.mark.parametrize("seed", range(20))
def test_medium_has_the_output_layer(seed: int) -> None:
    ex = byhand.make("resnet", seed=seed, level="medium")
    # two features at medium: the block, its no-skip twin and the read-out fit the 20-minute budget
    assert ex.graph.shapes["W3"] == (1, 2) and ex.graph.shapes["W1"] == (3, 2) and ex.graph.shapes["Z3"] == (1, 2)
    assert any(b.cells[0][0] == "Z3" for b in ex.blanks)
    assert ex.minutes is not None and ex.minutes <= 20
    assert_matches(ex.to_dict())
