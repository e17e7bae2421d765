"""The backprop chapter's deep options (depth up to 10): constructed layer by layer with the
gradient's size in view, so the sheets keep the rules and are seldom drawn again whole."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest

import byhand
from byhand.engine.tensor import Tensor
from byhand.topics import _nets, get
from tests.topics.test_rules import broken_rules


@pytest.mark.parametrize(
    "opts",
    [
        {"depth": 10, "width": 2},
        {"depth": 10, "width": 2, "loss": "ce"},
        {"depth": 10, "width": 3},
        {"depth": 7, "width": 2, "inputs": 2},
    ],
)
def test_deep_variants_keep_the_rules(opts: dict[str, Any]) -> None:
    """Every gradient alive for every sample, few zeros, no value dominating, ReLU crossing out,
    and every answer within ±20 (the sheet's bound), over 30 seeds (checked from the exercise)."""
    for seed in range(30):
        ex = byhand.make("backprop", seed=seed, **opts)
        assert not broken_rules(ex), (seed, broken_rules(ex))
        assert all(abs(Fraction(str(b.answer))) <= 20 for b in ex.blanks), seed
        assert ex.graph.shapes[f"W{opts['depth']}"][0] == 2


def test_deep_sheets_are_seldom_drawn_again_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Depth 10: a layer that would let the gradient die or grow is drawn again on its own, so the
    whole sheet is drawn again rarely (about 1.06 draws a sheet; before, 6.5: the gradient doubled
    through layers of ±1 weights, and a backtrack kept the redrawn layer's gradient maps)."""
    module = get("backprop")
    calls = []
    real = module.sample_backprop

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "sample_backprop", counted)
    for seed in range(40):
        byhand.make("backprop", seed=seed, depth=10, width=2)
    assert len(calls) <= 1.5 * 40


def test_default_depths_use_the_shallow_sampler() -> None:
    """The levels' own depths (2 and 3) keep their variants: the deep construction starts at 4."""
    ex = byhand.make("backprop", seed=4, level="medium")
    assert ex.graph.shapes["W2"] == (2, 2) and "W3" not in ex.graph.shapes


def test_splittable_sees_samples_the_next_relu_cannot_tell_apart() -> None:
    """Two samples 1 apart (4, 1 against 4, 0) cannot be split by a ReLU with weights −1…1; 1, 3
    against 0, 4 can (w = (−1, 1), b = −3: z = −1, 1); 0, 3 against 1, 4 would need b = −4."""
    assert not _nets._splittable([[4, 4], [1, 0]], (-1, 1), (-3, 3), 4)
    assert _nets._splittable([[1, 0], [3, 4]], (-1, 1), (-3, 3), 4)
    assert not _nets._splittable([[0, 1], [3, 4]], (-1, 1), (-3, 3), 4)


def test_friendly_errors_reach_every_layer_smallest_first() -> None:
    """Each offered output error reaches every hidden layer of its sample, smallest gradient first.
    By hand: the read-out W3 = [[1, 1], [1, 1]] sends (e₀ + e₁)·(1, 1) down, so an error with
    e₀ = −e₁ dies at once; the rest pass W2 = W1 = I unchanged, so each one's largest number is
    max(|e₀|, |e₁|, |e₀ + e₁|) (every input is 1)."""
    weights = [[[1, 0], [0, 1]], [[1, 0], [0, 1]], [[1, 1], [1, 1]]]
    masks = [[[True, True], [True, True]], [[True, True], [True, True]]]
    acts = [[[1, 1], [1, 1]]] * 3
    errs = _nets._friendly_errors(random.Random(0), weights, masks, acts, 0, 2, 20)
    assert len(errs) == 12 and all(e[0] != -e[1] for e in errs)
    sizes = [max(abs(e[0]), abs(e[1]), abs(e[0] + e[1])) for e in errs]
    assert sizes == sorted(sizes) and sizes[0] == 2 and sizes[-1] == 4
    assert sorted(map(tuple, errs[-2:])) == [(-2, -2), (2, 2)]
    assert _nets._friendly_errors(random.Random(0), weights, masks, acts, 0, 2, 3)[-1] not in ([2, 2], [-2, -2])


@pytest.mark.parametrize("loss", ["sse", "ce"])
def test_deep_variants_replay_in_torch_and_are_distinct(loss: str) -> None:
    """Ten layers: torch replays the file to the same numbers, every blank is determined by the
    shown cells, no weight row is all zero (a hidden weight may now be 0), and 40 seeds give 40
    different sheets."""
    from byhand.engine.solver import solve
    from byhand.engine.tensor import indices
    from tests.oracle import assert_matches

    docs = set()
    for seed in range(40):
        ex = byhand.make("backprop", seed=seed, depth=10, width=2, loss=loss)
        docs.add(ex.to_json())
        if seed >= 8:
            continue
        assert_matches(ex.to_dict())
        g = ex.graph
        blank = set(ex.blank_cells())
        known = {(n, i): ex.values[n][i] for n in g.shapes for i in indices(g.shapes[n]) if (n, i) not in blank}
        sol = solve(g, known, blank, eliminate=False)
        assert not sol.undetermined and not sol.inconsistent, seed
        for layer in range(1, 11):
            w = ex.values[f"W{layer}"]
            assert all(any(w.row(i)) for i in range(w.shape[0])), (seed, layer)
    assert len(docs) == 40


def test_one_sample_with_every_gradient_asked_is_refused_with_the_reason() -> None:
    """One sample: the unit ReLU crosses out zeroes a whole row of dW, so with every gradient asked the
    zero rule cannot hold; say so up front (it used to fail after 50 draws with "try another seed"),
    and keep the cases that work: the last layer's gradients, one layer, and a teacher's own numbers."""
    for ask in ("grads", "all"):
        with pytest.raises(byhand.ByHandError, match=r"batch=1.*use batch=2, or ask=last"):
            byhand.make("backprop", seed=3, batch=1, ask=ask)
    assert byhand.make("backprop", seed=3, batch=1, ask="last").blanks
    assert byhand.make("backprop", seed=3, batch=1, depth=1, ask="all").blanks
    values = {"X": [[1], [2]], "W1": [[1, -1], [0, 1]], "b1": [0, -1], "W2": [[1, 1], [-1, 1]], "b2": [0, 0],
              "Y": [[0], [1]]}
    ex = byhand.make("backprop", seed=3, batch=1, ask="all", values=values)
    assert ex.values["A1"] == Tensor.from_nested([[0], [1]]) and len(ex.blanks) == 24  # Z₁ = [−1, 1]: drawn as given, every cell asked
