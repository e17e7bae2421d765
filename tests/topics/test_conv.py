"""Convolution and max-pooling: a hand-worked example pinned as literal numbers, the convolution,
the pool and the filter's gradient against torch's conv2d / max_pool2d / autograd, and what each
level promises (0/1 images at easy, no tie in a pooling window, the patch the student cuts out)."""

from __future__ import annotations

import pytest
import torch

import byhand
from byhand.engine.ops import OPS
from byhand.engine.tensor import Tensor
from byhand.errors import GraphError
from byhand.topics import get, resolve_options
from tests.oracle import assert_matches, tensor

WORKED = {  # easy geometry (4×4, no padding, stride 1) with the gradient asked
    "X": [[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 1], [0, 1, 0, 1]],
    "K": [[1, 0, -1], [0, 2, 0], [-1, 0, 1]],  # the 3×3 filter
    "b": [1],
    "dY": [[1, -1, 2, 1]],
}


def test_worked_by_hand() -> None:
    """Worked by hand: the patch at (1, 1) is 1 0 1 / 0 1 1 / 1 1 0, so Y[1,1] = 1·1 + (−1)·1 +
    2·1 + (−1)·1 + 1·0 + 1 = 2; Y = 2 3 2 2, the map [[2, 3], [2, 2]] pools to 3; ∂L/∂F[1] =
    1·1 + (−1)·0 + 2·0 + 1·1 = 2, ∂L/∂b = 1 − 1 + 2 + 1 = 3."""
    ex = byhand.make("conv", level="easy", grad=1, values=WORKED)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    assert v["C"] == [
        [1, 0, 0, 1],
        [0, 1, 1, 1],
        [1, 0, 1, 0],
        [0, 1, 1, 1],
        [1, 1, 1, 0],
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [1, 0, 1, 0],
        [0, 1, 0, 1],
    ]
    assert v["Y"] == [[2, 3, 2, 2]]
    assert v["M"] == [[2, 3], [2, 2]]
    assert v["P"] == [[3]]
    assert v["F"] == [[1, 0, -1, 0, 2, 0, -1, 0, 1]]
    assert v["dF"] == [[2, 2, 3, 2, 2, 2, 1, 3, 0]]
    assert v["dK"] == [[2, 2, 3], [2, 2, 2], [1, 3, 0]]
    assert v["db"] == 3
    assert_matches(ex.to_dict())


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_against_torch_conv2d_and_max_pool2d(level: str) -> None:
    for seed in range(25):
        ex = byhand.make("conv", seed=seed, level=level)
        o = resolve_options(get("conv"), level, {})
        x = tensor(ex.values["X"].to_nested())[None, None]
        f = tensor(ex.values["F"].to_nested()).reshape(1, 1, 3, 3).requires_grad_(True)
        b = tensor(ex.values["b"].to_nested()).requires_grad_(True)
        y = torch.nn.functional.conv2d(x, f, b, stride=o["stride"], padding=o["pad"])  # a correlation, as by hand
        assert y.reshape(-1).tolist() == [float(v) for v in ex.values["Y"].data]
        pooled = torch.nn.functional.max_pool2d(y, 2)
        assert pooled.reshape(-1).tolist() == [float(v) for v in ex.values["P"].data]
        if level == "hard":
            dy = tensor(ex.values["dY"].to_nested()).reshape(y.shape)
            df, db = torch.autograd.grad(y, [f, b], dy)
            assert df.reshape(-1).tolist() == [float(v) for v in ex.values["dF"].data]
            assert db.item() == float(ex.values["db"].data[0])


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_what_each_level_promises(level: str) -> None:
    for seed in range(40):
        ex = byhand.make("conv", seed=seed, level=level)
        x, f = ex.values["X"].data, ex.values["F"].data
        if level == "easy":
            assert set(x) <= {0, 1} and set(f) <= {-1, 0, 1}
        m = ex.values["M"]
        for i in range(m.shape[0] // 2):
            for j in range(m.shape[1] // 2):
                w = [m[(2 * i + di, 2 * j + dj)] for di in range(2) for dj in range(2)]
                assert w.count(max(w)) == 1  # one largest: the pool's gradient would know where to go
        asked = {c for b in ex.blanks for c in b.cells}
        c = ex.values["C"]
        cols = {idx[1] for name, idx in asked if name == "C"}
        assert len(cols) == resolve_options(get("conv"), level, {})["patches"]
        zeros = [sum(v == 0 for v in c.col(j)) for j in range(c.shape[1])]
        assert all(zeros[j] == min(zeros) for j in cols)  # the patch with the fewest 0s is cut out
        assert ("P", (0, 0)) in asked and ("Y", (0, 0)) in asked
        assert (("dF", (0, 0)) in asked) == (level == "hard")


def test_the_hard_sheet_says_the_method() -> None:
    ex = byhand.make("conv", seed=3, level="hard")
    assert "∂L/∂F = ∂L/∂Y·Cᵀ" in ex.instructions and "Y = [F | b]·[C ; 1]" in ex.instructions
    assert "moving 2 cells at a time" in ex.instructions and "border of 0s" in ex.instructions


def test_options_that_do_not_fit_are_refused_plainly() -> None:
    with pytest.raises(byhand.ByHandError, match="at most 16 fit on a sheet"):
        byhand.make("conv", size=6, pad=1, stride=1)
    with pytest.raises(byhand.ByHandError, match="too small for a 2×2 max-pool"):
        byhand.make("conv", size=4, pad=0, stride=2)


def test_a_tie_in_a_pooling_window_has_no_gradient() -> None:
    m = Tensor((2, 2), [3, 1, 3, 0])
    y = OPS["max_pool"].forward([m], {"size": 2})
    assert y.data == [3]  # forward is fine
    with pytest.raises(GraphError, match="largest value 3 twice"):
        OPS["max_pool"].vjp([m], y, Tensor((1, 1), [1]), {"size": 2})


def test_col2im_adds_overlapping_patches() -> None:
    """im2col's gradient adds each column back onto its patch: a cell in four patches gets four."""
    x = Tensor((4, 4), list(range(16)))
    c = OPS["im2col"].forward([x], {"size": 3})
    (dx,) = OPS["im2col"].vjp([x], c, Tensor(c.shape, [1] * len(c.data)), {"size": 3})
    assert dx.to_nested() == [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
