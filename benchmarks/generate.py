"""How fast byhand makes variants that keep the rules, and how that grows with depth.

Every variant keeps the rules (few zeros, no value dominating, every gradient alive for every
sample, ReLU crossing something out, small denominators — ``byhand/topics/_rules.py``).

Prints:
1. variants/second for every chapter: medium (make, and with steps + JSON) and hard (make);
2. the time per variant of a backprop exercise (medium, width 2) by depth, constructed (a ReLU plan
   per layer, the bias chosen for it, a layer that would cut a sample's gradient off below it drawn
   again at once, the target chosen so each sample's gradient survives; beyond three layers the
   gradient's size is kept in view too: hidden weights may be 0 so a gradient passes on without
   doubling, a layer whose maps from the gradient above grow past a gain of 4 or whose output the
   next ReLU could not split is drawn again on its own, and each sample's output error is the
   smallest of all ±1, ±2 that reaches every layer), with the time per layer and the draws it
   took (whole sheets drawn per variant; weight rows drawn per variant), beside a naive sampler
   that draws the whole exercise at once from the same ranges and rejects it unless it keeps the
   same rules; the naive sampler gets a time budget per depth;
3. the target: ≥ 1,000 hard backprop variants/s on one core (depth 3, softmax + cross-entropy,
   forward and backward asked).

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
from byhand.topics import _rules, _sampling, resolve_options
from byhand.topics import get as get_topic

# Before this round's speed work (commit 20a5323, the same script, an idle machine): medium variants/s of the
# chapters then under or near 3,000.
BEFORE_MEDIUM = {
    "resnet": 3128, "attention": 1193, "multi-head": 1239, "transformer": 2842, "sampling": 1280, "lstm": 2983,
    "dropout": 1883, "moe": 2062, "autoencoder": 2802, "connections": 2916,
}
# The depth table before the deep construction (issue 10, depth; commit 20a5323, the same script, CPU
# time on a shared machine): ms per variant, and whole sheets drawn per variant.
BEFORE_DEPTH_MS = {2: 0.29, 3: 0.46, 4: 1.06, 6: 2.18, 8: 6.1, 10: 25.0}
BEFORE_DEPTH_SHEETS = {2: 1.02, 3: 1.08, 4: 1.17, 6: 1.27, 8: 2.10, 10: 6.46}


def rate(fn: Any, seconds: float) -> tuple[float, int]:
    """Variants per second of CPU time (the machine may be shared), after one warm-up call (a
    chapter that lists its variants, gradient-flow, builds the list once)."""
    fn(0)
    n = 0
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        fn(n)
        n += 1
    dt = time.process_time() - t0
    return n / dt, n


def naive_backprop(seed: int, depth: int, budget: float) -> tuple[int, float, bool]:
    """Whole-exercise rejection under the same rules. Returns (tries, seconds, found)."""
    m = get_topic("backprop")
    o = resolve_options(m, "medium", {"depth": depth, "width": 2})
    sizes = m.sizes(o)
    deep = depth > 3
    w_rng, b_rng = ((-1, 2) if not deep else (-1, 1)), (-2, 2)
    sheet = m.build(o)
    graph = Graph(sheet.nodes, sheet.leaves, sheet.roles, sheet.labels)
    rng = random.Random(seed)
    batch = o["batch"]
    tries = 0
    t0 = time.process_time()
    while time.process_time() - t0 < budget:
        tries += 1
        leaves: dict[str, Tensor] = {"X": Tensor((sizes[0], batch), _sampling.draws(rng, sizes[0] * batch, -1, 2))}
        for layer in range(1, depth + 1):
            r, c = sizes[layer], sizes[layer - 1]
            leaves[f"W{layer}"] = Tensor((r, c), _sampling.draws(rng, r * c, *w_rng))
            leaves[f"b{layer}"] = Tensor((r,), _sampling.draws(rng, r, *b_rng))
        leaves["Y"] = Tensor((sizes[-1], batch), [0] * (sizes[-1] * batch))
        z = graph.evaluate(leaves)[f"Z{depth}"]
        e = [rng.choice((1, -1, 2, -2)) for _ in z.data]
        leaves["Y"] = Tensor(z.shape, [a - b for a, b in zip(z.data, e)])
        vals = graph.evaluate(leaves)
        cells = m.blanks(o, graph, vals, rng)
        if any(abs(vals[c[0]][c[1]]) > 20 for c in cells):
            continue
        if _rules.violations(graph, vals, cells):
            continue
        return tries, time.process_time() - t0, True
    return tries, time.process_time() - t0, False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings (for a smoke run)")
    args = ap.parse_args()
    sec = 0.3 if args.quick else 1.5
    budget = 2.0 if args.quick else 20.0

    print(f"byhand {byhand.__version__} · Python {sys.version.split()[0]} · one core (CPU time)\n")
    print("1. Variants per second")
    print(f"   {'chapter':14} {'medium':>10} {'+JSON':>10} {'hard':>10} {'medium before':>14}")
    for t in byhand.topics():
        r1, _ = rate(lambda k, n=t.name: byhand.make(n, seed=k), sec)
        r2, _ = rate(lambda k, n=t.name: byhand.make(n, seed=k).to_json(), sec)
        r3, _ = rate(lambda k, n=t.name: byhand.make(n, seed=k, level="hard"), sec)
        before = f"{BEFORE_MEDIUM[t.name]:14,}" if t.name in BEFORE_MEDIUM else ""
        print(f"   {t.name:14} {r1:10,.0f} {r2:10,.0f} {r3:10,.0f} {before}".rstrip())
    print("   (medium before: commit 20a5323 on an idle machine, for the chapters then under or near 3,000/s)")

    print("\n2. Backprop (medium, width 2, two samples): time per variant by depth, constructed vs naive rejection")
    print(
        f"   {'depth':>5} {'constructed':>12} {'per layer':>10} {'sheets':>7} {'rows':>6} {'before':>9} {'sheets':>7}"
        f" {'naive':>14} {'naive tries':>12} {'ratio':>8}"
    )
    module = get_topic("backprop")
    for depth in (2, 3, 4, 6, 8, 10):
        r, _ = rate(lambda k, d=depth: byhand.make("backprop", seed=k, depth=d, width=2), sec)
        ours = 1 / r
        # the draws it takes (counted apart from the timing): whole sheets, and weight rows, per variant
        real, sheets, st = module.sample_backprop, [0], _sampling.Stats()

        def counted(*a: Any, real: Any = real, sheets: list[int] = sheets, **kw: Any) -> Any:
            sheets[0] += 1
            return real(*a, **kw)

        module.sample_backprop = counted
        try:
            for k in range(100):
                byhand.make("backprop", seed=k, depth=depth, width=2, stats=st)
        finally:
            module.sample_backprop = real
        draws = f"{sheets[0] / 100:7.2f} {st.drawn / 100:6.0f}"
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
        before = f"{BEFORE_DEPTH_MS[depth]:6.2f} ms {BEFORE_DEPTH_SHEETS[depth]:7.2f}"
        print(
            f"   {depth:5} {ours * 1000:9.3f} ms {ours * 1000 / depth:7.3f} ms {draws} {before:>17}"
            f" {naive_s:>14} {total_tries // max(found, 1):12,} {ratio:>8}"
            + ("" if found == n_seeds else f"   (naive found {found} of {n_seeds} within {budget:.0f} s)")
        )

    print("\n3. Target: hard backprop (depth 3, softmax + cross-entropy, forward and backward), ≥ 1,000 variants/s on one core")
    r1, n1 = rate(lambda k: byhand.make("backprop", seed=k, level="hard"), sec * 2)
    r2, _ = rate(lambda k: byhand.make("backprop", seed=k, level="hard").to_json(), sec * 2)
    st = byhand.stress("backprop", n=300, level="hard")
    print(f"   make: {r1:,.0f} variants/s ({n1:,} made) · with steps and JSON: {r2:,.0f} variants/s")
    print(
        f"   {st['blanks_per_variant']:.0f} blanks, about {st['minutes'][0]}–{st['minutes'][1]} min, "
        f"zeros {st['zero_share']:.0%}, largest denominator {st['largest_denominator']}, "
        f"rows accepted {st['acceptance_rate']:.0%}, variants breaking a rule: {st['breaking_a_rule']}"
    )
    print(f"   target {'met' if r1 >= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
