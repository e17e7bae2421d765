"""Times the `--format pytorch` and `--format numpy` script of every chapter × level, each run
alone as a user runs it (`python file.py`, a fresh interpreter: the import of torch included),
and each script's own work once the library is imported (what does not depend on the disk cache
and the machine's load).

    python benchmarks/scripts.py            # seed 1; prints one line per script and the slowest
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import byhand
from byhand.export.code import script

LEVELS = ("easy", "medium", "hard")


def _import_time(module: str) -> float:
    """The best of three: a fresh interpreter that only imports the library."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


OWN = """
import io, contextlib, runpy, sys, time
import {module}
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    runpy.run_path(sys.argv[1], run_name="__main__")
print(time.perf_counter() - t0)
"""


def _own_time(path: Path, module: str) -> float:
    """The script's run once the library is imported (its tensors, forward, backward, printing)."""
    r = subprocess.run(
        [sys.executable, "-I", "-c", OWN.format(module=module), str(path)], capture_output=True, text=True, check=True
    )
    return float(r.stdout.strip().splitlines()[-1])


def main() -> None:
    base = {"pytorch": _import_time("torch"), "numpy": _import_time("numpy")}
    print(f"a bare 'import torch' takes {base['pytorch']:.2f} s, 'import numpy' {base['numpy']:.2f} s on this machine now")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for lib in ("pytorch", "numpy"):
            for t in byhand.topics():
                for level in LEVELS:
                    ex = byhand.make(t.name, seed=1, level=level)
                    p = Path(d) / f"{t.name}_{level}_{lib}.py"
                    text = script(ex, lib)
                    p.write_text(text, encoding="utf-8")
                    t0 = time.perf_counter()
                    r = subprocess.run([sys.executable, "-I", str(p)], capture_output=True, text=True)
                    dt = time.perf_counter() - t0
                    own = _own_time(p, "torch" if lib == "pytorch" else "numpy")
                    rows.append((lib, t.name, level, dt, len(text.splitlines()), r.returncode, own))
                    print(
                        f"{lib:8} {t.name:14} {level:7} {dt:6.2f} s  (own work {own * 1000:5.0f} ms)  "
                        f"{len(text.splitlines()):4} lines  exit {r.returncode}"
                    )
    for lib in ("pytorch", "numpy"):
        mine = [r for r in rows if r[0] == lib]
        slow = max(mine, key=lambda r: r[3])
        mean = sum(r[3] for r in mine) / len(mine)
        print(
            f"{lib}: {len(mine)} scripts, mean {mean:.2f} s, slowest {slow[1]} {slow[2]} {slow[3]:.2f} s "
            f"(a bare import: {base[lib]:.2f} s), own work at most {max(r[6] for r in mine) * 1000:.0f} ms, "
            f"longest {max(r[4] for r in mine)} lines, failures {sum(r[5] != 0 for r in mine)}"
        )


if __name__ == "__main__":
    main()
