"""The multi-stream runtime behind `edgeaction run`, and its public results iterator.

```
source 0 ─ GStreamer decode+scale ─ thread ─┐                       ┌─ events (JSON lines)
source 1 ─ GStreamer decode+scale ─ thread ─┼─ queue ─ main thread ─┼─ annotated MP4 per stream
source n ─ GStreamer decode+scale ─ thread ─┘   (bounded per stream) └─ metrics, status line
```

The main thread's stages, one unit each, all made when the run starts:
`sources.Stream` (decode, per stream) → `windows.StreamWindows` (windows, per stream)
→ `Batcher` (cross-stream batches) → `classifier.WholeModel` / `classifier.FeatureCache`
→ `outputs.Outputs` (events, videos, metrics) and `figures.Figures` (latency, counts).

```python
rt = Runtime("model.onnx", ["cam.mp4"], events=None)
for r in rt.results():          # one `Result` per window, in order per stream
    print(r.stream, r.label, round(r.score, 2))
rt.report                       # the metrics dict, once the iterator is done
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

Zones (`zones=`, `run --roi`): on the CPU a stream with zones crops each zone from the
decoded frame in its GStreamer pipeline (a tee, `videocrop ! videoscale` per zone, see
`sources.stream.zone_description`); on a Jetson its thread crops them out of one RGB
frame at `zones.ZONE_WIDTH` (`zones.ZoneCrops`). Each zone has its own windows, feature
windows and label in the stream's `StreamWindows`, and its windows batch with those of
every other zone and stream.
A stream copies the model-size images (with zones, every zone's crop) out of GStreamer
only for the frames the sub-sampling keeps (`Stream`'s `subsample`); the others are
still counted and delivered (display frame and all), without them.
Events of a zone carry `zone`; a stream without zones is one whole-frame zone and its
events carry none, as before.

Never imports TensorFlow.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .._lazy import gst
from ..errors import fail
from .classifier import DEFAULT_MAX_BATCH, FeatureCache, Result, WholeModel, on_ort, open_model
from .events import EMIT_POLICIES, LabelSmoother
from .figures import Figures, stream_row
from .keypoint_worker import KEYPOINT_WIDTH, KeyedFrame, KeypointWorker
from .outputs import Outputs
from .windows import Batcher, StreamWindows
from .zones import ZONE_WIDTH, draw_zones, zones_by_stream

FEATURE_CACHE = ("auto", "on", "off")
__all__ = ["DEFAULT_MAX_BATCH", "KEYPOINT_WIDTH", "Result", "RunOptions", "Runtime"]


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
        ort_threads: Integer or None. ONNX Runtime threads per operator (CPU). None: 1
            for several streams (their decoders keep the other cores busy; splitting
            each operator cost more CPU than it saved: 8 saturated streams ran 5-13 %
            faster on one), ONNX Runtime's own (one per core) for one stream.
            Defaults to `None`.
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
    ort_threads: int | None = None

    def check(self) -> None:
        for name in ("stride", "subsample", "max_batch", "ort_threads"):
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


class Runtime:
    """Decode many sources, classify sliding windows in cross-stream batches, emit events.

    ```python
    rt = Runtime("model/model.onnx", ["cam.mp4", "test://ball"], events="ev.jsonl",
                 options=RunOptions(duration_s=10))
    report = rt.run()            # dict, as written by --metrics

    for r in Runtime("model.onnx", ["cam.mp4"], events=None).results():
        print(r.stream, r.label, r.score)   # one `Result` per window
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
        observe: Callable(step, value, stream) or None. Every measurement as it is
            made (`Figures`; `--prometheus`'s histograms). Defaults to `None`.
        zones: List of `options.Roi` or None. Named zones per stream (`--roi`); a stream
            without any is one zone, the whole frame. Defaults to `None`.
        sinks: List of `sinks.EventSink` (MQTT, webhook) that get every event too.
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
        observe: Callable[[str, float, int | None], None] | None = None,
        zones: list | None = None,
        sinks: list | None = None,
    ):
        from .sources import parse_source

        self.options = options or RunOptions()
        self.options.check()
        if not sources:
            fail("give at least one --source (a video file, rtsp://, v4l2://, csi://, test://)")
        self.specs = [parse_source(str(s)) for s in sources]
        self.zones = zones_by_stream(zones, len(self.specs))  # fails for a bad index/name
        self.model, self.backend, self.cache_dir, self.fp16 = model, backend, cache_dir, fp16
        self.status, self.log = status, log or (lambda _m: None)
        self.observe = observe
        self._given_runner = runner
        self._stop = threading.Event()
        self.stop_reason: str | None = None
        # Outputs are checked now (not after an hour), created when the first frame arrives.
        self.outputs = Outputs(
            [s.display for s in self.specs],
            events,
            out_video,
            metrics,
            emit=self.options.emit,
            append_events=append_events,
            platform=self.options.platform,
            log=self.log,
            sinks=sinks,
        )
        self.contract = None  # the model's contract, once the run has opened it
        self.report: dict | None = None  # the metrics dict, once the run is over
        self.events_path = None
        self._run: _Run | None = None
        self._claim_outputs(events, metrics)

    # ---- set-up --------------------------------------------------------------------------
    def _claim_outputs(self, events, metrics) -> None:
        """Refuse an output that is the model, a source or another output (one line)."""
        from ..fsutil import claim_outputs

        local = [s.location for s in self.specs if s.kind in ("file", "v4l2")]
        outputs = {
            "--events": events,
            "--out-video": self.outputs.video_paths,
            "--metrics": metrics,
        }
        claim_outputs(outputs, {"MODEL": self.model, "--source": local})

    # ---- model --------------------------------------------------------------------------
    def _open_model(self):
        """The runner (or split runner) and whether the feature cache is on."""
        if self._given_runner is not None:
            if self.options.feature_cache == "on":
                fail("--feature-cache on needs the model path, not an opened runner")
            return self._given_runner, None
        o = self.options
        build = self.trt_build_options()
        return open_model(
            self.model,
            self.backend,
            self.cache_dir,
            build,
            o.feature_cache,
            o.stride,
            self.ort_threads(),
        )

    def trt_build_options(self) -> dict | None:
        """`build_engine` options for engines built on the fly on TensorRT, else None.

        For an `.onnx` model on `--backend tensorrt`, and for the split parts beside a
        given engine (`--feature-cache on`). The batch profile follows the run: at most
        `max_batch` windows per call, tuned (`opt`) for one window per stream, since
        windows of all streams tend to be ready together. The engine cache keys on the
        profile, so each layout is built once.
        """
        if on_ort(self.model, self.backend):
            return None
        mb = self.options.max_batch or DEFAULT_MAX_BATCH
        return {"fp16": self.fp16, "batch": (1, min(len(self.specs), mb), mb)}

    def ort_threads(self) -> int | None:
        """ONNX Runtime's threads per operator (None: its own default, one per core)."""
        n = self.options.ort_threads
        return (None if len(self.specs) == 1 else 1) if n is None else n

    def decode_nice(self) -> int:
        n = self.options.decode_nice
        return (0 if len(self.specs) == 1 else 10) if n is None else n

    def display_width_needed(self, stream: int | None = None) -> int | None:
        """Width of the display branch (of `stream`), the widest its users need, or None."""
        widths = [width for width, _every in self._display_users(stream)]
        return max(widths) if widths else None

    def display_realtime(self, stream: int) -> bool:
        """Whether `stream` makes display frames only as they are shown, at most at its
        frame rate in wall-clock time, each the newest decoded frame rather than its
        model frame's own (`sources.Stream`'s `display_realtime`): none of their users
        needs every frame (the RTSP re-stream alone) and the source is not live. A file
        decoded faster than real time then scales, converts and draws 30 frames a
        second, not 2,000; a live source comes at its own rate already."""
        users = self._display_users(stream)
        live = self.specs[stream].live
        return bool(users) and not live and not any(every for _width, every in users)

    def display_wanted(self, stream: int):
        """A realtime display's `Callable() -> bool`: whether an RTSP client watches
        `stream` now (no display frame is made while none does); None otherwise."""
        if not self.display_realtime(stream):
            return None
        return lambda: self.outputs.watched(stream)

    def _display_users(self, stream: int | None) -> list[tuple[int, bool]]:
        """Who uses the display frames (of `stream`), each as (width, needs every frame,
        each its own):
        the annotated outputs (every frame for a video file or the event clips, not for
        the re-stream alone), MediaPipe, zones off the CPU (cropped from it,
        `ZONE_WIDTH`). The one place that says who needs which display frames."""
        users = []
        if any(map(self.outputs.wants_video, range(len(self.specs)))):
            every = stream is None or self.outputs.every_frame(stream)
            users.append((self.options.display_width, every))
        if self.contract is not None and self.contract.uses_keypoints:
            users.append((KEYPOINT_WIDTH, True))
        if stream is not None and self.zones[stream] and self.options.platform != "cpu":
            users.append((ZONE_WIDTH, True))
        return users

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
        for _ in self.results():
            pass
        return self.report

    def results(self) -> Iterator[Result]:
        """Run, yielding one `Result` per classified window (in order per stream).

        The run ends as `run()` does; leaving the loop early (`break`) stops it the way a
        stop request does: the windows in hand are classified (not yielded), videos and
        events are closed and `report` is set.
        """
        t_start = time.perf_counter()
        runner, split = self._open_model()
        run = None
        try:
            (split if split is not None else runner).activate()
            self.contract = runner.contract
            run = self._run = _Run(self, runner, split)
            try:
                run.start(t_start)
                try:
                    while run.step():
                        while run.ready:
                            yield run.ready.popleft()
                finally:
                    run.stop()
                while run.ready:
                    yield run.ready.popleft()
            except GeneratorExit:  # the consumer left the loop: finish, yield nothing more
                self.request_stop("stopped")
            self.report = self._finish(run)
        except BaseException:
            self.outputs.abort()
            raise
        finally:
            if split is not None:
                split.deactivate()
            if self._given_runner is None:
                runner.deactivate()
            if run is not None:
                run.close()

    def figures(self, final: bool = True) -> dict:
        """Per-stream and overall figures (what `--metrics` writes)."""
        if self._run is None:
            fail("no figures before the run has started; call run() or results() first")
        return self._run.report(final)

    # ---- the end -------------------------------------------------------------------------
    def _finish(self, run: _Run) -> dict:
        if not any(sw.seen for sw in run.windows):
            self.outputs.abort()
            errors = [
                sw.error or s.stats.error for sw, s in zip(run.windows, run.streams, strict=True)
            ]
            errors = [e for e in errors if e]
            if len(self.specs) == 1 and errors:
                fail(errors[0])
            fail(
                f"no stream could run ({len(self.specs)} given"
                + (f"; first error: {errors[0]}" if errors else "")
                + ")"
            )
        self.events_path, errors = self.outputs.close()
        fig = run.report(final=True)
        fig["events_file"] = str(self.events_path) if self.events_path else None
        self.outputs.write_metrics(fig)
        if errors:
            fail(errors[0])
        return fig


class _Run:
    """One run's stages, made together once the model is active: a `StreamWindows`, a
    `sources.Stream` (and a `KeypointWorker` for keypoint models) per source, the
    `Batcher`, the classifier and the `Figures`. Fails (closing what it opened) when a
    stream cannot be built."""

    def __init__(self, rt: Runtime, runner, split):
        opt, c = rt.options, runner.contract
        self.rt, self.runner, self.split, self.contract = rt, runner, split, c
        self.stride = opt.stride or c.stride
        self.subsample = opt.subsample or c.subsample
        cache = split is not None
        if c.uses_keypoints and any(rt.zones):
            fail(
                f"--roi is not supported for keypoint models yet ({c.name} has modality "
                f"{c.modality}); run it without --roi"
            )
        self.windows = [
            StreamWindows(
                i,
                s.display,
                c,
                self.stride,
                self.subsample,
                cache,
                opt.smooth,
                opt.smooth_mode,
                [z.name for z in rt.zones[i]] or None,
            )
            for i, s in enumerate(rt.specs)
        ]
        self.figures = Figures(rt.status, rt.observe)
        self.classifier = (
            FeatureCache(split, c, opt.max_batch, self.windows, self.figures)
            if cache
            else WholeModel(runner, opt.max_batch, self.figures)
        )
        self.batcher = Batcher(self.classifier.batch_limit, opt.batch_timeout_ms / 1000.0)
        self.queue: queue.Queue = queue.Queue()
        self.ready: deque[Result] = deque()
        self.live = set(range(len(rt.specs)))
        self.workers: dict[int, KeypointWorker] = {}
        try:
            self.streams = self._streams()
        except BaseException:
            self.close()
            raise

    def _streams(self) -> list:
        from .sources import Stream

        rt, c, opt = self.rt, self.contract, self.rt.options
        if c.uses_keypoints:
            from ..keypoints import extractor_for

            for i in range(len(rt.specs)):  # opened before GStreamer starts (keypoints.extract)
                ex = extractor_for(c).open()
                self.workers[i] = KeypointWorker(i, ex, self.queue, self.subsample, self.figures)
        gst()  # initialise GStreamer (and its plugin registry) once, in this thread
        streams = [
            Stream(
                i,
                spec,
                self.workers[i].inbox if i in self.workers else self.queue,
                c.width,
                c.height,
                c.colour,
                display_width=rt.display_width_needed(i),
                display_realtime=rt.display_realtime(i),
                display_wanted=rt.display_wanted(i),
                capacity=opt.capacity,
                reconnect=opt.reconnect,
                platform=opt.platform,
                nice=rt.decode_nice(),
                zones=rt.zones[i] or None,
                # the frames StreamWindows drops are not copied out (keypoint models:
                # their worker reads every frame)
                subsample=1 if c.uses_keypoints else self.subsample,
            )
            for i, spec in enumerate(rt.specs)
        ]
        for i, w in self.workers.items():
            w.start(streams[i])
        return streams

    # ---- the main loop -------------------------------------------------------------------
    def start(self, t_start: float) -> None:
        self.figures.start(t_start)
        for s in self.streams:
            s.start()

    def step(self) -> bool:
        """Handle one message (or a timeout) and run the batches that are due; False
        once every stream has ended or failed, `duration_s` passed, or a stop."""
        rt = self.rt
        if not self.live or rt._stop.is_set():
            return False
        now = time.perf_counter()
        if rt.options.duration_s is not None and now - self.figures.t0 >= rt.options.duration_s:
            rt.request_stop("duration")
            return False
        try:
            self._handle(*self.queue.get(timeout=self.batcher.wait_s(now)))
        except queue.Empty:
            pass
        self.flush()  # a full batch, or one that waited batch_timeout_ms
        self.figures.tick(self.report)
        return True

    def stop(self) -> None:
        """Stop the streams, then consume and classify everything they left."""
        for s in self.streams:
            s.stop()
        for w in self.workers.values():
            w.finish()  # the frames the stream left get their keypoints too
        while True:
            try:
                self._handle(*self.queue.get_nowait())
            except queue.Empty:
                break
        self.flush(force=True)

    def close(self) -> None:
        for w in self.workers.values():
            w.close()

    def _handle(self, kind: str, i: int, payload) -> None:
        sw, out = self.windows[i], self.rt.outputs
        if kind == "frame":
            self.streams[i].release()
            if isinstance(payload, KeyedFrame):
                self._on_frame(sw, payload.frame, payload.keypoints)
            else:
                self._on_frame(sw, payload, None)
        elif kind == "started":
            sw.state = "running"
        elif kind == "eos":
            sw.state = "ended"
            self.live.discard(i)
        elif kind == "error":
            sw.state, sw.error = "failed", str(payload)
            self.live.discard(i)
            self.rt.log(f"{sw.name} ({sw.source}): {payload}")
            out.status(i, sw.source, "error", message=str(payload))
        elif kind == "gap":
            sw.state = "reconnecting"
            info = payload if isinstance(payload, dict) else {"reason": str(payload)}
            self.rt.log(f"{sw.name} ({sw.source}): lost ({info.get('reason', '')}); reconnecting")
            out.status(i, sw.source, "gap", **info)
        elif kind == "resumed":
            sw.state = "running"
            info = payload if isinstance(payload, dict) else {}
            sw.gaps.append(info.get("gap_s"))
            self.rt.log(f"{sw.name} ({sw.source}): resumed after {info.get('gap_s', 0):.1f} s")
            out.status(i, sw.source, "resumed", **info)

    def _on_frame(self, sw: StreamWindows, f, kp: np.ndarray | None) -> None:
        now = time.perf_counter()
        self.figures.frame(now)
        self.batcher.add(sw.on_frame(f, kp, now))
        out = self.rt.outputs
        if f.display is not None and out.wants_video(sw.index):
            t = time.perf_counter()
            text = (sw.label, sw.score, sw.fps, sw.name)
            display = f.display
            if sw.zoned:
                s, first = self.streams[sw.index], sw.zones[0]
                labels = [(z.label, z.score) for z in sw.zones]
                display = draw_zones(display, self.rt.zones[sw.index], s.source_size, labels)
                text = (f"{first.name}: {first.label}" if first.label else None, *text[1:])
            out.frame(sw.index, display, text, self.streams[sw.index].fps, f.index)
            self.figures.add("post", t)

    # ---- batches -------------------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Classify the batches that are due (all of them with `force`)."""
        while (batch := self.batcher.take(force)) is not None:
            for pairs in self.classifier.run(batch):
                self._results(pairs)

    def _results(self, pairs: list) -> None:
        c, k_top, out = self.contract, self.rt.options.top_k, self.rt.outputs
        self.figures.batch(len(pairs), len({(p.stream, p.zone) for p, _ in pairs}))
        t = time.perf_counter()
        for p, probs in pairs:
            sw, w = self.windows[p.stream], p.window
            score, smoothed = sw.on_probs(probs, c.labels, p.zone)
            top = np.argsort(smoothed)[::-1][:k_top]
            r = Result(
                stream=sw.index,
                source=sw.source,
                window=(int(w.start), int(w.end)),
                pts=None if w.pts != w.pts else float(w.pts),
                label=sw.zones[p.zone].label,
                score=float(score),
                top_k=[(c.labels[i], float(smoothed[i])) for i in top],
                probs=smoothed,
                model=c.name,
                zone=sw.zone_name(p.zone),
            )
            out.result(r)
            self.ready.append(r)
            self.figures.add("window", p.ready_s, p.stream)
        self.figures.add("post", t)

    # ---- figures -------------------------------------------------------------------------
    def report(self, final: bool = True) -> dict:
        """The metrics dict: the run's settings, figures, and one entry per stream."""
        rt, out = self.rt, self.rt.outputs
        streams = [
            stream_row(sw, s.stats, out.events[i], out.videos[i], final)
            for i, (sw, s) in enumerate(zip(self.windows, self.streams, strict=True))
        ]
        frames = sum(s["frames"] for s in streams)
        f = self.figures.run_figures(frames)
        d = {
            "model": self.contract.name,
            "backend": self.runner.name,
            "feature_cache": self.split is not None,
            "frames_per_window": self.contract.frames,
            "stride": self.stride,
            "subsample": self.subsample,
            "max_batch": self.classifier.max_batch,
            "batch_timeout_ms": rt.options.batch_timeout_ms,
            "decode_nice": rt.decode_nice(),
            "ort_threads": rt.ort_threads(),
            **{k: f[k] for k in ("seconds", "setup_s", "time_to_first_frame_s")},
            "first_frame_since_process_start_s": f["first_frame_since_process_start_s"],
            "frames": frames,
            "windows": sum(s["windows"] for s in streams),
            "events": out.sink.count,
            **{k: f[k] for k in ("fps", "batches", "mean_batch")},
            **{k: f[k] for k in ("mean_batch_zones", "max_batch_zones")},
            "streams": streams,
        }
        if final:
            d.update(self.figures.process_figures())
            d["stopped_by"] = rt.stop_reason
        return d
