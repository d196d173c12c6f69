"""Keras vs ONNX Runtime, batch-1 latency on one real clip (target: ORT >= 3x faster).

    python benchmarks/keras_vs_ort.py [--run RUN] [--clip CLIP] [--reps 30] [--json OUT]

Takes a trained run (default demo-out/run, as `edgeaction demo` writes it) and its
export (demo-out/model, or RUN/../model, else `edgeaction export` into a temp dir). With
no run it trains a tiny edge-tiny (T=8, 64², 1 epoch) on `edgeaction synth` data through
the CLI: the figures are about runtime cost, not accuracy.

One real clip from ../shared/data/real_clips is decoded and normalised once (GStreamer,
`preprocess.normalize`, in this process, which never loads TensorFlow). A CHILD process
loads the Keras model and times `model.predict(x)` and `model(x, training=False)` on
it; this process times the ONNX Runtime runner on the same array (batch 1, then batch 8
for the throughput scaling) and checks both give the same probabilities.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "real_clips"

KERAS_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras
    from edgeaction.train import models  # noqa: F401  (registers the custom layers)

    model_path, x_path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = keras.saving.load_model(model_path, safe_mode=True)
    x = np.load(x_path)
    if len(m.inputs) > 1:  # frames + pose: zeros for the pose input
        feed = [x if len(t.shape) == 5 else np.zeros((1, *t.shape[1:]), np.float32)
                for t in m.inputs]
    else:
        feed = x

    def med(fn):
        for _ in range(3):
            fn()
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
        return float(np.median(ts)), float(np.min(ts))

    pred_med, pred_min = med(lambda: m.predict(feed, verbose=0))
    call_med, call_min = med(lambda: m(feed, training=False))
    probs = np.asarray(m(feed, training=False))
    print(json.dumps({
        "predict_median_ms": pred_med, "predict_min_ms": pred_min,
        "call_median_ms": call_med, "call_min_ms": call_min,
        "probs": probs.tolist(), "keras": keras.__version__,
    }))
    """
)


def _ensure_run(run: Path | None, work: Path) -> tuple[Path, Path]:
    """A run directory with model.keras and an export directory with model.onnx."""
    if run is None or not (run / "model.keras").exists():
        if run is not None:
            print(f"{run} has no model.keras; training a tiny edge-tiny instead")
        data, run = work / "data", work / "run"
        print("synth + train edge-tiny (T=8, 64², 1 epoch) ...", flush=True)
        run_cli(
            "synth", data, "--classes", 3, "--clips-per-class", 6, "--frames", 12,
            "--size", 64, "--seed", 3,
        )  # fmt: skip
        run_cli(
            "train", data, "--arch", "edge-tiny", "--frames", 8, "--size", 64,
            "--epochs", 1, "--batch", 8, "--out", run,
        )  # fmt: skip
    for cand in (run.parent / "model", run / "export"):
        if (cand / "model.onnx").exists():
            return run, cand
    out = work / "export"
    print(f"export {run} -> {out} ...", flush=True)
    run_cli("export", run, "--out", out)
    return run, out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--run", default=str(ROOT / "demo-out" / "run"), help="trained run directory")
    p.add_argument("--clip", default=str(CLIPS / "kinetics_ta_chi.mp4"), help="real clip")
    p.add_argument("--reps", type=int, default=30, help="timed calls per measurement")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--work", help="keep the trained run, export and input here (default: temp)")
    a = p.parse_args()

    from edgeaction.engine import open_runner
    from edgeaction.engine.bench import machine_facts, time_infer
    from edgeaction.preprocess import normalize
    from edgeaction.video.reader import read_clip

    with tempfile.TemporaryDirectory() as td:
        work = Path(a.work or td)
        work.mkdir(parents=True, exist_ok=True)
        run, export = _ensure_run(Path(a.run) if a.run else None, work)
        runner = open_runner(export / "model.onnx")
        c = runner.contract
        x = normalize(read_clip(a.clip, c.frames, c.width, c.height, c.colour), c)
        np.save(work / "x.npy", x)

        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        child = subprocess.run(
            [sys.executable, "-c", KERAS_CHILD, str(run / "model.keras"), str(work / "x.npy"),
             str(a.reps)],
            capture_output=True, text=True, env=env, timeout=1800,
        )  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"the Keras child failed:\n{child.stderr[-3000:]}")
        k = json.loads(child.stdout.strip().splitlines()[-1])

        def feed(n: int) -> dict:
            f = {c.input_name: np.repeat(x, n, axis=0)} if c.uses_frames else {}
            if c.uses_keypoints:
                f[c.pose_name] = np.zeros(c.keypoint_shape(n), np.float32)
            return f

        with runner:
            probs = runner.infer(feed(1))[c.output_name]
            t1 = time_infer(runner, feed(1), 200, 2.0, a.reps)
            t8 = time_infer(runner, feed(8), 200, 2.0, max(10, a.reps // 4))

    ort1 = float(np.median(t1["latency_ms"]))
    ort8 = float(np.median(t8["latency_ms"]))
    tput1, tput8 = 1000.0 / ort1, 8 * 1000.0 / ort8
    r = {
        "run": str(run),
        "model": c.name,
        "clip": str(a.clip),
        "input": list(x.shape),
        "keras_predict_median_ms": k["predict_median_ms"],
        "keras_call_median_ms": k["call_median_ms"],
        "ort_b1_median_ms": ort1,
        "ort_b8_median_ms": ort8,
        "ratio_predict_over_ort": k["predict_median_ms"] / ort1,
        "ratio_call_over_ort": k["call_median_ms"] / ort1,
        "ort_clips_per_s_b1": tput1,
        "ort_clips_per_s_b8": tput8,
        "ort_scaling_b1_to_b8": tput8 / tput1,
        "max_abs_diff_probs": float(np.max(np.abs(np.asarray(k["probs"]) - probs))),
        "target_met": k["predict_median_ms"] / ort1 >= 3.0,
        "keras": k["keras"],
        "machine": machine_facts(),
    }
    print(
        f"{c.name} on {Path(a.clip).name}, input {r['input']}:\n"
        f"  Keras predict (batch 1)            {r['keras_predict_median_ms']:8.2f} ms median\n"
        f"  Keras model(x, training=False)     {r['keras_call_median_ms']:8.2f} ms median\n"
        f"  ONNX Runtime (batch 1)             {ort1:8.2f} ms median\n"
        f"  ratio predict/ORT {r['ratio_predict_over_ort']:.1f}x, call/ORT "
        f"{r['ratio_call_over_ort']:.1f}x (target predict/ORT >= 3x: "
        f"{'met' if r['target_met'] else 'NOT met'})\n"
        f"  ORT throughput batch 1 -> 8: {tput1:.1f} -> {tput8:.1f} clips/s "
        f"({r['ort_scaling_b1_to_b8']:.2f}x); max |probs Keras - ORT| "
        f"{r['max_abs_diff_probs']:.1e}"
    )
    if a.json:
        from edgeaction.fsutil import atomic_write_text

        atomic_write_text(a.json, json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
