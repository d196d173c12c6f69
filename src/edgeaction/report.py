"""Classification metrics and the report that training and `edgeaction evaluate` write.

No TensorFlow: numpy for the numbers, matplotlib (Agg, without pyplot, so no global
figure state and no display) for the figures, imported only when a figure is drawn.
(matplotlib after a GStreamer pipeline used to crash; `_lazy.gst()` fixes the cause.)

```python
m = classification_metrics(y_true, probs, labels)     # accuracy, top-5, confusion, F1
write_report("runs/a/report", y_true, probs, labels, history=hist.history)
```

`write_report` writes, each file atomically (temp file + rename):

```
OUT/confusion_matrix.png   counts per cell, colour = share of the true class (row)
OUT/per_class.json         the metrics dict (+ "info": the `extra` facts)
OUT/per_class.md           a Markdown table: class, precision, recall, F1, support
OUT/curves.png             loss and accuracy per epoch, train vs val (with `history`)
```
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._lazy import require
from .errors import fail
from .fsutil import atomic_path, atomic_write_text, check_writable_dir

log = logging.getLogger("edgeaction.report")

TOP_K = 5
CONFUSION_PNG = "confusion_matrix.png"
CURVES_PNG = "curves.png"
PER_CLASS_JSON = "per_class.json"
PER_CLASS_MD = "per_class.md"


# ---- metrics -------------------------------------------------------------------------------
def classification_metrics(y_true, probs, labels) -> dict[str, Any]:
    """Accuracy, top-k accuracy, confusion matrix and per-class precision/recall/F1.

    A class without support or without predictions scores 0 where its ratio is
    undefined (no NaN, no warning). The macro average is the plain mean over the classes
    that occur in `y_true` or in the predictions (as scikit-learn does without
    `labels=`): a class absent from the data and never predicted neither helps nor hurts.
    The weighted average weights each class by its support.

    Args:
        y_true: Integer array-like `(N,)`. True class indices into `labels`.
        probs: Float array-like `(N, classes)`. Scores per class (probabilities or
            logits; only their order matters).
        labels: Sequence of strings. Class names, in output order.

    Returns:
        Dict with `accuracy`, `top5_accuracy` (top-k with `k = min(5, classes)`),
        `top_k`, `clips`, `labels`, `confusion_matrix` (list of lists, rows true, columns
        predicted), `per_class` (label → `precision`, `recall`, `f1`, `support`,
        `predicted`), `macro` and `weighted` (`precision`, `recall`, `f1`, `support`).
    """
    labels = [str(x) for x in labels]
    c = len(labels)
    y, p = _checked_scores(y_true, probs, c)
    n = int(y.shape[0])

    pred = np.argmax(p, axis=1)
    k = min(TOP_K, c)
    # True class within the top k: fewer than k classes score strictly higher (ties
    # straddling the boundary count as in, as tf.math.in_top_k does).
    true_score = p[np.arange(n), y]
    higher = np.sum(p > true_score[:, None], axis=1)
    top_k = float(np.mean(higher < k))

    cm = np.zeros((c, c), np.int64)
    np.add.at(cm, (y, pred), 1)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)

    present = (support > 0) | (predicted > 0)
    total = int(support.sum())

    def avg(v, w=None) -> float:
        if w is None:
            return float(np.mean(v[present])) if present.any() else 0.0
        return float(np.sum(v * w) / w.sum()) if w.sum() > 0 else 0.0

    per_class = _per_class(labels, precision, recall, f1, support, predicted)
    return {
        "accuracy": float(tp.sum() / n),
        "top5_accuracy": top_k,
        "top_k": k,
        "clips": n,
        "labels": labels,
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro": {
            "precision": avg(precision),
            "recall": avg(recall),
            "f1": avg(f1),
            "support": total,
        },
        "weighted": {
            "precision": avg(precision, support),
            "recall": avg(recall, support),
            "f1": avg(f1, support),
            "support": total,
        },
    }


def _per_class(labels, precision, recall, f1, support, predicted) -> dict[str, dict]:
    """label → `precision`, `recall`, `f1`, `support`, `predicted`."""
    return {
        lab: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i, lab in enumerate(labels)
    }


def _checked_scores(y_true, probs, c: int) -> tuple[np.ndarray, np.ndarray]:
    """`(y int64 (N,), probs float64 (N, c))`, checked: shapes, class indices, finite scores."""
    if c < 1:
        fail("classification metrics need at least one label")
    p = np.asarray(probs)
    y = np.asarray(y_true)
    if p.ndim != 2 or p.shape[1] != c:
        fail(f"probs must have shape (N, {c}) for {c} labels. Received: {list(p.shape)}")
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        fail(f"y_true must have shape ({p.shape[0]},). Received: {list(y.shape)}")
    if p.shape[0] == 0:
        fail("no clips to score: the evaluated set is empty")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            fail(f"y_true must hold class indices (integers). Received dtype {y.dtype}")
    if y.min() < 0 or y.max() >= c:
        fail(f"y_true holds class indices outside 0..{c - 1}: {sorted(set(y.tolist()))[:10]}")
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)):
        fail("the model produced NaN or infinite scores; check the model and its inputs")
    return y.astype(np.int64), p


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def worst_classes(metrics: dict, n: int = 3) -> list[tuple[str, float]]:
    """The `n` classes with the lowest F1 among those with support, worst first.

    Args:
        metrics: Dict from `classification_metrics`.
        n: Integer. How many classes. Defaults to `3`.
    """
    rows = [(lab, m["f1"]) for lab, m in metrics["per_class"].items() if m["support"] > 0]
    return sorted(rows, key=lambda r: (r[1], r[0]))[:n]


# ---- report --------------------------------------------------------------------------------
def write_report(
    out_dir: str | os.PathLike,
    y_true,
    probs,
    labels,
    history: dict[str, list[float]] | None = None,
    extra: dict | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Write the classification report (figures, JSON, Markdown) into `out_dir`.

    Files, each written atomically: `confusion_matrix.png`, `per_class.json`,
    `per_class.md` and, when `history` is given, `curves.png`.

    Args:
        out_dir: Directory to write into; created if needed.
        y_true: Integer array-like `(N,)`. True class indices into `labels`.
        probs: Float array-like `(N, classes)`. Scores per class.
        labels: Sequence of strings. Class names, in output order.
        history: Dict or None. A Keras `History.history` (`loss`, `val_loss`,
            `accuracy`, `val_accuracy`, ... → one float per epoch) for `curves.png`.
        extra: Dict or None. JSON-serialisable facts about the run (model, data, split,
            ...) stored under `"info"` in `per_class.json` and listed in `per_class.md`.
        title: String. Heading of the figures and the Markdown file.

    Returns:
        The metrics dict of `classification_metrics`.
    """
    metrics = classification_metrics(y_true, probs, labels)
    out = check_writable_dir(out_dir, "report directory")
    info = dict(extra or {})
    doc = {"title": title, **metrics, "info": info} if title else {**metrics, "info": info}
    atomic_write_text(out / PER_CLASS_JSON, json.dumps(_jsonable(doc), indent=2) + "\n")
    atomic_write_text(out / PER_CLASS_MD, markdown_table(metrics, title=title, extra=info))
    jobs = [("confusion", {"path": str(out / CONFUSION_PNG), "metrics": metrics, "title": title})]
    if history:
        h = {str(k): [None if v is None else float(v) for v in vals] for k, vals in history.items()}
        jobs.append(("curves", {"path": str(out / CURVES_PNG), "history": h, "title": title}))
    draw(jobs)
    return metrics


def markdown_table(metrics: dict, title: str = "", extra: dict | None = None) -> str:
    """The per-class table of `metrics` as Markdown, with accuracy lines above it.

    Args:
        metrics: Dict from `classification_metrics`.
        title: String. Heading; `"Classification report"` when empty.
        extra: Dict or None. Facts listed under the heading as `- key: value` lines.
    """
    k, n = metrics["top_k"], metrics["clips"]
    correct = int(sum(metrics["confusion_matrix"][i][i] for i in range(len(metrics["labels"]))))
    lines = [f"# {_md(title) if title else 'Classification report'}", ""]
    for key, val in (extra or {}).items():
        if not isinstance(val, dict | list):
            lines.append(f"- {_md(str(key))}: {_md(str(val))}")
    if extra and any(not isinstance(v, dict | list) for v in extra.values()):
        lines.append("")
    k_note = "" if k == 5 else f" (top-{k}: there are only {k} classes)"
    lines += [
        f"**accuracy**: {metrics['accuracy']:.4f} ({correct} of {n} clips)",
        "",
        f"**top-5 accuracy**: {metrics['top5_accuracy']:.4f}{k_note}",
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for lab, m in metrics["per_class"].items():
        lines.append(
            f"| {_md(lab)} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
            f"| {m['support']} |"
        )
    for name in ("macro", "weighted"):
        m = metrics[name]
        lines.append(
            f"| _{name} avg_ | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
            f"| {m['support']} |"
        )
    return "\n".join(lines) + "\n"


def _md(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)


# ---- figures -------------------------------------------------------------------------------
def preload() -> None:
    """Import matplotlib's drawing modules now.

    Call it before a long run that ends in a report (training, `edgeaction evaluate`):
    a missing matplotlib then fails with one line before the work, not after it.
    """
    _agg()


def _agg():
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def draw(jobs: list[tuple[str, dict]]) -> None:
    """Draw figures: `("confusion", plot_confusion kwargs)` or `("curves", plot_curves kwargs)`."""
    for kind, kw in jobs:
        _PLOTS[kind](**kw)


def _figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas, outside pyplot (no global state, no leak)."""
    Figure, FigureCanvasAgg = _agg()
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    try:
        with atomic_path(path, suffix=".png", what="plot") as tmp:
            fig.savefig(tmp, format="png", dpi=fig.dpi, bbox_inches="tight")
    finally:
        fig.clear()
    return path


def plot_confusion(path: str | os.PathLike, metrics: dict, title: str = "") -> Path:
    """Draw the confusion matrix of `metrics` into the PNG `path` (atomically).

    Cells show counts; their colour is the count's share of its row (the true class),
    so a class with few clips is as readable as a big one.

    Args:
        path: PNG file to write.
        metrics: Dict from `classification_metrics`.
        title: String. Figure title; the accuracy is appended.
    """
    labels = metrics["labels"]
    cm = np.asarray(metrics["confusion_matrix"], np.int64)
    c = len(labels)
    rows = cm.sum(axis=1, keepdims=True)
    share = _ratio(cm, np.broadcast_to(rows, cm.shape))
    longest = max(len(x) for x in labels)
    cell = 0.6 if c <= 12 else 0.45 if c <= 30 else 0.3
    side = max(4.0, c * cell + 1.5)
    pad = min(3.5, 0.07 * longest + 0.4)
    fig = _figure(side + pad + 1.2, side + pad)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label("share of the true class (row)")
    ticks = np.arange(c)
    font = 9 if c <= 12 else 8 if c <= 20 else 7 if c <= 30 else 5
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    if c <= 12:
        ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=font)
    else:
        ax.set_xticklabels(labels, rotation=90, ha="center", fontsize=font)
    ax.set_yticklabels(labels, fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(c):
        for j in range(c):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=font,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    head = f"{title}\n" if title else ""
    ax.set_title(
        f"{head}accuracy {metrics['accuracy']:.1%}, top-{metrics['top_k']} "
        f"{metrics['top5_accuracy']:.1%} ({metrics['clips']} clips)",
        fontsize=10,
    )
    return _save(fig, Path(path))


def plot_curves(path: str | os.PathLike, history: dict[str, list[float]], title: str = "") -> Path:
    """Draw loss and accuracy per epoch, train vs val, into the PNG `path` (atomically).

    Args:
        path: PNG file to write.
        history: Dict. A Keras `History.history`: `loss`, `val_loss`, `accuracy`,
            `val_accuracy` (or `acc`, `val_acc`), one float per epoch; missing keys are
            left out of the plot.
        title: String. Figure title.
    """
    fig = _figure(10.0, 4.0)
    panels = (("loss", ("loss",)), ("accuracy", ("accuracy", "acc")))
    for n, (name, keys) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 2, n)
        drawn = 0
        for prefix, what in (("", "train"), ("val_", "val")):
            key = next((prefix + k for k in keys if prefix + k in history), None)
            if key is None:
                continue
            v = np.asarray([np.nan if x is None else float(x) for x in history[key]], np.float64)
            if not v.size:
                continue
            epochs = np.arange(1, v.size + 1)
            ax.plot(epochs, v, marker="o" if v.size <= 30 else None, markersize=3, label=what)
            drawn += 1
        if drawn:
            ax.legend()
            ax.xaxis.get_major_locator().set_params(integer=True)
        else:
            ax.text(0.5, 0.5, f"no {name} in history", ha="center", va="center")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, Path(path))


_PLOTS = {"confusion": plot_confusion, "curves": plot_curves}
