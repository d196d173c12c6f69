"""`edgeaction evaluate`: score a model on a labelled data set and write a report."""

from __future__ import annotations

import argparse
import sys

from .. import options
from ..engine.backends import backend_choices
from .common import dataset_args

EVALUATE_EPILOG = """\
writes into --out (default: <model dir>/eval-<data name>/):
  metrics.json          accuracy, top-5, split, clips, bad clips, backend, clips/s
  per_class.md, .json   precision, recall, F1 and support per class, macro/weighted
  confusion_matrix.png  counts per cell, colour = share of the true class
  predictions.csv       one row per clip: label, predicted, score

examples:
  edgeaction evaluate runs/a data/                        # Keras run, test split
  edgeaction evaluate models/a/model.onnx data/ --split all
  edgeaction evaluate runs/h data/ --keypoints hands/      # keypoint models: a cache (default: extracted on the fly)
"""


def run(a) -> int:
    """`edgeaction evaluate` with the parsed arguments `a`; returns the exit status."""
    from ..evaluate import evaluate
    from ..report import worst_classes

    r = evaluate(
        a.model,
        a.data,
        out=a.out,
        layout=a.layout,
        split=a.split,
        pose_dir=a.keypoints,
        backend=a.backend,
        batch=a.batch,
        progress=sys.stderr.isatty(),
        seed=a.seed,
        allow_outside_root=a.allow_outside_root,
        unsafe_keras=a.unsafe_keras,
    )
    m, k = r["report"], r["top_k"]
    worst = ", ".join(f"{lab} {f1:.2f}" for lab, f1 in worst_classes(m, 3)) or "-"
    speed = r["clips_per_second"] or 0.0
    rows = [
        ("model", f"{r['model']} ({r['backend']})"),
        ("data", f"{r['data']}, split {r['split_used']}"),
        ("clips", f"{r['clips']} scored, {r['bad_clips']} unreadable"),
        ("accuracy", f"{r['accuracy']:.3f}"),
        ("top-5", f"{r['top5_accuracy']:.3f}" + ("" if k == 5 else f" (top-{k}: {k} classes)")),
        ("macro F1", f"{r['macro_f1']:.3f}"),
        ("worst F1", worst),
        ("speed", f"{speed:.1f} clips/s (decode + infer); {r['seconds']:.1f} s in all"),
        ("report", r["out"]),
    ]
    width = max(len(key) for key, _ in rows)
    for key, val in rows:
        print(f"{key:<{width}}  {val}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `evaluate` on the top-level sub-parsers."""
    v = sub.add_parser(
        "evaluate",
        help="score a model (run, .keras, .onnx or engine) on a labelled data set",
        description="Decode a split of DATA as the model's contract says (frames, size,\n"
        "colour, normalisation), classify every clip and write a report: accuracy, top-5,\n"
        "per-class precision/recall/F1, confusion matrix. The model's labels are\n"
        "authoritative; DATA may hold a subset of them.",
        epilog=EVALUATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument(
        "model",
        type=options.path,
        help="run directory or model.keras (contract.json beside it), export directory or "
        ".onnx file, or a TensorRT engine",
    )
    v.add_argument(
        "data", type=options.path, help="labelled data set (any layout `edgeaction train` reads)"
    )
    v.add_argument(
        "--out",
        type=options.pathlib_path,
        metavar="DIR",
        help="report directory (default <model dir>/eval-<data>)",
    )
    dataset_args(v, "score")
    v.add_argument(
        "--backend",
        default="auto",
        choices=backend_choices(include_keras=True, auto=True),
        help="runner (default: from the model file)",
    )
    v.set_defaults(fn=run)
