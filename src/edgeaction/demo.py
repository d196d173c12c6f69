"""`edgeaction demo`: the whole chain on the CPU in a few minutes.

synth (stick-figure clips) → train (edge-tiny CNN+GRU) → export (tf2onnx, contract,
parity) → run (GStreamer decode → sliding windows → ONNX Runtime → events + annotated
video) on a held-out video in which one figure performs every action in turn.
"""

from __future__ import annotations

import json
import time

from .fsutil import atomic_write_text, check_writable_dir

SHOWCASE = ["walk", "wave", "squat", "jump", "swipe_left", "run", "swipe_right"]


def _step(n: int, total: int, text: str) -> None:
    print(f"\n[{n}/{total}] {text}", flush=True)


def run_demo(out: str, quick: bool = False) -> int:
    from .synth import synthesize, synthesize_sequence
    from .train.trainer import TrainConfig, keras_quiet

    keras_quiet()
    root = check_writable_dir(out, "demo output directory")
    cfg = (
        dict(classes=3, clips=8, epochs=2, frames=4, size=32, synth_size=48, synth_frames=8)
        if quick
        else dict(
            classes=7, clips=100, epochs=30, frames=8, size=64, synth_size=96, synth_frames=16
        )
    )
    t_all = time.monotonic()
    times = {}

    _step(1, 4, f"synth: {cfg['classes']} actions x {cfg['clips']} clips")
    t = time.monotonic()
    from tqdm.auto import tqdm

    total = cfg["classes"] * cfg["clips"]
    with tqdm(total=total, desc="synth", unit="clip") as bar:
        synthesize(
            root / "data",
            cfg["classes"],
            cfg["clips"],
            cfg["synth_frames"],
            cfg["synth_size"],
            seed=0,
            progress=lambda d, _t: bar.update(d - bar.n),
        )
    times["synth"] = time.monotonic() - t

    _step(
        2,
        4,
        f"train: edge-tiny, T={cfg['frames']}, {cfg['size']}x{cfg['size']}, {cfg['epochs']} epochs",
    )
    from .synth import ACTIONS, mirror_map
    from .train.trainer import train

    # The synthetic actions are designed to mirror: swipes swap, the rest keep their label.
    flip_pairs, flip_safe = mirror_map(ACTIONS[: cfg["classes"]])
    t = time.monotonic()
    metrics = train(
        TrainConfig(
            data=root / "data",
            out=root / "run",
            frames=cfg["frames"],
            size=cfg["size"],
            epochs=cfg["epochs"],
            flip_pairs=flip_pairs,
            flip_safe=flip_safe,
            verbose=1,
            name="demo-edge-tiny",
        )
    )
    times["train"] = time.monotonic() - t

    _step(3, 4, "export: Keras -> ONNX (tf2onnx) with the model contract, + encoder/head split")
    from .export import export_model

    t = time.monotonic()
    rep = export_model(root / "run", root / "model", split=True)
    times["export"] = time.monotonic() - t

    _step(4, 4, "run: GStreamer -> sliding windows -> ONNX Runtime -> events + annotated video")
    from .pipelines import run_file

    actions = [a for a in SHOWCASE if a in metrics["labels"]]
    showcase = root / "showcase.mp4"
    timeline = synthesize_sequence(showcase, actions, frames_each=32, size=160, seed=1)
    atomic_write_text(root / "showcase_truth.json", json.dumps(timeline, indent=2) + "\n")
    t = time.monotonic()
    summary = run_file(
        root / "model" / "model.onnx",
        showcase,
        events=root / "events.jsonl",
        out_video=root / "annotated.mp4",
    )
    times["run"] = time.monotonic() - t

    events = [json.loads(line) for line in open(root / "events.jsonl")]

    def truth(w):  # label of a window lying inside one action, else None
        for seg in timeline:
            if seg["start"] <= w[0] and w[1] < seg["end"]:
                return seg["label"]
        return None

    judged = [(truth(e["window"]), e["label"]) for e in events if truth(e["window"])]
    win_acc = sum(a == b for a, b in judged) / max(len(judged), 1)
    total_s = time.monotonic() - t_all
    result = {
        "test_accuracy": metrics["test_accuracy"],
        "val_accuracy": metrics["val_accuracy"],
        "showcase_window_accuracy": win_acc,
        "windows_classified": summary.windows,
        "run_fps": summary.fps,
        "run_feature_cache": summary.feature_cache,
        "export_max_abs_diff": rep["max_abs_diff"],
        "seconds": {k: round(v, 1) for k, v in times.items()} | {"total": round(total_s, 1)},
        "files": {
            "model": str(root / "model" / "model.onnx"),
            "events": summary.events,
            "annotated_video": summary.video,
            "report": str(root / "run" / "report"),
        },
    }
    atomic_write_text(root / "demo.json", json.dumps(result, indent=2) + "\n")
    rows = [
        ("test accuracy (held-out clips)", f"{metrics['test_accuracy']:.1%}"),
        ("showcase window accuracy", f"{win_acc:.1%} of {len(judged)} windows inside one action"),
        ("windows classified", str(summary.windows)),
        (
            "run fps (decode+infer+encode)",
            f"{summary.fps:.0f}" + (" (per-frame feature cache)" if summary.feature_cache else ""),
        ),
        ("export parity (max |diff|)", f"{rep['max_abs_diff']:.1e}"),
        (
            "wall time",
            f"{total_s:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + ")",
        ),
        ("model", result["files"]["model"]),
        ("events", str(summary.events)),
        ("annotated video", str(summary.video)),
        ("training report", result["files"]["report"]),
    ]
    w = max(len(r[0]) for r in rows)
    print("\nedgeaction demo")
    print("-" * (w + 40))
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    return 0
