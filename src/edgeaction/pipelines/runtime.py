"""The multi-stream runtime behind `edgeaction run`.

```
source 0 ─ GStreamer decode+scale ─ thread ─┐                       ┌─ events (JSON lines)
source 1 ─ GStreamer decode+scale ─ thread ─┼─ queue ─ main thread ─┼─ annotated MP4 per stream
source n ─ GStreamer decode+scale ─ thread ─┘   (bounded per stream) └─ metrics, status line
```

Every source decodes in its own GStreamer pipeline and thread (`sources.Stream`), so one
bad stream never stops the others. The main thread keeps a sliding window of T frames
per stream and batches the windows that are ready, across streams, into one runner call
of up to `max_batch` windows, waiting at most `batch_timeout_ms` for a batch to fill.
Windows of one stream are classified and emitted in order.

With a model exported with `--split` (encoder.onnx + head.onnx beside model.onnx), the
*per-frame feature cache* runs the encoder once per kept frame (batched across streams)
and the head over each window of cached features, so a stride-1 window costs about one
encoder pass per frame instead of T.

Keypoint models (contract modality `pose`, `hands`, `pose+hands`, `rgb+...`) get raw
MediaPipe keypoints of every kept frame from a per-stream keypoint thread between the
stream's decoder and the shared queue (`source i ─ decode ─ thread ─ MediaPipe thread ─
queue`), in order, on the display branch's frames (at most 640 wide, as `edgeaction
keypoints` extracts for training), so one stream's MediaPipe never holds up another
stream's windows. The main thread windows the raw vectors like the frames and turns each
batch of raw windows into the model's input with the contract's feature set
(`keypoints.compute`) just before the runner call.

Never imports TensorFlow.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._lazy import gst
from ..errors import EdgeActionError, fail, first_line
from ..preprocess import normalize
from .events import EMIT_POLICIES, EmitPolicy, EventSink, LabelSmoother
from .metrics import Latency, open_fds, peak_rss_mb, process_age_s, rss_mb
from .windows import ClipBuffer, Window

FEATURE_CACHE = ("auto", "on", "off")
#: Windows per runner call when `--max-batch` is not given (capped by the engine's).
DEFAULT_MAX_BATCH = 8
#: Widest frame MediaPipe sees for keypoint models (the width `edgeaction keypoints` caps to).
KEYPOINT_WIDTH = 640


@dataclass
class RunOptions:
    """How `Runtime` windows, batches and reports.

    Args:
        stride: Integer or None. Kept frames between windows; None: the contract's.
        subsample: Integer or None. Keep every n-th frame; None: the contract's.
        max_batch: Integer or None. Windows per runner call; None: 8, or the engine's
            maximum if smaller. With the feature cache, an encoder call takes up to twice
            this many frames and the head takes every window they finish in one call.
        batch_timeout_ms: Float. Longest a ready window waits for its batch to fill.
            Defaults to `20`.
        emit: String. `"change"` (an event when a stream's label changes, default) or
            `"every"` (one per window).
        smooth: Integer. Smooth labels over this many windows (1: off). Defaults to `1`.
        smooth_mode: String. `"majority"` or `"ema"`. Defaults to `"majority"`.
        feature_cache: String. `"auto"` (use encoder.onnx + head.onnx when present and
            windows overlap), `"on"` (require them) or `"off"`. Defaults to `"auto"`.
        top_k: Integer. Labels listed in each event's `top_k`. Defaults to `3`.
        display_width: Integer. Width of annotated videos. Defaults to `640`.
        capacity: Integer. Decoded frames queued per stream; a live stream drops frames
            beyond it (counted), a file waits. Defaults to `16`.
        duration_s: Float or None. Stop after this many seconds. Defaults to `None`.
        reconnect: Boolean. Reconnect lost RTSP/camera streams with back-off.
            Defaults to `True`.
        platform: String. `"cpu"` or `"jetson"` decode elements. Defaults to `"cpu"`.
        decode_nice: Integer or None. Niceness of the decoding threads relative to the
            main thread (see `sources.Stream`). None: 0 for one stream (decoding and
            inference overlap best at equal priority), 10 for several (the shared
            consumer is the bottleneck: on 2 cores 8 saturated streams went from 0.76 to
            ~1.0 of one stream's fps). Defaults to `None`.
    """

    stride: int | None = None
    subsample: int | None = None
    max_batch: int | None = None
    batch_timeout_ms: float = 20.0
    emit: str = "change"
    smooth: int = 1
    smooth_mode: str = "majority"
    feature_cache: str = "auto"
    top_k: int = 3
    display_width: int = 640
    capacity: int = 16
    duration_s: float | None = None
    reconnect: bool = True
    platform: str = "cpu"
    decode_nice: int | None = None

    def check(self) -> None:
        for name in ("stride", "subsample", "max_batch"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                fail(f"--{name.replace('_', '-')} must be an integer >= 1. Received: {v!r}")
        if not self.batch_timeout_ms >= 0:
            fail(f"--batch-timeout-ms must be >= 0. Received: {self.batch_timeout_ms!r}")
        if self.emit not in EMIT_POLICIES:
            fail(f"--emit must be one of {', '.join(EMIT_POLICIES)}. Received: {self.emit!r}")
        if self.feature_cache not in FEATURE_CACHE:
            fail(
                f"--feature-cache must be one of {', '.join(FEATURE_CACHE)}. "
                f"Received: {self.feature_cache!r}"
            )
        if self.duration_s is not None and not self.duration_s > 0:
            fail(f"--duration must be > 0 seconds. Received: {self.duration_s!r}")
        if self.capacity < 1 or self.display_width < 16 or self.top_k < 1:
            fail("capacity, display width and top_k must be positive")
        LabelSmoother(self.smooth, self.smooth_mode)  # validates


@dataclass
class _StreamState:
    """What the main thread keeps per stream."""

    index: int
    source: str
    name: str
    frames: ClipBuffer | None  # uint8 frames (whole-model path) or None
    pose: ClipBuffer | None  # raw keypoint windows (T, RAW_DIMS[kind]), or None
    features: ClipBuffer | None  # encoder features (feature cache), or None
    smoother: LabelSmoother
    emit: EmitPolicy
    seen: int = 0  # frames consumed
    kept: int = 0  # frames kept after sub-sampling
    windows: int = 0
    events: int = 0
    label: str | None = None
    score: float | None = None
    first_frame_s: float | None = None
    last_frame_s: float | None = None
    writer: object | None = None
    video: str | None = None
    extractor: object | None = None
    state: str = "starting"
    error: str | None = None
    gaps: list = field(default_factory=list)


@dataclass
class _Pending:
    """A window waiting for the runner (or, with the cache, a frame waiting for the encoder)."""

    stream: int
    window: Window | None
    pose: np.ndarray | None  # raw keypoints (T, RAW_DIMS[kind]) of the window
    ready_s: float
    frame: tuple | None = None  # (index, pts, image) for the encoder


class Runtime:
    """Decode many sources, classify sliding windows in cross-stream batches, emit events.

    ```python
    rt = Runtime("model/model.onnx", ["cam.mp4", "test://ball"], events="ev.jsonl",
                 options=RunOptions(duration_s=10))
    report = rt.run()            # dict, as written by --metrics
    ```

    Args:
        model: `.onnx` model (or export directory) with an edgeaction contract, or an
            engine from `edgeaction build-engine`.
        sources: List of source strings (file path, `rtsp://`, `v4l2:///dev/videoN`,
            `csi://N`, `test://PATTERN`; see `pipelines.sources`).
        events: Path of the JSON-lines events file, `"-"` for stdout, None for none.
        out_video: Path or None. `.mp4` file for one source; a directory (one MP4 per
            stream) or an `.mp4` name (suffixed `-N` per stream) for several.
        metrics: Path or None. Write the run's figures here as JSON at the end.
        backend: String. `"onnxruntime"` or `"tensorrt"`.
        cache_dir: Path or None. TensorRT engine cache for an `.onnx` model.
        fp16: Boolean. Precision of the engines built from an `.onnx` model on TensorRT
            (see `trt_build_options`). Defaults to `True`.
        options: `RunOptions`.
        status: Callable(dict) called about twice a second with live figures.
        log: Callable(str) for one-line notices (a stream failed, reconnected...).
        runner: An active runner to use instead of opening `model` (not closed here).
        append_events: Boolean. Append to the events file live (`EventSink(append=True)`,
            what a service wants) rather than write it whole at the end. Defaults to
            `True`.
    """

    def __init__(
        self,
        model: str | os.PathLike,
        sources: list[str],
        events: str | os.PathLike | None = "-",
        out_video: str | os.PathLike | None = None,
        metrics: str | os.PathLike | None = None,
        backend: str = "onnxruntime",
        cache_dir: str | os.PathLike | None = None,
        fp16: bool = True,
        options: RunOptions | None = None,
        status: Callable[[dict], None] | None = None,
        log: Callable[[str], None] | None = None,
        runner=None,
        append_events: bool = True,
    ):
        from .sources import parse_source

        self.options = options or RunOptions()
        self.options.check()
        if not sources:
            fail("give at least one --source (a video file, rtsp://, v4l2://, csi://, test://)")
        self.specs = [parse_source(str(s)) for s in sources]
        self.model, self.backend, self.cache_dir, self.fp16 = model, backend, cache_dir, fp16
        self.status, self.log = status, log or (lambda _m: None)
        self._given_runner = runner
        self._stop = threading.Event()
        self.stop_reason: str | None = None
        # Outputs are checked now (not after an hour), created when the first frame arrives.
        self.sink = EventSink(events, append=append_events)
        self.video_paths = self._video_paths(out_video)
        self.metrics_path = None
        if metrics is not None:
            from ..fsutil import check_writable_file

            self.metrics_path = check_writable_file(metrics, "metrics file")

    # ---- set-up --------------------------------------------------------------------------
    def _video_paths(self, out_video) -> list[Path | None]:
        n = len(self.specs)
        if out_video is None:
            return [None] * n
        from ..fsutil import check_writable_dir, check_writable_file

        p = Path(out_video)
        if p.suffix.lower() == ".mp4":
            check_writable_file(p, "output video")
            if n == 1:
                return [p]
            return [p.with_name(f"{p.stem}-{i}.mp4") for i in range(n)]
        if n == 1 and not p.is_dir():
            fail(f"--out-video must end in .mp4 (or be a directory). Received: {p}")
        d = check_writable_dir(p, "output video directory")
        return [d / f"stream{i}-{_safe(s.display)}.mp4" for i, s in enumerate(self.specs)]

    def _open_model(self):
        """The runner (or split runner) and whether the feature cache is on."""
        from ..engine import open_runner

        opt = self.options
        if self._given_runner is not None:
            if opt.feature_cache == "on":
                fail("--feature-cache on needs the model path, not an opened runner")
            return self._given_runner, None
        # ORT's spinning worker threads would take the CPU GStreamer's decoders need.
        kw = {"spin": False} if self._on_ort() else {}
        build = self.trt_build_options()
        runner = open_runner(
            self.model, backend=self.backend, cache_dir=self.cache_dir, build=build, **kw
        )
        c = runner.contract
        stride = opt.stride or c.stride
        split = None
        given_engine = Path(self.model).suffix in (".engine", ".plan")
        if opt.feature_cache == "auto" and given_engine:
            pass  # the engine given is what runs; `on` builds the parts beside it instead
        elif opt.feature_cache != "off" and c.uses_frames and not c.uses_keypoints:
            from ..engine.split import find_split

            parts = find_split(self.model)
            if parts is None and opt.feature_cache == "on":
                fail(
                    f"--feature-cache on needs encoder.onnx and head.onnx beside {self.model}; "
                    "export the model with `edgeaction export --split`"
                )
            if parts is not None and (opt.feature_cache == "on" or stride < c.frames):
                from ..engine.split import SplitRunner

                split = SplitRunner(
                    self.model, backend=self.backend, cache_dir=self.cache_dir, build=build, **kw
                )
        elif opt.feature_cache == "on":
            fail(
                f"--feature-cache on needs a frame-only model with a per-frame encoder; "
                f"{c.name} has modality {c.modality}"
            )
        return runner, split

    def trt_build_options(self) -> dict | None:
        """`build_engine` options for engines built on the fly on TensorRT, else None.

        For an `.onnx` model on `--backend tensorrt`, and for the split parts beside a
        given engine (`--feature-cache on`). The batch profile follows the run: at most
        `max_batch` windows per call, tuned (`opt`) for one window per stream, since
        windows of all streams tend to be ready together. The engine cache keys on the
        profile, so each layout is built once.
        """
        if self._on_ort():
            return None
        mb = self.options.max_batch or DEFAULT_MAX_BATCH
        return {"fp16": self.fp16, "batch": (1, min(len(self.specs), mb), mb)}

    def _on_ort(self) -> bool:
        return self.backend == "onnxruntime" and Path(self.model).suffix not in (
            ".engine",
            ".plan",
        )

    # ---- the run -------------------------------------------------------------------------
    def request_stop(self, reason: str = "stopped") -> None:
        """Ask the run to finish: flush the windows in hand, close videos and events."""
        self.stop_reason = self.stop_reason or reason
        self._stop.set()

    def run(self) -> dict:
        """Run until every stream has ended or failed, `duration_s` passed, or a stop.

        Returns the metrics dict (also written to `metrics`). Fails with one line, leaving
        no output files, when no stream could run.
        """
        from .sources import Stream

        t_start = time.perf_counter()
        runner, split = self._open_model()
        own = self._given_runner is None
        try:
            if split is not None:
                split.activate()  # the whole model is not needed (nor built on TensorRT)
            else:
                runner.activate()
            self._setup(runner, split)
            q: queue.Queue = queue.Queue()
            gst()  # initialise GStreamer (and its plugin registry) once, in this thread
            width = self.display_width_needed()
            self.workers = [
                _KeypointWorker(st, q, self.subsample, self.lat["keypoints"], self._lat_lock)
                for st in self.state
                if st.extractor is not None
            ]
            inbox = {w.index: w.inbox for w in self.workers}
            self.streams = [
                Stream(
                    i,
                    spec,
                    inbox.get(i, q),
                    self.contract.width,
                    self.contract.height,
                    self.contract.colour,
                    display_width=width,
                    capacity=self.options.capacity,
                    reconnect=self.options.reconnect,
                    platform=self.options.platform,
                    nice=self._decode_nice(),
                )
                for i, spec in enumerate(self.specs)
            ]
            for w in self.workers:
                w.start(self.streams[w.index])
            self.t0 = time.perf_counter()
            self.setup_s = self.t0 - t_start
            for s in self.streams:
                s.start()
            try:
                self._loop(q)
            finally:
                for s in self.streams:
                    s.stop()
                for w in self.workers:
                    w.finish()  # the frames the stream left get their keypoints too
                self._drain(q)
                self._flush(force=True)
            return self._finish()
        except BaseException:
            self._abort_outputs()
            raise
        finally:
            if split is not None:
                split.deactivate()
            if own:
                runner.deactivate()
            busy = {w.index for w in getattr(self, "workers", []) if w.running}
            for st in getattr(self, "state", []):
                if st.extractor is not None and st.index not in busy:
                    st.extractor.close()

    def _decode_nice(self) -> int:
        n = self.options.decode_nice
        return (0 if len(self.specs) == 1 else 10) if n is None else n

    def display_width_needed(self) -> int | None:
        widths = []
        if any(self.video_paths):
            widths.append(self.options.display_width)
        if self.contract.uses_keypoints:
            widths.append(KEYPOINT_WIDTH)
        return max(widths) if widths else None

    def _setup(self, runner, split) -> None:
        c = runner.contract
        self.runner, self.split, self.contract = runner, split, c
        opt = self.options
        self.stride = opt.stride or c.stride
        self.subsample = opt.subsample or c.subsample
        limit = split.head_max_batch if split is not None else runner.max_batch
        self.max_batch = min(x for x in (opt.max_batch or DEFAULT_MAX_BATCH, limit) if x)
        self.enc_batch = self.max_batch
        if split is not None:
            self.enc_batch = min(
                x for x in ((opt.max_batch or DEFAULT_MAX_BATCH) * 2, split.encoder_max_batch) if x
            )
        self.timeout_s = opt.batch_timeout_ms / 1000.0
        self.pending: list[_Pending] = []
        self.lat = {
            k: Latency()
            for k in ("infer", "encode", "head", "keypoints", "features", "post", "window")
        }
        self._lat_lock = threading.Lock()  # `keypoints` is written by the keypoint threads
        self.workers: list[_KeypointWorker] = []
        self.batches = 0
        self.batched_windows = 0
        self.state = []
        for i, spec in enumerate(self.specs):
            cache = split is not None
            st = _StreamState(
                index=i,
                source=spec.display,
                name=f"stream {i}",
                frames=None if cache or not c.uses_frames else ClipBuffer(c.frames, self.stride),
                pose=ClipBuffer(c.frames, self.stride) if c.uses_keypoints else None,
                features=ClipBuffer(c.frames, self.stride) if cache else None,
                smoother=LabelSmoother(opt.smooth, opt.smooth_mode),
                emit=EmitPolicy(opt.emit),
            )
            if c.uses_keypoints:
                from ..keypoints import extractor_for

                # opened here, before GStreamer starts (see keypoints.extract)
                st.extractor = extractor_for(c).open()
            self.state.append(st)
        self._last_status = 0.0
        self.first_frame_s: float | None = None
        self.first_frame_process_s: float | None = None

    def _loop(self, q: queue.Queue) -> None:
        live = set(range(len(self.specs)))
        deadline = None if self.options.duration_s is None else self.options.duration_s
        while live and not self._stop.is_set():
            now = time.perf_counter()
            if deadline is not None and now - self.t0 >= deadline:
                self.request_stop("duration")
                break
            wait = 0.1
            if self.pending:
                wait = max(0.0, self.pending[0].ready_s + self.timeout_s - now)
            try:
                kind, i, payload = q.get(timeout=wait)
            except queue.Empty:
                self._flush()
                self._tick()
                continue
            self._handle(kind, i, payload, live)
            self._flush()  # a full batch, or one that waited batch_timeout_ms
            self._tick()

    def _drain(self, q: queue.Queue) -> None:
        """Consume what the stopped streams left in the queue (their frames count)."""
        live = set()
        while True:
            try:
                kind, i, payload = q.get_nowait()
            except queue.Empty:
                return
            self._handle(kind, i, payload, live)

    def _handle(self, kind: str, i: int, payload, live: set) -> None:
        st = self.state[i]
        if kind == "frame":
            self.streams[i].release()
            if isinstance(payload, _KeyedFrame):
                self._on_frame(st, payload.frame, payload.keypoints)
            else:
                self._on_frame(st, payload)
        elif kind == "started":
            st.state = "running"
        elif kind == "eos":
            st.state = "ended"
            live.discard(i)
        elif kind == "error":
            st.state, st.error = "failed", str(payload)
            live.discard(i)
            self.log(f"{st.name} ({st.source}): {payload}")
            self._emit_status(st, "error", message=str(payload))
        elif kind == "gap":
            st.state = "reconnecting"
            info = payload if isinstance(payload, dict) else {"reason": str(payload)}
            self.log(f"{st.name} ({st.source}): lost ({info.get('reason', '')}); reconnecting")
            self._emit_status(st, "gap", **info)
        elif kind == "resumed":
            st.state = "running"
            info = payload if isinstance(payload, dict) else {}
            st.gaps.append(info.get("gap_s"))
            self.log(f"{st.name} ({st.source}): resumed after {info.get('gap_s', 0):.1f} s")
            self._emit_status(st, "resumed", **info)

    def _emit_status(self, st: _StreamState, event: str, **info) -> None:
        self.sink.emit({"stream": st.index, "source": st.source, "event": event, **info})

    # ---- per frame -----------------------------------------------------------------------
    def _on_frame(self, st: _StreamState, f, kp: np.ndarray | None = None) -> None:
        now = time.perf_counter()
        if self.first_frame_s is None:
            self.first_frame_s = now - self.t0
            self.first_frame_process_s = process_age_s()
        if st.first_frame_s is None:
            st.first_frame_s = now
        st.last_frame_s = now
        st.state = "running" if st.state == "starting" else st.state
        st.seen += 1
        if (st.seen - 1) % self.subsample == 0:
            st.kept += 1
            self._on_kept(st, f, kp, now)
        if f.display is not None and self.video_paths[st.index] is not None:
            self._write_video(st, f.display)

    def _on_kept(self, st: _StreamState, f, kp: np.ndarray | None, now: float) -> None:
        if st.pose is not None and kp is None:
            fail(f"{st.name}: a kept frame arrived without its keypoints (internal error)")
        if st.features is not None:  # feature cache: the encoder sees every kept frame
            self.pending.append(_Pending(st.index, None, None, now, (f.index, f.pts, f.image)))
            return
        wins = st.frames.push(f.index, f.pts, f.image) if st.frames is not None else None
        pws = st.pose.push(f.index, f.pts, kp) if st.pose is not None else None
        for k, w in enumerate(wins if wins is not None else pws):
            pose = pws[k].frames if pws is not None else None
            self.pending.append(_Pending(st.index, w, pose, now))

    def _write_video(self, st: _StreamState, display: np.ndarray) -> None:
        from ..video.draw import annotate
        from ..video.writer import VideoWriter

        t = time.perf_counter()
        if st.writer is None:
            dh, dw = display.shape[:2]
            # the source's own rate (caps), so the video lasts as long as the source;
            # 25 only for a source that gave neither a frame rate nor timestamps
            fps = self.streams[st.index].fps or 25.0
            st.writer = VideoWriter(
                self.video_paths[st.index], dw, dh, fps=fps, platform=self.options.platform
            ).open()
        fps = self._stream_fps(st)
        st.writer.write(annotate(display, st.label, st.score, fps, f"{st.name}"))
        self.lat["post"].add(1000 * (time.perf_counter() - t))

    # ---- batches -------------------------------------------------------------------------
    def _flush(self, force: bool = False) -> None:
        """Run the pending work that is due: a full batch, a timed-out one, or all (force)."""
        while self.pending:
            limit = self.enc_batch if self.split is not None else self.max_batch
            due = (
                force
                or len(self.pending) >= limit
                or time.perf_counter() - self.pending[0].ready_s >= self.timeout_s
            )
            if not due:
                return
            batch, self.pending = self.pending[:limit], self.pending[limit:]
            if self.split is not None:
                self._encode(batch)
            else:
                self._classify(batch)

    def _encode(self, batch: list[_Pending]) -> None:
        """Feature cache: encode frames, push features, run the head on finished windows."""
        t = time.perf_counter()
        feats = self.split.encode(np.stack([p.frame[2] for p in batch]))
        self.lat["encode"].add(1000 * (time.perf_counter() - t))
        ready = []
        for p, feat in zip(batch, feats, strict=True):
            st = self.state[p.stream]
            idx, pts, _ = p.frame
            for w in st.features.push(idx, pts, feat):
                ready.append(_Pending(p.stream, w, None, p.ready_s))
        # One head call for every window the encoder batch finished (the head's cost is
        # mostly per call); split only where the engine's profile says so.
        step = self.split.head_max_batch or max(len(ready), 1)
        for k in range(0, len(ready), step):
            chunk = ready[k : k + step]
            t = time.perf_counter()
            probs = self.split.head(np.stack([p.window.frames for p in chunk]))
            self.lat["head"].add(1000 * (time.perf_counter() - t))
            self._results(chunk, probs)

    def _classify(self, batch: list[_Pending]) -> None:
        c = self.contract
        clips = normalize(np.stack([p.window.frames for p in batch]), c) if c.uses_frames else None
        pose = None
        if c.uses_keypoints:
            from ..keypoints import compute

            t = time.perf_counter()
            pose = compute(c.keypoint_features, np.stack([p.pose for p in batch]))
            self.lat["features"].add(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        probs = self.runner.classify(clips, pose)
        self.lat["infer"].add(1000 * (time.perf_counter() - t))
        self._results(batch, probs)

    def _results(self, batch: list[_Pending], probs: np.ndarray) -> None:
        c, k_top = self.contract, self.options.top_k
        self.batches += 1
        self.batched_windows += len(batch)
        t = time.perf_counter()
        for p, pr in zip(batch, probs, strict=True):
            st, w = self.state[p.stream], p.window
            st.windows += 1
            k, score, smoothed = st.smoother.update(pr)
            st.label, st.score = c.labels[k], score
            if st.emit(st.label):
                top = np.argsort(smoothed)[::-1][:k_top]
                self.sink.emit(
                    {
                        "stream": st.index,
                        "source": st.source,
                        "pts": None if w.pts != w.pts else round(float(w.pts), 4),
                        "frame": int(w.end),
                        "window": [int(w.start), int(w.end)],
                        "label": st.label,
                        "score": round(score, 4),
                        "top_k": [[c.labels[i], round(float(smoothed[i]), 4)] for i in top],
                        "model": c.name,
                    }
                )
                st.events += 1
            self.lat["window"].add(1000 * (time.perf_counter() - p.ready_s))
        self.lat["post"].add(1000 * (time.perf_counter() - t))

    # ---- figures -------------------------------------------------------------------------
    def _stream_fps(self, st: _StreamState) -> float:
        if st.first_frame_s is None or st.last_frame_s is None or st.seen < 2:
            return 0.0
        return (st.seen - 1) / max(st.last_frame_s - st.first_frame_s, 1e-9)

    def _tick(self) -> None:
        if self.status is None:
            return
        now = time.perf_counter()
        if now - self._last_status < 0.5:
            return
        self._last_status = now
        self.status(self.figures(final=False))

    def figures(self, final: bool = True) -> dict:
        """Per-stream and overall figures (what `--metrics` writes)."""
        elapsed = time.perf_counter() - self.t0
        streams = []
        for st, s in zip(self.state, self.streams, strict=True):
            stats = s.stats
            streams.append(
                {
                    "stream": st.index,
                    "source": st.source,
                    "state": stats.state if stats.state in ("failed", "ended") else st.state,
                    "frames": st.seen,
                    "decoded": stats.decoded,
                    "dropped": stats.dropped,
                    "kept": st.kept,
                    "windows": st.windows,
                    "events": st.events,
                    "fps": round(self._stream_fps(st), 2),
                    "reconnects": stats.reconnects,
                    "gap_s": round(stats.gap_s, 3),
                    "error": st.error or stats.error,
                    "video": st.video,
                    "decode_ms": stats.decode_ms.summary() if final else None,
                }
            )
        frames = sum(s["frames"] for s in streams)
        out = {
            "model": self.contract.name,
            "backend": self.runner.name,
            "feature_cache": self.split is not None,
            "frames_per_window": self.contract.frames,
            "stride": self.stride,
            "subsample": self.subsample,
            "max_batch": self.max_batch,
            "batch_timeout_ms": self.options.batch_timeout_ms,
            "decode_nice": self._decode_nice(),
            "seconds": round(elapsed, 3),
            "setup_s": round(self.setup_s, 3),
            "time_to_first_frame_s": None
            if self.first_frame_s is None
            else round(self.setup_s + self.first_frame_s, 3),
            "first_frame_since_process_start_s": None
            if self.first_frame_process_s is None
            else round(self.first_frame_process_s, 3),
            "frames": frames,
            "windows": sum(s["windows"] for s in streams),
            "events": self.sink.count,
            "fps": round(frames / max(elapsed, 1e-9), 2),
            "batches": self.batches,
            "mean_batch": round(self.batched_windows / max(self.batches, 1), 2),
            "streams": streams,
        }
        if final:
            out["latency_ms"] = {k: v.summary() for k, v in self.lat.items() if v.count}
            out["peak_rss_mb"] = round(peak_rss_mb(), 1)
            out["rss_mb"] = rss_mb()
            out["open_fds"] = open_fds()
            out["threads"] = threading.active_count()
            out["stopped_by"] = self.stop_reason
        return out

    # ---- the end -------------------------------------------------------------------------
    def _finish(self) -> dict:
        ran = [st for st in self.state if st.seen > 0]
        if not ran:
            self._abort_outputs()
            errors = [
                st.error or s.stats.error for st, s in zip(self.state, self.streams, strict=True)
            ]
            errors = [e for e in errors if e]
            if len(self.specs) == 1 and errors:
                fail(errors[0])
            fail(
                f"no stream could run ({len(self.specs)} given"
                + (f"; first error: {errors[0]}" if errors else "")
                + ")"
            )
        errors = []
        for st in self.state:
            if st.writer is not None:
                try:
                    p = st.writer.close()
                    st.video = str(p) if p else None
                except EdgeActionError as e:
                    errors.append(str(e))
                st.writer = None
        self.events_path = self.sink.close()
        fig = self.figures(final=True)
        fig["events_file"] = str(self.events_path) if self.events_path else None
        if self.metrics_path is not None:
            import json

            from ..fsutil import atomic_write_text

            atomic_write_text(self.metrics_path, json.dumps(fig, indent=2) + "\n")
        if errors:
            fail(errors[0])
        return fig

    def _abort_outputs(self) -> None:
        """Nothing could run, or an error: leave no half-written file behind."""
        for st in getattr(self, "state", []):
            if st.writer is not None:
                try:
                    st.writer._abort()
                except Exception as e:  # noqa: BLE001 - teardown must go on
                    self.log(f"{st.name}: could not remove a partial video ({first_line(e)})")
                st.writer = None
        self.sink.close(discard=True)


@dataclass
class _KeyedFrame:
    """A decoded frame and the raw keypoints of it (None for a frame sub-sampling drops)."""

    frame: object  # video.reader.Frame
    keypoints: np.ndarray | None


_DONE = object()


class _KeypointWorker:
    """Raw keypoints of one stream's kept frames, extracted in a thread of its own.

    Sits between a `sources.Stream` and the runtime's shared queue: takes the stream's
    messages in order from `inbox`, runs MediaPipe (the stream's extractor) on the display
    frame of every kept frame (every `subsample`-th, as the main thread counts them),
    scaled down to `KEYPOINT_WIDTH` when wider, and passes every message on in order,
    frames as `_KeyedFrame`. The stream's frame slots stay taken until the main thread
    releases them, so a stream holds at most `capacity` frames between its decoder and
    the windows (a file waits, a live source drops); a slow MediaPipe holds up only its
    own stream. A failed extraction fails the stream with one line (`"error"`), stops
    its decoder and drops what it sends after that.

    Args:
        st: `_StreamState` with an open `extractor`.
        out: The runtime's shared queue.
        subsample: Integer. Keep every n-th frame.
        lat: `Latency` of the per-frame extraction time (ms), shared by the workers.
        lock: Lock around `lat`.
    """

    def __init__(self, st: _StreamState, out: queue.Queue, subsample: int, lat, lock):
        self.index, self.name, self.ex = st.index, st.name, st.extractor
        self.out, self.subsample, self.lat, self.lock = out, subsample, lat, lock
        self.inbox: queue.Queue = queue.Queue()  # bounded by the stream's frame slots
        self.seen = 0
        self.failed = False
        self.stream = None
        self._thread: threading.Thread | None = None

    def start(self, stream) -> None:
        self.stream = stream
        self._thread = threading.Thread(
            target=self._run, name=f"edgeaction-keypoints-{self.index}", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def finish(self, timeout: float = 10.0) -> None:
        """Process what the (stopped) stream left, then end the thread."""
        if self._thread is None:
            return
        self.inbox.put(_DONE)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            msg = self.inbox.get()
            if msg is _DONE:
                return
            kind, i, payload = msg
            if self.failed:  # the stream was failed here: free its frames, drop the rest
                if kind == "frame":
                    self.stream.release()
                continue
            if kind == "frame":
                self.seen += 1
                kp = None
                if (self.seen - 1) % self.subsample == 0:
                    try:
                        kp = self._extract(payload.display)
                    except Exception as e:  # noqa: BLE001 - one stream fails, not the run
                        self._fail(e)
                        self.stream.release()
                        continue
                payload = _KeyedFrame(payload, kp)
            self.out.put((kind, i, payload))

    def _extract(self, rgb: np.ndarray | None) -> np.ndarray:
        if rgb is None:
            fail(f"{self.name}: no display frame to extract keypoints from (internal error)")
        t = time.perf_counter()
        h, w = rgb.shape[:2]
        if w > KEYPOINT_WIDTH:
            from .._lazy import require

            cv2 = require("cv2")
            size = (KEYPOINT_WIDTH, max(2, 2 * round(h * KEYPOINT_WIDTH / w / 2)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        kp = self.ex(rgb)
        ms = 1000 * (time.perf_counter() - t)
        with self.lock:
            self.lat.add(ms)
        return kp

    def _fail(self, e: Exception) -> None:
        self.failed = True
        text = str(e) if isinstance(e, EdgeActionError) else first_line(e)
        self.out.put(("error", self.index, f"{self.name}: keypoint extraction failed: {text}"))
        threading.Thread(target=self.stream.stop, daemon=True).start()


def _safe(text: str) -> str:
    """A file-name-safe short form of a source: a file's stem, else host and path."""
    m = re.match(r"^([a-z0-9]+)://(.*)$", text)
    if m is None or m.group(1) == "file":
        base = Path((m.group(2) if m else text).split("?")[0]).stem
    else:
        base = m.group(2).split("?")[0].split("@")[-1].strip("/")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:40].strip("_.") or "source"
