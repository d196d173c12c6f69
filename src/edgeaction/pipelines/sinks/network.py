"""What every network sink shares: the spool in front, a delivery thread behind it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ...errors import first_line
from .base import EventSink, encode
from .spool import Spool

_LIVE: list[NetworkSink] = []  # started and not yet closed: their spools make the depth


def _report_depth() -> None:
    """Events waiting in every live sink's spool, for `--prometheus` (`spool_depth`)."""
    from ..prometheus import set_spool_depth

    live = list(_LIVE)
    set_spool_depth(sum(len(s.spool) for s in live) if live else None)


class NetworkSink(EventSink):
    """An event sink that delivers over the network, at least once and in order.

    `emit` only stores the event in the `Spool` (on disk with `spool_dir`) and wakes the
    delivery thread, so a slow or absent endpoint never holds up the run. The thread
    sends the oldest events first and removes them from the spool only once the far end
    acknowledged them (subclasses: `_deliver`). `close` waits up to `drain_s` for the
    spool to empty; what is left stays on disk and goes first at the next start.

    Subclasses implement `_deliver()` (send what is pending, return when idle or
    stopping), and may implement `_stop_transport()` and `key(event)`.

    Args:
        target: String. The endpoint (URL), checked by the sink's `convert`.
        spool_dir: Path or None. Spool directory; None: in memory (lost at exit).
        spool_max_mb: Float. Spool cap (oldest dropped, counted). Defaults to `100`.
        drain_s: Float. Longest `close` waits for delivery. Defaults to `5`.
        log: Callable(str) for one-line notices.
    """

    def __init__(
        self,
        target: str,
        spool_dir=None,
        spool_max_mb: float = 100.0,
        drain_s: float = 5.0,
        log: Callable[[str], None] | None = None,
    ):
        self.target = target
        self.log = log or (lambda _m: None)
        # Opened (and locked) now: a spool in use or unreadable is said before the run starts.
        self.spool = Spool(spool_dir, self.kind, spool_max_mb, log=self.log).open()
        self.drain_s = float(drain_s)
        self.count = 0
        self.delivered = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None  # the delivery thread died (a bug): said at close
        self.idle_s = 0.25  # the delivery thread's longest sleep (back-off granularity)

    # ---- the run's side -------------------------------------------------------------------
    def key(self, event: dict) -> str:
        """What the spool stores beside the event (e.g. the MQTT topic)."""
        return ""

    def emit(self, event: dict) -> None:
        self._start()
        self.spool.put(encode(event), self.key(event))
        self.count += 1
        _report_depth()
        self._wake.set()

    def flush(self) -> None:
        self._wake.set()

    @property
    def depth(self) -> int:
        """Events spooled and not yet acknowledged (for metrics)."""
        return len(self.spool)

    def _start(self) -> None:
        if self._thread is not None:
            return
        if len(self.spool):
            self.log(f"{self.kind}: {len(self.spool)} events left by an earlier run go first")
        _LIVE.append(self)
        self._thread = threading.Thread(target=self._main, name=f"{self.kind}-sink", daemon=True)
        self._thread.start()

    def close(self, discard: bool = False) -> list[str]:
        """Drain for up to `drain_s`, stop; returns a notice for what was not delivered."""
        if self._thread is None:
            if not len(self.spool):
                self.spool.close()
                return []
            self._start()  # no event this run, but an earlier run's leftovers: try them now
        deadline = time.monotonic() + self.drain_s
        while len(self.spool) and time.monotonic() < deadline and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.02)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=5.0)
        self._stop_transport()
        self.spool.sync()
        if self in _LIVE:
            _LIVE.remove(self)
        _report_depth()
        notes = []
        left = len(self.spool)
        if self._error:
            notes.append(f"{self.kind}: delivery stopped: {self._error}")
        if left and self.spool.path is not None:
            notes.append(
                f"{self.kind}: {left} events not delivered in {self.drain_s:g} s are kept in "
                f"{self.spool.where} and sent at the next start"
            )
        elif left:
            notes.append(
                f"{self.kind}: {left} events could not be delivered and are lost "
                "(give --spool DIR to keep them for the next start)"
            )
        if self.spool.dropped:
            notes.append(
                f"{self.kind}: {self.spool.dropped} oldest events were dropped: the spool was full"
            )
        self.spool.close()
        return notes

    # ---- the delivery thread --------------------------------------------------------------
    def _main(self) -> None:
        synced = time.monotonic()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                self._deliver()
                _report_depth()
                if time.monotonic() - synced >= 1.0:
                    self.spool.sync()
                    synced = time.monotonic()
                self._wake.wait(self.idle_s)
        except Exception as e:  # noqa: BLE001 - said once at close, never a traceback
            self._error = first_line(e)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _deliver(self) -> None:
        raise NotImplementedError

    def _stop_transport(self) -> None:
        """Disconnect (after the thread stopped)."""
