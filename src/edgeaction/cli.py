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

from . import __version__
from .errors import EdgeActionError, fail

EPILOG = """\
typical use:
  edgeaction synth data/ --classes 7 --clips-per-class 40      # or bring your own clips
  edgeaction train data/ --arch edge-tiny --out runs/a
  edgeaction export runs/a --out models/a
  edgeaction run models/a/model.onnx --source clip.mp4 --events ev.jsonl --out-video ann.mp4
  edgeaction demo                                              # all of the above, on CPU
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
    from .synth import synthesize

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
    return 0


def cmd_train(a) -> int:
    from .train.trainer import TrainConfig, keras_quiet

    keras_quiet()
    from .train.trainer import train

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
            flip=not a.no_flip,
            patience=a.patience,
            verbose=1 if sys.stdout.isatty() else 2,
            name=a.name,
        )
    )
    print(
        f"test accuracy {m['test_accuracy']:.3f}, val accuracy {m['val_accuracy']:.3f} "
        f"({m['bad_clips']} bad clips); wrote {a.out}/model.keras, contract.json, report/"
    )
    return 0


def cmd_export(a) -> int:
    from .train.trainer import keras_quiet

    keras_quiet()
    from .export import export_model

    export_model(a.run, a.out, opset=a.opset)
    return 0


def cmd_run(a) -> int:
    from .pipelines import run_file

    if a.events is None and a.out_video is None:
        a.events = "-"

    def status(s):
        _status_line(f"{s.source}: {s.frames} frames, {s.windows} windows, {s.fps:.0f} fps")

    s = run_file(
        a.model,
        a.source,
        events=a.events,
        out_video=a.out_video,
        stride=a.stride,
        subsample=a.subsample,
        backend=a.backend,
        status=status,
    )
    _status_line("")
    print(
        f"{s.source}: {s.frames} frames, {s.windows} windows in {s.seconds:.2f} s "
        f"({s.fps:.0f} fps; decode {s.decode_ms_per_frame:.1f} ms/frame, "
        f"infer {s.infer_ms_per_window:.1f} ms/window)",
        file=sys.stderr,
    )
    if a.metrics:
        from .fsutil import atomic_write_text

        atomic_write_text(a.metrics, json.dumps(s.to_dict(), indent=2) + "\n")
    return 0


def cmd_demo(a) -> int:
    from .demo import run_demo

    return run_demo(a.out, quick=a.quick)


def cmd_build_engine(a) -> int:
    from ._lazy import require

    try:
        require("tensorrt")
    except EdgeActionError:
        fail(
            "TensorRT is not installed here, so no engine can be built. On a Jetson: "
            "apt-get install python3-libnvinfer and use a venv with --system-site-packages; "
            "without a GPU use --backend onnxruntime with the ONNX model instead",
            exit_code=2,
        )
    fail("build-engine: the TensorRT builder is not part of this release yet", exit_code=2)


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

    t = sub.add_parser("train", help="train a clip classifier on a class-folder data set")
    t.add_argument(
        "data", help="data set root: <label>/<clip>.mp4 folders (+ optional manifest.csv)"
    )
    t.add_argument("--arch", default="edge-tiny", help="architecture (default edge-tiny)")
    t.add_argument("--frames", type=_positive_int, default=8, help="frames per clip, T (default 8)")
    t.add_argument(
        "--size", type=_positive_int, default=64, help="frame size in pixels (default 64)"
    )
    t.add_argument("--epochs", type=_positive_int, default=25, help="epochs (default 25)")
    t.add_argument("--batch", type=_positive_int, default=16, help="batch size (default 16)")
    t.add_argument("--lr", type=float, default=2e-3, help="learning rate (default 2e-3)")
    t.add_argument(
        "--head", default="gru", choices=["gru", "lstm", "simplernn"], help="RNN head (default gru)"
    )
    t.add_argument("--seed", type=int, default=0, help="seed for split, init and augmentation")
    t.add_argument("--no-flip", action="store_true", help="disable the label-aware horizontal flip")
    t.add_argument(
        "--patience", type=int, default=0, help="early-stopping patience in epochs (0: off)"
    )
    t.add_argument(
        "--name", help="model name used in events and engines (default: the --out folder name)"
    )
    t.add_argument("--out", required=True, help="run directory to write")
    t.set_defaults(fn=cmd_train)

    e = sub.add_parser("export", help="export a trained run to ONNX with its contract")
    e.add_argument("run", help="run directory from `edgeaction train` (or a model.keras)")
    e.add_argument("--out", required=True, help="output directory (model.onnx, contract.json)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset 13..18 (default 17)")
    e.set_defaults(fn=cmd_export)

    r = sub.add_parser(
        "run",
        help="classify sliding windows of a video; JSON-lines events + annotated MP4",
        description="Decode SOURCE with GStreamer, classify every window of T frames and "
        "write one JSON line per window (stream, source, pts, frame, window, label, score).",
    )
    r.add_argument("model", help="ONNX model from `edgeaction export`")
    r.add_argument("--source", required=True, help="video file")
    r.add_argument("--events", help="JSON-lines output file ('-' for stdout; default stdout)")
    r.add_argument("--out-video", help="annotated MP4 to write")
    r.add_argument(
        "--stride", type=_positive_int, help="frames between windows (default: the contract's)"
    )
    r.add_argument(
        "--subsample", type=_positive_int, help="keep every n-th frame (default: the contract's)"
    )
    r.add_argument(
        "--backend", default="onnxruntime", choices=["onnxruntime", "tensorrt"], help="runner"
    )
    r.add_argument("--metrics", help="write the run summary as JSON here")
    r.set_defaults(fn=cmd_run)

    d = sub.add_parser("demo", help="synth → train → export → run, end to end on the CPU")
    d.add_argument("--out", default="demo-out", help="output directory (default ./demo-out)")
    d.add_argument("--quick", action="store_true", help="tiny data and 2 epochs (a smoke test)")
    d.set_defaults(fn=cmd_demo)

    b = sub.add_parser(
        "build-engine", help="compile an ONNX model into a TensorRT engine (needs TensorRT)"
    )
    _engine_args(b)
    return p


def _engine_args(b: argparse.ArgumentParser) -> None:
    b.add_argument("model", help="ONNX model from `edgeaction export`")
    b.add_argument("--out", help="engine path (default: beside the model)")
    b.add_argument(
        "--fp16", action=argparse.BooleanOptionalAction, default=True, help="FP16 engine"
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


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser(), argv)


def build_engine_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="build-engine", description="Compile an ONNX model into a TensorRT engine."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    _engine_args(p)
    return _dispatch(p, argv)


if __name__ == "__main__":
    sys.exit(main())
