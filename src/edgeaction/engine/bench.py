"""Benchmark a runner the way `trtexec` does: warm up, then time `infer` for a while.

Sees only the runner interface (`open_runner`, `infer`, `max_batch`, `contract`), so
ONNX Runtime and TensorRT runners are measured the same way. Never imports TensorFlow.

```python
r = benchmark("models/a/model.onnx", batches=[1, 4, 8], duration_s=3.0)
print(format_summary(r))        # trtexec-shaped "=== Performance summary ===" blocks
write_json("bench.json", r); plot_bench("bench.png", r)
```

For each batch size a feed is built from the contract (random uint8 clips normalised
into the contract's layout and dtype, plus uniform random values of the keypoint
input's shape (`contract.keypoint_shape`) when the model reads keypoints); `infer` runs for `warmup_ms`, then at least `duration_s` seconds **and** at least
`iterations` times (trtexec's `--warmUp`, `--duration`, `--iterations`). Each call is
timed with `time.perf_counter`.

A runner that measures its own stages (a TensorRT runner timing host-to-device copy, GPU
compute and device-to-host copy with CUDA events) may expose them after each `infer` as
an optional attribute `last_timings`: a dict of stage name → milliseconds. Whatever keys
it holds are aggregated like the latency (min, max, mean, median, percentiles).
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import fail
from ..machine import summary as platform_summary
from .backends import runs_on
from .base import BaseRunner
from .loader import open_runner

DEFAULT_PERCENTILES = (90.0, 95.0, 99.0)
# trtexec's names for the stages a TensorRT runner reports in `last_timings`.
STAGE_NAMES = {
    "enqueue_ms": "Enqueue Time",
    "h2d_ms": "H2D Latency",
    "compute_ms": "GPU Compute Time",
    "d2h_ms": "D2H Latency",
}


# ---- argument parsing ----------------------------------------------------------------------
def parse_batches(text: str | list | tuple) -> list[int]:
    """Parse `"1,4,8"` into `[1, 4, 8]`: positive whole numbers, duplicates dropped.

    Args:
        text: String of comma-separated integers, or a sequence of integers.

    Returns:
        List of batch sizes in the given order.
    """
    if isinstance(text, str) and not text.replace(",", "").strip():
        fail(f"--batch needs at least one size, e.g. 1,4,8. Received: {text!r}")
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[int] = []
    for raw in items:
        s = str(raw).strip()
        try:
            v = int(s)
        except ValueError:
            fail(
                f"--batch takes positive whole numbers separated by commas, e.g. 1,4,8. Received: {text!r}"
            )
        if v < 1:
            fail(f"--batch sizes must be >= 1. Received: {v} in {text!r}")
        if v not in out:
            out.append(v)
    if not out:
        fail(f"--batch needs at least one size, e.g. 1,4,8. Received: {text!r}")
    return out


def parse_percentiles(text: str | list | tuple) -> list[float]:
    """Parse `"90,95,99"` into `[90.0, 95.0, 99.0]`: numbers in (0, 100], sorted.

    Args:
        text: String of comma-separated numbers, or a sequence of numbers.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[float] = []
    for raw in items:
        try:
            v = float(str(raw).strip())
        except ValueError:
            fail(
                f"--percentiles takes numbers separated by commas, e.g. 90,95,99. Received: {text!r}"
            )
        if not (0.0 < v <= 100.0) or math.isnan(v):
            fail(f"--percentiles must lie in (0, 100]. Received: {v:g} in {text!r}")
        if v not in out:
            out.append(v)
    if not out:
        fail(f"--percentiles needs at least one number, e.g. 90,95,99. Received: {text!r}")
    return sorted(out)


# ---- machine facts -------------------------------------------------------------------------
def _run_quiet(cmd: list[str], timeout: float = 5.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        key, _, val = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware", "cpu model") and val.strip():
            return val.strip()
    return platform.processor() or None


def _gpu_name() -> str | None:
    out = _run_quiet(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
    if out:
        return out.splitlines()[0].strip()
    for p in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
        try:
            model = Path(p).read_bytes().rstrip(b"\x00").decode(errors="replace").strip()
        except OSError:
            continue
        if "jetson" in model.lower() or "nvidia" in model.lower():
            return model
    return None


def _power_mode() -> str | None:
    out = _run_quiet(["nvpmodel", "-q"])
    if not out:
        return None
    for line in out.splitlines():
        if "power mode" in line.lower():
            return line.split(":", 1)[-1].strip() or line.strip()
    return out.splitlines()[0].strip()


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def machine_facts() -> dict[str, Any]:
    """Where the numbers come from: CPU, cores, OS, Python, library versions, GPU, power mode."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": _version("onnxruntime"),
        "tensorrt": _version("tensorrt"),
        "gpu": _gpu_name(),
        "jetson_power_mode": _power_mode(),
    }


# ---- statistics ----------------------------------------------------------------------------
def summarize(values_ms, percentiles=DEFAULT_PERCENTILES) -> dict[str, Any]:
    """min, max, mean, median and percentiles (nearest-rank, as trtexec) of `values_ms`.

    Args:
        values_ms: Sequence of floats, milliseconds.
        percentiles: Sequence of floats in (0, 100]. Defaults to `(90, 95, 99)`.

    Returns:
        Dict with `min`, `max`, `mean`, `median` and `percentiles` (`"90"` → ms).
    """
    v = np.sort(np.asarray(values_ms, np.float64))
    if v.size == 0:
        fail("no timings to summarise")
    pct = {}
    for p in percentiles:
        rank = max(1, math.ceil(p / 100.0 * v.size))
        pct[f"{p:g}"] = float(v[rank - 1])
    return {
        "min": float(v[0]),
        "max": float(v[-1]),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "percentiles": pct,
    }


# ---- measuring -----------------------------------------------------------------------------
def make_feed(contract, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for `batch` clips, in the contract's layout and dtype."""
    from ..preprocess import normalize

    rng = np.random.default_rng(seed)
    feed = {}
    if contract.uses_frames:
        raw = rng.integers(
            0, 256, (batch, contract.frames, contract.height, contract.width, 3), dtype=np.uint8
        )
        feed[contract.input_name] = normalize(raw, contract)
    if contract.uses_keypoints:
        feed[contract.pose_name] = rng.random(contract.keypoint_shape(batch)).astype(np.float32)
    return feed


def time_infer(
    runner: BaseRunner,
    feed: dict[str, np.ndarray],
    warmup_ms: float = 200.0,
    duration_s: float = 3.0,
    iterations: int = 10,
) -> dict[str, Any]:
    """Warm up, then time `runner.infer(feed)` for >= `duration_s` and >= `iterations` calls.

    Args:
        runner: An active runner.
        feed: Dict of input name → array.
        warmup_ms: Float. Untimed calls for this long first (at least one). Defaults to `200`.
        duration_s: Float. Minimum timed seconds. Defaults to `3`.
        iterations: Integer. Minimum timed calls. Defaults to `10`.

    Returns:
        Dict with `latency_ms` (list), `stages_ms` (stage → list, from the runner's
        optional `last_timings`), `wall_s` and `warmup_runs`.
    """
    runner.infer(feed, check_inputs=True)  # checks the feed once, then off the clock
    warm_end = time.perf_counter() + warmup_ms / 1000.0
    warmup_runs = 1
    while time.perf_counter() < warm_end:
        runner.infer(feed, check_inputs=False)
        warmup_runs += 1
    lat: list[float] = []
    stages: dict[str, list[float]] = {}
    start = time.perf_counter()
    end = start + duration_s
    while True:
        t0 = time.perf_counter()
        runner.infer(feed, check_inputs=False)
        t1 = time.perf_counter()
        lat.append((t1 - t0) * 1000.0)
        extra = getattr(runner, "last_timings", None)
        if isinstance(extra, dict):
            for k, v in extra.items():
                if isinstance(v, int | float) and math.isfinite(v):
                    stages.setdefault(str(k), []).append(float(v))
        if t1 >= end and len(lat) >= iterations:
            break
    return {
        "latency_ms": lat,
        "stages_ms": stages,
        "wall_s": time.perf_counter() - start,
        "warmup_runs": warmup_runs,
    }


def _decode_window(path, contract) -> tuple[np.ndarray, int]:
    """Decode the first T kept frames of `path` at the contract's size (loop if shorter)."""
    from ..sampling import sample_indices
    from ..video.reader import VideoReader

    want = contract.frames * contract.subsample
    imgs, decoded = [], 0
    with VideoReader(path, contract.width, contract.height, contract.colour) as r:
        for f in r:
            decoded = f.index + 1
            if f.index % contract.subsample == 0:
                imgs.append(f.image)
            if f.index + 1 >= want:
                break
    idx = sample_indices(len(imgs), contract.frames, contract.short_clips)
    return np.stack([imgs[i] for i in idx]), decoded


def time_end_to_end(
    runner: BaseRunner,
    clip,
    duration_s: float = 3.0,
    runs: int = 3,
    percentiles=DEFAULT_PERCENTILES,
) -> dict[str, Any]:
    """Time decode (GStreamer) + `preprocess.normalize` + `infer` of one clip, batch 1.

    Each run opens a GStreamer decoder (counted in `decode`), decodes the first T frames (every `subsample`-th) of `clip` at the contract's
    size, normalises them and classifies them. Runs for >= `duration_s` and >= `runs` times.

    Returns:
        Dict with `clip`, `runs`, and per stage (`decode`, `preprocess`, `infer`, `total`)
        a summary in ms, plus `clips_per_s` and `decode_ms_per_frame`.
    """
    from ..preprocess import normalize
    from ..video.reader import check_video_path

    clip = check_video_path(clip)
    c = runner.contract
    if not c.uses_frames:
        fail(f"--end-to-end needs a model that reads frames; {c.name} reads {c.modality} only")
    pose = np.zeros(c.keypoint_shape(1), np.float32) if c.uses_keypoints else None
    times: dict[str, list[float]] = {"decode": [], "preprocess": [], "infer": [], "total": []}
    decoded = 0
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        frames, decoded = _decode_window(clip, c)
        t1 = time.perf_counter()
        x = normalize(frames, c)
        t2 = time.perf_counter()
        feed = {c.input_name: x}
        if pose is not None:
            feed[c.pose_name] = pose
        runner.infer(feed)
        t3 = time.perf_counter()
        for k, a, b in (("decode", t0, t1), ("preprocess", t1, t2), ("infer", t2, t3)):
            times[k].append((b - a) * 1000.0)
        times["total"].append((t3 - t0) * 1000.0)
        if t3 - start >= duration_s and len(times["total"]) >= runs:
            break
    n = len(times["total"])
    mean_total = float(np.mean(times["total"]))
    return {
        "clip": str(clip),
        "runs": n,
        "frames_decoded": decoded,
        "stages_ms": {k: summarize(v, percentiles) for k, v in times.items()},
        "clips_per_s": 1000.0 / mean_total if mean_total > 0 else None,
        "decode_ms_per_frame": float(np.median(times["decode"])) / max(1, decoded),
    }


def benchmark(
    model,
    backend: str = "auto",
    batches=(1,),
    warmup_ms: float = 200.0,
    duration_s: float = 3.0,
    iterations: int = 10,
    percentiles=DEFAULT_PERCENTILES,
    end_to_end=None,
    runner: BaseRunner | None = None,
    progress=None,
    cache_dir=None,
    fp16: bool = True,
) -> dict[str, Any]:
    """Benchmark a model at several batch sizes (trtexec semantics) and return the figures.

    ```python
    r = benchmark("models/a/model.onnx", batches=[1, 8], duration_s=1)
    r["batches"][0]["throughput"]["clips_per_s"]
    ```

    Args:
        model: Path of a model file (`.onnx`, or an engine) or an export directory.
        backend: String. `"auto"` (from the file: engines on TensorRT, `.onnx` on ONNX
            Runtime) or a runtime backend of `engine.backends`. Defaults to `"auto"`.
        batches: String `"1,4,8"` or sequence of integers. Batch sizes. Defaults to `(1,)`.
        warmup_ms: Float. Warm-up per batch size in ms. Defaults to `200`.
        duration_s: Float. Minimum timed seconds per batch size. Defaults to `3`.
        iterations: Integer. Minimum timed calls per batch size. Defaults to `10`.
        percentiles: String or sequence of floats. Defaults to `(90, 95, 99)`.
        end_to_end: Path or None. Also time decode + normalise + infer of this clip.
        runner: BaseRunner or None. Use this (inactive or active) runner instead of
            opening `model`.
        progress: Callable `(message)` or None, told before each measurement.
        cache_dir: Path or None. Engine cache for an `.onnx` model on TensorRT.
        fp16: Boolean. Precision of the engine built from an `.onnx` model on TensorRT,
            whose batch profile spans the batch sizes asked for (`min:max:max`).
            Defaults to `True`.

    Returns:
        Dict: `machine`, `platform` (`edgeaction.machine.summary()`), `model`,
        `contract`, `backend`, `provider`, `settings`, `batches` (one dict per measured
        size), `skipped`, `end_to_end`.
    """
    sizes = parse_batches(batches)
    pct = parse_percentiles(percentiles)
    _check_settings(iterations, warmup_ms, duration_s, end_to_end)
    if runner is None:
        build = {"fp16": fp16, "batch": (min(sizes), max(sizes), max(sizes))}
        runner = open_runner(model, backend=backend, cache_dir=cache_dir, build=build)
    # The registry's name of what really runs (a duck-typed runner may not say).
    backend = getattr(runner, "backend", "") or runs_on(model, backend)
    if end_to_end is not None and not runner.contract.uses_frames:
        fail(
            f"--end-to-end needs a model that reads frames; this one reads {runner.contract.modality}"
        )
    say = progress or (lambda _m: None)
    timing = (warmup_ms, duration_s, iterations, pct)
    results, skipped, e2e, mb, provider = _measure(runner, sizes, timing, end_to_end, say)
    c = runner.contract
    return {
        "machine": machine_facts(),
        # jetson (model, L4T, JetPack, power mode and clocks) / dgpu (name) / cpu
        "platform": platform_summary(),
        "model": str(model),
        "contract": {k: getattr(c, k) for k in _CONTRACT_FACTS},
        "backend": backend,
        "runner": runner.name,
        "provider": provider[0] if isinstance(provider, list | tuple) and provider else provider,
        "max_batch": mb,
        "cuda_binding": getattr(runner, "cuda_binding", None),  # TensorRT: cuda-python/pycuda
        "settings": _settings(sizes, timing, end_to_end),
        "batches": results,
        "skipped": skipped,
        "end_to_end": e2e,
    }


_CONTRACT_FACTS = ("name", "frames", "height", "width", "layout", "dtype", "modality")


def _measure(runner, sizes, timing, end_to_end, say) -> tuple:
    """Activate `runner` and time each batch size (and the clip end to end).

    Returns:
        `(results, skipped, end_to_end result, max_batch, providers)`.
    """
    warmup_ms, duration_s, iterations, pct = timing
    results, skipped, e2e = [], [], None
    with runner:
        c, mb = runner.contract, runner.max_batch
        for b in sizes:
            if mb is not None and b > mb:
                skipped.append({"batch": b, "reason": f"above the model's maximum batch {mb}"})
                continue
            say(f"batch {b}: warm-up {warmup_ms:g} ms, then >= {duration_s:g} s")
            t = time_infer(runner, make_feed(c, b), warmup_ms, duration_s, iterations)
            results.append(_batch_result(b, c, t, pct))
        if end_to_end is not None:
            say(f"end to end: decode + normalise + infer {end_to_end}")
            e2e = time_end_to_end(runner, end_to_end, duration_s, min(iterations, 3), pct)
        provider = getattr(runner, "providers", None)
    return results, skipped, e2e, mb, provider


def _settings(sizes, timing, end_to_end) -> dict[str, Any]:
    warmup_ms, duration_s, iterations, pct = timing
    return {
        "batches": sizes,
        "warmup_ms": warmup_ms,
        "duration_s": duration_s,
        "iterations": iterations,
        "percentiles": pct,
        "end_to_end": None if end_to_end is None else str(end_to_end),
        "timer": "time.perf_counter around runner.infer (host wall time)",
    }


def _check_settings(iterations, warmup_ms, duration_s, end_to_end) -> None:
    if not (isinstance(iterations, int) and iterations >= 1):
        fail(f"--iterations must be a whole number >= 1. Received: {iterations!r}")
    for name, v in (("--warmup-ms", warmup_ms), ("--duration-s", duration_s)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            fail(f"{name} must be a number >= 0. Received: {v!r}")
    if end_to_end is not None:
        from ..video.reader import check_video_path

        check_video_path(end_to_end)


def _batch_result(b: int, c, t: dict, pct) -> dict[str, Any]:
    """One batch size's figures from `time_infer`'s timings `t`."""
    n, wall = len(t["latency_ms"]), t["wall_s"]
    qps = n / wall if wall > 0 else float("nan")
    return {
        "batch": b,
        "runs": n,
        "warmup_runs": t["warmup_runs"],
        "seconds": wall,
        "throughput": {"qps": qps, "clips_per_s": qps * b, "frames_per_s": qps * b * c.frames},
        "latency_ms": summarize(t["latency_ms"], pct),
        "stages_ms": {k: summarize(v, pct) for k, v in t["stages_ms"].items()},
    }


# ---- reporting -----------------------------------------------------------------------------
def _stats_line(name: str, s: dict) -> str:
    pcts = ", ".join(f"percentile({p}%) = {v:.4f} ms" for p, v in s["percentiles"].items())
    return (
        f"{name}: min = {s['min']:.4f} ms, max = {s['max']:.4f} ms, mean = {s['mean']:.4f} ms, "
        f"median = {s['median']:.4f} ms, {pcts}"
    )


def format_summary(result: dict) -> str:
    """trtexec-shaped `=== Performance summary (batch N) ===` blocks and a table across batches."""
    c = result["contract"]
    lines = [
        f"model {result['model']} ({c['name']}, T={c['frames']}, {c['height']}x{c['width']}, "
        f"{c['dtype']}); backend {result['backend']}"
        + (f" ({result['provider']})" if result.get("provider") else "")
    ]
    for r in result["batches"]:
        t = r["throughput"]
        lines.append(f"=== Performance summary (batch {r['batch']}) ===")
        lines.append(
            f"Throughput: {t['qps']:.2f} qps ({t['clips_per_s']:.2f} clips/s, "
            f"{t['frames_per_s']:.1f} frames/s)"
        )
        lines.append(_stats_line("Latency", r["latency_ms"]))
        for name, s in r["stages_ms"].items():
            lines.append(_stats_line(STAGE_NAMES.get(name, name), s))
        lines.append(
            f"Runs: {r['runs']} in {r['seconds']:.3f} s (after {r['warmup_runs']} warm-up)"
        )
    for s in result["skipped"]:
        lines.append(f"batch {s['batch']}: skipped, {s['reason']}")
    e = result.get("end_to_end")
    if e:
        lines.append(f"=== End to end (batch 1, {Path(e['clip']).name}) ===")
        lines.append(
            f"Throughput: {e['clips_per_s']:.2f} clips/s; decode "
            f"{e['decode_ms_per_frame']:.3g} ms/frame over {e['frames_decoded']} frames"
        )
        for k in ("decode", "preprocess", "infer", "total"):
            lines.append(_stats_line(k.capitalize(), e["stages_ms"][k]))
        lines.append(f"Runs: {e['runs']}")
    if result["batches"]:
        p = result["settings"]["percentiles"][-1]
        pk = f"{p:g}"
        head = f"{'batch':>5}  {'qps':>9}  {'clips/s':>9}  {'frames/s':>10}  {'median ms':>9}  {'p' + pk + ' ms':>9}  {'runs':>6}"
        lines += ["", head]
        for r in result["batches"]:
            t, la = r["throughput"], r["latency_ms"]
            lines.append(
                f"{r['batch']:>5}  {t['qps']:>9.2f}  {t['clips_per_s']:>9.2f}  "
                f"{t['frames_per_s']:>10.1f}  {la['median']:>9.3f}  "
                f"{la['percentiles'][pk]:>9.3f}  {r['runs']:>6}"
            )
    return "\n".join(lines)


def write_json(path, result: dict) -> Path:
    """Write `result` as indented JSON, atomically."""
    import json

    from ..fsutil import atomic_write_text

    return atomic_write_text(path, json.dumps(result, indent=2) + "\n", "--json file")


def plot_bench(path, result: dict) -> Path:
    """A PNG: latency (median and highest percentile) and clips/s against batch size.

    Matplotlib's Agg canvas without pyplot; written atomically.
    """
    from ..report import _figure, _save

    rows = result["batches"]
    if not rows:
        fail("nothing to plot: every batch size was skipped")
    b = [r["batch"] for r in rows]
    pk = f"{result['settings']['percentiles'][-1]:g}"
    fig = _figure(10, 4)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(b, [r["latency_ms"]["median"] for r in rows], "o-", label="median")
    ax1.plot(b, [r["latency_ms"]["percentiles"][pk] for r in rows], "s--", label=f"p{pk}")
    ax1.set_xlabel("batch")
    ax1.set_ylabel("latency per inference (ms)")
    ax1.set_title("Latency")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(b, [r["throughput"]["clips_per_s"] for r in rows], "o-", color="tab:green")
    ax2.set_xlabel("batch")
    ax2.set_ylabel("clips/s")
    ax2.set_title("Throughput")
    ax2.grid(alpha=0.3)
    for ax in (ax1, ax2):
        ax.set_xticks(b)
        top = max((y for ln in ax.get_lines() for y in ln.get_ydata()), default=1.0)
        ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    c = result["contract"]
    fig.suptitle(f"{c['name']} ({result['backend']}, T={c['frames']}, {c['height']}x{c['width']})")
    fig.tight_layout()
    return _save(fig, Path(path))


__all__ = [
    "benchmark",
    "format_summary",
    "machine_facts",
    "make_feed",
    "parse_batches",
    "parse_percentiles",
    "plot_bench",
    "summarize",
    "time_end_to_end",
    "time_infer",
    "write_json",
]
