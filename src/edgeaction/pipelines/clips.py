"""`--event-clips DIR`: a short MP4 around each event, from a pre-roll ring buffer.

Each stream keeps its last `(pre + min(post, 1 s)) × fps` annotated frames in memory (RGB at
the display size, 0.9 MB a frame at 640x480: 2 s + 1 s at 30 fps is 83 MB; a bounded ring,
with their source frame index: a window's result comes a few frames after its last frame,
so the frames already past an event count towards its post-roll). An event names its clip
at once (`"clip": "DIR/clip-ID.mp4"`, ID the event's id) and the clip starts: the
frames from `pre` s before the event's frame are encoded, up to `post` s after it. When the
post-roll ends (and up to 1 s more, for an overlapping event still on its way), the file is finalised and renamed into place (`VideoWriter`: written as a
hidden `.partial` file beside it), so a named clip either does not exist yet or is whole.

Overlapping events on one stream extend the clip in hand: an event that comes while a clip
still records its post-roll (or up to 1 s after it: results come after their frames) is
named the same clip, which then runs to `post` seconds
past the latest event's frame, until the clip is `MAX_CLIP_S` long; then the next event starts a new clip. At the end of
the run a clip in hand is finished with the post-roll it has.

Encoding happens in one thread per recording clip (the run only hands frames over). Disk
use is bounded: after each clip, the oldest `clip-*.mp4` in DIR are deleted until the
directory's clips fit in `max_mb`; deletions are counted and logged once per clip.

Never imports TensorFlow.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from pathlib import Path

import numpy as np

from ..errors import EdgeActionError, fail, first_line
from ..fsutil import check_writable_dir

#: Longest clip (seconds): overlapping events extend a clip up to this.
MAX_CLIP_S = 60.0

__all__ = ["MAX_CLIP_S", "EventClips"]


class _Clip:
    """One clip being recorded: its writer thread and the frames still to come."""

    def __init__(self, path: Path, fps: float, platform: str, done, backlog: int):
        self.path = path
        self.start = self.end = 0  # source frame indices: first kept, last wanted
        self.last = -1  # index of the last frame put
        # The pre-roll fits; beyond it, a run that outpaces the encoder by a second waits.
        self.q: queue.Queue = queue.Queue(maxsize=backlog)
        self.error: str | None = None
        self._fps, self._platform, self._done = fps, platform, done
        self.thread = threading.Thread(target=self._encode, name=f"clip {path.name}", daemon=True)
        self.thread.start()

    def put(self, index: int, frame: np.ndarray) -> None:
        if self.last < index <= self.end:
            self._put(frame)
            self.last = index

    def finish(self) -> None:
        self._put(None)

    def _put(self, item) -> None:
        """Queue for the writer thread; dropped once that thread has stopped (an error)."""
        while self.thread.is_alive():
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _encode(self) -> None:
        from ..video.writer import VideoWriter

        w = None
        try:
            while (frame := self.q.get()) is not None:
                if w is None:
                    h, wd = frame.shape[:2]
                    w = VideoWriter(self.path, wd, h, fps=self._fps, platform=self._platform)
                    w.open()
                w.write(frame)
            if w is not None:
                w.close()
        except Exception as e:  # noqa: BLE001 - reported as the clip's error, the run goes on
            self.error = first_line(e) if isinstance(e, EdgeActionError) else repr(e)
            if w is not None:
                w._abort()
        self._done(self)


class EventClips:
    """Pre-roll rings per stream and the clips being recorded.

    ```python
    clips = EventClips("clips/", streams=1, pre_s=2, post_s=3, max_mb=500)
    clips.frame(0, annotated, fps=25)     # every annotated frame
    event["clip"] = clips.event(0, event["id"])
    clips.close()                         # finish clips in hand
    ```

    Args:
        directory: Path. Where clips go; must be a writable directory (created if absent).
        streams: Integer. Number of streams.
        pre_s: Float. Seconds before the event. Defaults to `2`.
        post_s: Float. Seconds after the (last overlapping) event. Defaults to `3`.
        max_mb: Float or None. Most megabytes of clips in the directory; oldest deleted
            first. None: no limit.
        platform: String. `"cpu"` or `"jetson"` encoder. Defaults to `"cpu"`.
        log: Callable(str) for one-line notices.
    """

    def __init__(
        self,
        directory,
        streams: int,
        pre_s: float = 2.0,
        post_s: float = 3.0,
        max_mb: float | None = None,
        platform: str = "cpu",
        log=None,
    ):
        for what, v in (("--clip-pre", pre_s), ("--clip-post", post_s)):
            if not 0 <= v <= MAX_CLIP_S:
                fail(f"{what} must be 0 to {MAX_CLIP_S:g} seconds. Received: {v:g}")
        self.dir = check_writable_dir(directory, "event clips directory")
        self.pre_s, self.post_s, self.max_mb = pre_s, post_s, max_mb
        self.platform = platform
        self.log = log or (lambda _m: None)
        self.rings: list[deque | None] = [None] * streams
        self.fps: list[float] = [25.0] * streams
        self.active: list[_Clip | None] = [None] * streams
        self.written: list[str] = []
        self.failed: list[str] = []
        self.deleted = 0
        self._lock = threading.Lock()
        self._threads: list[_Clip] = []

    def frame(
        self, stream: int, frame: np.ndarray, fps: float | None, index: int | None = None
    ) -> None:
        """Keep one annotated frame (a reference: callers hand over a new array).

        `index` is the source's frame index (events' `frame`); None counts frames here.
        """
        ring = self.rings[stream]
        if ring is None:
            self.fps[stream] = fps or 25.0
            # Results come some frames after their window's last frame (batching): the
            # ring also holds up to a post-roll (at most 1 s) of frames past an event that
            # is not out yet.
            n = math.ceil(self.pre_s * self.fps[stream]) + self._lag_frames(stream)
            ring = self.rings[stream] = deque(maxlen=n)
        if index is None:
            index = ring[-1][0] + 1 if ring else 0
        ring.append((index, frame))
        c = self.active[stream]
        if c is not None:
            c.put(index, frame)
            if index >= c.end + self._lag_frames(stream):  # no later event can extend it
                c.finish()
                self.active[stream] = None

    def _lag_frames(self, stream: int) -> int:
        """How far frames may run ahead of their results: a post-roll, at most 1 s."""
        return min(self._post_frames(stream), math.ceil(self.fps[stream]))

    def _post_frames(self, stream: int) -> int:
        return max(1, math.ceil(self.post_s * self.fps[stream]))

    def event(self, stream: int, event_id: str, frame: int | None = None) -> str:
        """Start (or extend) the stream's clip for an event at source frame `frame` (None:
        the latest frame); returns the clip's path."""
        ring = self.rings[stream] or deque()
        if frame is None:
            frame = ring[-1][0] if ring else 0
        end = frame + self._post_frames(stream)
        c = self.active[stream]
        if c is not None and end - c.start <= MAX_CLIP_S * self.fps[stream]:
            c.end = max(c.end, end)  # overlapping: the post-roll runs from this event
            for i, f in ring:  # frames that came past the old end, before this event
                c.put(i, f)
            return str(c.path)
        if c is not None:  # too long: finish it, start a new one
            c.finish()
        first = frame - math.ceil(self.pre_s * self.fps[stream]) + 1
        fps = self.fps[stream]
        backlog = len(ring) + math.ceil(fps) + 1
        c = _Clip(self.dir / f"clip-{event_id}.mp4", fps, self.platform, self._done, backlog)
        c.start, c.end = first, end
        self._threads.append(c)
        for i, f in ring:
            if i >= first:
                c.put(i, f)
        self.active[stream] = c
        if ring and ring[-1][0] >= end + self._lag_frames(stream):  # all in hand already
            c.finish()
            self.active[stream] = None
        return str(c.path)

    def _done(self, c: _Clip) -> None:
        """A clip's writer finished (in its thread): record it, enforce the disk cap."""
        with self._lock:
            if c.error:
                self.failed.append(c.error)
                self.log(f"event clip {c.path.name}: {c.error}")
                return
            if c.path.exists():
                self.written.append(str(c.path))
            self._enforce_cap()

    def _enforce_cap(self) -> None:
        if self.max_mb is None:
            return
        clips = []
        for p in self.dir.glob("clip-*.mp4"):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            clips.append((st.st_mtime_ns, p.name, p, st.st_size))
        clips.sort()
        total, limit, gone = sum(c[3] for c in clips), self.max_mb * 1e6, 0
        for _t, _n, p, size in clips[:-1]:  # the newest clip always stays
            if total <= limit:
                break
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            total -= size
            gone += 1
        if gone:
            self.deleted += gone
            self.log(
                f"event clips: deleted the {gone} oldest to stay under {self.max_mb:g} MB "
                f"({self.deleted} so far)"
            )

    def close(self, timeout_s: float = 60.0) -> None:
        """Finish the clips in hand (with the post-roll they have) and wait for them."""
        for i, c in enumerate(self.active):
            if c is not None:
                c.finish()
                self.active[i] = None
        for c in self._threads:
            c.thread.join(timeout_s)
        self._threads = [c for c in self._threads if c.thread.is_alive()]

    def abort(self) -> None:
        """Stop without waiting long (an error): clips in hand are finished as they are."""
        self.close(timeout_s=10.0)
