"""How fast byhand makes hand-friendly variants, and how that grows with depth.

Prints:
1. variants/second for every chapter (medium level), and with the JSON (steps included);
2. the time per variant of a backprop exercise for MLPs of depth 2, 4, 8, 16 (width 2), beside a
   naive sampler that draws the whole exercise at once and rejects it if any rule fails
   (same value distributions, same rules); the naive sampler gets a time budget per depth;
3. the target: ≥ 1,000 variants/s for a 3-layer MLP backprop exercise on one core.

Run: python benchmarks/generate.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

import byhand
from byhand.engine.graph import Graph
from byhand.engine.tensor import Tensor
from byhand.topics import _nets, _sampling
from byhand.topics import get as get_topic


def rate(fn: Any, seconds: float) -> tuple[float, int]:
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(n)
        n += 1
    dt = time.perf_counter() - t0
    return n / dt, n


def naive_backprop(seed: int, depth: int, budget: float) -> tuple[int, float, bool]:
    """Whole-exercise rejection with the backprop chapter's rules. Returns (tries, seconds, found)."""
    m = get_topic("backprop")
    o = {k: opt.default("medium") for k, opt in m.OPTIONS.items()} | {"depth": depth, "width": 2}
    sizes = m.sizes(o)
    deep = depth > 3
    w_rng, b_rng = ((-1, 2) if not deep else (-1, 1)), (-1, 1)
    bound, col_limit = (6 if not deep else 4), (2 if not deep else None)
    sheet = m.build(o)
    graph = Graph(sheet.nodes, sheet.leaves)
    rng = random.Random(seed)
    tries = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < budget:
        tries += 1
        x = Tensor((sizes[0], 1), _sampling.draws(rng, sizes[0], -1, 2))
        leaves: dict[str, Tensor] = {"X": x}
        for layer in range(1, depth + 1):
            r, c = sizes[layer], sizes[layer - 1]
            leaves[f"W{layer}"] = Tensor((r, c), _sampling.draws(rng, r * c, *w_rng))
            leaves[f"b{layer}"] = Tensor((r,), _sampling.draws(rng, r, *b_rng))
        zl = Graph(_nets.chain(sizes, 1, last_act=False)[0], {k: t.shape for k, t in leaves.items()}).evaluate(leaves)
        n_out = len(zl[f"Z{depth}"].data)
        e = _sampling.draws(rng, n_out, -1, 1)
        if deep:  # as the chapter: one output off by ±1
            e = [0] * n_out
            e[rng.randrange(n_out)] = rng.choice([1, -1])
        leaves["Y"] = Tensor(zl[f"Z{depth}"].shape, [a - b for a, b in zip(zl[f"Z{depth}"].data, e)])
        if not any(e) or not _ok(graph, leaves, depth, bound, col_limit, deep):
            continue
        return tries, time.perf_counter() - t0, True
    return tries, time.perf_counter() - t0, False


def _ok(graph: Graph, leaves: dict[str, Tensor], depth: int, bound: int, col_limit: int | None, deep: bool) -> bool:
    vals = graph.evaluate(leaves)
    for layer in range(1, depth + 1):
        w, z = vals[f"W{layer}"], vals[f"Z{layer}"]
        rows = [w.row(i) for i in range(w.shape[0])]
        if any(not any(r) for r in rows) or len({tuple(r) + (vals[f"b{layer}"].data[i],) for i, r in enumerate(rows)}) < len(
            rows
        ):
            return False
        if layer < depth and col_limit is not None and any(sum(abs(r[k]) for r in rows) > col_limit for k in range(w.shape[1])):
            return False
        if layer < depth and deep:  # the gain limit: active rows (some z > 0) use each column at most once
            active = [r for i, r in enumerate(rows) if any(v > 0 for v in z.row(i))]
            if any(sum(abs(r[k]) for r in active) > 1 for k in range(w.shape[1])):
                return False
        if any(abs(v) > bound for v in z.data) or any(not any(z.row(i)) for i in range(z.shape[0])):
            return False
        if layer < depth:
            zrows = [z.row(i) for i in range(z.shape[0])]
            if not any(v < 0 for v in z.data) or not any(all(v > 0 for v in r) for r in zrows):
                return False
    return all(abs(v) <= 20 for t in vals.values() for v in t.data if not isinstance(v, float))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings (for a smoke run)")
    args = ap.parse_args()
    sec = 0.3 if args.quick else 1.5
    budget = 2.0 if args.quick else 20.0

    print(f"byhand {byhand.__version__} · Python {sys.version.split()[0]} · one core\n")
    print("1. Variants per second, medium level")
    print(f"   {'chapter':14} {'make':>10} {'make+JSON':>10}")
    for t in byhand.topics():
        r1, _ = rate(lambda k, n=t.name: byhand.make(n, seed=k), sec)
        r2, _ = rate(lambda k, n=t.name: byhand.make(n, seed=k).to_json(), sec)
        print(f"   {t.name:14} {r1:10,.0f} {r2:10,.0f}")

    print("\n2. Backprop exercise, width 2: time per variant by depth (row-by-row vs naive whole-exercise rejection)")
    print(f"   {'depth':>5} {'row-by-row':>12} {'naive':>14} {'naive tries':>12} {'ratio':>8}")
    for depth in (2, 4, 8, 16):
        r, _ = rate(lambda k, d=depth: byhand.make("backprop", seed=k, depth=d, width=2), sec)
        ours = 1 / r
        n_seeds = 5 if depth <= 4 else 2
        total_t, total_tries, found = 0.0, 0, 0
        for s in range(n_seeds):
            tries, dt, ok = naive_backprop(s, depth, budget / n_seeds)
            total_t += dt
            total_tries += tries
            found += ok
        if found:
            naive = total_t / found
            naive_s = f"{naive * 1000:11.2f} ms"
            ratio = f"{naive / ours:7.0f}×"
        else:
            naive_s = f"> {total_t:8.1f} s"
            ratio = f"> {total_t / ours:,.0f}×"
        print(
            f"   {depth:5} {ours * 1000:9.3f} ms {naive_s:>14} {total_tries // max(found, 1):12,} {ratio:>8}"
            + ("" if found == n_seeds else f"   (naive found {found} of {n_seeds} within {budget:.0f} s)")
        )

    print("\n3. Target: 3-layer MLP backprop exercise, ≥ 1,000 variants/s on one core")
    r1, n1 = rate(lambda k: byhand.make("backprop", seed=k, depth=3), sec * 2)
    r2, _ = rate(lambda k: byhand.make("backprop", seed=k, depth=3).to_json(), sec * 2)
    st = byhand.stress("backprop", n=300, depth=3)
    print(f"   make: {r1:,.0f} variants/s ({n1:,} made) · with steps and JSON: {r2:,.0f} variants/s")
    print(f"   acceptance rate (rows accepted / rows drawn): {st['acceptance_rate']:.1%}")
    print(f"   target {'met' if r1 >= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
