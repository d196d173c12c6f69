"""`edgeaction check`: TensorRT pre-flight of an ONNX model without a GPU."""

from __future__ import annotations

import argparse
import json

from .. import options

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


def run(a) -> int:
    """`edgeaction check` with the parsed arguments `a`; returns the exit status."""
    from ..export.check import format_table, preflight

    r = preflight(a.model, trt_major=a.trt)
    if a.json:
        from ..fsutil import atomic_write_text

        atomic_write_text(a.json, json.dumps(r.to_dict(), indent=2) + "\n")
    print(format_table(r))
    return 0 if r.ready else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `check` on the top-level sub-parsers."""
    k = sub.add_parser(
        "check",
        help="TensorRT pre-flight of an ONNX model without a GPU: ops, opset, shapes, dtypes",
        description="Check an ONNX model against what TensorRT's ONNX parser and builder "
        "accept, without a GPU or TensorRT: print one row per finding (blocker, warning, "
        "info) and a summary line, e.g. '0 blockers, 1 warning: ready for TensorRT 10'.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k.add_argument(
        "model", type=options.path, help="ONNX model, or an export directory holding model.onnx"
    )
    k.add_argument(
        "--trt",
        type=options.integer,
        choices=[10, 11],
        default=10,
        help="TensorRT major version to check against (default 10, as on Jetson/JetPack 6)",
    )
    k.add_argument(
        "--json", type=options.path, metavar="OUT", help="also write the report as JSON to OUT"
    )
    k.set_defaults(fn=run)
