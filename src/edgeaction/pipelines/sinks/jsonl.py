"""The `jsonl` sink: events as JSON lines in a file or on stdout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...errors import fail
from ...fsutil import check_writable_file, keep, os_error_line, writes_in_place
from .base import EventSink, encode


class JsonLinesSink(EventSink):
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

    kind = "jsonl"

    def __init__(self, path: str | os.PathLike | None, append: bool = False):
        self.count = 0
        self.path = None if path in (None, "-") else check_writable_file(path, "events file")
        self.append = bool(append)
        self.written: Path | None = None  # the finished file, once closed
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
        line = encode(event)
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

    def close(self, discard: bool = False) -> list[str]:
        """Finalise the file (an empty one if nothing was emitted); its path is then
        `written`. With `discard`, drop what this run wrote and leave no new file."""
        if self.path is None or self._done:
            if discard:
                self.written = None
            return []
        if discard:
            self._discard()
            return []
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
        self.written = self.path
        return []

    def _discard(self) -> None:
        self._done = True
        if self._f is None:
            return
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

    def __enter__(self) -> JsonLinesSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
