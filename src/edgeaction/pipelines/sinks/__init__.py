"""Event sinks: where `edgeaction run` sends its events.

One small interface (`EventSink`: `emit`, `flush`, `close`), one module per sink, and
`REGISTRY`. A new sink is one module with an `EventSink` subclass plus one line here;
a sink that names an `option` gets its `edgeaction run` option from this registry.

```
events ─ Outputs ─ FanOut ─┬─ jsonl    (file / stdout)
                           ├─ mqtt     ─ spool ─ delivery thread ─ broker (QoS 1)
                           └─ webhook  ─ spool ─ delivery thread ─ HTTP POST
```

Network sinks store each event in a `Spool` first (SQLite on disk with `--spool`), so
nothing is lost while the far end is down; delivery is at least once and in order, and
every event carries an `id` so consumers can de-duplicate.

Never imports TensorFlow.
"""

from __future__ import annotations

from ...errors import fail
from .base import EventSink, FanOut, encode
from .jsonl import JsonLinesSink
from .mqtt import MqttSink
from .network import NetworkSink
from .spool import Spool
from .webhook import WebhookSink

#: Every sink, by kind.
REGISTRY: dict[str, type[EventSink]] = {
    "jsonl": JsonLinesSink,
    "mqtt": MqttSink,
    "webhook": WebhookSink,
}


def make_sink(kind: str, target, **kwargs) -> EventSink:
    """The sink `kind` of `REGISTRY` for `target` (see each sink for `kwargs`)."""
    if kind not in REGISTRY:
        fail(f"unknown event sink {kind!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[kind](target, **kwargs)


def option_sinks() -> list[type[EventSink]]:
    """The sinks that have an `edgeaction run` option, in registry order."""
    return [s for s in REGISTRY.values() if s.option]


__all__ = [
    "REGISTRY",
    "EventSink",
    "FanOut",
    "JsonLinesSink",
    "MqttSink",
    "NetworkSink",
    "Spool",
    "WebhookSink",
    "encode",
    "make_sink",
    "option_sinks",
]
