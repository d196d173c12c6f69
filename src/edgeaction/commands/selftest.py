"""`edgeaction selftest`: the TensorRT path's acceptance suite on the GPU a user has."""

from __future__ import annotations

import argparse
import json

from .. import options

SELFTEST_EPILOG = """\
checks (each PASS, FAIL or SKIP with its reason; the table and --json say which):
  gpu, cuda memory         the CUDA binding sees device 0; a 4 MiB pinned/device round trip
  tensorrt                 import tensorrt (10.x or 11.x)
  engine fp32/fp16         build-engine on a small model made on the spot (or --model)
  parity fp32/fp16         TrtRunner vs ONNX Runtime on 32 seeded clips: max |diff| <= 1e-3
                           and top-1 100 % (fp32); <= 2e-2 and >= 99 % (fp16)
  engine cache             a second open reuses the cached engine instead of rebuilding
  split parts              encoder + head engines (the per-frame feature cache) vs the model
  bench                    H2D / compute / D2H timed with CUDA events, batch 4
  dla                      a DLA engine with GPU fallback (Jetson Xavier/Orin; else SKIP)
  nvmm decode              nvv4l2decoder -> nvvidconv on a short clip (Jetson; else SKIP)

exit status: 0 when no check fails, 1 when one does or there is no NVIDIA GPU here (one
line). Attach the --json file to a bug report.

examples:
  edgeaction selftest                                   # on a Jetson or a GPU machine
  edgeaction selftest --model models/a --json st.json   # your own export, JSON report
"""


def run(a) -> int:
    """`edgeaction selftest` with the parsed arguments `a`; returns the exit status."""
    from ..fsutil import atomic_write_text, claim_outputs
    from ..selftest import format_table, run_selftest

    claim_outputs({"--json": a.json, "--work": a.work}, {"--model": a.model})
    report = run_selftest(work=a.work, model=a.model, log=lambda line: print(line, flush=True))
    print(format_table(report))
    if a.json:
        atomic_write_text(a.json, json.dumps(report, indent=2) + "\n", "--json file")
    return 0 if report["passed"] else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `selftest` on the top-level sub-parsers."""
    s = sub.add_parser(
        "selftest",
        help="verify the TensorRT path on this machine's GPU: engines, parity, cache, bench",
        description="Build FP32 and FP16 TensorRT engines from a small model made on the spot "
        "(or --model), run them against ONNX Runtime, reuse the engine cache, run the split "
        "parts, time H2D/compute/D2H with CUDA events, and on a Jetson build for DLA and "
        "decode through NVMM: a pass/fail table, non-zero exit on any failure.",
        epilog=SELFTEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument(
        "--model",
        type=options.path,
        help="an export directory or model.onnx of your own (default: a small model made here)",
    )
    s.add_argument(
        "--work",
        type=options.path,
        help="keep engines and clips in this directory (default: a temporary one, removed)",
    )
    s.add_argument("--json", type=options.path, metavar="OUT", help="write the report as JSON")
    s.set_defaults(fn=run)
