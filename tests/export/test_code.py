"""The same exercise as code: every chapter × level as a PyTorch and a NumPy script that runs on
its own (no byhand import) and whose asserts pass; a changed number makes it fail."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import byhand
from byhand.engine.ops import OPS
from byhand.export import code
from byhand.export.code import NUMPY, NUMPY_VJP, TORCH, numpy_script, pytorch_script

CHAPTERS = [t.name for t in byhand.topics()]
LEVELS = ["easy", "medium", "hard"]

# Runs each script in a fresh namespace, in one process (importing torch once, not 39 times),
# and reports per script; the scripts themselves are also run alone below.
DRIVER = """
import json, runpy, sys, io, contextlib
out = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        out[path] = ["ok", buf.getvalue()]
    except BaseException as e:
        out[path] = [type(e).__name__ + ": " + str(e), buf.getvalue()]
print(json.dumps(out))
"""


def _run_all(paths: list[Path]) -> dict[str, list[str]]:
    r = subprocess.run([sys.executable, "-c", DRIVER, *map(str, paths)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("lib", ["pytorch", "numpy"])
def test_every_chapter_and_level_runs_and_agrees(tmp_path: Path, lib: str) -> None:
    paths = []
    for topic in CHAPTERS:
        for level in LEVELS:
            ex = byhand.make(topic, seed=3, level=level)
            p = tmp_path / f"{topic}_{level}.py"
            p.write_text(code.script(ex, lib), encoding="utf-8")
            paths.append(p)
    results = _run_all(paths)
    bad = {Path(k).stem: v[0] for k, v in results.items() if v[0] != "ok"}
    assert not bad, bad
    for p in paths:
        topic, level = p.stem.rsplit("_", 1)
        ex = byhand.make(topic, seed=3, level=level)
        checks = p.read_text(encoding="utf-8").count("\ncheck(")
        assert checks >= len(ex.graph.nodes)  # every tensor the sheet computes is checked
        out = results[str(p)][1]
        assert f"Every tensor agrees with the sheet ({checks} checked)." in out, out[-300:]


def test_a_script_runs_alone_with_plain_python(tmp_path: Path) -> None:
    """The hardest backprop sheet, as a user runs it: `python file.py`, no byhand on the path."""
    ex = byhand.make("backprop", seed=1, level="hard")
    for lib, text in (("pytorch", pytorch_script(ex)), ("numpy", numpy_script(ex))):
        p = tmp_path / f"backprop_{lib}.py"
        p.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, "-I", str(p)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        n_checked = text.count("\ncheck(")
        assert f"Every tensor agrees with the sheet ({n_checked} checked)." in r.stdout
        # every blank of the sheet is printed with its badge, beside its value
        for b in ex.blanks:
            assert f"[{b.badge}]" in r.stdout


def _tampered(doc: dict, name: str) -> dict:
    """The exercise file with one number of tensor `name` changed by 1."""
    d = json.loads(json.dumps(doc))
    vals = d["tensors"][name]["values"]
    while isinstance(vals, list) and isinstance(vals[0], list):
        vals = vals[0]
    if isinstance(vals, list):
        vals[0] = str(__import__("fractions").Fraction(str(vals[0])) + 1) if isinstance(vals[0], str) else vals[0] + 1
    else:
        d["tensors"][name]["values"] = vals + 1
    return d


@pytest.mark.parametrize("lib", ["pytorch", "numpy"])
@pytest.mark.parametrize("which", ["computed", "gradient", "given"])
def test_a_wrong_number_on_the_sheet_makes_the_script_fail(tmp_path: Path, lib: str, which: str) -> None:
    ex = byhand.make("backprop", seed=2, level="medium")
    doc = ex.to_dict()
    name = {"computed": "Z1", "gradient": "dW1", "given": "b2"}[which]  # b2 moves Z2 whatever the rest
    p = tmp_path / "tampered.py"
    p.write_text(code.script(_tampered(doc, name), lib), encoding="utf-8")
    r = subprocess.run([sys.executable, "-I", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "AssertionError" in r.stderr and "the computer and the sheet differ" in r.stderr
    assert "Every tensor agrees" not in r.stdout


def test_no_byhand_import_and_the_sheets_names() -> None:
    ex = byhand.make("resnet", seed=4, level="hard")
    for text in (pytorch_script(ex), numpy_script(ex)):
        tree = ast.parse(text)
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "byhand" not in imported
        assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        for name in ex.graph.shapes:
            if name in ex.graph.leaves or name in {n.out for n in ex.graph.forward_nodes}:
                assert name in assigned, name


def test_the_pytorch_idioms() -> None:
    src = pytorch_script(byhand.make("backprop", seed=1, level="hard"))
    assert "Z1 = W1 @ X + b1[:, None]" in src
    assert "A1 = torch.relu(Z1)" in src
    assert "E = 3 ** Z3" in src and "S = E.sum(dim=0, keepdim=True)" in src and "P = E / S" in src
    assert "check('P by torch.softmax', torch.softmax(Z3 * math.log(3), dim=0)," in src
    assert "L.backward()" in src and "check('dW₁', W1.grad," in src
    assert "Z2 = W2 @ A1 + b2[:, None]  # Ŷ on the sheet" in pytorch_script(byhand.make("backprop", seed=1, level="medium"))
    src = pytorch_script(byhand.make("softmax", seed=1, level="hard"))
    assert "ZT = Z / 2" in src and "torch.softmax(ZT * math.log(3), dim=0)" in src
    src = pytorch_script(byhand.make("resnet", seed=1, level="easy"))
    assert "I = torch.eye(" in src and "torch.hstack([W2, I])" in src
    npy = numpy_script(byhand.make("backprop", seed=1, level="medium"))
    for line in ("dW1 = dZ1 @ X.T", "db1 = dZ1.sum(axis=1)", "dA1 = W2.T @ dZ2", "dZ1 = dA1 * (Z1 > 0)"):
        assert line in npy


def test_every_registry_op_has_code() -> None:
    """A new op in the registry needs its PyTorch line, its NumPy line and its NumPy backward."""
    for name in OPS:
        assert name in TORCH, name
        assert name in NUMPY, name
        assert name in NUMPY_VJP, name


def test_every_op_runs_in_both_libraries(tmp_path: Path) -> None:
    """Every op, including what no chapter uses today (sigmoid, base-e softmax, a plain
    cross-entropy, transpose of a vector, a scalar skip, a written-out softmax that is not fused
    with its loss), gives scripts whose asserts pass, gradients included."""
    doc = {
        "format": "byhand-exercise/1",
        "topic": "custom",
        "title": "Every op",
        "tensors": {
            "a": {"values": [1, 2]},
            "b": {"values": [2, -1]},
            "W": {"values": [[1, -1], [2, "1/2"]]},
            "c0": {"values": [1, 0]},
            "s": {"values": 3},
            "Y": {"values": [1, 0]},
            "T": {"values": [0, 1]},
            "Yw": {"values": [[1, 0], [0, 1]]},
            "Sg": {"values": [[3, 1], [0, 2], [1, 5]]},  # moe: gate scores, no tie
            "Im": {"values": [[1, 0, 2, 1], [0, 1, 1, 2], [2, 0, 1, 0], [1, 1, 0, 2]]},  # conv: an image
            "Fk": {"values": [[1, -1, 0], [1, 2, -1], [0, 1, 1]]},  # … and a 3×3 filter
            "r": {"values": [[1, "1/2"]]},
            "rr": {"values": ["3/10", "7/10"]},
        },
        "ops": [
            {"op": "dot", "in": ["a", "b"], "out": "d"},
            {"op": "matmul", "in": ["W", "a"], "out": "m"},
            {"op": "linear", "in": ["W", "c0", "b"], "out": "z"},
            {"op": "transpose", "in": ["a"], "out": "aT"},
            {"op": "hstack", "in": ["W", "W"], "out": "WW"},
            {"op": "vstack", "in": ["a", "b"], "out": "ab"},
            {"op": "stack", "in": ["d", "s"], "out": "ds"},
            {"op": "add", "in": ["m", "s"], "out": "m2"},
            {"op": "sub", "in": ["m2", "z"], "out": "m3"},
            {"op": "mul", "in": ["m3", "a"], "out": "m4"},
            {"op": "div", "in": ["m4", "b"], "out": "m5"},
            {"op": "leaky_relu", "in": ["m5"], "out": "h", "attrs": {"alpha": "1/4"}},
            {"op": "relu", "in": ["m5"], "out": "h2"},
            {"op": "sigmoid", "in": ["h"], "out": "sg"},
            {"op": "hard_sigmoid", "in": ["m"], "out": "hs"},  # forward only: no gradient step through them
            {"op": "hard_tanh", "in": ["m"], "out": "ht"},
            {"op": "softmax", "in": ["h2"], "out": "p", "attrs": {"base": "e"}},
            {"op": "softmax", "in": ["sg"], "out": "q", "attrs": {"base": 3, "temperature": 2}},
            {"op": "cross_entropy", "in": ["p", "Y"], "out": "ce", "attrs": {"base": "e"}},
            {"op": "half_sse", "in": ["q", "T"], "out": "se"},
            {"op": "sum", "in": ["WW"], "out": "sw"},
            {"op": "add", "in": ["ce", "se"], "out": "L0"},
            {"op": "add", "in": ["L0", "sw"], "out": "L1"},
            # the softmax written out (z/T, 3ᶻ, Σ per column as one row, ÷), not fused: every step differentiated
            {"op": "scale", "in": ["W"], "out": "Ws", "attrs": {"by": "1/2"}},
            {"op": "exp", "in": ["Ws"], "out": "Ew", "attrs": {"base": 3}},
            {"op": "colsum", "in": ["Ew"], "out": "Sw"},
            {"op": "div", "in": ["Ew", "Sw"], "out": "Pw"},
            {"op": "cross_entropy", "in": ["Pw", "Yw"], "out": "ce2", "attrs": {"base": 3}},
            # … and of a vector, base e: Σ is a scalar
            {"op": "exp", "in": ["a"], "out": "ea", "attrs": {"base": "e"}},
            {"op": "colsum", "in": ["ea"], "out": "sa"},
            {"op": "div", "in": ["ea", "sa"], "out": "pa"},
            {"op": "mul", "in": ["pa", "b"], "out": "pb"},
            {"op": "sum", "in": ["pb"], "out": "spb"},
            {"op": "add", "in": ["L1", "ce2"], "out": "L2"},
            # next-token sampling: sort, the rows in order, top-k and the pick beside the loss (no
            # per-cell gradient through an order); the running sum inside it
            {"op": "sort", "in": ["W"], "out": "Wsrt"},
            {"op": "argsort", "in": ["W"], "out": "Word"},
            {"op": "cumsum", "in": ["Wsrt"], "out": "Wcum"},
            {"op": "topk", "in": ["Wcum"], "out": "Wtop", "attrs": {"k": 1}},
            {"op": "pick", "in": ["Wcum", "Word", "r"], "out": "Wpick"},
            {"op": "sort", "in": ["a"], "out": "asrt"},
            {"op": "argsort", "in": ["a"], "out": "aord"},
            {"op": "pick", "in": ["asrt", "aord", "s"], "out": "apick"},
            # dropout: the mask from random numbers, the scaled diagonal matrix, the crossing
            {"op": "dropmask", "in": ["rr"], "out": "mk", "attrs": {"p": "1/2"}},
            {"op": "diag", "in": ["mk"], "out": "Dk", "attrs": {"by": 2}},
            {"op": "matmul", "in": ["Dk", "W"], "out": "WD"},
            {"op": "mul", "in": ["WD", "WD"], "out": "WD2"},
            {"op": "add", "in": ["WD2", "s"], "out": "WD3"},
            {"op": "sqrt", "in": ["WD3"], "out": "WDs"},
            {"op": "sum", "in": ["WDs"], "out": "swd"},
            {"op": "cumsum", "in": ["W"], "out": "Wcs"},
            {"op": "sum", "in": ["Wcs"], "out": "scs"},
            {"op": "add", "in": ["L2", "scs"], "out": "L3a"},
            {"op": "add", "in": ["L3a", "swd"], "out": "L3"},
            {"op": "add", "in": ["L3", "spb"], "out": "L4"},
            # mixture of experts: the top-2 one-hot (no gradient) and a row of the scores (a gradient in that row)
            {"op": "top_onehot", "in": ["Sg"], "out": "oh", "attrs": {"k": 2}},
            {"op": "row_of", "in": ["Sg"], "out": "sr", "attrs": {"row": 1}},
            {"op": "mul", "in": ["oh", "sr"], "out": "ohs"},
            {"op": "sum", "in": ["ohs"], "out": "soh"},
            {"op": "add", "in": ["L4", "soh"], "out": "L5"},
            # the causal mask (attention): a key after its query is 0, its gradient 0 too
            {"op": "mask_causal", "in": ["W"], "out": "Wm"},
            {"op": "sum", "in": ["Wm"], "out": "swm"},
            {"op": "add", "in": ["L5", "swm"], "out": "L6"},
            # a GAN step: a column of the scores, ReLU's backward as an op (the gate: Z > 0)
            {"op": "col_of", "in": ["Sg"], "out": "sc1", "attrs": {"col": 1}},
            {"op": "col_of", "in": ["Sg"], "out": "sc0", "attrs": {"col": 0}},
            {"op": "relu_gate", "in": ["sc1", "sc0"], "out": "rg"},
            {"op": "sum", "in": ["rg"], "out": "srg"},
            {"op": "add", "in": ["L6", "srg"], "out": "L6g"},
            # convolution: pad, im2col with stride 2, the filter's crossing, the map, a 2×2 max-pool (no tie), forward
            {"op": "pad_zeros", "in": ["Im"], "out": "Ip", "attrs": {"pad": 1}},
            {"op": "im2col", "in": ["Ip"], "out": "Ic", "attrs": {"size": 3, "stride": 2}},
            {"op": "map_to_row", "in": ["Fk"], "out": "Fr"},
            {"op": "matmul", "in": ["Fr", "Ic"], "out": "Yc"},
            {"op": "row_to_map", "in": ["Yc"], "out": "Mc", "attrs": {"rows": 2}},
            {"op": "max_pool", "in": ["Mc"], "out": "Pc", "attrs": {"size": 2}},
            {"op": "sum", "in": ["Mc"], "out": "sMc"},  # the pool is forward only (its gradient has no cell-by-cell step)
            {"op": "add", "in": ["L6g", "sMc"], "out": "L"},
            {"op": "grad", "in": [], "out": "gIm", "attrs": {"of": "L", "wrt": "Im"}},
            {"op": "grad", "in": [], "out": "gFr", "attrs": {"of": "L", "wrt": "Fk"}},
            {"op": "grad", "in": [], "out": "gS", "attrs": {"of": "L", "wrt": "Sg"}},
            {"op": "grad", "in": [], "out": "gW", "attrs": {"of": "L", "wrt": "W"}},
            {"op": "grad", "in": [], "out": "ga", "attrs": {"of": "L", "wrt": "a"}},
            {"op": "grad", "in": [], "out": "gs", "attrs": {"of": "L", "wrt": "s"}},
            {"op": "grad", "in": [], "out": "gp", "attrs": {"of": "L", "wrt": "p"}},
        ],
    }
    ex = byhand.Exercise.from_json(byhand.solve(doc).to_json())
    assert {n.op for n in ex.graph.forward_nodes} == set(OPS)
    paths = []
    for lib in ("pytorch", "numpy"):
        p = tmp_path / f"every_{lib}.py"
        p.write_text(code.script(ex, lib), encoding="utf-8")
        paths.append(p)
    results = _run_all(paths)
    assert all(v[0] == "ok" for v in results.values()), {k: v[0] for k, v in results.items()}


def test_the_script_command(tmp_path: Path) -> None:
    from byhand.cli import main

    out = tmp_path / "linear.py"
    assert main(["make", "linear", "--seed", "7", "--format", "pytorch", "-o", str(out)]) == 0
    assert "Z = W @ X + b[:, None]" in out.read_text()
    assert main(["make", "linear", "--seed", "7", "--format", "numpy", "-o", str(tmp_path / "n.py")]) == 0
    assert "import numpy as np" in (tmp_path / "n.py").read_text()


def test_a_teachers_awkward_file_still_gives_a_script_that_runs(tmp_path: Path) -> None:
    """Names that are not Python names (or collide once made so, or are Python's own), and text
    with quotes and backslashes, still give a script that runs and agrees."""
    doc = {
        "format": "byhand-exercise/1",
        "topic": "custom",
        "title": 'My """layer""" \\ with a backslash',
        "instructions": "Line one\nline two \\n",
        "tensors": {
            "W-1": {"values": [[1, 2], [3, 4]], "label": "W\none"},
            "W_1": {"values": [1, -1]},
            "x": {"values": [[1], [2]]},
            "lambda": {"values": None},
            "check": {"values": None},
        },
        "ops": [
            {"op": "linear", "in": ["W-1", "W_1", "x"], "out": "lambda"},
            {"op": "relu", "in": ["lambda"], "out": "check"},
        ],
    }
    ex = byhand.solve(doc)
    paths = []
    for lib in ("pytorch", "numpy"):
        p = tmp_path / f"awkward_{lib}.py"
        p.write_text(code.script(ex, lib), encoding="utf-8")
        paths.append(p)
    results = _run_all(paths)
    assert all(v[0] == "ok" for v in results.values()), {k: v[0] for k, v in results.items()}


def test_the_numpy_backward_of_the_conv_ops_is_the_registrys() -> None:
    """The NumPy lines for pad_zeros, im2col (col2im), row_to_map and max_pool (no script takes a
    gradient through the pool: checked here against the registry's exact vjp, odd sizes included)."""
    import numpy as np

    from byhand.engine.tensor import Tensor
    from byhand.export._doc import OpRec

    rng = np.random.default_rng(0)
    cases = [
        ("pad_zeros", (3, 2), {"pad": 1}),
        ("im2col", (5, 4), {"size": 3, "stride": 2}),
        ("im2col", (4, 4), {"size": 2}),
        ("row_to_map", (1, 6), {"rows": 2}),
        ("max_pool", (5, 4), {"size": 2}),
        ("map_to_row", (3, 3), {}),
    ]
    for name, shape, attrs in cases:
        x = rng.permutation(100)[: shape[0] * shape[1]].reshape(shape).astype(float)  # distinct: no pool ties
        xt = Tensor(shape, [int(v) for v in x.reshape(-1)])
        y = OPS[name].forward([xt], attrs)
        g = rng.integers(-3, 4, size=y.shape).astype(float)
        want = OPS[name].vjp([xt], y, Tensor(y.shape, [int(v) for v in g.reshape(-1)]), attrs)[0]
        assert want is not None
        o = OpRec(name, ("x",), "y", attrs)
        env = {"np": np, "x": x, "y": np.array(y.to_nested(), dtype=float), "g": g}
        assert np.array_equal(eval(NUMPY[name](o, ["x"], [shape]), env), env["y"])  # noqa: S307
        got = eval(NUMPY_VJP[name](o, ["x"], [shape], 0, "g"), env)  # noqa: S307
        assert np.array_equal(got, np.array(want.to_nested(), dtype=float)), name
