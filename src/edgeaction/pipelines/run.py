"""`edgeaction run MODEL --source FILE`: classify sliding windows of one video file.

GStreamer decode + scale (appsink → numpy) → ClipBuffer(T, stride) → runner
→ JSON-lines events + annotated MP4 (appsrc → x264enc → mp4mux)
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..engine import open_runner
from ..errors import fail
from ..preprocess import normalize
from ..video.reader import VideoReader
from .events import EventSink
from .windows import ClipBuffer


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
    stream: int = 0,
    runner=None,
    status: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Classify every window of `source` and write events and an annotated video.

    Args:
        model: `.onnx` model with an edgeaction contract.
        source: Video file path.
        events: Path of the JSON-lines events file, `"-"` for stdout, None for none.
        out_video: Path of the annotated MP4, or None.
        stride: Integer or None. Frames between windows; None uses the contract's.
        subsample: Integer or None. Keep every n-th frame; None uses the contract's.
        backend: String. Runner backend. Defaults to `"onnxruntime"`.
        cache_dir: Path or None. TensorRT engine cache for an `.onnx` model.
        display_width: Integer. Width of the annotated video. Defaults to `640`.
        stream: Integer. Stream number written into events.
        runner: An active runner to reuse (then `model` is only used for its name).
        status: Callable(RunSummary) called about twice a second while running.
    """
    from ..video.writer import VideoWriter

    own_runner = runner is None
    if own_runner:
        runner = open_runner(model, backend=backend, cache_dir=cache_dir).activate()
    c = runner.contract
    if c.uses_pose:
        if own_runner:
            runner.deactivate()
        fail(
            f"{c.name} reads pose keypoints (modality {c.modality}); `edgeaction run` serves "
            "frame-only models in this release"
        )
    stride = stride or c.stride
    subsample = subsample or c.subsample
    src = str(source)
    summary = RunSummary(source=src, labels=list(c.labels))
    if out_video is not None:
        out_video = Path(out_video)
        if out_video.suffix.lower() != ".mp4":
            fail(f"--out-video must end in .mp4. Received: {out_video}")
    reader = VideoReader(
        src, c.width, c.height, c.colour, display_width=display_width if out_video else None
    )
    frames_iter = iter(reader)
    try:  # decode the first frame before creating any output: a bad source leaves nothing
        first = next(frames_iter)  # VideoReader fails (never stops) on a stream with no frames
    except BaseException:
        if own_runner:
            runner.deactivate()
        raise
    sink = EventSink(events)
    writer = None
    try:
        buf = ClipBuffer(c.frames, stride, subsample)
        label, score = None, None
        infer_s = 0.0
        t0 = time.perf_counter()
        last_status = t0
        t_dec = time.perf_counter()
        decode_s = 0.0
        for f in itertools.chain([first], frames_iter):
            decode_s += time.perf_counter() - t_dec
            for w in buf.push(f.index, f.pts, f.image):
                t = time.perf_counter()
                probs = runner.classify(normalize(w.frames, c))[0]
                infer_s += time.perf_counter() - t
                k = int(np.argmax(probs))
                label, score = c.labels[k], float(probs[k])
                top = np.argsort(probs)[::-1][:3]
                sink.emit(
                    {
                        "stream": stream,
                        "source": src,
                        "pts": round(w.pts, 4),
                        "frame": w.end,
                        "window": [w.start, w.end],
                        "label": label,
                        "score": round(score, 4),
                        "top_k": [[c.labels[i], round(float(probs[i]), 4)] for i in top],
                        "model": c.name,
                    }
                )
                summary.windows += 1
            summary.frames += 1
            now = time.perf_counter()
            summary.seconds = now - t0
            summary.fps = summary.frames / max(summary.seconds, 1e-9)
            if f.display is not None:
                if writer is None:
                    from ..video.draw import annotate

                    dh, dw = f.display.shape[:2]
                    writer = VideoWriter(out_video, dw, dh, fps=reader.fps or 25.0).open()
                writer.write(annotate(f.display, label, score, summary.fps, f"stream {stream}"))
            if status and now - last_status > 0.5:
                status(summary)
                last_status = now
            t_dec = time.perf_counter()
        summary.seconds = time.perf_counter() - t0
        summary.fps = summary.frames / max(summary.seconds, 1e-9)
        summary.decode_ms_per_frame = 1000 * decode_s / max(summary.frames, 1)
        summary.infer_ms_per_window = 1000 * infer_s / max(summary.windows, 1)
        if writer is not None:
            summary.video = str(writer.close())
            writer = None
        summary.events = str(sink.close()) if sink.path else None
    finally:
        # Ctrl-C or an error: keep what is complete, finalise the video, never leave partials.
        if writer is not None:
            try:
                writer.close()
            except Exception:
                writer._abort()
        sink.close()
        if own_runner:
            runner.deactivate()
    return summary
