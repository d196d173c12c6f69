"""`edgeaction build-engine` (and the `build-engine` script): ONNX → TensorRT engine."""

from __future__ import annotations

import argparse

from .. import options

DESCRIPTION = (
    "Compile an ONNX model from `edgeaction export` into a TensorRT engine with a "
    "dynamic-batch optimisation profile, FP16 by default."
)
EPILOG = """\
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


def run(a) -> int:
    """`edgeaction build-engine` with the parsed arguments `a`; returns the exit status."""
    from ..engine.trt_build import build_engine

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


def add_engine_args(b: argparse.ArgumentParser, own_verbose: bool = True) -> None:
    b.add_argument(
        "model",
        type=options.path,
        help="ONNX model from `edgeaction export` (model.onnx or its directory; or "
        "encoder.onnx / head.onnx of a --split export)",
    )
    b.add_argument(
        "--out",
        type=options.path,
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
        "--batch",
        type=options.text,
        default="1:4:8",
        metavar="MIN:OPT:MAX",
        help="batch profile (default 1:4:8)",
    )
    b.add_argument(
        "--workspace", type=options.positive_int, metavar="MiB", help="workspace memory pool limit"
    )
    b.add_argument(
        "--timing-cache", type=options.path, metavar="FILE", help="timing cache to read and update"
    )
    b.add_argument(
        "--opt-level",
        type=options.integer,
        choices=range(6),
        metavar="0-5",
        help="builder optimisation level",
    )
    b.add_argument(
        "--dla-core",
        type=options.non_negative_int,
        metavar="N",
        help="build for DLA core N (Jetson)",
    )
    b.add_argument(
        "--gpu-fallback", action="store_true", help="with --dla-core: run the rest on the GPU"
    )
    b.add_argument(
        "--layer-info",
        type=options.path,
        metavar="FILE.json",
        help="write each layer's tactic and input/output precisions (TensorRT's engine "
        "inspector, as trtexec --exportLayerInfo): which layers really run in FP16",
    )
    if own_verbose:
        b.add_argument(
            "--verbose", dest="trt_verbose", action="store_true", help="TensorRT's verbose log"
        )
    b.set_defaults(fn=run)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `build-engine` on the top-level sub-parsers."""
    b = sub.add_parser(
        "build-engine",
        help="compile an ONNX model into a TensorRT engine (needs TensorRT)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_engine_args(b)
