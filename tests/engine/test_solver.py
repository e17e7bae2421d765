"""The solver: what the shown cells determine, and what they contradict."""

from __future__ import annotations

from pathlib import Path

import pytest

import byhand
from byhand.errors import GraphError, LimitError, SolveError

BASE = {
    "format": "byhand-exercise/1",
    "ops": [{"op": "linear", "in": ["W", "b", "X"], "out": "Z"}, {"op": "relu", "in": ["Z"], "out": "A"}],
}


def doc(**tensors: object) -> dict[str, object]:
    return BASE | {"tensors": {k: {"values": v} for k, v in tensors.items()}}


def test_fills_forward_and_inverse_cells() -> None:
    ex = byhand.solve(doc(W=[[1, None], [0, 1]], b=[1, 0], X=[[2], [1]], Z=[[5], [None]]))
    assert ex.values["W"].to_nested() == [[1, 2], [0, 1]]
    assert ex.values["A"].to_nested() == [[5], [1]]
    badges = {c: b.badge for b in ex.blanks for c in b.cells}
    assert ("W", (0, 1)) in badges and ("Z", (1, 0)) in badges and ("A", (0, 0)) in badges


def test_relu_inverse_only_when_positive() -> None:
    ex = byhand.solve(doc(W=[[1, 1]], b=[0], X=[[2], [1]], Z=None, A=[[3]]))  # Z unknown, A = 3 > 0 → Z = 3
    assert ex.values["Z"].data == [3]
    with pytest.raises(SolveError, match="under-determined"):
        byhand.solve(doc(W=[[1, None]], b=[0], X=[[-2], [1]], A=[[0]]))  # ReLU gave 0: Z ≤ 0 is all we know


def test_names_each_underdetermined_cell() -> None:
    with pytest.raises(SolveError) as e:
        byhand.solve(doc(W=[[None, None]], b=[0], X=[[1], [1]], Z=[[3]]))
    assert len(e.value.problems) == 2
    assert "W[0,0] is under-determined" in e.value.problems[0]


def test_joint_linear_system_is_solved_by_elimination() -> None:
    # two unknown weights, two samples: w1 + w2 = 3 and w1 − w2 = 1 → w1 = 2, w2 = 1
    ex = byhand.solve(doc(W=[[None, None]], b=[0], X=[[1, 1], [1, -1]], Z=[[3, 1]]))
    assert ex.values["W"].to_nested() == [[2, 1]]


def test_names_an_inconsistent_relation() -> None:
    """A published worksheet shipped a cell that its own ops contradict; solve says which."""
    with pytest.raises(SolveError) as e:
        byhand.solve(doc(W=[[1, 0]], b=[1], X=[[2], [5]], Z=[[4]], A=None))
    assert any("inconsistent: Z[0,0] is 4 but 1·2 + 0·5 + 1 = 3" == p for p in e.value.problems)


def test_solve_cli_exit_codes(tmp_path: object) -> None:
    from pathlib import Path

    from byhand.cli import main

    p = Path(str(tmp_path)) / "t.json"
    import json

    p.write_text(json.dumps(doc(W=[[1, None]], b=[0], X=[[2], [1]], Z=[[4]])))
    assert main(["solve", str(p), "-o", str(p) + ".out"]) == 0
    assert json.loads(Path(str(p) + ".out").read_text())["tensors"]["W"]["values"] == [[1, 2]]
    p.write_text(json.dumps(doc(W=[[None, None]], b=[0], X=[[2], [1]], Z=[[4]])))
    assert main(["solve", str(p)]) == 1


# -- issue 11 ------------------------------------------------------------------------------------

BAD = Path(__file__).parent.parent / "data" / "bad"


def test_solve_never_changes_a_given() -> None:
    """Z is null, the later A is given and contradicts it: A was silently replaced (exit 0)."""
    with pytest.raises(SolveError) as e:
        byhand.solve((BAD / "solve_changes_given.json").read_text())
    assert e.value.problems == ["inconsistent: A[0,0] is given as 7 but the other cells make it 3"]


def test_an_overflow_is_a_limit_not_under_determined() -> None:
    with pytest.raises(LimitError, match=r"\(limit: exponent, 100\)"):
        byhand.solve((BAD / "solve_softmax_overflow.json").read_text())


def test_a_division_by_a_given_zero_is_named() -> None:
    with pytest.raises(GraphError, match=r"q\[0\]: its div step divides by zero"):
        byhand.solve((BAD / "div_by_zero_given.json").read_text())


def test_diagnoses_are_the_same_for_every_hash_seed() -> None:
    import os
    import subprocess
    import sys

    def stderr(name: str) -> set[str]:
        outs = set()
        for seed in ("0", "1", "2", "3", "4", "5", "6", "7"):
            env = dict(os.environ, PYTHONHASHSEED=seed)
            r = subprocess.run([sys.executable, "-m", "byhand.cli", "solve", str(BAD / name)], capture_output=True, text=True, env=env)
            assert r.returncode == 1
            outs.add(r.stderr)
        return outs

    # x and y each follow from one equation and both from x + y: which one v0.1.0 blamed hung on the hash seed
    assert stderr("solve_order_dependent.json") == {"byhand: inconsistent: p is 3 but 7 + 1 = 8\nbyhand: error: 1 problem in the exercise\n"}
    (out,) = stderr("solve_many_problems.json")
    lines = out.splitlines()
    assert lines[0] == "byhand: W[0,0] is under-determined: the shown cells allow more than one value"
    assert lines[-2] == "byhand: inconsistent: C[1,0] is 9 but 1 + 1 = 2"


def test_independent_systems_are_solved_apart() -> None:
    """256 unknown weights, but each row of W is its own 16-unknown system: solved, not refused."""
    n = 16
    x = [[1 if i == j else (1 if j == i + 1 else 0) for j in range(n)] for i in range(n)]  # invertible
    w = [[(i + 2 * j) % 5 - 2 for j in range(n)] for i in range(n)]
    z = [[sum(w[i][k] * x[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
    d = {
        "format": "byhand-exercise/1",
        "tensors": {"W": {"values": [[None] * n for _ in range(n)]}, "X": {"values": x}, "Z": {"values": z}},
        "ops": [{"op": "matmul", "in": ["W", "X"], "out": "Z"}],
    }
    assert byhand.solve(d).values["W"].to_nested() == w


def test_a_large_joint_system_is_refused_not_ground_through() -> None:
    """A and its transpose tie every unknown to every other: beyond the elimination limit, refused at once."""
    import time

    n = 16
    d = {
        "format": "byhand-exercise/1",
        "tensors": {
            "A": {"values": [[None] * n for _ in range(n)]},
            "B": {"values": [[(i * j) % 5 - 2 for j in range(n)] for i in range(n)]},
            "Z": {"values": [[1] * n for _ in range(n)]},
        },
        "ops": [
            {"op": "transpose", "in": ["A"], "out": "At"},
            {"op": "matmul", "in": ["A", "B"], "out": "P"},
            {"op": "matmul", "in": ["At", "B"], "out": "Q"},
            {"op": "add", "in": ["P", "Q"], "out": "Z"},
        ],
    }
    t = time.perf_counter()
    with pytest.raises(LimitError, match="unknowns solved jointly"):
        byhand.solve(d)
    assert time.perf_counter() - t < 10


def test_an_exact_power_is_run_backwards_and_nothing_else() -> None:
    """3ᶻ = 27 gives z = 3 (and 1/9 gives −2): the solver finds a hidden exponent from a known
    power of a whole-number base; 6 is no power of 3 and base e has no exact logarithm, so those
    stay undetermined."""
    from fractions import Fraction

    from byhand.engine.graph import Graph, Node
    from byhand.engine.ops import log_exact
    from byhand.engine.solver import solve

    assert [log_exact(3, v) for v in (27, 1, Fraction(1, 9), 6, Fraction(2, 9), 0, -3)] == [3, 0, -2, None, None, None, None]
    g = Graph([Node("exp", ("Z",), "E", {"base": 3})], {"Z": (3,)})
    for e, want in ((Fraction(1, 9), -2), (27, 3)):
        sol = solve(g, {("E", (0,)): e, ("Z", (1,)): 0, ("Z", (2,)): 1, ("E", (1,)): 1, ("E", (2,)): 3},
                    {("Z", (0,))}, eliminate=False, check=False)
        assert sol.values[("Z", (0,))] == want and not sol.undetermined
    sol = solve(g, {("E", (0,)): 6, ("Z", (1,)): 0, ("Z", (2,)): 1, ("E", (1,)): 1, ("E", (2,)): 3},
                {("Z", (0,))}, eliminate=False, check=False)
    assert sol.undetermined
    ge = Graph([Node("exp", ("Z",), "E", {"base": "e"})], {"Z": (1,)})
    sol = solve(ge, {("E", (0,)): 1}, {("Z", (0,))}, eliminate=False, check=False)
    assert sol.undetermined
