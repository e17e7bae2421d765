"""A tiny GAN step: a hand-worked example pinned as literal numbers (through the CLI too); every
gradient against torch autograd of the losses the sheet names; what each level promises."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import byhand
from byhand.cli import main
from tests.oracle import assert_matches, tensor

WORKED = {  # two features, the generator's gradient asked (hard)
    "z": [[1], [-1]],
    "WG": [[2, 1], [1, 2]],
    "bG": [0, 0],
    "Xr": [[2], [1]],
    "WD": [[1, 1]],
    "bD": [-1],
}


def test_worked_by_hand() -> None:
    """Worked by hand. G: ZG = [2·1 + 1·(−1), 1·1 + 2·(−1)] = [1, −1], G(z) = [1, 0] (−1 crossed out).
    D: ZD = [1·2 + 1·1 − 1, 1·1 + 1·0 − 1] = [2, 0], D = [2/6 + 1/2, 0/6 + 1/2] = [5/6, 1/2].
    D's loss: dZD = D − [1 0] = [−1/6, 1/2] (raise the real score, lower the fake's); dWD = dZD·Xᵀ =
    [−1/6·2 + 1/2·1, −1/6·1 + 1/2·0] = [1/6, −1/6]; dbD = −1/6 + 1/2 = 1/3. G's loss: dZf = 1/2 − 1
    = −1/2 (G wants its score up); dG(z) = WDᵀ·(−1/2) = [−1/2, −1/2]; ReLU's gate passes the first,
    blocks the second: dZG = [−1/2, 0]; dWG = dZG·zᵀ = [[−1/2, 1/2], [0, 0]]."""
    ex = byhand.make("gan", level="hard", values=WORKED)
    v = {k: t.to_nested() for k, t in ex.values.items()}
    h, s, t = Fraction(1, 2), Fraction(1, 6), Fraction(1, 3)
    assert v["ZG"] == [[1], [-1]]
    assert v["Xf"] == [[1], [0]]
    assert v["ZD"] == [[2, 0]]
    assert v["D"] == [[5 * s, h]]
    assert v["dZD"] == [[-s, h]]
    assert v["dWD"] == [[s, -s]]
    assert v["dbD"] == t
    assert v["dZf"] == [[-h]]
    assert v["dXf"] == [[-h], [-h]]
    assert v["dZG"] == [[-h], [0]]
    assert v["dWG"] == [[-h, h], [0, 0]]
    assert_matches(ex.to_dict())


def test_worked_example_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "gan.json"
    f.write_text(json.dumps(WORKED))
    assert main(["make", "gan", "--level", "hard", "--values", str(f), "--format", "key"]) == 0
    out = capsys.readouterr().out
    assert "5/6" in out and "(−1/6)·2 + (1/2)·1 = 1/6" in out
    assert "0 (blocked: ZG[2,1] = −1 ≤ 0)" in out


def _hard_softplus(z: torch.Tensor) -> torch.Tensor:
    """The integral of the hard sigmoid (0 below −3, (z + 3)²/12 between, z above 3): the hard
    version of softplus, so H(z) − y·z is binary cross-entropy on a logit with the hard σ, and its
    gradient is exactly hardsigmoid(z) − y = D − y."""
    return torch.clamp(z + 3, 0, 6) ** 2 / 12 + torch.relu(z - 3)


def _close(have: torch.Tensor, want: list) -> None:  # type: ignore[type-arg]
    assert torch.allclose(have.detach().reshape(-1), tensor(want).reshape(-1).to(torch.float64), atol=1e-12), (have, want)


@pytest.mark.parametrize("level", ["medium", "hard"])
def test_every_gradient_is_torch_autograd_of_the_losses(level: str) -> None:
    for seed in range(40):
        ex = byhand.make("gan", seed=seed, level=level)
        v = {k: t.to_nested() for k, t in ex.values.items()}
        z, wg, bg, xr, wd, bd = (tensor(v[n]).requires_grad_(True) for n in ("z", "WG", "bG", "Xr", "WD", "bD"))
        zg = wg @ z + bg[:, None]
        xf = torch.relu(zg)
        zd = wd @ torch.cat([xr, xf], dim=1) + bd[:, None]
        d = F.hardsigmoid(zd)
        _close(d, v["D"])
        loss_d = _hard_softplus(zd[0, 0]) - zd[0, 0] + _hard_softplus(zd[0, 1])  # yᴰ = [1 0]
        gzd, gwd, gbd = torch.autograd.grad(loss_d, [zd, wd, bd], retain_graph=True)
        _close(gzd, v["dZD"])
        _close(gwd, v["dWD"])
        _close(gbd, [v["dbD"]])
        loss_g = _hard_softplus(zd[0, 1]) - zd[0, 1]  # yᴳ = 1
        gzf, gxf, gzg, gwg, gbg = torch.autograd.grad(loss_g, [zd, xf, zg, wg, bg])
        _close(gzf[0, 1], v["dZf"])
        assert gzf[0, 0].item() == 0  # G's loss does not see the real sample
        if level == "hard":
            _close(gxf, v["dXf"])
            _close(gzg, v["dZG"])
            _close(gbg, v["dZG"])  # dbG is dZG itself, as the sheet says
            _close(gwg, v["dWG"])


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_what_each_level_promises(level: str) -> None:
    for seed in range(60):
        ex = byhand.make("gan", seed=seed, level=level)
        zd, zg = ex.values["ZD"].data, ex.values["ZG"].data
        assert all(-3 < x < 3 for x in zd) and zd[0] != zd[1]  # every score a sixth, and D tells them apart
        assert sum(x < 0 for x in zg) == 1  # ReLU crosses one unit out, the rest live
        asked = {c[0] for b in ex.blanks for c in b.cells}
        assert {"ZG", "Xf", "ZD", "D"} <= asked
        assert ("dWD" in asked) == (level != "easy")
        assert ("dWG" in asked) == (level == "hard")
        if level != "easy":
            dz = ex.values["dZD"].data
            assert dz[0] < 0 < dz[1] and ex.values["dZf"].data[0] < 0  # the signs the sheet teaches
            assert all(ex.values["dWD"].data)  # every feature of D moves
        if level == "hard":
            assert any(ex.values["dZG"].data) and 0 in ex.values["dZG"].data  # one passed, one blocked


def test_the_sheet_says_the_convention_and_the_losses() -> None:
    ex = byhand.make("gan", seed=2, level="hard")
    assert "hard sigmoid" in ex.instructions and "z/6 + 1/2" in ex.instructions
    assert "D − y" in ex.instructions and "yᴰ = [1 0]" in ex.instructions and "yᴳ = 1" in ex.instructions
    assert "dWD = dZD·Xᵀ" in ex.instructions and "dWG = dZG·zᵀ" in ex.instructions


def test_a_teachers_values_may_leave_out_the_targets_but_not_change_their_meaning() -> None:
    ex = byhand.make("gan", level="medium", values=WORKED)
    assert ex.values["YD"].to_nested() == [[1, 0]] and ex.values["YG"].to_nested() == [[1]]
    assert byhand.make("gan", level="easy", values=WORKED).graph.shapes.get("YD") is None


def test_the_real_sample_may_be_given_by_its_label_x() -> None:
    values = dict(WORKED)
    values["x"] = values.pop("Xr")
    ex = byhand.make("gan", level="hard", values=values)
    assert ex.values["D"].to_nested() == [[Fraction(5, 6), Fraction(1, 2)]]


def test_a_teacher_cannot_change_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "gan.json"
    f.write_text(json.dumps(WORKED | {"YD": [[0, 1]]}))
    assert main(["make", "gan", "--level", "medium", "--values", str(f)]) == 2
    err = capsys.readouterr().err
    assert "YD is the chapter's target" in err and "Traceback" not in err
