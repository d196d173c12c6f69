"""Prometheus metrics of a run: `edgeaction run --prometheus [HOST:]PORT` serves `/metrics`.

```python
exp = Exporter(("", 9108)).start()     # fails with one line if the port is in use
rt = Runtime(model, sources, status=exp.update, observe=exp.observe)
try:
    rt.run()
finally:
    exp.close()
```

What a fleet monitor scrapes (all names start with `edgeaction_`):

- per stream (labels `stream`, `source`; credentials never appear in a source):
  `stream_frames_total`, `stream_decoded_frames_total`, `stream_dropped_frames_total`,
  `stream_reconnects_total`, `stream_gap_seconds_total`, `stream_windows_total`,
  `stream_events_total`, `stream_fps`, `stream_up` (1 while running) and
  `window_latency_seconds` (histogram, end to end: from a window's last frame reaching
  the runtime to its result);
- per stage (label `stage`: infer, encode, head, keypoints, features, post, window):
  `stage_latency_seconds` (histogram);
- the run: `frames_total`, `windows_total`, `events_total`, `batches_total`, `fps`,
  `run_seconds`, `batch_windows` (histogram of windows per runner call), `info` (model,
  backend), `spool_depth` (events waiting in the on-disk spool, once a sink reports it
  with `set_spool_depth`), and the process's CPU, memory and file descriptors.

Counters and gauges are the runtime's own figures, taken from its status callback (about
twice a second, on the main thread); histograms get every sample as it is measured
(`observe`). prometheus-client (the `metrics` extra) is imported only here.

Never imports TensorFlow.
"""

from __future__ import annotations

import errno
import threading

from ..errors import fail

__all__ = ["Exporter", "set_spool_depth", "spool_depth"]

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_WINDOWS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
_lock = threading.Lock()
_spool: list[float] = []  # the last depth a sink reported, if any


def set_spool_depth(n: float | None) -> None:
    """Report the number of events waiting in the on-disk spool (the event sinks call
    this whenever it changes; None: no spool); exported as `edgeaction_spool_depth`.
    Costs nothing without `--prometheus`."""
    with _lock:
        _spool[:] = [] if n is None else [float(n)]


def spool_depth() -> float | None:
    """The spool depth last reported by `set_spool_depth`, or None."""
    with _lock:
        return _spool[0] if _spool else None


def _client():
    try:
        import prometheus_client
    except ImportError:
        fail(
            "--prometheus needs prometheus-client: pip install 'edgeaction[metrics]' "
            "(or pip install prometheus-client)"
        )
    return prometheus_client


class Exporter:
    """Serve one run's metrics on `http://HOST:PORT/metrics`.

    Args:
        address: Tuple `(host, port)` as `options.listen_address` gives it; host `""`:
            every interface.
    """

    def __init__(self, address: tuple[str, int]):
        pc = _client()
        self.host, self.port = address
        self.registry = reg = pc.CollectorRegistry()
        self.stage = pc.Histogram(
            "edgeaction_stage_latency_seconds",
            "Latency of one step of the runtime (runner call, encoder, head, keypoints, "
            "features, post-processing, a window's wait from ready to result)",
            ["stage"],
            buckets=_SECONDS,
            registry=reg,
        )
        self.window = pc.Histogram(
            "edgeaction_window_latency_seconds",
            "End-to-end latency per stream: a window's last frame reaching the runtime to its result",
            ["stream"],
            buckets=_SECONDS,
            registry=reg,
        )
        self.batch = pc.Histogram(
            "edgeaction_batch_windows",
            "Windows (or frames, with the feature cache) per runner call",
            buckets=_WINDOWS,
            registry=reg,
        )
        self._figures: dict | None = None
        reg.register(_Figures(self, pc))
        pc.ProcessCollector(registry=reg)
        self._server = None

    def start(self) -> Exporter:
        """Listen now; fails with one line when the address cannot be bound."""
        pc = _client()
        where = f"{self.host or '0.0.0.0'}:{self.port}"
        try:
            out = pc.start_http_server(
                self.port, addr=self.host or "0.0.0.0", registry=self.registry
            )
        except OSError as e:
            why = (
                "is in use"
                if e.errno == errno.EADDRINUSE
                else f"cannot be bound ({e.strerror or e})"
            )
            fail(
                f"--prometheus {where}: the port {why}; pick another port "
                "(--prometheus PORT or HOST:PORT) or stop what listens there"
            )
        self._server = out[0] if isinstance(out, tuple) else None
        return self

    def update(self, figures: dict) -> None:
        """Take the runtime's live figures (its `status` callback's dict)."""
        self._figures = figures

    def observe(self, step: str, value: float, stream: int | None = None) -> None:
        """One measurement from the runtime: a step's milliseconds, or `"batch"` and its
        windows (`Figures.observe`)."""
        if step == "batch":
            self.batch.observe(value)
            return
        self.stage.labels(step).observe(value / 1000.0)
        if step == "window" and stream is not None:
            self.window.labels(str(stream)).observe(value / 1000.0)

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# name, help, key of a stream's row, kind
_STREAM = (
    ("frames", "Frames that reached the runtime", "frames", "counter"),
    ("decoded_frames", "Frames decoded (delivered and dropped)", "decoded", "counter"),
    (
        "dropped_frames",
        "Frames of a live source dropped: the runtime was behind",
        "dropped",
        "counter",
    ),
    ("reconnects", "Times the stream's pipeline was rebuilt after a loss", "reconnects", "counter"),
    ("gap_seconds", "Seconds without frames while reconnecting", "gap_s", "counter"),
    ("windows", "Windows classified", "windows", "counter"),
    ("events", "Events emitted", "events", "counter"),
    ("fps", "Frames per second over the run", "fps", "gauge"),
)
_RUN = (
    ("frames", "Frames of all streams", "frames", "counter"),
    ("windows", "Windows of all streams", "windows", "counter"),
    ("events", "Events of all streams", "events", "counter"),
    ("batches", "Runner calls", "batches", "counter"),
    ("fps", "Frames per second of all streams", "fps", "gauge"),
    ("run_seconds", "Seconds since the streams started", "seconds", "gauge"),
)


class _Figures:
    """A collector: the runtime's latest figures as counters and gauges, at scrape time."""

    def __init__(self, exporter: Exporter, pc):
        self.exporter, self.pc = exporter, pc

    def describe(self):
        return []  # figures appear with the first status tick

    def collect(self):
        core = self.pc.metrics_core
        m = self.exporter._figures
        depth = spool_depth()
        if depth is not None:
            yield core.GaugeMetricFamily(
                "edgeaction_spool_depth", "Events waiting in the on-disk spool", value=depth
            )
        if m is None:
            return
        info = core.InfoMetricFamily("edgeaction", "The run's model and backend")
        info.add_metric([], {"model": str(m.get("model")), "backend": str(m.get("backend"))})
        yield info
        for name, doc, key, kind in _RUN:
            fam = core.CounterMetricFamily if kind == "counter" else core.GaugeMetricFamily
            yield fam(f"edgeaction_{name}", doc, value=float(m.get(key) or 0))
        rows = m.get("streams", [])
        for name, doc, key, kind in _STREAM:
            fam = core.CounterMetricFamily if kind == "counter" else core.GaugeMetricFamily
            f = fam(f"edgeaction_stream_{name}", doc, labels=["stream", "source"])
            for s in rows:
                f.add_metric([str(s["stream"]), str(s["source"])], float(s.get(key) or 0))
            yield f
        up = core.GaugeMetricFamily(
            "edgeaction_stream_up", "1 while the stream runs", labels=["stream", "source"]
        )
        for s in rows:
            up.add_metric([str(s["stream"]), str(s["source"])], float(s["state"] == "running"))
        yield up
