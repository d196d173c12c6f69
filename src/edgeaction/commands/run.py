"""`edgeaction run`: classify sliding windows of video streams."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .. import options
from ..engine.backends import backend_choices
from ..errors import fail
from .common import status_line, trt_precision_arg

RUN_EPILOG = """\
examples:
  edgeaction run model/ --source clip.mp4 --events ev.jsonl --out-video ann.mp4
  edgeaction run model/ --source rtsp://cam1/stream --source rtsp://cam2/stream \\
      --events ev.jsonl --smooth 3 --metrics m.json
  edgeaction run model/ --source test://ball --source test://snow --duration 30 -q
  edgeaction run model/ --source rtsp://cam1/stream --emit every \\
      --mqtt 'mqtts://broker:8883/site/{stream}/{zone}' --spool /var/spool/edgeaction
  edgeaction run model/ --source cam.mp4 --roi 0:court=120,80,640,400 --roi 0:bench=0,0,200,200
  edgeaction run --config site.toml --prometheus 9108   # cameras, zones, sinks from TOML

site file (--config): keys are these options without their dashes (model, emit, ...);
[[camera]] tables hold source and per-stream options, [sinks] the outputs, [batching]
max-batch/batch-timeout-ms/queue; flags given here override the file; secrets are
${NAME} read from the environment (the service's environment file), never literal.

events: one JSON object per line; windows give id, stream, source, pts, frame, window,
label, score, top_k, model (and zone, for a stream with --roi zones); stream notices
give id, stream, source, event (gap, resumed, error) and details. id is RUN-STREAM-SEQ,
unique, the same in every sink and on every redelivery: MQTT and webhook delivery is at
least once, so de-duplicate on it.
"""


def run(a) -> int:
    """`edgeaction run` with the parsed arguments `a`; returns the exit status."""
    import signal

    from ..pipelines import RunOptions, Runtime

    _apply_site(a)
    sinks = _make_sinks(a, log=lambda m: log(m))
    if a.events is None and a.out_video is None and not sinks:
        a.events = "-"
    platform = a.platform
    if platform == "auto":
        platform = "jetson" if Path("/etc/nv_tegra_release").exists() else "cpu"
    opts = RunOptions(
        stride=a.stride,
        subsample=a.subsample,
        max_batch=a.max_batch,
        batch_timeout_ms=a.batch_timeout_ms,
        emit=a.emit,
        smooth=a.smooth,
        smooth_mode=a.smooth_mode,
        feature_cache=a.feature_cache,
        top_k=a.top_k,
        capacity=a.queue,
        duration_s=a.duration,
        reconnect=not a.no_reconnect,
        platform=platform,
        decode_nice=a.decode_nice,
        ort_threads=a.ort_threads,
    )

    def log(msg: str) -> None:
        status_line("")
        print(f"{a.prog}: {msg}", file=sys.stderr)

    exporter = _prometheus(a)
    status = _status(a.quiet, exporter)
    rt = Runtime(
        a.model,
        a.source,
        events=a.events,
        out_video=a.out_video,
        metrics=a.metrics,
        backend=a.backend,
        cache_dir=a.cache_dir,
        fp16=a.fp16,
        options=opts,
        status=status,
        log=log,
        observe=exporter.observe if exporter is not None else None,
        zones=a.roi,
        sinks=sinks,
    )

    def stop(signum, _frame):  # first signal: finish cleanly; a second one interrupts
        rt.request_stop(signal.Signals(signum).name)
        signal.signal(signum, signal.default_int_handler)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if exporter is not None:
            exporter.start()  # a port in use: one line before any stream starts
        _attach_video_taps(a, rt, platform, log)
        m = rt.run()
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        if exporter is not None:
            exporter.close()
        rt.outputs.close_taps()  # idempotent; the run closes them too
    status_line("")
    _print_summary(m)
    return 0


def _status(quiet: bool, exporter) -> Callable[[dict], None]:
    """The runtime's status callback: the live status line (unless `quiet`) and the
    `--prometheus` exporter's figures."""

    def status(m: dict) -> None:
        if exporter is not None:
            exporter.update(m)
        if quiet:
            return
        parts = [
            f"{s['stream']}:{s['state'][:4]} {s['fps']:.0f}fps"
            + (f" drop {s['dropped']}" if s["dropped"] else "")
            for s in m["streams"]
        ]
        status_line(
            f"{m['seconds']:.0f}s {m['frames']} frames {m['windows']} windows "
            f"{m['fps']:.0f} fps | " + " ".join(parts)
        )

    return status


def _print_summary(m: dict) -> None:
    """One line per stream and one for the run, on stderr."""
    lat = m.get("latency_ms", {})

    def pct(k: str) -> str:
        v = lat.get(k)
        return f"{k} p50 {v['p50']:.1f} / p99 {v['p99']:.1f} ms" if v else ""

    for s in m["streams"]:
        extra = f", {s['dropped']} dropped" if s["dropped"] else ""
        extra += f", {s['reconnects']} reconnects" if s["reconnects"] else ""
        end = f" ({s['error']})" if s["error"] else ""
        print(
            f"stream {s['stream']} {s['source']}: {s['state']}, {s['frames']} frames, "
            f"{s['windows']} windows, {s['fps']:.0f} fps{extra}{end}",
            file=sys.stderr,
        )
    steps = ", ".join(
        x for x in map(pct, ("infer", "encode", "head", "keypoints", "features", "window")) if x
    )
    cache = " (feature cache)" if m["feature_cache"] else ""
    print(
        f"{len(m['streams'])} streams, {m['frames']} frames, {m['windows']} windows, "
        f"{m['events']} events in {m['seconds']:.1f} s: {m['fps']:.0f} fps, "
        f"batch {m['mean_batch']:.1f}{cache}; {steps}"
        + (f"; stopped by {m['stopped_by']}" if m["stopped_by"] else ""),
        file=sys.stderr,
    )


#: `run`'s help, description and epilog (its parser is built by `add_arguments`).
PARSER = dict(
    help="classify sliding windows of video streams; JSON-lines events + annotated MP4",
    description="Decode every --source with GStreamer (each in its own pipeline), keep a "
    "window of T frames per stream, classify the ready windows of all streams in one "
    "batched runner call, and write one JSON line per event (stream, source, pts, frame, "
    "window, label, score, top_k, model). A stream that ends or fails is reported and "
    "the rest go on; Ctrl-C or SIGTERM finishes cleanly (events flushed, videos "
    "finalised). Exit status is non-zero only if no stream could run.",
    epilog=RUN_EPILOG,
    formatter_class=argparse.RawDescriptionHelpFormatter,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `run` on the top-level sub-parsers."""
    r = sub.add_parser("run", **PARSER)
    for act in add_arguments(r):
        _mark_unset(act)
    r.set_defaults(fn=run, prog="edgeaction run")


def option_strings() -> frozenset[str]:
    """Every option string of `edgeaction run` (e.g. `--source`, `-q`), without `-h`.

    `jetson service` checks its `--run-arg` values against these without building the
    whole command line.
    """
    p = argparse.ArgumentParser(prog="edgeaction run", add_help=False)
    return frozenset(s for act in add_arguments(p) for s in act.option_strings)


def add_arguments(r: argparse.ArgumentParser) -> list[argparse.Action]:
    """Add `run`'s arguments to `r`; return their actions."""
    acts: list[argparse.Action] = []

    def add(*args, **kw) -> None:
        acts.append(r.add_argument(*args, **kw))

    _io_args(add)
    _zone_args(add)
    _window_args(add)
    _stream_args(add)
    _site_args(add)
    _sink_arguments(add)
    _video_tap_args(add)
    acts.append(trt_precision_arg(r, "profile 1:STREAMS:MAX-BATCH (encoder 1:STREAMS:2xMAX-BATCH)"))
    add("-q", "--quiet", action="store_true", help="no live status line")
    return acts


def _io_args(add: Callable[..., None]) -> None:
    """MODEL, --source and the outputs."""
    add(
        "model",
        type=options.path,
        nargs="?",
        help="ONNX model or export directory from `edgeaction export`, or an engine "
        "(or `model = ...` in --config)",
    )
    add(
        "--source",
        type=options.source,
        action="append",
        metavar="SOURCE",
        help="video file, rtsp://[user:pass@]host/path, v4l2:///dev/videoN, csi://N (Jetson), "
        "test://PATTERN[?fps=30&width=320&height=240&frames=N&live=0]; repeat for more streams",
    )
    add(
        "--events",
        type=options.path,
        help="JSON-lines output file ('-' for stdout; default stdout, unless --out-video, "
        "--mqtt or --webhook is given)",
    )
    add(
        "--out-video",
        type=options.path,
        help="annotated MP4 (one source), or a directory / NAME.mp4 (NAME-N.mp4 per stream)",
    )
    add("--metrics", type=options.path, help="write the run's figures as JSON here on exit")


def _zone_args(add: Callable[..., None]) -> None:
    """--roi: named zones per stream, each classified on its own."""
    add(
        "--roi",
        type=options.roi,
        action="append",
        metavar="STREAM:NAME=X,Y,W,H",
        help="a named zone of stream STREAM (0-based --source index) in pixels of its decoded "
        "frame, cropped and classified on its own (events carry `zone`); repeat for more "
        "zones and streams; a stream without --roi is one whole-frame zone",
    )


def _window_args(add: Callable[..., None]) -> None:
    """Windows, batching, events and smoothing."""
    add(
        "--stride",
        type=options.positive_int,
        help="frames between windows (default: the contract's)",
    )
    add(
        "--subsample",
        type=options.positive_int,
        help="keep every n-th frame (default: the contract's)",
    )
    add(
        "--max-batch",
        type=options.positive_int,
        help="windows per runner call across streams (default 8, capped by the engine)",
    )
    add(
        "--batch-timeout-ms",
        type=options.milliseconds,
        default=20.0,
        help="longest a ready window waits for its batch to fill (default 20)",
    )
    add(
        "--emit",
        choices=["change", "every"],
        default="change",
        help="an event on each label change per stream (default) or for every window",
    )
    add(
        "--smooth",
        type=options.positive_int,
        default=1,
        help="smooth labels over N windows so they don't flicker (default 1: off)",
    )
    add(
        "--smooth-mode",
        choices=["majority", "ema"],
        default="majority",
        help="majority vote of the last N labels, or an EMA of the probabilities",
    )
    add(
        "--feature-cache",
        choices=["auto", "on", "off"],
        default="auto",
        help="run the encoder once per frame and the head per window (needs `export --split`; "
        "auto: when encoder.onnx/head.onnx are present and windows overlap)",
    )
    add("--top-k", type=options.positive_int, default=3, help="labels in each event's top_k")


def _stream_args(add: Callable[..., None]) -> None:
    """Duration, queues, decoding and the runner."""
    add("--duration", type=options.seconds, help="stop after this many seconds")
    add(
        "--queue",
        type=options.positive_int,
        default=16,
        help="decoded frames queued per stream; live streams drop beyond it (default 16)",
    )
    add("--no-reconnect", action="store_true", help="do not reconnect lost RTSP/camera streams")
    add(
        "--decode-nice",
        type=options.integer,
        choices=range(0, 20),
        metavar="N",
        help="run decoding threads N nicer than inference, so a saturated machine classifies "
        "what it decoded rather than decoding more (default: 0 for one stream, 10 for several)",
    )
    add(
        "--ort-threads",
        type=options.positive_int,
        metavar="N",
        help="ONNX Runtime threads per operator on the CPU (default: 1 for several streams, "
        "whose decoders use the other cores; one per core for one stream)",
    )
    add(
        "--platform",
        choices=["auto", "cpu", "jetson"],
        default="auto",
        help="decode elements: Jetson hardware (nvv4l2decoder, nvvidconv) or CPU (default: detect)",
    )
    add("--backend", default="onnxruntime", choices=backend_choices(), help="runner")
    add(
        "--cache-dir",
        type=options.pathlib_path,
        help="TensorRT engine cache for an .onnx model with --backend tensorrt "
        "(default ~/.cache/edgeaction/engines; key: model, TensorRT, GPU, precision, profile)",
    )


# ---- the site file and Prometheus ------------------------------------------------------------
def _site_args(add: Callable[..., None]) -> None:
    """--config (the TOML site file) and --prometheus."""
    add(
        "--config",
        type=options.path,
        metavar="SITE.toml",
        help="read model, cameras, zones, sinks and batching from this TOML file (keys are "
        "these options without their dashes); flags given here override it",
    )
    add(
        "--prometheus",
        type=options.listen_address,
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics while the run runs "
        "(per-stream fps, frames, drops, reconnects, latency histograms; extra 'metrics')",
    )


class _Unset:
    """The default of an option of the `run` parser while parsing: not given on the
    command line, so the site file may set it (`_apply_site`)."""

    def __init__(self, default):
        self.default = default

    def __repr__(self) -> str:
        return repr(self.default)


def _mark_unset(act: argparse.Action) -> None:
    # Repeated options keep None: argparse appends to their default, so None means unset.
    if not isinstance(act, argparse._AppendAction):
        act.default = _Unset(act.default)


def _apply_site(a) -> None:
    """Merge `--config` into `a` (flags win), then check that a model and a source are set."""
    from ..fsutil import claim_outputs
    from ..site import load

    acts = add_arguments(argparse.ArgumentParser(add_help=False))
    given = {
        act.dest
        for act in acts
        if getattr(a, act.dest, None) is not None and not isinstance(getattr(a, act.dest), _Unset)
    }
    for act in acts:
        v = getattr(a, act.dest, None)
        setattr(a, act.dest, v.default if isinstance(v, _Unset) else v)
    if a.config is not None:
        site = load(a.config, acts)
        if "source" in given:  # the command line's cameras replace the file's
            site.values = {k: v for k, v in site.values.items() if k not in site.camera_dests}
        for dest, value in site.values.items():
            if dest not in given:
                setattr(a, dest, value)
        outs = {"--events": a.events, "--metrics": a.metrics, "--out-video": a.out_video}
        claim_outputs(outs, {"--config": a.config})  # never write over the site file
    where = " (or set it in the site file)" if a.config else ""
    if not a.model:
        fail(f"give the model: edgeaction run MODEL --source ...{where}")
    if not a.source:
        fail(f"give at least one --source (a file, rtsp://, v4l2://, csi://, test://){where}")


def _prometheus(a):
    """The `--prometheus` exporter (not started yet), or None."""
    if a.prometheus is None:
        return None
    from ..pipelines.prometheus import Exporter

    return Exporter(a.prometheus)


# ---- event sinks (MQTT, webhook, the spool) ---------------------------------------------------
def _sink_arguments(add: Callable[..., None]) -> None:
    """One option per network sink of `pipelines.sinks.REGISTRY`, and the spool's."""
    from ..pipelines.sinks import option_sinks

    for sink in option_sinks():
        add(sink.option, type=sink.convert, metavar=sink.metavar, help=sink.help)
    add(
        "--spool",
        type=options.path,
        metavar="DIR",
        help="keep events for MQTT/webhooks on disk here until delivered, so none is lost "
        "while the broker or endpoint is down (and deliver what is left at the next start)",
    )
    add(
        "--spool-max-mb",
        type=options.megabytes,
        default=100.0,
        help="most disk per spool; beyond it the oldest events are dropped, counted (default 100)",
    )
    add(
        "--drain",
        type=options.seconds,
        default=5.0,
        metavar="SECONDS",
        help="at exit, wait this long for spooled events to be delivered (default 5)",
    )


# ---- the annotated video's other outputs: RTSP re-stream, event clips ------------------------
def _video_tap_args(add: Callable[..., None]) -> None:
    """--out-rtsp and --event-clips (with --clip-pre, --clip-post, --clips-max-mb)."""
    add(
        "--out-rtsp",
        type=options.uri,
        metavar="rtsp://HOST:PORT/PATH",
        help="serve the annotated video over RTSP (gst-rtsp-server; H.264, x264enc "
        "zerolatency or nvv4l2h264enc on jetson); one mount per stream: PATH, PATH with "
        "{stream} replaced, or PATH-N; frames are sent only while a client watches",
    )
    add(
        "--event-clips",
        type=options.path,
        metavar="DIR",
        help="write an MP4 around each event (pre-roll + post-roll) to DIR/clip-ID.mp4; the "
        "event names it in 'clip' at once, the file appears (atomically) when its post-roll "
        "ends (up to 1 s later); an event during a clip's post-roll extends that clip (up to "
        "60 s); with zones, one clip per stream",
    )
    add(
        "--clip-pre",
        type=options.non_negative_float,
        default=2.0,
        metavar="SECONDS",
        help="seconds of video before each event, kept in memory (default 2, at most 60)",
    )
    add(
        "--clip-post",
        type=options.seconds,
        default=3.0,
        metavar="SECONDS",
        help="seconds of video after each event (default 3, at most 60)",
    )
    add(
        "--clips-max-mb",
        type=options.megabytes,
        default=500.0,
        help="most disk for --event-clips; the oldest clips are deleted first, counted "
        "(default 500)",
    )


def _attach_video_taps(a, rt, platform: str, log: Callable[[str], None]) -> None:
    """Start the --out-rtsp server (a port in use: one line) and the --event-clips."""
    restream = clips = None
    n = len(rt.specs)
    if a.event_clips is not None:
        from ..pipelines.clips import EventClips

        clips = EventClips(
            a.event_clips, n, a.clip_pre, a.clip_post, a.clips_max_mb, platform, log=log
        )
    if a.out_rtsp is not None:
        from ..pipelines.restream import Restream

        restream = Restream(a.out_rtsp, n, platform, log=log).start()
    rt.outputs.attach(restream=restream, clips=clips)


def _make_sinks(a, log: Callable[[str], None]) -> list:
    """The network sinks the options ask for (checked now, connected at the first event)."""
    from ..pipelines.sinks import make_sink, option_sinks

    sinks = []
    for sink in option_sinks():
        target = getattr(a, sink.option.lstrip("-").replace("-", "_"))
        if target is not None:
            sinks.append(
                make_sink(
                    sink.kind,
                    target,
                    spool_dir=a.spool,
                    spool_max_mb=a.spool_max_mb,
                    drain_s=a.drain,
                    log=log,
                )
            )
    if a.spool is not None and not sinks:
        log("--spool is for --mqtt and --webhook events; without them it is not used")
    return sinks
