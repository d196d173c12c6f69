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


#: The demo's sizes: quick (a smoke test of the chain) and full.
QUICK = dict(classes=3, clips=8, epochs=2, frames=4, size=32, synth_size=48, synth_frames=8)
FULL = dict(classes=7, clips=100, epochs=30, frames=8, size=64, synth_size=96, synth_frames=16)


def run_demo(out: str, quick: bool = False) -> int:
    """Run synth → train → export → run into `out`; write `demo.json`, print a summary.

    Args:
        out: Path. Output directory (created).
        quick: Boolean. Tiny sizes (seconds of training) instead of the full demo.
            Defaults to `False`.

    Returns:
        `0`.
    """
    from .train.trainer import keras_quiet

    keras_quiet()
    root = check_writable_dir(out, "demo output directory")
    cfg = QUICK if quick else FULL
    t_all = time.monotonic()
    times = {}

    _step(1, 4, f"synth: {cfg['classes']} actions x {cfg['clips']} clips")
    t = time.monotonic()
    _synth(root, cfg)
    times["synth"] = time.monotonic() - t

    _step(
        2,
        4,
        f"train: edge-tiny, T={cfg['frames']}, {cfg['size']}x{cfg['size']}, {cfg['epochs']} epochs",
    )
    t = time.monotonic()
    metrics = _train(root, cfg)
    times["train"] = time.monotonic() - t

    _step(3, 4, "export: Keras -> ONNX (tf2onnx) with the model contract, + encoder/head split")
    from .export import export_model

    t = time.monotonic()
    rep = export_model(root / "run", root / "model", split=True)
    times["export"] = time.monotonic() - t

    _step(4, 4, "run: GStreamer -> sliding windows -> ONNX Runtime -> events + annotated video")
    summary, timeline, times["run"] = _run_showcase(root, metrics["labels"])

    win_acc, judged = _window_accuracy(root / "events.jsonl", timeline)
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
    _print_summary(result, metrics, rep, summary, judged, times, total_s)
    return 0


def _synth(root, cfg: dict) -> None:
    """Synthesize the training clips into `root/data`, with a progress bar."""
    from tqdm.auto import tqdm

    from .synth import synthesize

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


def _train(root, cfg: dict) -> dict:
    """Train edge-tiny on `root/data` into `root/run`; its metrics."""
    from .synth import ACTIONS, mirror_map
    from .train.trainer import TrainConfig, train

    # The synthetic actions are designed to mirror: swipes swap, the rest keep their label.
    flip_pairs, flip_safe = mirror_map(ACTIONS[: cfg["classes"]])
    return train(
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


def _run_showcase(root, labels: list[str]):
    """Render the showcase video (every action in turn), run the model on it.

    Returns:
        `(run summary, the showcase's timeline of actions, seconds of the run itself)`.
    """
    from .pipelines import run_file
    from .synth import synthesize_sequence

    actions = [a for a in SHOWCASE if a in labels]
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
    return summary, timeline, time.monotonic() - t


def _window_accuracy(events_path, timeline: list[dict]) -> tuple[float, list]:
    """Share of the windows lying inside one action that got its label: `(acc, judged)`."""
    events = [json.loads(line) for line in open(events_path)]

    def truth(w):  # label of a window lying inside one action, else None
        for seg in timeline:
            if seg["start"] <= w[0] and w[1] < seg["end"]:
                return seg["label"]
        return None

    judged = [(truth(e["window"]), e["label"]) for e in events if truth(e["window"])]
    return sum(a == b for a, b in judged) / max(len(judged), 1), judged


def _print_summary(result, metrics, rep, summary, judged, times, total_s) -> None:
    """The closing table: accuracies, speed, parity, wall time and where the files are."""
    win_acc = result["showcase_window_accuracy"]
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
