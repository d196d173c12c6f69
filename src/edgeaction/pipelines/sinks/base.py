"""The one event-sink interface, the JSON encoding every sink shares, and the fan-out."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from ...errors import EdgeActionError


class EventSink:
    """Where the events of a run go: a JSON-lines file, an MQTT broker, a webhook...

    A sink is made when the run is set up (its arguments checked then, with one line),
    creates or connects nothing before its first event, and is closed once.

    ```python
    sink = make_sink("mqtt", "mqtt://broker:1883/site/{stream}", spool="/var/spool/ea")
    sink.emit({"id": "1f0c-0-1", "stream": 0, "label": "wave", "score": 0.93})
    problems = sink.close()        # one-line notices: events left in the spool, ...
    ```

    A command-line sink names its option (`option`, `metavar`, `help` and an
    `edgeaction.options` converter in `convert`): `edgeaction run` adds one option per
    entry of `REGISTRY` that has one.
    """

    #: Short name (the registry key).
    kind = "sink"
    #: The `edgeaction run` option that makes this sink, or None.
    option: str | None = None
    metavar = "TARGET"
    help = ""
    convert: Callable[[str], str] | None = None

    count = 0  # events emitted

    def emit(self, event: dict) -> None:
        """Take one event (a JSON-able dict). Fails with one line only for what cannot go on
        (a full disk under a file); a network sink never fails for its network."""
        raise NotImplementedError

    def flush(self) -> None:
        """Push out what is buffered (a no-op for sinks that write through)."""

    def close(self, discard: bool = False) -> list[str]:
        """Finish: returns one-line notices (not errors) for the log.

        Args:
            discard: Boolean. The run produced nothing worth keeping: undo what can be
                undone (a new file is removed; sent events cannot be). Defaults to `False`.
        """
        return []


def encode(event: dict) -> str:
    """One event as compact JSON on one line; NaN and infinities become null."""
    ev = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in event.items()
    }
    return json.dumps(ev, separators=(",", ":"))


class FanOut(EventSink):
    """Every event to every sink, in the order given. A failure of one sink (a full disk)
    ends the run as it did before; the others are still closed.

    Args:
        sinks: List of `EventSink`.
    """

    kind = "fanout"

    def __init__(self, sinks: list[EventSink]):
        self.sinks = list(sinks)
        self.count = 0

    def emit(self, event: dict) -> None:
        for s in self.sinks:
            s.emit(event)
        self.count += 1

    def flush(self) -> None:
        for s in self.sinks:
            s.flush()

    def close(self, discard: bool = False) -> list[str]:
        notes: list[str] = []
        first: EdgeActionError | None = None
        for s in self.sinks:
            try:
                notes += s.close(discard=discard)
            except EdgeActionError as e:
                first = first or e
        if first is not None:
            raise first
        return notes
