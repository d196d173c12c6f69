"""Export parity figures: Keras vs ONNX Runtime (fp32), fp16 vs fp32, and the split
encoder/head vs the whole model, for the demo model and small seed-a / seed-b models.

    python benchmarks/export_parity.py [--demo RUN] [--json OUT]

Trains seed-a (T=4, 64²) and seed-b (T=4, 32²) for 5 epochs on a small synthetic set
(the figures are about conversion, not accuracy), then runs `edgeaction export --fp16
[--split] --data HELDOUT` on each and on the demo run (`edgeaction demo` writes
demo-out/run) and prints what `export_report.json` says.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--demo", default=str(ROOT / "demo-out" / "run"), help="demo run directory")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as td:
        w = Path(td)
        run_cli(
            "synth", w / "data", "--classes", 3, "--clips-per-class", 6, "--frames", 12,
            "--size", 64, "--seed", 3,
        )  # fmt: skip
        run_cli("pose-extract", w / "data", "--out", w / "pose")
        runs, demo_data = {}, None
        if Path(a.demo, "model.keras").exists():
            runs["demo (edge-tiny GRU)"] = (Path(a.demo), ["--split"], None)
        demo_data = Path(a.demo).parent / "data"  # the demo's own held-out test split
        for arch, size, extra in (("seed-a", 64, ["--split"]), ("seed-b", 32, [])):
            pose = ["--pose", w / "pose"] if arch == "seed-b" else []
            # seed-a from random weights, as measured (ImageNet weights are not downloaded).
            init = ["--weights", "none"] if arch == "seed-a" else []
            run_cli(
                "train", w / "data", "--arch", arch, "--frames", 4, "--size", size,
                "--epochs", 5, "--batch", 4, "--out", w / arch, *pose, *init,
            )  # fmt: skip
            runs[f"{arch} (T=4, {size}²)"] = (w / arch, extra, w / "pose" if pose else None)
        for name, (run, extra, pose) in runs.items():
            out = w / "onnx" / name.split()[0]
            src = demo_data if name.startswith("demo") and demo_data.is_dir() else w / "data"
            data = ["--data", src] + (["--pose", pose] if pose else [])
            try:
                r = run_cli("export", run, "--out", out, "--fp16", *extra, *data)
            except SystemExit as e:  # the gate refused it: record why
                rows[name] = {"export_failed": str(e).splitlines()[-1]}
                print(f"== {name}\n  export refused: {rows[name]['export_failed']}")
                continue
            rep = _flat(json.loads((out / "export_report.json").read_text()))
            sizes = {f.name: f.stat().st_size for f in out.glob("*.onnx")}
            rows[name] = {
                **{
                    k: v
                    for k, v in rep.items()
                    if any(s in k for s in ("diff", "agree", "clips", "source"))
                },
                "files_bytes": sizes,
                "export_s": r["wall_s"],
            }
            print(f"== {name}")
            for k, v in rows[name].items():
                print(f"  {k:<40} {v}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
