"""Option groups and helpers shared by several commands."""

from __future__ import annotations

import argparse
import sys

from .. import options


def status_line(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def progress(desc: str, total: int):
    from tqdm.auto import tqdm

    bars = []  # created on the first step, so argument errors print no empty bar

    def step(done, _total):
        if not bars:
            bars.append(tqdm(total=total, desc=desc, unit="clip", leave=False))
        bars[0].update(done - bars[0].n)
        if done >= _total:
            bars[0].close()

    return step


def dataset_args(p: argparse.ArgumentParser, verb: str) -> None:
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
        type=options.pathlib_path,
        metavar="DIR",
        help="keypoint cache from `edgeaction keypoints` (keypoint models; default: extracted "
        "on the fly with MediaPipe); --pose is an alias",
    )
    p.add_argument(
        "--batch",
        type=options.positive_int,
        default=8,
        metavar="N",
        help="clips per inference call (default 8)",
    )
    p.add_argument(
        "--seed",
        type=options.seed,
        default=0,
        help="seed of the stratified split (default 0, as train)",
    )
    outside_root_arg(p)
    unsafe_keras_arg(p)


def outside_root_arg(p: argparse.ArgumentParser) -> None:
    """--allow-outside-root: read data set rows that resolve outside the data set root."""
    p.add_argument(
        "--allow-outside-root",
        action="store_true",
        help="read clips that resolve outside the data set root (rows with ../ or absolute "
        "paths, symbolic links out of it); refused by default, naming the row",
    )


def unsafe_keras_arg(p: argparse.ArgumentParser) -> None:
    """--unsafe-keras: load .keras files with safe_mode=False."""
    p.add_argument(
        "--unsafe-keras",
        action="store_true",
        help="load a .keras model with safe_mode=False. RISK: a Lambda layer runs arbitrary "
        "Python from the file; use only for files from a source you trust",
    )


def trt_precision_arg(p: argparse.ArgumentParser, profile: str) -> argparse.Action:
    """--fp16/--no-fp16 for the engine built on the fly from an .onnx model."""
    return p.add_argument(
        "--fp16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --backend tensorrt and an .onnx model: build the cached engine in FP16 "
        f"(default) or FP32; batch {profile}. TensorRT >= 10.12 takes model_fp16.onnx "
        "or converts the graph to float16 first",
    )
