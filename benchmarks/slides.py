"""Lecture mode: how fast a deck is drawn (target: a 3-layer MLP backprop deck in under 5 s on one core).

Makes ``byhand.make("backprop", seed=1, depth=3)`` and times, per granularity (cell, row, layer),
the whole deck as one 16:9 PDF and as PNGs at projector size (1280×720): plan + Typst compile,
after one warm-up (the compiler's first call loads fonts and parses the templates; that start-up is
reported separately). Typst memoizes: compiling the same deck again is nearly free, so every timed
run is a deck never compiled before in this process (seed 1 first, then seeds 2, 3 … of the same
3-layer network), and the slowest run is reported. Prints frames, seconds and frames/second.

Run: taskset -c 0 python benchmarks/slides.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import byhand
from byhand import documents
from byhand.slides import frames

TARGET_S = 5.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    documents.slides(byhand.make("mlp", seed=0, level="easy"), group="layer")
    print(f"start-up (a first small deck: fonts and templates): {time.perf_counter() - t0:.2f} s")
    worst = 0.0
    for fmt in ("pdf", "png"):
        for group in ("cell", "row", "layer"):
            runs = []
            for seed in range(1, args.repeat + 1):
                ex = byhand.make("backprop", seed=seed, depth=3)
                n = len(frames(ex, group))
                runs.append((_time(ex, group, fmt), n))
            secs, n = max(runs)
            worst = max(worst, secs)
            print(f"{group:5} {fmt}: {n:3} frames in {secs:.2f} s = {n / secs:6.1f} frames/s (slowest of {len(runs)})")
    ok = worst < TARGET_S
    print(f"slowest whole deck: {worst:.2f} s (target < {TARGET_S:.0f} s): {'ok' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


def _time(ex: byhand.Exercise, group: str, fmt: str) -> float:
    t = time.perf_counter()
    documents.slides(ex, group=group, fmt=fmt)
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
