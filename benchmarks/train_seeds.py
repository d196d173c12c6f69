"""`seed-a` and `seed-b` build at their published shapes and train one epoch on a small
synthetic set: wall time, median training step time and peak memory (RSS of the child).

    python benchmarks/train_seeds.py [--clips 14] [--json OUT]

seed-a: ResNet50 → Conv2D 64 2x2 → 2x SimpleRNN, T=16, 112², batch 10, SGD; random init
(`--weights none`), so the whole ResNet50 trains (a frozen ImageNet backbone steps faster).
seed-b: ConvLSTM2D + LSTM over MediaPipe pose, T=20, 64², batch 8 (pose extracted with
`edgeaction pose-extract` first; the stick figures carry no person, so keypoints are
zeros, which is what the published pipeline feeds for frames without one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_cli  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--clips",
        type=int,
        default=14,
        help="clips per class (3 classes; 14 gives 10 train clips each, full batches)",
    )
    p.add_argument("--archs", default="seed-a,seed-b")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as td:
        w = Path(td)
        run_cli(
            "synth", w / "data", "--classes", 3, "--clips-per-class", a.clips,
            "--frames", 24, "--size", 112,
        )  # fmt: skip
        pose = run_cli("pose-extract", w / "data", "--out", w / "pose")
        for arch in a.archs.split(","):
            extra = ["--pose", w / "pose"] if arch == "seed-b" else []
            if arch == "seed-a":  # the whole ResNet50 trains, as measured (random init)
                extra = ["--weights", "none"]
            r = run_cli(
                "train", w / "data", "--arch", arch, "--epochs", 1, "--out", w / arch, *extra
            )
            m = json.loads((w / arch / "report" / "metrics.json").read_text())
            rows.append(
                {
                    "arch": arch,
                    "params": m["params"],
                    "frames": m["config"]["frames"],
                    "size": m["config"]["size"],
                    "batch": m["config"]["batch"],
                    "train_clips": m["clips"]["train"],
                    "step_s_median": m["train_step_seconds_median"],
                    "step_s_first": m["train_step_seconds_first"],
                    "epoch_fit_s": m["fit_seconds"],
                    "wall_s": r["wall_s"],
                    "peak_rss_gb": r["peak_rss_gb"],
                }
            )
            print(json.dumps(rows[-1]))
    res = {"pose_extract_s": pose["wall_s"], "runs": rows}
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
