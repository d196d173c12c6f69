"""`run_file`: one video file through the runtime, for the demo and scripts.

A thin wrapper over `Runtime` with one source, an event for every window, and a
`RunSummary` of what it did.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .runtime import RunOptions, Runtime


@dataclass
class RunSummary:
    """What one run did and how fast."""

    source: str
    frames: int = 0
    windows: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    decode_ms_per_frame: float = 0.0
    infer_ms_per_window: float = 0.0
    events: str | None = None
    video: str | None = None
    labels: list[str] = field(default_factory=list)
    feature_cache: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def run_file(
    model: str | os.PathLike,
    source: str | os.PathLike,
    events: str | os.PathLike | None = None,
    out_video: str | os.PathLike | None = None,
    stride: int | None = None,
    subsample: int | None = None,
    backend: str = "onnxruntime",
    cache_dir: str | os.PathLike | None = None,
    display_width: int = 640,
    emit: str = "every",
    feature_cache: str = "auto",
    status: Callable[[dict], None] | None = None,
) -> RunSummary:
    """Classify every window of `source` and write events and an annotated video.

    Args:
        model: `.onnx` model (or export directory) with an edgeaction contract.
        source: Video file path (or any source `edgeaction run` takes).
        events: Path of the JSON-lines events file, `"-"` for stdout, None for none.
        out_video: Path of the annotated MP4, or None.
        stride: Integer or None. Frames between windows; None uses the contract's.
        subsample: Integer or None. Keep every n-th frame; None uses the contract's.
        backend: String. Runner backend. Defaults to `"onnxruntime"`.
        cache_dir: Path or None. TensorRT engine cache for an `.onnx` model.
        display_width: Integer. Width of the annotated video. Defaults to `640`.
        emit: String. `"every"` window (default here) or on label `"change"`.
        feature_cache: String. `"auto"`, `"on"` or `"off"` (see `RunOptions`).
        status: Callable(dict) called about twice a second while running.
    """
    opts = RunOptions(
        stride=stride,
        subsample=subsample,
        display_width=display_width,
        emit=emit,
        feature_cache=feature_cache,
    )
    rt = Runtime(
        model,
        [str(source)],
        events=events,
        out_video=out_video,
        backend=backend,
        cache_dir=cache_dir,
        options=opts,
        status=status,
        append_events=False,  # one file, one result: written whole at the end
    )
    m = rt.run()
    s = m["streams"][0]
    lat = m.get("latency_ms", {})
    infer = lat.get("infer") or lat.get("head")
    infer_ms = 0.0
    if infer:
        total = infer["mean"] * infer["count"]
        if m["feature_cache"] and lat.get("encode"):
            total += lat["encode"]["mean"] * lat["encode"]["count"]
        infer_ms = total / max(m["windows"], 1)
    return RunSummary(
        source=s["source"],
        frames=s["frames"],
        windows=s["windows"],
        seconds=m["seconds"],
        fps=s["fps"] or m["fps"],
        decode_ms_per_frame=(s["decode_ms"] or {}).get("mean", 0.0),
        infer_ms_per_window=infer_ms,
        events=m["events_file"],
        video=s["video"],
        labels=list(rt.contract.labels),
        feature_cache=m["feature_cache"],
    )
