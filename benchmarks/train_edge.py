"""Target: an edge architecture reaches >= 95 % accuracy on held-out synthetic clips
(7 actions, clips rendered with seeds never seen in training) within 10 minutes on
2 CPU cores.

    python benchmarks/train_edge.py [--arch edge-tiny] [--clips 100] [--epochs 30] [--json OUT]

Renders a training set (seed 0; its manifest splits train/val/test) and a held-out set
(seed 1000), trains with `edgeaction train`, exports to ONNX and evaluates the ONNX
model on the held-out set with `edgeaction evaluate`. Time counts rendering + training.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_cli  # noqa: E402

TARGET, BUDGET_S = 0.95, 600


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--arch", default="edge-tiny")
    p.add_argument("--clips", type=int, default=100, help="training clips per class")
    p.add_argument("--heldout", type=int, default=30, help="held-out clips per class")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument(
        "--weights",
        default="none",
        help="edge-mnv3 backbone weights: none (default, as measured), imagenet (must be in "
        "the Keras cache) or a file",
    )
    p.add_argument("--work", help="keep the data and run here (default: a temp dir)")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as td:
        w = Path(a.work or td)
        synth = run_cli("synth", w / "train", "--clips-per-class", a.clips, "--seed", 0)
        held = run_cli("synth", w / "heldout", "--clips-per-class", a.heldout, "--seed", 1000)
        init = ["--weights", a.weights] if a.arch in ("edge-mnv3", "seed-a") else []
        # The synthetic actions are designed to mirror (swipes swap, the rest are symmetric):
        # synth.json gives the --flip-pairs/--flip-safe that say so.
        flip = json.loads((w / "train" / "synth.json").read_text())["train_flip_options"]
        tr = run_cli(
            "train", w / "train", "--arch", a.arch, "--frames", a.frames, "--size", a.size,
            "--epochs", a.epochs, "--out", w / "run", *init, *flip,
        )  # fmt: skip
        run_metrics = json.loads((w / "run" / "report" / "metrics.json").read_text())
        run_cli("export", w / "run", "--out", w / "onnx")
        ev = run_cli(
            "evaluate", w / "onnx" / "model.onnx", w / "heldout", "--split", "all",
            "--out", w / "eval",
        )  # fmt: skip
        em = json.loads((w / "eval" / "metrics.json").read_text())
    minutes = (synth["wall_s"] + tr["wall_s"]) / 60
    res = {
        "arch": a.arch,
        "classes": len(run_metrics["labels"]),
        "train_clips": run_metrics["clips"],
        "epochs": run_metrics["epochs_run"],
        "frames": a.frames,
        "size": a.size,
        "params": run_metrics["params"],
        "heldout_clips": em["clips"],
        "heldout_accuracy": em["accuracy"],
        "heldout_top5": em["top5_accuracy"],
        "split_test_accuracy": run_metrics["test_accuracy"],
        "render_s": synth["wall_s"] + held["wall_s"],
        "train_s": tr["wall_s"],
        "evaluate_s": ev["wall_s"],
        "minutes_render_plus_train": round(minutes, 2),
        "train_peak_rss_gb": tr["peak_rss_gb"],
        "target_met": em["accuracy"] >= TARGET and minutes * 60 <= BUDGET_S,
    }
    for k, v in res.items():
        print(f"{k:<28} {v}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
