"""`edgeaction bench`: throughput and latency of a model per batch size, like trtexec."""

from __future__ import annotations

import argparse

from .. import options
from ..engine.backends import backend_choices
from .common import status_line, trt_precision_arg

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


def run(a) -> int:
    """`edgeaction bench` with the parsed arguments `a`; returns the exit status."""
    from ..engine.bench import (
        benchmark,
        format_summary,
        parse_batches,
        parse_percentiles,
        plot_bench,
        write_json,
    )
    from ..fsutil import check_writable_file

    batches = parse_batches(a.batch)
    pct = parse_percentiles(a.percentiles)
    for path in (a.json, a.plot):
        if path:
            check_writable_file(path)
    if a.plot:
        from ..report import preload

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
        progress=status_line,
    )
    status_line("")
    print(format_summary(r))
    if a.json:
        write_json(a.json, r)
        print(f"wrote {a.json}")
    if a.plot:
        plot_bench(a.plot, r)
        print(f"wrote {a.plot}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `bench` on the top-level sub-parsers."""
    bn = sub.add_parser(
        "bench",
        help="benchmark a model like trtexec: throughput and latency per batch size",
        description="Time a model's runner at several batch sizes and print a trtexec-shaped "
        "performance summary per batch plus a table; optionally write JSON (with the machine's "
        "CPU, GPU, Jetson power mode and library versions) and a latency/throughput plot.",
        epilog=BENCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bn.add_argument(
        "model", type=options.path, help="ONNX model or export directory (or a TensorRT engine)"
    )
    bn.add_argument(
        "--backend",
        default="auto",
        choices=backend_choices(auto=True),
        help="runner (default auto: tensorrt for .engine/.plan files, else onnxruntime)",
    )
    bn.add_argument(
        "--cache-dir",
        type=options.pathlib_path,
        help="TensorRT engine cache for an .onnx model with --backend tensorrt "
        "(default ~/.cache/edgeaction/engines; key: model, TensorRT, GPU, precision, profile)",
    )
    trt_precision_arg(bn, "profile MIN:MAX:MAX of --batch")
    bn.add_argument(
        "--batch",
        type=options.text,
        default="1",
        metavar="N[,N...]",
        help="batch sizes, e.g. 1,4,8 (default 1)",
    )
    bn.add_argument(
        "--warmup-ms",
        type=options.milliseconds,
        default=200.0,
        help="untimed warm-up per batch (default 200)",
    )
    bn.add_argument(
        "--duration-s",
        type=options.non_negative_float,
        default=3.0,
        help="minimum timed seconds per batch (default 3)",
    )
    bn.add_argument(
        "--iterations",
        type=options.positive_int,
        default=10,
        help="minimum timed inferences per batch (default 10)",
    )
    bn.add_argument(
        "--percentiles",
        type=options.text,
        default="90,95,99",
        metavar="P[,P...]",
        help="latency percentiles to report (default 90,95,99)",
    )
    bn.add_argument(
        "--end-to-end",
        type=options.path,
        metavar="CLIP",
        help="also time GStreamer decode + normalise + infer of this video, batch 1",
    )
    bn.add_argument(
        "--json", type=options.path, metavar="FILE", help="write all figures as JSON here"
    )
    bn.add_argument(
        "--plot",
        type=options.path,
        metavar="FILE.png",
        help="write latency and throughput plots here",
    )
    bn.set_defaults(fn=run)
