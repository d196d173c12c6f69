"""JSON-lines event output: one object per classified window."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from ..fsutil import check_writable_file


class EventSink:
    """Write events as JSON lines to a file (temp + rename on close) or to stdout.

    Args:
        path: Output path, `"-"` for stdout, or None to discard.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.count = 0
        self.path = None if path in (None, "-") else check_writable_file(path, "events file")
        self._to_stdout = path == "-"
        self._f = None
        if self.path is not None:
            self._tmp = self.path.with_name(f".{self.path.name}.partial")
            self._f = open(self._tmp, "w", encoding="utf-8")

    def emit(self, event: dict) -> None:
        ev = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in event.items()
        }
        line = json.dumps(ev, separators=(",", ":"))
        if self._f is not None:
            self._f.write(line + "\n")
            self._f.flush()
        elif self._to_stdout:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.count += 1

    def close(self) -> Path | None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
            os.replace(self._tmp, self.path)
        return self.path

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
