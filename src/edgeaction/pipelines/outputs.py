"""The runtime's outputs: the event sinks, one annotated video per stream, the metrics file.

Every path is checked when `Outputs` is made (a run fails before decoding, not after an
hour) and nothing is created before the first event or frame. Files go through
`edgeaction.fsutil` (checks, atomic writes) and `JsonLinesSink` / `VideoWriter` (written
beside the target and renamed, or appended whole lines). Each event gets its `id` here
and goes to every sink (`sinks.FanOut`: the events file, MQTT, a webhook...).

Never imports TensorFlow.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import numpy as np

from ..errors import EdgeActionError, fail, first_line
from ..fsutil import atomic_write_text, check_writable_dir, check_writable_file
from .events import EmitPolicy
from .sinks import EventSink, FanOut, JsonLinesSink


class Outputs:
    """Events (under an emit policy per stream, to every sink), annotated videos, metrics.

    Every event gets a unique `id`, `RUN-STREAM-SEQ` (RUN: 16 random hex digits per run,
    SEQ: 1, 2, ... per stream), the same in every sink and on every redelivery, so a
    consumer de-duplicates on it and orders a stream's events by SEQ.

    Args:
        displays: List of strings. Each stream's source as shown (credentials redacted).
        events: Path of the JSON-lines events file, `"-"` for stdout, None for none.
        out_video: Path or None. `.mp4` file for one source; a directory (one MP4 per
            stream) or an `.mp4` name (suffixed `-N` per stream) for several.
        metrics: Path or None. The run's figures, as JSON, written by `write_metrics`.
        emit: String. `"change"` or `"every"` (see `EmitPolicy`). Defaults to `"change"`.
        append_events: Boolean. Append to the events file live. Defaults to `True`.
        platform: String. Encoder elements of the videos. Defaults to `"cpu"`.
        log: Callable(str) for one-line notices.
        sinks: List of `EventSink` (MQTT, webhook...) that get every event besides the
            events file. Defaults to none.
    """

    def __init__(
        self,
        displays: list[str],
        events=None,
        out_video=None,
        metrics=None,
        emit: str = "change",
        append_events: bool = True,
        platform: str = "cpu",
        log=None,
        sinks: list[EventSink] | None = None,
    ):
        self.jsonl = JsonLinesSink(events, append=append_events)
        self.sink = FanOut([self.jsonl, *(sinks or [])])
        self.run_id = uuid.uuid4().hex[:16]
        self.video_paths = _video_paths(out_video, displays)
        self.metrics_path = (
            None if metrics is None else check_writable_file(metrics, "metrics file")
        )
        self.platform = platform
        self.log = log or (lambda _m: None)
        n = len(displays)
        self.emit = emit
        self.policies: dict[tuple, EmitPolicy] = {}  # per (stream, zone)
        self.seq = [0] * n  # events per stream (windows of every zone, notices), for the ids
        self.events = [0] * n  # window events per stream
        self.writers: list = [None] * n
        self.videos: list[str | None] = [None] * n
        self.restream = None  # `restream.Restream` (--out-rtsp), see `attach`
        self.clips = None  # `clips.EventClips` (--event-clips)

    def attach(self, restream=None, clips=None) -> None:
        """Hook the RTSP re-stream and the event clips onto the annotated frames."""
        self.restream, self.clips = restream, clips

    def wants_video(self, stream: int) -> bool:
        """Whether `frame()` wants the stream's annotated frames (file, RTSP, clips)."""
        return (
            self.video_paths[stream] is not None
            or self.restream is not None
            or self.clips is not None
        )

    def every_frame(self, stream: int) -> bool:
        """Whether an output needs every annotated frame of `stream` (the video file, the
        event clips' ring); the re-stream alone shows them as they happen, at most at the
        stream's frame rate in wall-clock time (`restream.Restream.wants`)."""
        return self.video_paths[stream] is not None or self.clips is not None

    def watched(self, stream: int) -> bool:
        """Whether an RTSP client watches `stream` now (`restream.Restream.watching`)."""
        return self.restream is not None and self.restream.watching(stream)

    def result(self, r) -> bool:
        """Emit the event of a window `Result` if the stream's policy says so."""
        key = (r.stream, getattr(r, "zone", None))
        if not self.policies.setdefault(key, EmitPolicy(self.emit))(r.label):
            return False
        self._emit(r.stream, r.event(), clip=self.clips is not None)
        self.events[r.stream] += 1
        return True

    def status(self, stream: int, source: str, event: str, **info) -> None:
        """A stream's `error`, `gap` or `resumed` event."""
        self._emit(stream, {"stream": stream, "source": source, "event": event, **info})

    def _emit(self, stream: int, event: dict, clip: bool = False) -> None:
        self.seq[stream] += 1
        eid = f"{self.run_id}-{stream}-{self.seq[stream]}"
        if clip:  # named now; the file appears when its post-roll ends
            event = {**event, "clip": self.clips.event(stream, eid, event.get("frame"))}
        self.sink.emit({"id": eid, **event})

    def frame(
        self,
        stream: int,
        display: np.ndarray,
        text: tuple,
        fps: float | None,
        index: int | None = None,
    ) -> None:
        """Draw `text` (label, score, fps, name) on a display frame and write it (to the
        video file, the RTSP re-stream, the event clips' ring; `index`: its source frame).

        The video opens at the first frame, at the source's frame rate `fps` (25 when
        the source gives none), so it lasts as long as the source.
        """
        from ..video.draw import annotate
        from ..video.writer import VideoWriter

        rtsp = self.restream is not None and self.restream.wants(stream, fps)
        if not rtsp and self.clips is None and self.video_paths[stream] is None:
            return  # nobody watches the re-stream now: no drawing
        img = annotate(display, *text)  # a new array: the clips' ring keeps it
        if rtsp:
            self.restream.frame(stream, img, fps)
        if self.clips is not None:
            self.clips.frame(stream, img, fps, index)
        if self.video_paths[stream] is None:
            return
        if self.writers[stream] is None:
            dh, dw = display.shape[:2]
            path = self.video_paths[stream]
            w = VideoWriter(path, dw, dh, fps=fps or 25.0, platform=self.platform)
            self.writers[stream] = w.open()
        self.writers[stream].write(img)

    def close(self) -> tuple[Path | None, list[str]]:
        """Finish the videos and the sinks; returns (events path, video errors).

        The sinks' notices (events left in a spool...) are logged, not errors."""
        errors = []
        for i, w in enumerate(self.writers):
            if w is not None:
                try:
                    p = w.close()
                    self.videos[i] = str(p) if p else None
                except EdgeActionError as e:
                    errors.append(str(e))
                self.writers[i] = None
        self.close_taps()
        for note in self.sink.close():
            self.log(note)
        return self.jsonl.written, errors

    def close_taps(self) -> None:
        """Stop the re-stream; finish the event clips in hand (before the sinks close)."""
        if self.restream is not None:
            self.restream.close()
        if self.clips is not None:
            self.clips.close()

    def write_metrics(self, figures: dict) -> None:
        if self.metrics_path is not None:
            atomic_write_text(
                self.metrics_path, json.dumps(figures, indent=2) + "\n", "metrics file"
            )

    def abort(self) -> None:
        """Nothing could run, or an error: leave no half-written file behind."""
        for i, w in enumerate(self.writers):
            if w is not None:
                try:
                    w._abort()
                except Exception as e:  # noqa: BLE001 - teardown must go on
                    self.log(f"stream {i}: could not remove a partial video ({first_line(e)})")
                self.writers[i] = None
        self.close_taps()
        for note in self.sink.close(discard=True):
            self.log(note)


def _video_paths(out_video, displays: list[str]) -> list[Path | None]:
    n = len(displays)
    if out_video is None:
        return [None] * n
    p = Path(out_video)
    if p.suffix.lower() == ".mp4":
        check_writable_file(p, "output video")
        if n == 1:
            return [p]
        return [p.with_name(f"{p.stem}-{i}.mp4") for i in range(n)]
    if n == 1 and not p.is_dir():
        fail(f"--out-video must end in .mp4 (or be a directory). Received: {p}")
    d = check_writable_dir(p, "output video directory")
    return [d / f"stream{i}-{_safe(s)}.mp4" for i, s in enumerate(displays)]


def _safe(text: str) -> str:
    """A file-name-safe short form of a source: a file's stem, else host and path."""
    m = re.match(r"^([a-z0-9]+)://(.*)$", text)
    if m is None or m.group(1) == "file":
        base = Path((m.group(2) if m else text).split("?")[0]).stem
    else:
        base = m.group(2).split("?")[0].split("@")[-1].strip("/")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:40].strip("_.") or "source"
