"""How long the degradation experiment takes on this machine, and what it showed.

Runs ``run_resnet_experiment`` (the full run by default: depths 8, 20, 56, 100 epochs; ``--quick``
for the CI version), prints the wall time, the final numbers, and whether the run had the shape of
the ResNet paper's Figure 1:
1. the deepest plain network ends with a higher training loss than the shallowest plain network;
2. the deepest residual network does not (its training loss is at most the shallowest residual's × 10
   and below the deepest plain network's);
3. at initialisation the deepest plain network's first-layer gradient is smaller than its last
   layer's (vanishing), and the residual network's is not 100× smaller.

Run: python benchmarks/experiment.py [--quick] [--batch-norm] [--threads N] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from byhand.experiment import run_resnet_experiment


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--batch-norm", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="keep the PNG and CSVs here [default: a temp folder]")
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="byhand-experiment-"))
    out.mkdir(parents=True, exist_ok=True)
    r = run_resnet_experiment(quick=a.quick, seed=a.seed, out_dir=out, batch_norm=a.batch_norm, threads=a.threads)
    print(f"{r.seconds:.1f} s on {a.threads} thread(s); files in {out}")
    print(r.summary())
    depths = r.settings["depths"]
    lo, hi = min(depths), max(depths)
    plain_worse = r.final(hi, "plain")["train_loss"] > r.final(lo, "plain")["train_loss"]
    res_fine = r.final(hi, "residual")["train_loss"] <= max(10 * r.final(lo, "residual")["train_loss"], 1e-3) and (
        r.final(hi, "residual")["train_loss"] < r.final(hi, "plain")["train_loss"]
    )
    gp, gr = r.grad_norms(hi, "plain"), r.grad_norms(hi, "residual")
    vanish = gp[0] < gp[-1] and gr[0] > gr[-1] / 100
    print(f"deeper plain trains worse: {plain_worse}")
    print(f"deeper residual does not:  {res_fine}")
    print(f"plain gradient vanishes towards the input, residual does not: {vanish} (plain first/last {gp[0] / gp[-1]:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
