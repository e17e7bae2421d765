"""“Computers later”: the degradation experiment of the ResNet chapter.

Plain and residual fully-connected networks of several depths are trained on scikit-learn's bundled
8×8 digits (1797 images, 64 pixels, 10 classes; no download), on the CPU, and compared:

* training loss and error per epoch for each depth × {plain, residual} — the shape of Figure 1 of
  He et al. (2015): the deeper plain network trains *worse*, the deeper residual network does not;
* the gradient norm of every weight layer at initialisation — it vanishes towards the input without
  skip connections and stays of the same size with them.

The network of depth D has D weight layers: an input layer (64 → width), (D − 2)/2 blocks of two
layers, and an output layer (width → 10). A block is

    plain:     h ← ReLU(    W2·ReLU(W1·h + b1) + b2)
    residual:  h ← ReLU(h + W2·ReLU(W1·h + b1) + b2)

(with ``batch_norm=True`` a batch-norm follows every hidden linear layer, as in the paper, the
second one before the "+"). The plain and the residual network of one depth start from the very
same weights (PyTorch's default initialisation of ``nn.Linear``, drawn after ``torch.manual_seed``),
see the same mini-batches in the same order and use the same optimiser: the "+ h" is the only
difference. The optimiser is plain SGD with momentum, as in the paper: an adaptive optimiser such as
Adam rescales every parameter's step by its own gradient size and would hide how small the gradient
that reaches the first layers is.

Everything is deterministic for a given seed. Torch, scikit-learn and matplotlib are imported only
when the experiment runs (the ``experiment`` extra).
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from byhand.errors import ByHandError
from byhand.i18n import M_

KINDS = ("plain", "residual")
METRIC_COLUMNS = ("depth", "kind", "epoch", "train_loss", "train_error", "test_loss", "test_error")
GRADIENT_COLUMNS = ("depth", "kind", "layer", "grad_norm")
PNG_NAME = "experiment-resnet.png"
METRICS_NAME = "experiment-resnet-metrics.csv"
GRADIENTS_NAME = "experiment-resnet-gradients.csv"

DEFAULT_DEPTHS = (8, 20, 56)
QUICK_DEPTHS = (4, 12)
QUICK_EPOCHS = 3
QUICK_TRAIN = 360
DEFAULT_EPOCHS = 100

Progress = Callable[[int, int], None]


@dataclass
class Result:
    """What one run produced: the files, the numbers and the settings."""

    png: Path
    metrics_csv: Path
    gradients_csv: Path
    metrics: list[dict[str, Any]]  # one row per depth × kind × epoch (epoch 0 = at initialisation)
    gradients: list[dict[str, Any]]  # one row per depth × kind × weight layer (1 = next to the input)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def final(self, depth: int, kind: str) -> dict[str, Any]:
        """The metrics row of the last epoch of one network."""
        rows = [r for r in self.metrics if r["depth"] == depth and r["kind"] == kind]
        if not rows:
            raise KeyError((depth, kind))
        return max(rows, key=lambda r: r["epoch"])

    def grad_norms(self, depth: int, kind: str) -> list[float]:
        """The gradient norm of each weight layer at initialisation, from the input to the output."""
        rows = sorted((r for r in self.gradients if r["depth"] == depth and r["kind"] == kind), key=lambda r: r["layer"])
        return [r["grad_norm"] for r in rows]

    def summary(self) -> str:
        """A small table: the final training loss/error, the test error and the first/last gradient norm."""
        lines = [
            f"{'depth':>5} {'kind':<8} {'train loss':>10} {'train err':>9} {'test err':>8} {'grad first':>10} {'grad last':>10}",
        ]
        for depth in self.settings.get("depths", ()):
            for kind in KINDS:
                f = self.final(depth, kind)
                g = self.grad_norms(depth, kind)
                lines.append(
                    f"{depth:>5} {kind:<8} {f['train_loss']:>10.4f} {f['train_error']:>9.2%} {f['test_error']:>8.2%}"
                    f" {g[0]:>10.2e} {g[-1]:>10.2e}"
                )
        return "\n".join(lines)


def _need() -> tuple[Any, Any, Any]:
    missing = []
    try:
        import torch
    except ImportError:
        missing.append("torch")
    try:
        import sklearn.datasets
    except ImportError:
        missing.append("scikit-learn")
    try:
        import matplotlib
    except ImportError:
        missing.append("matplotlib")
    if missing:
        raise ByHandError(
            M_("the experiment needs the 'experiment' extra: pip install 'byhand[experiment]' (missing: {missing})",
               missing=', '.join(missing))
        )
    return torch, sklearn.datasets, matplotlib


def _check(depths: Sequence[int], epochs: int, width: int, batch_size: int, lr: float) -> None:
    if not depths:
        raise ByHandError("give at least one depth, e.g. 8,20,56")
    for d in depths:
        if d < 2 or d % 2 or d > 200:
            raise ByHandError(M_("depth {d}: give an even number of weight layers between 2 and 200 (input + blocks "
                                 "of 2 + output)",
                                 d=d))
    if not 1 <= epochs <= 1000:
        raise ByHandError(M_("epochs must be between 1 and 1000, not {epochs}", epochs=epochs))
    if not 2 <= width <= 1024:
        raise ByHandError(M_("width must be between 2 and 1024, not {width}", width=width))
    if not 1 <= batch_size <= 4096:
        raise ByHandError(M_("batch size must be between 1 and 4096, not {batch_size}", batch_size=batch_size))
    if not (lr > 0 and math.isfinite(lr)):
        raise ByHandError(M_("learning rate must be a positive number, not {lr}", lr=lr))


def _data(torch: Any, datasets: Any, seed: int, n_train: int | None) -> tuple[Any, Any, Any, Any]:
    """The digits, split 80/20 (stratified, fixed by seed) and standardised with the training statistics."""
    import numpy as np

    bunch = datasets.load_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    train_idx: list[int] = []
    test_idx: list[int] = []
    for c in range(10):  # stratified: a fifth of every class is held out
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(len(idx) * 0.2)
        test_idx.extend(idx[:k].tolist())
        train_idx.extend(idx[k:].tolist())
    tr = rng.permutation(np.array(train_idx))
    te = np.sort(np.array(test_idx))
    if n_train is not None:
        tr = tr[:n_train]
    mean = x[tr].mean(axis=0)
    std = x[tr].std(axis=0)
    std[std == 0] = 1.0  # the always-blank corner pixels
    xs = (x - mean) / std

    def t(a: Any, dtype: Any) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)

    return t(xs[tr], torch.float32), t(y[tr], torch.int64), t(xs[te], torch.float32), t(y[te], torch.int64)


def _network(torch: Any, depth: int, width: int, residual: bool, batch_norm: bool) -> Any:
    nn = torch.nn

    class Net(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.residual = residual
            self.inp = nn.Linear(64, width)
            self.blocks = nn.ModuleList(
                nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width)]) for _ in range((depth - 2) // 2)
            )
            self.out = nn.Linear(width, 10)
            n_norms = depth - 1 if batch_norm else 0
            self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(n_norms))

        def weight_layers(self) -> list[Any]:
            return [self.inp, *(lin for block in self.blocks for lin in block), self.out]

        def _norm(self, k: int, z: Any) -> Any:
            return self.norms[k](z) if len(self.norms) else z

        def forward(self, x: Any) -> Any:
            relu = torch.relu
            h = relu(self._norm(0, self.inp(x)))
            for i, (first, second) in enumerate(self.blocks):
                f = self._norm(2 * i + 2, second(relu(self._norm(2 * i + 1, first(h)))))
                h = relu(h + f if self.residual else f)
            return self.out(h)

    return Net()


def _evaluate(torch: Any, net: Any, x: Any, y: Any) -> tuple[float, float]:
    net.eval()
    with torch.no_grad():
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        error = (logits.argmax(dim=1) != y).float().mean().item()
    net.train()
    return float(loss), float(error)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue().encode("utf-8")


def _train_one(
    torch: Any,
    depth: int,
    kind: str,
    seed: int,
    epochs: int,
    data: tuple[Any, Any, Any, Any],
    width: int,
    batch_size: int,
    lr: float,
    momentum: float,
    batch_norm: bool,
    tick: Callable[[], None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One network: its gradient norms at initialisation, then its metrics after every epoch (0 = before training)."""
    x_tr, y_tr, x_te, y_te = data
    torch.manual_seed(seed * 1000 + depth)  # the same weights for the plain and the residual network of one depth
    net = _network(torch, depth, width, kind == "residual", batch_norm)
    net.train()
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x_tr), y_tr).backward()  # the whole training set's loss
    grads = [
        {"depth": depth, "kind": kind, "layer": k, "grad_norm": float(lin.weight.grad.norm().item())}
        for k, lin in enumerate(net.weight_layers(), start=1)
    ]
    net.zero_grad()

    rows: list[dict[str, Any]] = []

    def record(epoch: int) -> None:
        train_loss, train_error = _evaluate(torch, net, x_tr, y_tr)
        test_loss, test_error = _evaluate(torch, net, x_te, y_te)
        rows.append(
            {
                "depth": depth,
                "kind": kind,
                "epoch": epoch,
                "train_loss": train_loss,
                "train_error": train_error,
                "test_loss": test_loss,
                "test_error": test_error,
            }
        )
        tick()

    record(0)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    order = torch.Generator().manual_seed(seed)  # the same mini-batches in the same order for every network
    n = len(x_tr)
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=order)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            if batch_norm and len(idx) < 2:
                continue  # batch-norm needs two samples
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x_tr[idx]), y_tr[idx]).backward()
            opt.step()
        record(epoch)
    return rows, grads


def run_resnet_experiment(
    depths: Sequence[int] | None = None,
    epochs: int | None = None,
    quick: bool = False,
    seed: int = 0,
    out_dir: Path | str = Path("."),
    progress: Progress | None = None,
    *,
    width: int = 64,
    batch_size: int = 64,
    lr: float = 0.02,
    momentum: float = 0.9,
    batch_norm: bool = False,
    threads: int = 2,
) -> Result:
    """Train plain and residual MLPs of each depth on the digits; write a PNG and two CSVs to ``out_dir``.

    By default depths 8, 20 and 56 for 100 epochs (about 40 s on 2 cores). ``quick=True`` is a tiny
    run for tests and CI: depths 4 and 12, 3 epochs, 360 training images (``depths``/``epochs``
    still override). ``progress(done, total)`` is called after
    every epoch of every network. Returns a :class:`Result` with the numbers and the file paths.
    """
    torch, datasets, _ = _need()
    if depths is None:
        depths = QUICK_DEPTHS if quick else DEFAULT_DEPTHS
    if epochs is None:
        epochs = QUICK_EPOCHS if quick else DEFAULT_EPOCHS
    depths = tuple(int(d) for d in depths)
    _check(depths, epochs, width, batch_size, lr)
    out = Path(out_dir)
    if not out.is_dir():
        raise ByHandError(M_("output folder {out} does not exist", out=out))

    started = time.perf_counter()
    old_threads, old_dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(max(1, threads))
    torch.set_default_dtype(torch.float32)  # the same numbers whatever the caller set (float64 in some tests)
    try:
        x_tr, y_tr, x_te, y_te = _data(torch, datasets, seed, QUICK_TRAIN if quick else None)
        data = (x_tr, y_tr, x_te, y_te)
        total = len(depths) * len(KINDS) * (epochs + 1)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        metrics: list[dict[str, Any]] = []
        gradients: list[dict[str, Any]] = []
        for depth in depths:
            for kind in KINDS:
                rows, grads = _train_one(
                    torch, depth, kind, seed, epochs, data, width, batch_size, lr, momentum, batch_norm, tick
                )
                metrics.extend(rows)
                gradients.extend(grads)
    finally:
        torch.set_num_threads(old_threads)
        torch.set_default_dtype(old_dtype)

    settings = {
        "depths": depths,
        "epochs": epochs,
        "quick": quick,
        "seed": seed,
        "width": width,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "batch_norm": batch_norm,
        "n_train": len(x_tr),
        "n_test": len(x_te),
    }
    result = Result(
        png=out / PNG_NAME,
        metrics_csv=out / METRICS_NAME,
        gradients_csv=out / GRADIENTS_NAME,
        metrics=metrics,
        gradients=gradients,
        settings=settings,
    )
    _write_atomic(result.metrics_csv, _csv(METRIC_COLUMNS, metrics))
    _write_atomic(result.gradients_csv, _csv(GRADIENT_COLUMNS, gradients))
    _write_atomic(result.png, _plot(result))
    result.seconds = time.perf_counter() - started
    return result


def _plot(result: Result) -> bytes:
    """The three panels as PNG bytes; drawn with the Agg canvas, no pyplot and no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = result.settings
    depths = s["depths"]
    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    styles = {"plain": "-", "residual": "--"}

    fig = Figure(figsize=(15, 4.6), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_err, ax_grad = fig.subplots(1, 3)
    every = max(1, s["epochs"] // 10)
    for j, depth in enumerate(depths):
        c, m = colours[j % len(colours)], markers[j % len(markers)]
        for kind in KINDS:
            rows = sorted((r for r in result.metrics if r["depth"] == depth and r["kind"] == kind), key=lambda r: r["epoch"])
            ep = [r["epoch"] for r in rows]
            style = {
                "color": c,
                "linestyle": styles[kind],
                "marker": m,
                "markevery": every,
                "markersize": 5,
                "markerfacecolor": c if kind == "plain" else "white",
                "linewidth": 1.6,
                "label": f"{kind} {depth}",
            }
            ax_loss.plot(ep, [max(r["train_loss"], 1e-6) for r in rows], **style)
            ax_err.plot(ep, [100 * r["train_error"] for r in rows], **style)
            g = result.grad_norms(depth, kind)
            ax_grad.plot(range(1, len(g) + 1), [max(v, 1e-30) for v in g], **{**style, "markevery": max(1, len(g) // 8)})
    stuck = [
        f"{kind} {depth}"
        for depth in depths
        for kind in KINDS
        if result.final(depth, kind)["train_error"] >= 0.8 or not math.isfinite(result.final(depth, kind)["train_loss"])
    ]
    if len(stuck) > 1:  # their lines lie on top of each other: say so
        note = "at chance (lines overlap): " + ", ".join(stuck)
        ax_err.text(0.98, 0.84, note, transform=ax_err.transAxes, ha="right", fontsize=8)
    ax_loss.set_yscale("log")
    ax_loss.set_title("training loss (cross-entropy, log scale)")
    ax_loss.set_xlabel("epoch")
    ax_err.set_title("training error (%)")
    ax_err.set_xlabel("epoch")
    ax_err.set_ylim(-2, 100)
    ax_grad.set_yscale("log")
    ax_grad.set_title("gradient norm per weight layer at initialisation")
    ax_grad.set_xlabel("weight layer (1 = next to the input)")
    ax_grad.set_ylabel("‖∂loss/∂W‖")
    for ax in (ax_loss, ax_err, ax_grad):
        ax.grid(True, which="major", alpha=0.3)
    ax_err.legend(title="solid = plain, dashed = residual", fontsize=8, title_fontsize=8, ncols=2)
    bn = ", batch-norm" if s["batch_norm"] else ", no batch-norm"
    fig.suptitle(
        f"Plain vs residual MLPs on the 8×8 digits ({s['n_train']} training images): width {s['width']}{bn}, "
        f"SGD lr {s['lr']} momentum {s['momentum']}, batch {s['batch_size']}, seed {s['seed']}",
        fontsize=11,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
