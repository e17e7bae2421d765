"""Mixture of experts: the published example through the CLI, a hand-worked example pinned as
literal numbers, the routing (top-1 and top-2) and the refusal of a tie."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import byhand
from byhand.cli import main
from byhand.engine.ops import OPS
from byhand.engine.tensor import Tensor
from byhand.errors import GraphError
from tests.oracle import assert_matches

PUBLISHED = {
    "X": [[2, 3], [1, 1], [3, 2]],
    "G": [[1, 1, 0], [0, 1, 1]],
    "E1": [[1, 0, 1], [1, 1, 0], [0, 0, 1], [-1, 0, 1]],
    "E2": [[0, 1, 1], [1, 1, 0], [1, -1, 0], [1, 0, 1]],
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out + err


def test_published_example_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Tom Yeh's "Mixture of Experts by hand": scores [[3, 4], [4, 3]], token 1 to expert 2,
    token 2 to expert 1, Y = [[4, 5], [3, 4], [1, 2], [5, 0]] — with exactly the names X, G, E1, E2."""
    f = tmp_path / "moe.json"
    f.write_text(json.dumps(PUBLISHED))
    code, out = run(["make", "moe", "--level", "easy", "--values", str(f), "--format", "json"], capsys)
    assert code == 0, out
    doc = json.loads(out)
    t = doc["tensors"]
    assert t["S"]["values"] == [[3, 4], [4, 3]]
    assert t["M"]["values"] == [[0, 1], [1, 0]]
    assert t["Y"]["values"] == [[4, 5], [3, 4], [1, 2], [5, 0]]
    assert_matches(doc)
    code, out = run(["make", "moe", "--level", "easy", "--values", str(f), "--format", "key"], capsys)
    assert code == 0
    assert "[2] 4   S[1,2]" in out and "largest" not in out  # the routing is printed (X_k shows it), not asked
    assert "0 (−1 ≤ 0: crossed out)" in out


def test_a_bias_given_is_used_and_a_wrong_name_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = byhand.make("moe", level="easy", values=PUBLISHED | {"b2": [[1], [0], [0], [-9]]})
    assert ex.values["Y"].to_nested() == [[5, 5], [3, 4], [1, 2], [0, 0]]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(PUBLISHED | {"E3": [[1, 0, 0]]}))
    code, out = run(["make", "moe", "--level", "easy", "--values", str(f)], capsys)
    assert code != 0 and "E3" in out and "Traceback" not in out


def test_hand_worked_top2() -> None:
    """Worked by hand: three experts, top-2, tokens x₁ = [1, 2], x₂ = [0, 1].
    S = G·X + c = [[2, 0], [4, 2], [1, 1]]: token 1 → experts 1 and 2 (4, 2 beat 1), token 2 →
    experts 2 and 3 (2, 1 beat 0). E₁·x₁ = [3, 1], E₂·x₁ = [1, −1]; E₂·x₂ = [0, −1], E₃·x₂ = [−2, 2];
    H = [[4, −2], [0, 1]] and Y = [[4, 0], [0, 1]]."""
    values = {
        "X": [[1, 0], [2, 1]],
        "G": [[2, 0], [0, 2], [-1, 1]],
        "E1": [[1, 1], [1, 0]],
        "E2": [[1, 0], [1, -1]],
        "E3": [[1, -2], [0, 2]],
    }
    ex = byhand.make("moe", level="hard", experts=3, tokens=2, features=2, outputs=2, top=2, values=values)
    assert ex.values["S"].to_nested() == [[2, 0], [4, 2], [1, 1]]
    assert ex.values["M"].to_nested() == [[1, 0], [1, 1], [0, 1]]
    assert ex.values["X3"].to_nested() == [[0, 0], [0, 1]]
    assert ex.values["Z2"].to_nested() == [[1, 0], [-1, -1]]
    assert ex.values["H"].to_nested() == [[4, -2], [0, 1]]
    assert ex.values["Y"].to_nested() == [[4, 0], [0, 1]]
    assert_matches(ex.to_dict())


def test_a_tie_is_refused_in_one_line() -> None:
    with pytest.raises(GraphError, match="tie"):
        OPS["top_onehot"].forward([Tensor.from_nested([[2, 1], [2, 0]])], {})
    ties = PUBLISHED | {"G": [[1, 1, 0], [1, 1, 0]]}
    with pytest.raises(byhand.ByHandError, match="tie"):
        byhand.make("moe", level="easy", values=ties)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_routing_teaches(level: str) -> None:
    """Over many seeds: the tokens do not all go the same way, each column of M has `top` ones,
    and every blank of an expert's crossing is a routed token's column."""
    top = 2 if level == "hard" else 1
    for seed in range(60):
        ex = byhand.make("moe", seed=seed, level=level)
        m = ex.values["M"]
        cols = [tuple(m.col(j)) for j in range(m.shape[1])]
        assert all(sum(c) == top for c in cols)
        assert len(set(cols)) >= 2
        for b in ex.blanks:
            for name, (r, j) in [c for c in b.cells if c[0][:1] == "Z" and len(c[1]) == 2]:
                assert m[(int(name[1:]) - 1, j)] == 1, (ex.identity, name, r, j)


def test_top_needs_more_experts() -> None:
    with pytest.raises(byhand.ByHandError, match="experts"):
        byhand.make("moe", level="easy", top=2)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_few_zeros_among_the_asked_answers(level: str) -> None:
    """The chapter's own rule, checked on exactly what a student writes (the blanks, not the printed
    one-hot M): at most a fifth of the answers 0, so ReLU's zeros and an idle expert's 0s stay a
    small part of the marks."""
    for seed in range(100):
        ex = byhand.make("moe", seed=seed, level=level)
        answers = [ex.values[n][i] for b in ex.blanks for n, i in b.cells]
        assert 5 * answers.count(0) <= len(answers), (ex.identity, answers.count(0), len(answers))


def test_the_odd_token_stands_anywhere() -> None:
    """Medium (three tokens, two experts): the gate is built token by token and the last one drawn
    completes the routing; the tokens are then shuffled, so the token routed alone is each of the
    three about as often (unshuffled, the third would be it in most variants)."""
    odd = [0, 0, 0]
    for seed in range(300):
        m = byhand.make("moe", seed=seed, level="medium").values["M"]
        row = m.row(0)
        alone = [j for j in range(3) if row.count(row[j]) == 1]
        odd[alone[0]] += 1
    assert min(odd) > 0.22 * sum(odd), odd
