"""The long fuzz run: many mutated exercise files and answers through read, check and solve.

The same mutations as the suite's fuzz test (tests/fuzz.py), many more of them. Prints the number
of inputs, each outcome, the crashes and hangs (must be 0), the slowest inputs with their seeds,
and the peak memory: the process's peak resident memory, and the peak Python allocation of the
slowest inputs re-run under tracemalloc.

Run: python benchmarks/fuzz.py [-n 20000] [--seed 0] [--budget 10]
A case is replayed with: python benchmarks/fuzz.py --replay SEED:INDEX
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzz  # noqa: E402


def case(docs: list[str], seed: int, k: int) -> tuple[str, dict[object, object]]:
    rng = random.Random(f"{seed}:{k}")
    return fuzz.mutate(rng.choice(docs), rng), fuzz.answers(rng)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds one input may take before it counts as a hang")
    ap.add_argument("--replay", metavar="SEED:INDEX")
    args = ap.parse_args()
    docs = fuzz.seed_docs()
    if args.replay:
        s, k = (int(x) for x in args.replay.split(":"))
        text, answers = case(docs, s, k)
        print(text[:2000])
        print("answers:", answers)
        print(fuzz.run_case(text, answers, args.budget))
        return 0
    counts: Counter[str] = Counter()
    times: list[tuple[float, int]] = []
    bad: list[str] = []
    t0 = time.perf_counter()
    for k in range(args.n):
        text, answers = case(docs, args.seed, k)
        outcome, dt, err = fuzz.run_case(text, answers, args.budget)
        counts[outcome] += 1
        times.append((dt, k))
        if err is not None:
            bad.append(f"{args.seed}:{k} {outcome} {err!r}"[:300])
        if (k + 1) % 2000 == 0:
            print(f"  {k + 1} inputs, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    wall = time.perf_counter() - t0
    times.sort(reverse=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_py = 0
    for _, k in times[:10]:
        text, answers = case(docs, args.seed, k)
        tracemalloc.start()
        fuzz.run_case(text, answers, args.budget)
        peak_py = max(peak_py, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(f"inputs                 {args.n} (seed {args.seed}, {len(docs)} starting files)")
    print(f"wall time              {wall:.1f} s ({args.n / wall:.0f} inputs/s)")
    print(f"crashes                {sum(1 for b in bad if ' CRASH ' in b)}")
    print(f"hangs (> {args.budget:g} s)         {sum(1 for b in bad if ' HANG ' in b)}")
    print(f"slowest input          {times[0][0]:.3f} s (replay: --replay {args.seed}:{times[0][1]})")
    print(f"median input           {times[len(times) // 2][0] * 1000:.1f} ms")
    print(f"peak resident memory   {rss_mb:.0f} MB (whole process, byhand and its imports)")
    print(f"peak Python allocation {peak_py / 2**20:.1f} MB (slowest 10 inputs, tracemalloc)")
    print("outcomes (read | check | solve):")
    for k, v in counts.most_common():
        print(f"  {v:7}  {k}")
    for b in bad[:20]:
        print("  !", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
