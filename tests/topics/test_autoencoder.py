"""Autoencoder and mean squared error: the published sheet's numbers pinned, the gradient
2(Y − X)/N against torch's autograd, and N chosen so 2/N is ½ or ¼."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

import byhand
from tests.oracle import assert_matches, tensor

PUBLISHED = {  # "Autoencoder (AE) by hand", the small sheet: 4 → 3 → 2 → 3 → 4, two samples
    "X": [[2, -1], [-1, 0], [2, 1], [1, 2]],
    "W1": [[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]],
    "b1": [1, 1, 0],
    "W2": [[0, 1, 2], [-1, 0, -3]],
    "b2": [1, 10],
    "W3": [[1, 1], [-1, 1], [1, 0]],
    "b3": [-2, 1, 1],
    "W4": [[0, -1, 0], [-1, 2, 0], [1, -1, 1], [-1, 0, 1]],
    "b4": [2, 3, 2, 5],
}


def test_published_sheet_worked_by_hand() -> None:
    """Worked by hand: Z₁[1,1] = 1·2 + 0·(−1) + (−1)·2 + 1·1 + 1 = 2; Z₂[2,1] = −1·2 + 0·2 + (−3)·3 + 10
    = −1 (crossed out); Z₄[3,1] = 1·7 + (−1)·0 + 1·10 + 2 = 19; the squares add to 457, the mean is
    457/8 and the gradient is (Y − X)/4."""
    ex = byhand.make("autoencoder", level="hard", values=PUBLISHED)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["Z1"] == [[2, 1], [2, 2], [3, -1]]
    assert v["A2"] == [[9, 3], [0, 9]]
    assert v["A3"] == [[7, 10], [0, 7], [10, 4]]
    assert v["Y"] == [[2, 0], [0, 7], [19, 9], [8, 0]]
    assert v["E"] == [[0, 1], [1, 7], [17, 8], [7, -2]]
    assert v["Q"] == [[0, 1], [1, 49], [289, 64], [49, 4]]
    assert v["S"] == 457 and v["L"] == Fraction(457, 8)
    q = Fraction(1, 4)
    assert v["G"] == [[0, q], [q, 7 * q], [17 * q, 2], [7 * q, Fraction(-1, 2)]]
    assert_matches(ex.to_dict())


@pytest.mark.parametrize("level,two_over_n", [("easy", Fraction(1, 2)), ("medium", Fraction(1, 4)), ("hard", Fraction(1, 4))])
def test_the_gradient_is_autograds(level: str, two_over_n: Fraction) -> None:
    for seed in range(20):
        ex = byhand.make("autoencoder", seed=seed, level=level)
        y = tensor(ex.values["Y"].to_nested()).requires_grad_(True)
        x = tensor(ex.values["X"].to_nested())
        loss = ((y - x) ** 2).mean()
        (g,) = torch.autograd.grad(loss, y)
        assert torch.allclose(g, tensor([[str(v) for v in r] for r in ex.values["G"].to_nested()]))
        assert float(loss) == pytest.approx(float(ex.values["L"].data[0]))
        e = ex.values["E"].data
        assert all(gv == two_over_n * ev for gv, ev in zip(ex.values["G"].data, e))
        assert all(ev != 0 for ev in e)  # the reconstruction is close, never exact: every cell has a gradient


def test_easy_works_the_encoder_for_the_student() -> None:
    ex = byhand.make("autoencoder", seed=1, level="easy")
    asked = {c[0] for b in ex.blanks for c in b.cells}
    assert "Z1" not in asked and "A1" not in asked
    assert {"Z2", "Y", "E", "Q", "S", "L", "G"} <= asked
    assert "½·(Y − X)" in ex.instructions


def test_a_bottleneck_must_narrow() -> None:
    with pytest.raises(byhand.ByHandError, match="narrower"):
        byhand.make("autoencoder", bottleneck=4)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_the_output_layer_is_built_to_its_rules(level: str) -> None:
    """The decoder's last layer is constructed backwards from the Y it should give: every cell of
    Y lands 1 to 3 from X, the squares stay within the sheet's bound, its weights are in {−1, 0, 1}
    with no two rows alike and biases in −3…4, and its ReLU crosses out a negative z at least
    once and zeroes at most a quarter of Y."""
    for seed in range(200):
        ex = byhand.make("autoencoder", seed=seed, level=level)
        v = ex.values
        last = max(int(k[1:]) for k in v if k[:1] == "W")
        w, b, z = v[f"W{last}"], v[f"b{last}"], v[f"Z{last}"]
        assert set(w.data) <= {-1, 0, 1} and all(-3 <= x <= 4 for x in b.data)
        rows = [tuple(w.row(i)) for i in range(w.shape[0])]
        assert len(set(rows)) == len(rows) and all(any(r) for r in rows)
        assert all(1 <= abs(e) <= 3 for e in v["E"].data)
        n = len(v["Y"].data)
        assert v["S"].data[0] <= (20 if n <= 4 else 30)
        assert any(x < 0 for x in z.data)
        assert 4 * sum(y == 0 for y in v["Y"].data) <= max(4, n)
