"""`edgeaction export`: export a trained run to ONNX with its contract."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import options
from .common import outside_root_arg, unsafe_keras_arg


def run(a) -> int:
    """`edgeaction export` with the parsed arguments `a`; returns the exit status."""
    if a.triton:  # a missing tritonclient fails now, not after the export
        from ..export.triton_schema import model_config_pb2

        model_config_pb2()
    from ..train.trainer import keras_quiet

    keras_quiet()
    from ..datasets import outside_root_allowed
    from ..export import export_model

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
        model_dir = write_triton(Path(a.out), a.triton)
        print(f"wrote Triton model {model_dir} (config.pbtxt, labels.txt, 1/model.onnx)")
    return 0


def write_triton(out: Path, repo: Path) -> Path:
    """`--triton DIR`: the Triton model of the export in `out`, written only when Triton's
    schema, the contract and the model itself agree (`export.triton.write_triton_repo`)."""
    from ..contract import ModelContract
    from ..export.triton import write_triton_repo

    return write_triton_repo(out / "model.onnx", ModelContract.load(out), repo)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `export` on the top-level sub-parsers."""
    e = sub.add_parser("export", help="export a trained run to ONNX with its contract")
    e.add_argument(
        "run", type=options.path, help="run directory from `edgeaction train` (or a model.keras)"
    )
    e.add_argument(
        "--out",
        type=options.path,
        required=True,
        help="output directory (model.onnx, contract.json)",
    )
    e.add_argument(
        "--opset", type=options.integer, default=17, help="ONNX opset 13..18 (default 17)"
    )
    e.add_argument(
        "--triton",
        type=options.pathlib_path,
        metavar="DIR",
        help="also write a Triton Inference Server model repository: DIR/<name>/config.pbtxt, "
        "labels.txt, 1/model.onnx",
    )
    e.add_argument(
        "--data",
        type=options.path,
        metavar="DATA",
        help="check parity on held-out clips of this data set (its test split, else val; "
        "default: seeded random inputs)",
    )
    e.add_argument(
        "--keypoints",
        "--pose",
        dest="keypoints",
        type=options.pathlib_path,
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
    outside_root_arg(e)
    unsafe_keras_arg(e)
    e.set_defaults(fn=run)
