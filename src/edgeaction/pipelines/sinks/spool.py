"""The on-disk spool in front of a network sink: nothing is lost while it is down.

Why SQLite (the standard library's `sqlite3`) rather than our own segment files: one
transaction per event gives the append and crash recovery (a torn write is rolled back
by the WAL, never read back as half an event);
the delivery order is the row id; "remove what was acknowledged" is one `DELETE ...
WHERE seq <= ?`; and freed pages are reused, so the file stays near `--spool-max-mb`
with no compaction step to write. Segment files would need their own framing,
checksums, offset file and compaction for the same guarantees.

Durability: WAL with `synchronous=NORMAL`. An event is in the WAL when `put` returns, so
it survives the process dying (SIGKILL, OOM) at once; the delivery thread checkpoints
(`sync`, which fsyncs) every second, so a power loss costs at most that last second.
`synchronous=FULL` (an fsync per event) cost 3 ms per event on the run's main thread
here (8 streams with an event per window: ~1/3 of it), NORMAL 0.07 ms.

One file per sink kind in the spool directory (`mqtt.sqlite`, `webhook.sqlite`), held
with an exclusive lock (`flock`) so two runs cannot deliver the same events twice.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ...errors import fail
from ...fsutil import check_writable_dir, keep, os_error_line, show_path

_SCHEMA = "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, key TEXT, body TEXT)"


class Spool:
    """A FIFO of encoded events, on disk (`directory`) or in memory (None).

    ```python
    s = Spool("/var/spool/edgeaction", "mqtt", max_mb=100)
    s.put('{"id": "..."}', key="site/0")    # durable when put() returns
    for seq, key, body in s.peek(after=0, n=20): ...
    s.ack(seq)                              # everything up to seq was delivered
    ```

    Args:
        directory: Path or None. Spool directory (created if needed, kept when the
            command fails); None keeps events in memory (lost if the process ends).
        name: String. The sink's kind: the file is `NAME.sqlite`.
        max_mb: Float. Most megabytes of events held; beyond it the oldest are dropped
            with a counted warning. Defaults to `100`.
        log: Callable(str) for one-line notices.
    """

    def __init__(self, directory, name: str, max_mb: float = 100.0, log=None):
        if not max_mb > 0:
            fail(f"--spool-max-mb must be above 0. Received: {max_mb!r}")
        self.name, self.max_bytes = name, int(max_mb * 1024 * 1024)
        self.log: Callable[[str], None] = log or (lambda _m: None)
        self.path: Path | None = None
        if directory is not None:
            d = check_writable_dir(directory, "--spool directory")
            keep(d)  # undelivered events survive a failed command
            self.path = d / f"{name}.sqlite"
        self.dropped = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._lockfile = None
        self._bytes = 0
        self._rows = 0
        self._warned = 0.0

    @property
    def where(self) -> str:
        return show_path(self.path) if self.path else "memory"

    def open(self) -> Spool:
        """Open (and lock) the spool; what an earlier run left is delivered first."""
        if self._db is not None:
            return self
        try:
            if self.path is None:
                db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            else:
                self._lock_file()
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # fsync at checkpoints (`sync`)
            db.execute(_SCHEMA)
            row = db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events")
            self._rows, self._bytes = row.fetchone()
        except sqlite3.Error as e:
            self._unlock()
            fail(
                f"--spool {self.where} cannot be used ({e}); remove the file or choose another --spool"
            )
        except OSError as e:
            self._unlock()
            fail(os_error_line(e, self.path, "--spool file", "open"))
        self._db = db
        return self

    def _lock_file(self) -> None:
        lock = self.path.with_name(self.path.name + ".lock")
        self._lockfile = open(lock, "a+")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._unlock()
            fail(
                f"--spool {show_path(self.path)} is in use by another edgeaction run; "
                "give each run its own --spool directory"
            )

    def _unlock(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def __len__(self) -> int:
        return self._rows

    def put(self, body: str, key: str = "") -> None:
        """Append one event (durable on disk when this returns); drop the oldest past the cap."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO events (key, body) VALUES (?, ?)", (key, body))
            except sqlite3.Error as e:
                fail(
                    f"--spool {self.where}: cannot store an event ({e}); free some space or choose another --spool"
                )
            self._rows += 1
            self._bytes += len(body)
            if self._bytes > self.max_bytes:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        cur = self._db.execute("SELECT seq, LENGTH(body) FROM events ORDER BY seq")
        upto, freed, n = None, 0, 0
        for seq, size in cur:
            if self._bytes - freed <= self.max_bytes * 0.9:  # room for a while
                break
            upto, freed, n = seq, freed + size, n + 1
        if upto is None:
            return
        self._db.execute("DELETE FROM events WHERE seq <= ?", (upto,))
        self._rows -= n
        self._bytes -= freed
        self.dropped += n
        now = time.monotonic()
        if now - self._warned > 10.0:
            self._warned = now
            self.log(
                f"{self.name} spool ({self.where}) is full (--spool-max-mb "
                f"{self.max_bytes / 1048576:g}): dropped the {self.dropped} oldest undelivered "
                "events so far"
            )

    def peek(self, after: int = 0, n: int = 1) -> list[tuple[int, str, str]]:
        """Up to `n` events after `seq` `after`, oldest first: (seq, key, body)."""
        with self._lock:
            cur = self._db.execute(
                "SELECT seq, key, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, n)
            )
            return cur.fetchall()

    def ack(self, upto: int) -> None:
        """Remove every event up to `seq` `upto` (delivered)."""
        with self._lock:
            cur = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events WHERE seq <= ?",
                (upto,),
            )
            n, size = cur.fetchone()
            self._db.execute("DELETE FROM events WHERE seq <= ?", (upto,))
            self._rows -= n
            self._bytes -= size

    def sync(self) -> None:
        """Checkpoint the WAL into the file, fsync'd (power-loss safe up to here)."""
        with self._lock:
            if self._db is not None and self.path is not None:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            self._unlock()
