"""`edgeaction selftest`: the acceptance suite of the TensorRT path on the GPU a user has.

Nothing here can be checked on a machine without an NVIDIA GPU and TensorRT, so this is
the command that verifies it where it matters (a Jetson, a workstation GPU, a lent GPU
machine), from a small model made on the spot (`engine.probe`) or the user's own export:

| check | what it proves |
| --- | --- |
| `gpu` | a CUDA binding sees device 0 (name, compute capability) |
| `cuda memory` | pinned → device → pinned round trip of 4 MiB is exact; CUDA events time it |
| `model` | the small split model is made here (or `--model` is an ONNX export) |
| `tensorrt` | `import tensorrt` works (its version) |
| `engine fp32`, `engine fp16` | `build_engine` writes an engine and its sidecar |
| `parity fp32`, `parity fp16` | `TrtRunner` vs ONNX Runtime on seeded clips: max abs diff, top-1 |
| `engine cache` | a second open of the ONNX model reuses the cached engine (no rebuild) |
| `split parts` | encoder + head engines (the per-frame feature cache) vs the whole model |
| `bench` | H2D / compute / D2H timed with CUDA events, batch 4 |
| `dla` | a DLA engine (GPU fallback) where the device has DLA cores (Jetson Xavier/Orin) |
| `nvmm decode` | the Jetson decode chain (`nvv4l2decoder` → `nvvidconv`) on a clip |

```python
report = run_selftest(work="/tmp/selftest")   # {"checks": [...], "passed": bool, ...}
print(format_table(report))
```

A check that cannot apply here (no DLA, not a Jetson) is `skip` with the reason; any
`fail` makes `passed` false. On a machine without a GPU the command stops with one line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EdgeActionError, fail, first_line

#: Agreement a check needs: (max abs diff on probabilities, top-1 agreement).
TOLERANCE = {"fp32": (1e-3, 1.0), "fp16": (2e-2, 0.99)}
CLIPS = 32  # seeded random clips per parity check
CHECKS = (
    "gpu",
    "cuda memory",
    "model",
    "tensorrt",
    "engine fp32",
    "engine fp16",
    "parity fp32",
    "parity fp16",
    "engine cache",
    "split parts",
    "bench",
    "dla",
    "nvmm decode",
)


def gpu_present() -> str | None:
    """Why this machine has no NVIDIA GPU (None when it may have one): no device node,
    no `nvidia-smi`, not a Jetson."""
    from .machine import is_jetson

    if is_jetson() or Path("/dev/nvhost-ctrl").exists():  # a Jetson, or a container on one
        return None
    if any(Path("/dev").glob("nvidia[0-9]*")) or shutil.which("nvidia-smi"):
        return None
    return "no NVIDIA GPU here (no /dev/nvidia*, no nvidia-smi, not a Jetson)"


class _Suite:
    """The checks in order, their results, and what later checks need from earlier ones."""

    def __init__(self, work: Path, model, log: Callable[[str], None]):
        self.work, self.given, self.log = work, model, log
        self.model: Path | None = None
        self.results: list[dict[str, Any]] = []
        self.engines: dict[str, Path] = {}
        self.trt = None

    def record(self, name: str, fn: Callable[[], tuple[str, str, dict]]) -> None:
        t0 = time.monotonic()
        try:
            status, detail, figures = fn()
        except EdgeActionError as e:
            status, detail, figures = "fail", str(e), {}
        except Exception as e:  # a TensorRT / CUDA error is a finding, not a crash
            status, detail, figures = "fail", f"{type(e).__name__}: {first_line(e)}", {}
            figures["traceback"] = traceback.format_exc(limit=6)
        row = {"check": name, "status": status, "detail": detail, **figures}
        row["seconds"] = round(time.monotonic() - t0, 2)
        self.results.append(row)
        self.log(f"{status:>4}  {name}: {detail}")

    # ---- checks -------------------------------------------------------------------------
    def gpu(self):
        from .engine import cuda_mem

        info = cuda_mem.device_info()
        if not info.get("name"):
            return "fail", info.get("note", "no CUDA device"), {}
        return (
            "pass",
            f"{info['name']} (sm {info['compute_capability']}, {cuda_mem.backend_name()})",
            {"device": info, "cuda_binding": cuda_mem.backend_name()},
        )

    def cuda_memory(self):
        from .engine import cuda_mem as cm

        n = 1 << 20
        src, back = cm.PinnedBuffer((n,), np.float32), cm.PinnedBuffer((n,), np.float32)
        dev, stream = cm.DeviceBuffer(n * 4), cm.Stream()
        start, mid, end = cm.Event(), cm.Event(), cm.Event()
        try:
            src.view((n,))[:] = np.random.default_rng(0).standard_normal(n, np.float32)
            back.view((n,))[:] = 0
            start.record(stream)
            cm.copy_htod(dev, src, n * 4, stream)
            mid.record(stream)
            cm.copy_dtoh(back, dev, n * 4, stream)
            end.record(stream)
            stream.synchronize()
            same = np.array_equal(src.view((n,)), back.view((n,)))
            h2d, d2h = mid.ms_since(start), end.ms_since(mid)
        finally:
            for obj in (src, back, dev, stream, start, mid, end):
                obj.free()
        figures = {"h2d_ms": round(h2d, 3), "d2h_ms": round(d2h, 3)}
        if not same:
            return "fail", "4 MiB came back different from the device", figures
        return "pass", f"4 MiB round trip exact; H2D {h2d:.2f} ms, D2H {d2h:.2f} ms", figures

    def make_model(self):
        from .artefacts import ONNX, resolve_model
        from .contract import ModelContract
        from .engine.probe import make_probe_export

        if self.given is not None:
            self.model = resolve_model(self.given, (ONNX,))[1]
            return "pass", f"{self.model} (given)", {}
        c = ModelContract(name="probe", labels=("a", "b", "c"), frames=8, height=64, width=64)
        self.model = make_probe_export(self.work / "probe", c) / "model.onnx"
        return "pass", "a split model made here (T=8, 64x64, 3 classes)", {}

    def tensorrt(self):
        from .engine.trt_common import import_tensorrt

        self.trt = import_tensorrt()
        return "pass", f"TensorRT {self.trt.__version__}", {"tensorrt": self.trt.__version__}

    def engine(self, precision: str):
        from .engine.trt_build import build_engine

        self._need_trt()
        out = self.work / f"probe_{precision}.engine"
        t0 = time.monotonic()
        path = build_engine(
            self.model, out=out, fp16=precision == "fp16", batch=(1, 4, 8), log=self.log
        )
        self.engines[precision] = path
        mib = path.stat().st_size / 2**20
        took = time.monotonic() - t0
        return "pass", f"{path.name} {mib:.1f} MiB in {took:.1f} s", {"build_s": round(took, 2)}

    def parity(self, precision: str):
        from .engine.ort import OrtRunner
        from .engine.trt import TrtRunner

        if precision not in self.engines:
            return "skip", f"no {precision} engine (its build failed)", {}
        ref = OrtRunner(self.model)
        with ref, TrtRunner(self.engines[precision]) as trt:
            return _agreement(ref, trt, precision)

    def engine_cache(self):
        from .engine.trt import TrtRunner

        self._need_trt()
        cache = self.work / "cache"
        times, files = [], []
        for _ in range(2):
            t0 = time.monotonic()
            with TrtRunner(self.model, build_options={"cache_dir": cache, "batch": (1, 2, 4)}):
                pass
            times.append(time.monotonic() - t0)
            files.append(sorted((p.name, p.stat().st_mtime_ns) for p in cache.rglob("*.engine")))
        figures = {"first_s": round(times[0], 2), "second_s": round(times[1], 2)}
        if not files[0] or files[0] != files[1]:
            return "fail", f"the second open did not reuse the cached engine: {files}", figures
        return "pass", f"built {times[0]:.1f} s, reused {times[1]:.2f} s", figures

    def split_parts(self):
        from .engine.ort import OrtRunner
        from .engine.split import SplitRunner, find_split
        from .preprocess import normalize

        self._need_trt()
        if find_split(self.model) is None:
            return "skip", "the model has no encoder/head parts (export --split)", {}
        ref = OrtRunner(self.model)
        split = SplitRunner(self.model, backend="tensorrt", cache_dir=self.work / "cache")
        with ref, split:
            c = ref.contract
            rng = np.random.default_rng(7)
            x = rng.integers(0, 256, (CLIPS, c.frames, c.height, c.width, 3), dtype=np.uint8)
            frames = x.reshape(-1, *x.shape[2:])
            step = split.encoder_max_batch or len(frames)
            feats = np.concatenate(
                [split.encode(frames[i : i + step]) for i in range(0, len(frames), step)]
            ).reshape(len(x), c.frames, -1)
            step = split.head_max_batch or len(x)
            b = np.concatenate([split.head(feats[i : i + step]) for i in range(0, len(x), step)])
            a = ref.infer({c.input_name: normalize(x, c)})[c.output_name]
            return _compare(a, b, "fp16")

    def bench(self):
        from .engine.bench import make_feed, summarize, time_infer
        from .engine.trt import TrtRunner

        engine = self.engines.get("fp16") or self.engines.get("fp32")
        if engine is None:
            return "skip", "no engine (the builds failed)", {}
        with TrtRunner(engine) as r:
            t = time_infer(r, make_feed(r.contract, 4), warmup_ms=200, duration_s=1.0)
        stages = {k: summarize(v)["median"] for k, v in t["stages_ms"].items()}
        p50 = summarize(t["latency_ms"])["median"]
        figures = {"latency_p50_ms": p50, "stages_p50_ms": stages}
        missing = [s for s in ("h2d", "compute", "d2h") if not any(s in k for k in stages)]
        if missing:
            return "fail", f"no CUDA-event timing for {missing}; got {sorted(stages)}", figures
        parts = ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        return "pass", f"batch 4 p50 {p50:.3f} ms ({parts} ms)", figures

    def dla(self):
        self._need_trt()
        from .engine.trt_build import build_engine

        builder = self.trt.Builder(self.trt.Logger(self.trt.Logger.ERROR))
        cores = int(getattr(builder, "num_DLA_cores", 0))
        if cores == 0:
            return "skip", "this device has no DLA cores", {}
        out = self.work / "probe_dla0.engine"
        build_engine(self.model, out=out, dla_core=0, gpu_fallback=True, log=self.log)
        return "pass", f"{out.name} built for DLA core 0 of {cores} (GPU fallback)", {}

    def nvmm_decode(self):
        from .machine import is_jetson

        if not is_jetson():
            return "skip", "not a Jetson (the NVMM decode chain is Jetson's)", {}
        return _nvmm_decode(self.work)

    def _need_trt(self):
        if self.model is None:
            fail("no model (see the model check)")
        if self.trt is None:
            fail("TensorRT did not import (see the tensorrt check)")


def _agreement(ref, other, precision: str):
    """Probabilities of `ref` and `other` on seeded random clips: max abs diff and top-1."""
    from .engine.bench import make_feed

    feed = make_feed(ref.contract, CLIPS, seed=7)
    a = ref.infer(feed)[ref.contract.output_name]
    b = other.infer(feed)[ref.contract.output_name]
    return _compare(a, b, precision)


def _compare(a: np.ndarray, b: np.ndarray, precision: str):
    """Pass/fail of probabilities `b` against the reference `a` (`TOLERANCE[precision]`)."""
    diff = float(np.max(np.abs(a.astype(np.float64) - b)))
    top1 = float(np.mean(a.argmax(1) == b.argmax(1)))
    tol, need = TOLERANCE[precision]
    figures = {"max_abs_diff": diff, "top1_agreement": top1, "clips": CLIPS}
    detail = f"max |Δ| {diff:.2e} (≤ {tol:g}), top-1 {top1:.1%} (≥ {need:.0%}) on {CLIPS} clips"
    return ("pass" if diff <= tol and top1 >= need else "fail"), detail, figures


def _nvmm_decode(work: Path):
    """Encode a short clip on the CPU, decode it through nvv4l2decoder → nvvidconv."""
    from . import synth
    from ._lazy import gst

    clip = work / "nvmm.mp4"
    synth.synthesize_sequence(clip, ["walk"], frames_each=30, size=128, seed=0)
    Gst = gst()
    desc = (
        f'filesrc location="{clip}" ! qtdemux ! h264parse ! nvv4l2decoder ! nvvidconv ! '
        "video/x-raw,format=RGBA ! fakesink name=sink sync=false signal-handoffs=true"
    )
    pipe = Gst.parse_launch(desc)
    frames = []
    pipe.get_by_name("sink").connect("handoff", lambda *_: frames.append(1))
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(
        20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    pipe.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        why = "timed out" if msg is None else first_line(Exception(msg.parse_error()[0].message))
        return "fail", f"NVMM decode failed: {why}", {}
    if len(frames) != 30:
        return "fail", f"decoded {len(frames)} of 30 frames", {}
    return "pass", "30 of 30 frames through nvv4l2decoder → nvvidconv", {}


def run_selftest(
    work: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every check; return `{"checks": [...], "passed": bool, "model": ...}`.

    Args:
        work: Directory or None. Engines, caches and clips go here (None: a temporary
            directory removed afterwards).
        model: Path or None. An export directory or `model.onnx` of the user's own model
            (its split parts are checked when `export --split` wrote them); None makes a
            small split model on the spot (`engine.probe`).
        log: Callable taking one line per finished check.
    """
    why = gpu_present()
    if why:
        fail(f"{why}: selftest verifies the TensorRT path on a Jetson or an NVIDIA GPU machine")
    tmp = None
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="edgeaction-selftest-")
        work = tmp.name
    try:
        return _run(Path(work), model, log)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(work: Path, model, log) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    s = _Suite(work, model, log)
    steps = {
        "gpu": s.gpu,
        "cuda memory": s.cuda_memory,
        "model": s.make_model,
        "tensorrt": s.tensorrt,
        "engine fp32": lambda: s.engine("fp32"),
        "engine fp16": lambda: s.engine("fp16"),
        "parity fp32": lambda: s.parity("fp32"),
        "parity fp16": lambda: s.parity("fp16"),
        "engine cache": s.engine_cache,
        "split parts": s.split_parts,
        "bench": s.bench,
        "dla": s.dla,
        "nvmm decode": s.nvmm_decode,
    }
    for name in CHECKS:
        s.record(name, steps[name])
    return {
        "model": str(s.model or model or ""),
        "checks": s.results,
        "passed": all(r["status"] != "fail" for r in s.results),
    }


def format_table(report: dict[str, Any]) -> str:
    """The pass/fail table `edgeaction selftest` prints."""
    rows = [(r["check"], r["status"].upper(), r["detail"]) for r in report["checks"]]
    w = max(len(r[0]) for r in rows)
    lines = [f"{'check':<{w}}  result  detail", f"{'-' * w}  ------  ------"]
    lines += [f"{a:<{w}}  {b:<6}  {c}" for a, b, c in rows]
    n = sum(r["status"] == "fail" for r in report["checks"])
    lines.append(f"selftest: {'PASSED' if report['passed'] else f'FAILED ({n} checks)'}")
    return "\n".join(lines)
