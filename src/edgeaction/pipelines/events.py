"""JSON-lines event output, label smoothing and the emit policy."""

from __future__ import annotations

import json
import math
import os
import sys
from collections import deque
from pathlib import Path

import numpy as np

from ..errors import fail
from ..fsutil import check_writable_file, keep, os_error_line, writes_in_place


class EventSink:
    """Write events as JSON lines to a file or to stdout.

    Two ways to write a file:

    - `append=True` (what `edgeaction run` does): lines are appended to the file itself as
      they happen, one complete line per write and flushed, so the file can be followed
      (`tail -f`) while a camera box runs, and a restarted service continues it. A line
      torn by a crash (power loss, SIGKILL) is cut off when the file is next opened, so
      the file is always whole JSON lines.
    - `append=False`: written beside the target as `.NAME.partial` and renamed into place
      by `close()` (a batch run over a file: the result appears whole or not at all).

    Nothing is created before the first event; `close(discard=True)` undoes this run's
    lines (a run in which no stream could start leaves no file behind). A character
    device or FIFO (`/dev/null`, `/dev/stdout`) is written in place, never renamed over,
    truncated or removed. A failed write (a full disk) fails with one line and keeps the
    whole lines written before it: `close(discard=True)` does not undo them.

    Args:
        path: Output path, `"-"` for stdout, or None to discard.
        append: Boolean. Append live (see above). Defaults to `False`.
    """

    def __init__(self, path: str | os.PathLike | None, append: bool = False):
        self.count = 0
        self.path = None if path in (None, "-") else check_writable_file(path, "events file")
        self.append = bool(append)
        self._to_stdout = path == "-"
        self._f = None
        self._done = False
        self._start_size: int | None = None  # appending: the file's size before this run
        self._error: str | None = None  # a failed write's message
        self._in_place = self.path is not None and writes_in_place(self.path)
        if self.path is not None:
            self._tmp = self.path.with_name(f".{self.path.name}.partial")
            if self._in_place:
                self._tmp = self.path

    def _open(self) -> None:
        if self._error:  # the run goes on flushing after a failed write: the same line
            fail(self._error)
        if self._done:
            fail(f"events file {self.path} is already closed")
        if self._f is not None or self.path is None:
            return
        try:
            if not self.append:
                self._f = open(self._tmp, "w", encoding="utf-8")
                return
            if self._in_place:
                self._start_size = 0
            else:
                self._start_size = _cut_torn_line(self.path) if self.path.exists() else -1
            self._f = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            self._write_failed(e)

    def emit(self, event: dict) -> None:
        ev = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in event.items()
        }
        line = json.dumps(ev, separators=(",", ":"))
        if self.path is not None:
            self._open()
            try:
                self._f.write(line + "\n")
                self._f.flush()
            except OSError as e:
                self._write_failed(e)
        elif self._to_stdout:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.count += 1

    def close(self, discard: bool = False) -> Path | None:
        """Finalise the file (an empty one if nothing was emitted) and return its path.

        With `discard`, drop what this run wrote and leave no new file.
        """
        if self.path is None or self._done:
            return self.path if self._done and not discard else None
        if discard:
            self._done = True
            if self._f is not None:
                self._f.close()
                self._f = None
                if self._in_place:
                    pass
                elif not self.append:
                    self._tmp.unlink(missing_ok=True)
                elif self._start_size is not None and self._start_size < 0:
                    self.path.unlink(missing_ok=True)
                elif self._start_size is not None:
                    os.truncate(self.path, self._start_size)
            return None
        self._open()
        self._done = True
        try:
            self._f.flush()
            if not self._in_place:  # fsync is for files (EINVAL on /dev/null or a pipe)
                os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
            if not self.append and not self._in_place:
                os.replace(self._tmp, self.path)
        except OSError as e:
            self._write_failed(e)
        return self.path

    def _write_failed(self, e: OSError) -> None:
        """A write failed (disk full, file removed): keep the whole lines, fail with one line."""
        self._done = True
        if self._f is not None:
            try:
                self._f.close()  # flushes what is left, fails again on a full disk: ignore
            except OSError:
                pass
            self._f = None
        kept = ""
        if self.append and not self._in_place and self.path.exists():
            try:
                _cut_torn_line(self.path)  # a line cut by the full disk goes; whole ones stay
                keep(self.path)
                kept = f" (the {self.count} events before it are kept)"
            except OSError:
                pass
        elif not self._in_place:
            self._tmp.unlink(missing_ok=True)
        self._error = os_error_line(e, self.path, "events file") + kept
        fail(self._error)

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


EMIT_POLICIES = ("change", "every")
SMOOTH_MODES = ("majority", "ema")


class LabelSmoother:
    """Steady labels over consecutive windows of one stream, so they don't flicker.

    `majority`: the most frequent top-1 label of the last `n` windows (ties go to the
    most recent of the tied labels), scored by the mean probability of that label over
    those windows. `ema`: an exponential moving average of the probability vectors with
    `alpha = 2 / (n + 1)`, then its top-1. `n=1` passes every window through unchanged.

    ```python
    s = LabelSmoother(n=3)
    k, score, probs = s.update(probs)      # class index, its score, smoothed probabilities
    ```

    Args:
        n: Integer >= 1. Windows to smooth over. Defaults to `1`.
        mode: String. `"majority"` or `"ema"`. Defaults to `"majority"`.
    """

    def __init__(self, n: int = 1, mode: str = "majority"):
        if not isinstance(n, int) or n < 1:
            fail(f"--smooth must be an integer >= 1. Received: {n!r}")
        if mode not in SMOOTH_MODES:
            fail(f"--smooth-mode must be one of {', '.join(SMOOTH_MODES)}. Received: {mode!r}")
        self.n, self.mode = n, mode
        self._hist: deque = deque(maxlen=n)
        self._ema: np.ndarray | None = None

    def update(self, probs: np.ndarray) -> tuple[int, float, np.ndarray]:
        p = np.asarray(probs, np.float32)
        if self.n == 1:
            k = int(np.argmax(p))
            return k, float(p[k]), p
        if self.mode == "ema":
            a = 2.0 / (self.n + 1)
            self._ema = p.copy() if self._ema is None else a * p + (1 - a) * self._ema
            k = int(np.argmax(self._ema))
            return k, float(self._ema[k]), self._ema
        self._hist.append(p)
        tops = [int(np.argmax(h)) for h in self._hist]
        counts = np.bincount(tops, minlength=p.shape[0])
        best = counts.max()
        k = next(t for t in reversed(tops) if counts[t] == best)
        mean = np.mean(np.stack(self._hist), axis=0)
        return k, float(mean[k]), mean


class EmitPolicy:
    """Decide which windows become events: `every` window, or on label `change` only.

    Args:
        policy: String. `"change"` (default) or `"every"`.
    """

    def __init__(self, policy: str = "change"):
        if policy not in EMIT_POLICIES:
            fail(f"--emit must be one of {', '.join(EMIT_POLICIES)}. Received: {policy!r}")
        self.policy = policy
        self._last: str | None = None

    def __call__(self, label: str) -> bool:
        changed = label != self._last
        self._last = label
        return self.policy == "every" or changed


def _cut_torn_line(path: Path) -> int:
    """Cut a last line left without its newline by a crash; return the resulting size."""
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return size
        pos = size
        while pos > 0:  # scan back for the last newline
            step = min(65536, pos)
            f.seek(pos - step)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                f.truncate(pos - step + i + 1)
                return pos - step + i + 1
            pos -= step
        f.truncate(0)
        return 0
