"""The `edgeaction` command line (and `build-engine`).

Each subcommand is a small function over the library; heavy imports happen inside the
command that needs them, so `edgeaction run --help` starts fast and `run` never imports
TensorFlow. Every user error is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import EdgeActionError
from .fsutil import claim_outputs, command_outputs, os_error_line

# Kept here (not imported from train.models) so `edgeaction --help` never loads Keras;
# tests/train/test_models.py checks it matches train.models.ARCHS.
ARCH_NAMES = ("edge-tiny", "edge-mnv3", "seed-a", "seed-b", "pose-lstm", "hands", "rgb-hands")

TRAIN_EPILOG = """\
architectures (defaults: frames, size, optimizer, epochs, batch):
  edge-tiny   small CNN per frame + GRU/LSTM/SimpleRNN head   8, 64², Adam, 20, 16
  edge-mnv3   MobileNetV3-Small per frame + RNN head           8, 96², Adam, 20, 16
  seed-a      ResNet50 → Conv2D 64 2x2 → 2x SimpleRNN          16, 112², SGD, 20, 10
  seed-b      ConvLSTM2D frames + LSTM pose keypoints (fused)  20, 64², Adam, 20, 8
  pose-lstm   LSTM over MediaPipe pose keypoints only          30, -, Adam, 50, 16
  hands       Conv1D + BiLSTM over MediaPipe hand features     32, -, Adam, 80, 16
  rgb-hands   edge-tiny frames + the hands branch (fused)      16, 64², Adam, 40, 8
  seed-a and edge-mnv3 start from ImageNet weights (--weights), frozen; --fine-tune N then
  trains the backbone's top N layers at lr/10. The ImageNet file must be in Keras' cache.

examples:
  edgeaction train data/ --out runs/a                      # class folders, edge-tiny
  edgeaction train --arch seed-a --describe                # layers, params, FLOPs
  edgeaction keypoints data/ --kind hands --out hands/ && edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
  edgeaction keypoints data/ --kind pose --out pose/ && edgeaction train data/ --arch seed-b --keypoints pose/ --out runs/b
  edgeaction train data/ --arch edge-mnv3 --fine-tune 10 --out runs/m  # ImageNet backbone
  edgeaction train data/ --out runs/a --flip-pairs left:right --flip-safe wave  # mirror map
  edgeaction train data/ --out runs/a --epochs 40 --resume # train on from the last epoch
"""

EPILOG = """\
typical use:
  edgeaction synth data/ --classes 7 --clips-per-class 40      # or bring your own clips
  edgeaction train data/ --arch edge-tiny --out runs/a
  edgeaction evaluate runs/a heldout/ --split all             # report: accuracy, confusion, F1
  edgeaction export runs/a --out models/a --fp16 --split       # ONNX + contract, parity-gated
  edgeaction check models/a/model.onnx                         # TensorRT pre-flight, no GPU
  edgeaction run models/a/model.onnx --source clip.mp4 --events ev.jsonl --out-video ann.mp4
  edgeaction demo                                              # all of the above, on CPU

gestures (hand keypoints): edgeaction keypoints data/ --kind hands --out hands/
  && edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
"""


RUN_EPILOG = """\
examples:
  edgeaction run model/ --source clip.mp4 --events ev.jsonl --out-video ann.mp4
  edgeaction run model/ --source rtsp://cam1/stream --source rtsp://cam2/stream \\
      --events ev.jsonl --smooth 3 --metrics m.json
  edgeaction run model/ --source test://ball --source test://snow --duration 30 -q

events: one JSON object per line; windows give stream, source, pts, frame, window,
label, score, top_k, model; stream notices give stream, source, event (gap, resumed,
error) and details.
"""


def _status_line(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def _progress(desc: str, total: int):
    from tqdm.auto import tqdm

    bars = []  # created on the first step, so argument errors print no empty bar

    def step(done, _total):
        if not bars:
            bars.append(tqdm(total=total, desc=desc, unit="clip", leave=False))
        bars[0].update(done - bars[0].n)
        if done >= _total:
            bars[0].close()

    return step


# ---- commands ------------------------------------------------------------------------------
def cmd_synth(a) -> int:
    from .synth import ACTIONS, flip_options, synthesize

    t = time.monotonic()
    m = synthesize(
        a.out,
        a.classes,
        a.clips_per_class,
        a.frames,
        a.size,
        a.seed,
        a.fps,
        progress=_progress("synth", a.classes * a.clips_per_class),
    )
    print(f"wrote {a.classes * a.clips_per_class} clips and {m} in {time.monotonic() - t:.1f} s")
    flip = flip_options(ACTIONS[: a.classes])
    print(f"these actions mirror; to flip-augment, train with: {' '.join(flip)}")
    return 0


def cmd_train(a) -> int:
    from .train.trainer import TrainConfig, keras_quiet

    keras_quiet()
    if a.describe:
        return _describe(a)
    if a.data is None or a.out is None:
        raise EdgeActionError("train needs DATA and --out (or --describe to list the layers)")
    from .train.trainer import parse_flip_pairs, parse_labels, train

    pairs, safe = parse_flip_pairs(a.flip_pairs), parse_labels(a.flip_safe)
    if a.no_flip and (pairs or safe):
        raise EdgeActionError(
            "--no-flip contradicts --flip-pairs/--flip-safe; give one or the other"
        )
    if a.no_flip:
        logging.getLogger("edgeaction").warning(
            "--no-flip is the default now (no flip unless --flip-pairs/--flip-safe); drop it"
        )
    m = train(
        TrainConfig(
            data=a.data,
            out=a.out,
            arch=a.arch,
            frames=a.frames,
            size=a.size,
            epochs=a.epochs,
            batch=a.batch,
            lr=a.lr,
            seed=a.seed,
            head=a.head,
            layout=a.layout,
            keypoints_dir=a.keypoints,
            augment=not a.no_augment,
            weights=a.weights,
            fine_tune=a.fine_tune,
            fine_tune_epochs=a.fine_tune_epochs,
            policy=a.short_clips,
            flip_pairs=pairs,
            flip_safe=safe,
            class_weight=a.class_weight,
            max_bad_fraction=a.max_bad,
            patience=a.patience,
            keep=a.keep,
            resume=a.resume,
            tensorboard=a.tensorboard,
            distribute=a.distribute,
            verbose=1 if sys.stdout.isatty() else 2,
            name=a.name,
            allow_outside_root=a.allow_outside_root,
        )
    )
    test = m["test_accuracy"]
    print(
        f"test accuracy {'n/a' if test is None else f'{test:.3f}'}, "
        f"val accuracy {m['val_accuracy']:.3f} ({m['bad_clips']} bad clips); "
        f"wrote {a.out}/model.keras, contract.json, report/"
    )
    return 0


def _describe(a) -> int:
    from .contract import ModelContract
    from .train.describe import describe
    from .train.models import arch_spec

    spec = arch_spec(a.arch)
    if a.classes < 2:
        raise EdgeActionError(f"--classes must be >= 2. Received: {a.classes}")
    size = a.size or spec.size
    contract = ModelContract(
        name=a.arch,
        labels=tuple(f"class{i}" for i in range(a.classes)),
        frames=a.frames or spec.frames,
        height=size,
        width=size,
        modality=spec.modality,
        pose_name=spec.keypoint_input,
    )
    kw = {"head": a.head}
    if a.weights is not None:  # without: random init, the structure is the same
        kw["weights"] = a.weights
    print(json.dumps(describe(a.arch, contract, **kw), indent=2))
    return 0


def cmd_export(a) -> int:
    from .train.trainer import keras_quiet

    keras_quiet()
    from .datasets import outside_root_allowed
    from .export import export_model

    if a.unsafe_keras:  # read by the converter child process (export/_convert.py)
        os.environ["EDGEACTION_UNSAFE_KERAS"] = "1"
    with outside_root_allowed(a.allow_outside_root):
        export_model(
            a.run,
            a.out,
            opset=a.opset,
            data=a.data,
            pose_dir=a.keypoints,
            fp16=a.fp16,
            split=a.split,
        )
    if a.triton:
        from .contract import ModelContract
        from .export.triton import write_triton_repo

        out = Path(a.out)
        model_dir = write_triton_repo(out / "model.onnx", ModelContract.load(out), a.triton)
        print(f"wrote Triton model {model_dir} (config.pbtxt, labels.txt, 1/model.onnx)")
    return 0


def cmd_evaluate(a) -> int:
    from .evaluate import evaluate
    from .report import worst_classes

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


def cmd_compare(a) -> int:
    from .compare import compare, format_table

    claim_outputs({"--json": a.json, "--plot": a.plot}, {"A": a.model_a, "B": a.model_b})
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


KEYPOINTS_EPILOG = """\
kinds (values per frame):
  pose        MediaPipe Pose: 33 landmarks x, y (0..1 of the frame), z, visibility (132);
              all zeros in a frame without a person
  hands       MediaPipe Hands: 2 hand slots x (21 landmarks x, y, z, present, right,
              score) (132); an empty slot has present 0 (frames without a hand are
              explicit, never zeros that read as a hand in the corner)
  pose+hands  both (264)

writes into --out (one directory per kind):
  <clip key>.npz  keypoints (frames, values) float32 per clip, the kind, the source path,
                  size and mtime, the frame count, the MediaPipe version and model
  index.json      kind; clip key -> npz file, label, split, frames, frames_found

Every frame is decoded by the reader training uses (at the source size, scaled to at
most 640 px wide), so keypoints i belong to frame i of the clip. Clips whose cache entry
is up to date (same kind, file size and mtime) are skipped; --force extracts them again.
Unreadable clips are skipped with a warning; clips where nothing was found in any frame
are listed. Needs mediapipe==0.10.21, the last release that ships its models offline
(extra 'pose', then `pip install --no-deps mediapipe==0.10.21`; scripts/setup.sh does
both). Never loads TensorFlow. `pose-extract` is `keypoints --kind pose`.

examples:
  edgeaction keypoints data/ --kind hands --out hands/
  edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
  edgeaction keypoints data/ --kind pose --out pose/     # = edgeaction pose-extract data/ --out pose/
"""


def cmd_keypoints(a) -> int:
    from .keypoints import extract_dataset

    s = extract_dataset(
        a.data,
        a.out,
        kind=a.kind,
        layout=a.layout,
        progress=True,
        force=a.force,
        allow_outside_root=a.allow_outside_root,
        max_hands=a.max_hands,
    )
    speed = f"{s['fps']:.0f} fps" if s["fps"] else "all cached"
    what = "a person" if a.kind == "pose" else "a hand" if a.kind == "hands" else "a find"
    print(
        f"keypoints ({a.kind}): {s['clips']} clips ({s['extracted']} extracted, {s['cached']} "
        f"cached, {len(s['bad'])} unreadable), {s['frames']} frames, "
        f"{100 * s['found_rate']:.1f} % with {what}, {s['seconds']:.1f} s ({speed}); "
        f"wrote {s['index']}"
    )
    return 0


def cmd_run(a) -> int:
    import signal

    from .pipelines import RunOptions, Runtime

    if a.events is None and a.out_video is None:
        a.events = "-"
    platform = a.platform
    if platform == "auto":
        platform = "jetson" if Path("/etc/nv_tegra_release").exists() else "cpu"
    opts = RunOptions(
        stride=a.stride,
        subsample=a.subsample,
        max_batch=a.max_batch,
        batch_timeout_ms=a.batch_timeout_ms,
        emit=a.emit,
        smooth=a.smooth,
        smooth_mode=a.smooth_mode,
        feature_cache=a.feature_cache,
        top_k=a.top_k,
        capacity=a.queue,
        duration_s=a.duration,
        reconnect=not a.no_reconnect,
        platform=platform,
        decode_nice=a.decode_nice,
    )

    def log(msg: str) -> None:
        _status_line("")
        print(f"{a.prog}: {msg}", file=sys.stderr)

    def status(m: dict) -> None:
        if a.quiet:
            return
        parts = [
            f"{s['stream']}:{s['state'][:4]} {s['fps']:.0f}fps"
            + (f" drop {s['dropped']}" if s["dropped"] else "")
            for s in m["streams"]
        ]
        _status_line(
            f"{m['seconds']:.0f}s {m['frames']} frames {m['windows']} windows "
            f"{m['fps']:.0f} fps | " + " ".join(parts)
        )

    rt = Runtime(
        a.model,
        a.source,
        events=a.events,
        out_video=a.out_video,
        metrics=a.metrics,
        backend=a.backend,
        cache_dir=a.cache_dir,
        fp16=a.fp16,
        options=opts,
        status=status,
        log=log,
    )

    def stop(signum, _frame):  # first signal: finish cleanly; a second one interrupts
        rt.request_stop(signal.Signals(signum).name)
        signal.signal(signum, signal.default_int_handler)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        m = rt.run()
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    _status_line("")
    lat = m.get("latency_ms", {})

    def pct(k: str) -> str:
        v = lat.get(k)
        return f"{k} p50 {v['p50']:.1f} / p99 {v['p99']:.1f} ms" if v else ""

    for s in m["streams"]:
        extra = f", {s['dropped']} dropped" if s["dropped"] else ""
        extra += f", {s['reconnects']} reconnects" if s["reconnects"] else ""
        end = f" ({s['error']})" if s["error"] else ""
        print(
            f"stream {s['stream']} {s['source']}: {s['state']}, {s['frames']} frames, "
            f"{s['windows']} windows, {s['fps']:.0f} fps{extra}{end}",
            file=sys.stderr,
        )
    steps = ", ".join(
        x for x in map(pct, ("infer", "encode", "head", "keypoints", "features", "window")) if x
    )
    cache = " (feature cache)" if m["feature_cache"] else ""
    print(
        f"{len(m['streams'])} streams, {m['frames']} frames, {m['windows']} windows, "
        f"{m['events']} events in {m['seconds']:.1f} s: {m['fps']:.0f} fps, "
        f"batch {m['mean_batch']:.1f}{cache}; {steps}"
        + (f"; stopped by {m['stopped_by']}" if m["stopped_by"] else ""),
        file=sys.stderr,
    )
    return 0


def cmd_demo(a) -> int:
    from .demo import run_demo

    return run_demo(a.out, quick=a.quick)


CHECK_EPILOG = """\
checks (blocker: the build fails; warning: it builds, check it; info):
  valid ONNX        onnx.checker and strict shape inference                  blocker
  opset             default-domain opset in TensorRT's range (10: 9..20,     blocker
                    11: 9..25); custom domains need a TensorRT plugin
  operators         every op, Loop/If/Scan bodies included, against          blocker
                    ONNX-TensorRT's docs/operators.md (shipped with edgeaction)
  input shapes      dynamic T/H/W (only batch gets an optimisation profile)  blocker
  data types        float64 anywhere; INT64 values beyond INT32              blocker
  control flow      Loop/Scan/If run on TensorRT's loop/conditional layers   warning
                    (tf2onnx writes Loop for GRU/SimpleRNN/ConvLSTM2D)
  INT64 weights     cast down to INT32 where a layer lacks INT64             warning
  newer ops         ops added after JetPack 6's TensorRT 10.3                warning
  --trt 11          strongly typed: a float32 graph builds an FP32 engine    info

exit status: 0 when nothing blocks a build, 1 when something does (or the file is not
ONNX). Needs the onnx package only: no GPU, no TensorRT, no TensorFlow.

examples:
  edgeaction check models/a/model.onnx                 # against TensorRT 10 (Jetson)
  edgeaction check models/a --trt 11 --json check.json # export dir, TensorRT 11, JSON
"""


def cmd_check(a) -> int:
    from .export.check import format_table, preflight

    claim_outputs({"--json": a.json}, {"MODEL": a.model})
    r = preflight(a.model, trt_major=a.trt)
    if a.json:
        from .fsutil import atomic_write_text

        atomic_write_text(a.json, json.dumps(r.to_dict(), indent=2) + "\n", "--json file")
    print(format_table(r))
    return 0 if r.ready else 1


BUILD_ENGINE_DESCRIPTION = (
    "Compile an ONNX model from `edgeaction export` into a TensorRT engine with a "
    "dynamic-batch optimisation profile, FP16 by default."
)
BUILD_ENGINE_EPILOG = """\
T, H, W (and the pose input) come from the model's contract; only the batch axis gets
the MIN:OPT:MAX profile. Written atomically: ENGINE and ENGINE.json (contract, TensorRT
version, GPU and compute capability or DLA core, precision, profile, ONNX and engine
sha256, build seconds), which `run`/`bench`/`evaluate` check before TensorRT reads the
engine. FP16: a builder flag up to TensorRT 10.11; from 10.12 (and on 11.x, which has no
flag) a strongly typed network over model_fp16.onnx from `export --fp16`, or over a
float16 conversion made here and compared with float32 under ONNX Runtime first.
Needs TensorRT and an NVIDIA GPU (exit 2 with one line without them).

examples:
  build-engine models/a/model.onnx                              # FP16, batch 1:4:8
  build-engine models/a --batch 1:8:16 --timing-cache trt.cache --workspace 2048
  build-engine models/a --dla-core 0 --gpu-fallback             # Jetson Xavier/Orin DLA
  build-engine models/a/encoder.onnx --batch 1:8:16             # one part of a --split
  edgeaction run models/a --backend tensorrt --source cam.mp4   # builds once, cached
"""

BENCH_EPILOG = """\
for each --batch size: random clips in the contract's layout and dtype, --warmup-ms of
untimed calls, then at least --duration-s seconds AND at least --iterations calls, each
timed (trtexec's --warmUp/--duration/--iterations). Per batch: throughput (qps, clips/s,
frames/s = clips x T), latency min/max/mean/median/percentiles, runs; runner-measured
stages (H2D, GPU compute, D2H on TensorRT) when the runner reports them. Batch sizes
above the model's maximum batch are skipped with a note. Never loads TensorFlow.

examples:
  edgeaction bench models/a/model.onnx                         # batch 1, 3 s
  edgeaction bench models/a --batch 1,4,8 --json b.json --plot b.png
  edgeaction bench models/a --end-to-end clip.mp4              # + decode and normalise
"""


def cmd_bench(a) -> int:
    from .engine.bench import (
        benchmark,
        format_summary,
        parse_batches,
        parse_percentiles,
        plot_bench,
        write_json,
    )
    from .fsutil import check_writable_file

    claim_outputs(
        {"--json": a.json, "--plot": a.plot}, {"MODEL": a.model, "--end-to-end": a.end_to_end}
    )
    batches = parse_batches(a.batch)
    pct = parse_percentiles(a.percentiles)
    for path in (a.json, a.plot):
        if path:
            check_writable_file(path)
    if a.plot:
        from .report import preload

        preload()
    r = benchmark(
        a.model,
        backend=a.backend,
        cache_dir=a.cache_dir,
        fp16=a.fp16,
        batches=batches,
        warmup_ms=a.warmup_ms,
        duration_s=a.duration_s,
        iterations=a.iterations,
        percentiles=pct,
        end_to_end=a.end_to_end,
        progress=_status_line,
    )
    _status_line("")
    print(format_summary(r))
    if a.json:
        write_json(a.json, r)
        print(f"wrote {a.json}")
    if a.plot:
        plot_bench(a.plot, r)
        print(f"wrote {a.plot}")
    return 0


def cmd_build_engine(a) -> int:
    from .engine.trt_build import build_engine

    claim_outputs(
        {"--out": a.out, "--timing-cache": a.timing_cache, "--layer-info": a.layer_info},
        {"MODEL": a.model},
    )
    build_engine(
        a.model,
        out=a.out,
        fp16=a.fp16,
        batch=a.batch,
        workspace_mib=a.workspace,
        timing_cache=a.timing_cache,
        opt_level=a.opt_level,
        dla_core=a.dla_core,
        gpu_fallback=a.gpu_fallback,
        verbose=a.verbose or getattr(a, "trt_verbose", False),
        layer_info=a.layer_info,
    )
    return 0


# ---- parser --------------------------------------------------------------------------------
def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number. Received: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1. Received: {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgeaction",
        description="Video action/gesture recognition: Keras training → ONNX → TensorRT → GStreamer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"edgeaction {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "synth", help="render synthetic stick-figure action clips (MP4) + split manifest"
    )
    s.add_argument("out", help="output directory (OUT/<label>/<clip>.mp4, OUT/manifest.csv)")
    s.add_argument(
        "--classes", type=_positive_int, default=7, help="number of actions, 2..7 (default 7)"
    )
    s.add_argument(
        "--clips-per-class", type=_positive_int, default=40, help="clips per action (default 40)"
    )
    s.add_argument("--frames", type=_positive_int, default=16, help="frames per clip (default 16)")
    s.add_argument(
        "--size", type=_positive_int, default=96, help="frame width and height (default 96)"
    )
    s.add_argument(
        "--seed", type=int, default=0, help="random seed; same seed, same clips (default 0)"
    )
    s.add_argument(
        "--fps", type=float, default=15.0, help="frame rate written to the files (default 15)"
    )
    s.set_defaults(fn=cmd_synth)

    t = sub.add_parser(
        "train",
        help="train a clip classifier (or --describe an architecture)",
        description="Decode a labelled data set with the runtime's reader, train an "
        "architecture and write RUN/ (model.keras, contract.json, report/ with curves, "
        "confusion matrix, per-class precision/recall/F1, metrics.json). Frames, size, "
        "epochs, batch and learning rate default to the architecture's own (see --describe).",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument(
        "data",
        nargs="?",
        help="data set: class folders <label>/<clip>.mp4, a frame-folder CSV "
        "(folder;label;index) or its directory with train.csv/val.csv, or a manifest CSV "
        "path,label[,start,end][,split]",
    )
    t.add_argument(
        "--arch",
        default="edge-tiny",
        choices=list(ARCH_NAMES),
        help="architecture (default edge-tiny)",
    )
    t.add_argument(
        "--describe",
        action="store_true",
        help="print the architecture's layers, parameters and FLOPs per clip as JSON and exit",
    )
    t.add_argument(
        "--classes", type=int, default=5, help="classes assumed by --describe (default 5)"
    )
    t.add_argument(
        "--layout",
        choices=["folders", "frames", "manifest"],
        help="data layout (default: detected)",
    )
    t.add_argument("--frames", type=_positive_int, help="frames per clip, T (default: the arch's)")
    t.add_argument("--size", type=_positive_int, help="frame size in pixels (default: the arch's)")
    t.add_argument("--epochs", type=_positive_int, help="epochs (default: the arch's)")
    t.add_argument("--batch", type=_positive_int, help="batch size (default: the arch's)")
    t.add_argument("--lr", type=float, help="learning rate (default: the arch's)")
    t.add_argument(
        "--head",
        choices=["gru", "lstm", "simplernn"],
        help="RNN head of the edge archs (default gru)",
    )
    t.add_argument(
        "--keypoints",
        "--pose",
        dest="keypoints",
        type=Path,
        metavar="DIR",
        help="keypoint cache from `edgeaction keypoints DATA --kind KIND --out DIR`, of the "
        "kind the arch reads (hands: hands; seed-b, pose-lstm: pose); --pose is an alias",
    )
    t.add_argument(
        "--no-augment",
        action="store_true",
        help="keypoint models: no random time warp, rotation (±15°), scale (±15 %%) or shift "
        "(±8 %%) of the keypoints in training",
    )
    t.add_argument(
        "--weights",
        metavar="imagenet|none|FILE",
        help="seed-a (ResNet50) and edge-mnv3 (MobileNetV3-Small) backbone weights: imagenet "
        "(default; the file must already be in the Keras cache, it is never downloaded), none "
        "(random init, the whole backbone trains from the start), or a Keras weights file. "
        "Pretrained weights are frozen: the head trains (see --fine-tune)",
    )
    t.add_argument(
        "--fine-tune",
        type=int,
        default=0,
        metavar="N",
        help="after the --epochs with a frozen backbone, unfreeze its top N layers with "
        "weights (BatchNorm stays frozen) and train --fine-tune-epochs more at lr/10 "
        "(default 0: no fine-tuning; not with --weights none)",
    )
    t.add_argument(
        "--fine-tune-epochs",
        type=_positive_int,
        default=10,
        metavar="E",
        help="epochs of the --fine-tune phase (default 10)",
    )
    t.add_argument(
        "--short-clips",
        choices=["loop", "pad"],
        default="loop",
        help="clips shorter than T: loop them or repeat the last frame (default loop)",
    )
    t.add_argument("--seed", type=int, default=0, help="seed for split, init and augmentation")
    t.add_argument(
        "--flip-pairs",
        metavar="A:B,...",
        help="turn on the horizontal-flip augmentation: label pairs a mirror image swaps "
        "(e.g. left:right,swipe_left:swipe_right); a flipped clip of A is labelled B",
    )
    t.add_argument(
        "--flip-safe",
        metavar="LABEL,...",
        help="turn on the horizontal flip for these mirror-symmetric classes (they keep "
        "their label). Classes in neither option are never flipped (logged); the default "
        "is no flip at all, since a mirror turns e.g. a clockwise circle into a "
        "counter-clockwise one",
    )
    t.add_argument(
        "--no-flip",
        action="store_true",
        help="deprecated no-op: flipping is off unless --flip-pairs/--flip-safe",
    )
    t.add_argument(
        "--class-weight",
        choices=["auto", "none"],
        default="auto",
        help="auto: weight the loss by inverse class frequency when the largest training "
        "class has more than 1.5x the clips of the smallest (default auto)",
    )
    t.add_argument(
        "--max-bad",
        type=float,
        default=0.05,
        help="stop when more than this fraction of clips cannot be decoded (default 0.05)",
    )
    t.add_argument(
        "--patience", type=int, default=0, help="early-stopping patience in epochs (0: off)"
    )
    t.add_argument(
        "--keep",
        choices=["best", "last"],
        help="which epoch becomes model.keras: the best validation accuracy, or the last "
        "one (default: the arch's; hands keeps the last: with a validation split of a few "
        "clips per class the best is often a lucky early epoch)",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue RUN from its last checkpoint (same settings)",
    )
    t.add_argument(
        "--tensorboard", action="store_true", help="write TensorBoard logs to RUN/tensorboard"
    )
    t.add_argument(
        "--distribute",
        action="store_true",
        help="train under tf.distribute.MirroredStrategy (all local GPUs; see README for several machines)",
    )
    t.add_argument(
        "--name", help="model name used in events and engines (default: the --out folder name)"
    )
    t.add_argument("--out", type=Path, help="run directory to write")
    _outside_root_arg(t)
    t.set_defaults(fn=cmd_train)

    e = sub.add_parser("export", help="export a trained run to ONNX with its contract")
    e.add_argument("run", help="run directory from `edgeaction train` (or a model.keras)")
    e.add_argument("--out", required=True, help="output directory (model.onnx, contract.json)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset 13..18 (default 17)")
    e.add_argument(
        "--triton",
        type=Path,
        metavar="DIR",
        help="also write a Triton Inference Server model repository: DIR/<name>/config.pbtxt, "
        "labels.txt, 1/model.onnx",
    )
    e.add_argument(
        "--data",
        metavar="DATA",
        help="check parity on held-out clips of this data set (its test split, else val; "
        "default: seeded random inputs)",
    )
    e.add_argument(
        "--keypoints",
        "--pose",
        dest="keypoints",
        type=Path,
        metavar="DIR",
        help="keypoint cache of --data from `edgeaction keypoints` (keypoint models; default: "
        "extracted on the fly); --pose is an alias",
    )
    e.add_argument(
        "--fp16",
        action="store_true",
        help="also write model_fp16.onnx (float16 inside, float32 inputs/outputs), checked "
        "against float32",
    )
    e.add_argument(
        "--split",
        action="store_true",
        help="also write encoder.onnx (per frame) and head.onnx (over T features) for "
        "streaming (edge-tiny, edge-mnv3, seed-a)",
    )
    _outside_root_arg(e)
    _unsafe_keras_arg(e)
    e.set_defaults(fn=cmd_export)

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
        help="run directory or model.keras (contract.json beside it), export directory or "
        ".onnx file, or a TensorRT engine",
    )
    v.add_argument("data", help="labelled data set (any layout `edgeaction train` reads)")
    v.add_argument(
        "--out", type=Path, metavar="DIR", help="report directory (default <model dir>/eval-<data>)"
    )
    _dataset_args(v, "score")
    v.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "keras", "onnxruntime", "tensorrt"],
        help="runner (default: from the model file)",
    )
    v.set_defaults(fn=cmd_evaluate)

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
        metavar="A",
        help="reference model: run directory or .keras, export directory or .onnx, or engine",
    )
    cp.add_argument(
        "model_b", metavar="B", help="model to check against A (e.g. model_fp16.onnx, engine)"
    )
    cp.add_argument(
        "--data", required=True, metavar="DIR", help="labelled data set (any layout train reads)"
    )
    cp.add_argument("--json", metavar="FILE", help="also write the full result as JSON to FILE")
    cp.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw per-class disagreement and the per-clip |Δ| histogram (PNG)",
    )
    _dataset_args(cp, "compare")
    cp.set_defaults(fn=cmd_compare)

    for verb in ("keypoints", "pose-extract"):
        alias = verb == "pose-extract"
        x = sub.add_parser(
            verb,
            help="the same as `keypoints --kind pose`"
            if alias
            else "extract MediaPipe pose / hand keypoints of every clip of a data set into a cache",
            description="Run MediaPipe Pose and/or Hands on every frame of every clip of DATA "
            "and cache the raw keypoints for keypoint models "
            "(`edgeaction train --keypoints DIR`).",
            epilog=KEYPOINTS_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        x.add_argument("data", help="labelled data set (any layout `edgeaction train` reads)")
        x.add_argument("--out", type=Path, required=True, help="cache directory to write")
        if alias:
            x.set_defaults(kind="pose", max_hands=2)
        else:
            x.add_argument(
                "--kind",
                choices=["pose", "hands", "pose+hands"],
                required=True,
                help="what to extract (see below)",
            )
            x.add_argument(
                "--max-hands",
                type=int,
                choices=[1, 2],
                default=2,
                help="hands MediaPipe looks for (default 2). 1 for one-handed gestures: with "
                "2 and one hand in view the palm detector runs on every frame, about half "
                "the speed here and live; models trained on the cache extract the same way",
            )
        x.add_argument(
            "--layout",
            choices=["folders", "frames", "manifest"],
            help="data layout (default: detected)",
        )
        x.add_argument("--force", action="store_true", help="extract again even if cached")
        _outside_root_arg(x)
        x.set_defaults(fn=cmd_keypoints)

    r = sub.add_parser(
        "run",
        help="classify sliding windows of video streams; JSON-lines events + annotated MP4",
        description="Decode every --source with GStreamer (each in its own pipeline), keep a "
        "window of T frames per stream, classify the ready windows of all streams in one "
        "batched runner call, and write one JSON line per event (stream, source, pts, frame, "
        "window, label, score, top_k, model). A stream that ends or fails is reported and "
        "the rest go on; Ctrl-C or SIGTERM finishes cleanly (events flushed, videos "
        "finalised). Exit status is non-zero only if no stream could run.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument(
        "model", help="ONNX model or export directory from `edgeaction export`, or an engine"
    )
    r.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="SOURCE",
        help="video file, rtsp://[user:pass@]host/path, v4l2:///dev/videoN, csi://N (Jetson), "
        "test://PATTERN[?fps=30&width=320&height=240&frames=N&live=0]; repeat for more streams",
    )
    r.add_argument("--events", help="JSON-lines output file ('-' for stdout; default stdout)")
    r.add_argument(
        "--out-video",
        help="annotated MP4 (one source), or a directory / NAME.mp4 (NAME-N.mp4 per stream)",
    )
    r.add_argument("--metrics", help="write the run's figures as JSON here on exit")
    r.add_argument(
        "--stride", type=_positive_int, help="frames between windows (default: the contract's)"
    )
    r.add_argument(
        "--subsample", type=_positive_int, help="keep every n-th frame (default: the contract's)"
    )
    r.add_argument(
        "--max-batch",
        type=_positive_int,
        help="windows per runner call across streams (default 8, capped by the engine)",
    )
    r.add_argument(
        "--batch-timeout-ms",
        type=float,
        default=20.0,
        help="longest a ready window waits for its batch to fill (default 20)",
    )
    r.add_argument(
        "--emit",
        choices=["change", "every"],
        default="change",
        help="an event on each label change per stream (default) or for every window",
    )
    r.add_argument(
        "--smooth",
        type=_positive_int,
        default=1,
        help="smooth labels over N windows so they don't flicker (default 1: off)",
    )
    r.add_argument(
        "--smooth-mode",
        choices=["majority", "ema"],
        default="majority",
        help="majority vote of the last N labels, or an EMA of the probabilities",
    )
    r.add_argument(
        "--feature-cache",
        choices=["auto", "on", "off"],
        default="auto",
        help="run the encoder once per frame and the head per window (needs `export --split`; "
        "auto: when encoder.onnx/head.onnx are present and windows overlap)",
    )
    r.add_argument("--top-k", type=_positive_int, default=3, help="labels in each event's top_k")
    r.add_argument("--duration", type=float, help="stop after this many seconds")
    r.add_argument(
        "--queue",
        type=_positive_int,
        default=16,
        help="decoded frames queued per stream; live streams drop beyond it (default 16)",
    )
    r.add_argument(
        "--no-reconnect", action="store_true", help="do not reconnect lost RTSP/camera streams"
    )
    r.add_argument(
        "--decode-nice",
        type=int,
        choices=range(0, 20),
        metavar="N",
        help="run decoding threads N nicer than inference, so a saturated machine classifies "
        "what it decoded rather than decoding more (default: 0 for one stream, 10 for several)",
    )
    r.add_argument(
        "--platform",
        choices=["auto", "cpu", "jetson"],
        default="auto",
        help="decode elements: Jetson hardware (nvv4l2decoder, nvvidconv) or CPU (default: detect)",
    )
    r.add_argument(
        "--backend", default="onnxruntime", choices=["onnxruntime", "tensorrt"], help="runner"
    )
    r.add_argument(
        "--cache-dir",
        type=Path,
        help="TensorRT engine cache for an .onnx model with --backend tensorrt "
        "(default ~/.cache/edgeaction/engines; key: model, TensorRT, GPU, precision, profile)",
    )
    _trt_precision_arg(r, "profile 1:STREAMS:MAX-BATCH (encoder 1:STREAMS:2xMAX-BATCH)")
    r.add_argument("-q", "--quiet", action="store_true", help="no live status line")
    r.set_defaults(fn=cmd_run, prog="edgeaction run")

    k = sub.add_parser(
        "check",
        help="TensorRT pre-flight of an ONNX model without a GPU: ops, opset, shapes, dtypes",
        description="Check an ONNX model against what TensorRT's ONNX parser and builder "
        "accept, without a GPU or TensorRT: print one row per finding (blocker, warning, "
        "info) and a summary line, e.g. '0 blockers, 1 warning: ready for TensorRT 10'.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k.add_argument("model", help="ONNX model, or an export directory holding model.onnx")
    k.add_argument(
        "--trt",
        type=int,
        choices=[10, 11],
        default=10,
        help="TensorRT major version to check against (default 10, as on Jetson/JetPack 6)",
    )
    k.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    k.set_defaults(fn=cmd_check)

    d = sub.add_parser("demo", help="synth → train → export → run, end to end on the CPU")
    d.add_argument("--out", default="demo-out", help="output directory (default ./demo-out)")
    d.add_argument("--quick", action="store_true", help="tiny data and 2 epochs (a smoke test)")
    d.set_defaults(fn=cmd_demo)

    bn = sub.add_parser(
        "bench",
        help="benchmark a model like trtexec: throughput and latency per batch size",
        description="Time a model's runner at several batch sizes and print a trtexec-shaped "
        "performance summary per batch plus a table; optionally write JSON (with the machine's "
        "CPU, GPU, Jetson power mode and library versions) and a latency/throughput plot.",
        epilog=BENCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bn.add_argument("model", help="ONNX model or export directory (or a TensorRT engine)")
    bn.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "onnxruntime", "tensorrt"],
        help="runner (default auto: tensorrt for .engine/.plan files, else onnxruntime)",
    )
    bn.add_argument(
        "--cache-dir",
        type=Path,
        help="TensorRT engine cache for an .onnx model with --backend tensorrt "
        "(default ~/.cache/edgeaction/engines; key: model, TensorRT, GPU, precision, profile)",
    )
    _trt_precision_arg(bn, "profile MIN:MAX:MAX of --batch")
    bn.add_argument(
        "--batch", default="1", metavar="N[,N...]", help="batch sizes, e.g. 1,4,8 (default 1)"
    )
    bn.add_argument(
        "--warmup-ms", type=float, default=200.0, help="untimed warm-up per batch (default 200)"
    )
    bn.add_argument(
        "--duration-s", type=float, default=3.0, help="minimum timed seconds per batch (default 3)"
    )
    bn.add_argument(
        "--iterations",
        type=_positive_int,
        default=10,
        help="minimum timed inferences per batch (default 10)",
    )
    bn.add_argument(
        "--percentiles",
        default="90,95,99",
        metavar="P[,P...]",
        help="latency percentiles to report (default 90,95,99)",
    )
    bn.add_argument(
        "--end-to-end",
        metavar="CLIP",
        help="also time GStreamer decode + normalise + infer of this video, batch 1",
    )
    bn.add_argument("--json", metavar="FILE", help="write all figures as JSON here")
    bn.add_argument("--plot", metavar="FILE.png", help="write latency and throughput plots here")
    bn.set_defaults(fn=cmd_bench)

    b = sub.add_parser(
        "build-engine",
        help="compile an ONNX model into a TensorRT engine (needs TensorRT)",
        description=BUILD_ENGINE_DESCRIPTION,
        epilog=BUILD_ENGINE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _engine_args(b)

    from .jetson.cli import add_commands

    add_commands(sub)
    return p


def _dataset_args(p: argparse.ArgumentParser, verb: str) -> None:
    """--layout, --split, --pose, --batch, --seed, --allow-outside-root and --unsafe-keras,
    as `evaluate` and `compare` take them."""
    p.add_argument(
        "--layout",
        choices=["folders", "frames", "manifest"],
        help="data layout (default: detected)",
    )
    p.add_argument(
        "--split",
        choices=["test", "val", "train", "all"],
        default="test",
        help=f"clips to {verb} (default test); a data set without a split gets the stratified "
        "split of --seed, as in training",
    )
    p.add_argument(
        "--keypoints",
        "--pose",
        dest="keypoints",
        type=Path,
        metavar="DIR",
        help="keypoint cache from `edgeaction keypoints` (keypoint models; default: extracted "
        "on the fly with MediaPipe); --pose is an alias",
    )
    p.add_argument(
        "--batch",
        type=_positive_int,
        default=8,
        metavar="N",
        help="clips per inference call (default 8)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the stratified split (default 0, as train)"
    )
    _outside_root_arg(p)
    _unsafe_keras_arg(p)


def _outside_root_arg(p: argparse.ArgumentParser) -> None:
    """--allow-outside-root: read data set rows that resolve outside the data set root."""
    p.add_argument(
        "--allow-outside-root",
        action="store_true",
        help="read clips that resolve outside the data set root (rows with ../ or absolute "
        "paths, symbolic links out of it); refused by default, naming the row",
    )


def _unsafe_keras_arg(p: argparse.ArgumentParser) -> None:
    """--unsafe-keras: load .keras files with safe_mode=False."""
    p.add_argument(
        "--unsafe-keras",
        action="store_true",
        help="load a .keras model with safe_mode=False. RISK: a Lambda layer runs arbitrary "
        "Python from the file; use only for files from a source you trust",
    )


def _trt_precision_arg(p: argparse.ArgumentParser, profile: str) -> None:
    """--fp16/--no-fp16 for the engine built on the fly from an .onnx model."""
    p.add_argument(
        "--fp16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --backend tensorrt and an .onnx model: build the cached engine in FP16 "
        f"(default) or FP32; batch {profile}. TensorRT >= 10.12 takes model_fp16.onnx "
        "or converts the graph to float16 first",
    )


def _engine_args(b: argparse.ArgumentParser, own_verbose: bool = True) -> None:
    b.add_argument(
        "model",
        help="ONNX model from `edgeaction export` (model.onnx or its directory; or "
        "encoder.onnx / head.onnx of a --split export)",
    )
    b.add_argument(
        "--out",
        help="engine path (default: beside the model, {stem}_b{MAX}_{fp16|fp32}_{sm87}.engine)",
    )
    b.add_argument(
        "--fp16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="FP16 engine (default; --no-fp16 for FP32). TensorRT <= 10.11 sets its FP16 "
        "flag; 10.12+ and 11.x build strongly typed from model_fp16.onnx (export --fp16), "
        "else from a float16 conversion made now and checked against float32 under ORT",
    )
    b.add_argument(
        "--batch", default="1:4:8", metavar="MIN:OPT:MAX", help="batch profile (default 1:4:8)"
    )
    b.add_argument(
        "--workspace", type=_positive_int, metavar="MiB", help="workspace memory pool limit"
    )
    b.add_argument("--timing-cache", metavar="FILE", help="timing cache to read and update")
    b.add_argument(
        "--opt-level", type=int, choices=range(6), metavar="0-5", help="builder optimisation level"
    )
    b.add_argument("--dla-core", type=int, metavar="N", help="build for DLA core N (Jetson)")
    b.add_argument(
        "--gpu-fallback", action="store_true", help="with --dla-core: run the rest on the GPU"
    )
    b.add_argument(
        "--layer-info",
        metavar="FILE.json",
        help="write each layer's tactic and input/output precisions (TensorRT's engine "
        "inspector, as trtexec --exportLayerInfo): which layers really run in FP16",
    )
    if own_verbose:
        b.add_argument(
            "--verbose", dest="trt_verbose", action="store_true", help="TensorRT's verbose log"
        )
    b.set_defaults(fn=cmd_build_engine)


def _dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    a = parser.parse_args(argv)
    if not getattr(a, "fn", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if a.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not a.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with command_outputs():  # a failed command removes what it created
            return a.fn(a) or 0
    except EdgeActionError as e:
        if a.verbose:
            raise
        prog = parser.prog
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `edgeaction doctor | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # last resort: a path no writer mapped (too long, disk full)
        if a.verbose:
            raise
        print(f"{parser.prog}: error: {os_error_line(e)}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser(), argv)


def build_engine_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="build-engine",
        description=BUILD_ENGINE_DESCRIPTION,
        epilog=BUILD_ENGINE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="TensorRT's verbose log and tracebacks"
    )
    _engine_args(p, own_verbose=False)
    return _dispatch(p, argv)


if __name__ == "__main__":
    sys.exit(main())
