"""`edgeaction compare`: two forms of one model, clip by clip."""

from __future__ import annotations

import argparse
import sys

from .. import options
from .common import dataset_args

COMPARE_EPILOG = """\
what it reports (clip level, every clip of the split decoded once, fed to both):
  top-1 agreement      share of clips on which A and B pick the same class
  |Δ| of probabilities max and mean over all clips and classes
  per class            clips, disagreements and each model's accuracy, per true class
  disagreeing clips    key, label, A's and B's top-1 with scores, and the top-1/top-2
                       margin of the FP32 side (a small margin explains a flip)
  accuracy             of each model

A and B: any two of a run directory or model.keras, model.onnx, model_fp16.onnx and a
TensorRT engine of the same model; their contracts must agree (labels, frames, size,
colour, modality). Exits 0 whatever the agreement: it is a report.

examples:
  edgeaction compare models/a/model.onnx models/a/model_fp16.onnx --data data/  # FP16 vs FP32
  edgeaction compare runs/a models/a/model.onnx --data data/ --split all        # Keras vs ONNX
  edgeaction compare models/a/model.onnx a.engine --data data/ --json cmp.json --plot cmp.png
"""


def run(a) -> int:
    """`edgeaction compare` with the parsed arguments `a`; returns the exit status."""
    from ..compare import compare, format_table

    r = compare(
        a.model_a,
        a.model_b,
        a.data,
        split=a.split,
        pose_dir=a.keypoints,
        layout=a.layout,
        json_path=a.json,
        plot_path=a.plot,
        batch=a.batch,
        progress=sys.stderr.isatty(),
        seed=a.seed,
        allow_outside_root=a.allow_outside_root,
        unsafe_keras=a.unsafe_keras,
    )
    print(format_table(r))
    for k in ("json", "plot"):
        if r.get(k):
            print(f"wrote {r[k]}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `compare` on the top-level sub-parsers."""
    cp = sub.add_parser(
        "compare",
        help="compare two forms of one model clip by clip (FP16 vs FP32, Keras vs ONNX, engine)",
        description="The FP16-vs-FP32 check at clip level: decode each clip of a split of DATA\n"
        "once, at the contract's settings, feed it to model A and model B and compare\n"
        "them: top-1 agreement, max and mean |Δ| of the probabilities, disagreement per\n"
        "class and the list of clips on which they disagree, plus each model's accuracy.",
        epilog=COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cp.add_argument(
        "model_a",
        type=options.path,
        metavar="A",
        help="reference model: run directory or .keras, export directory or .onnx, or engine",
    )
    cp.add_argument(
        "model_b",
        type=options.path,
        metavar="B",
        help="model to check against A (e.g. model_fp16.onnx, engine)",
    )
    cp.add_argument(
        "--data",
        type=options.path,
        required=True,
        metavar="DIR",
        help="labelled data set (any layout train reads)",
    )
    cp.add_argument(
        "--json",
        type=options.path,
        metavar="FILE",
        help="also write the full result as JSON to FILE",
    )
    cp.add_argument(
        "--plot",
        type=options.path,
        metavar="FILE.png",
        help="also draw per-class disagreement and the per-clip |Δ| histogram (PNG)",
    )
    dataset_args(cp, "compare")
    cp.set_defaults(fn=run)
