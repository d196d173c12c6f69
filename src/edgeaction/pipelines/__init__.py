"""Pipelines: GStreamer sources → sliding windows → runner → events and annotated video.

Never imports TensorFlow.
"""

from .events import EmitPolicy, LabelSmoother
from .run import RunSummary, run_file
from .runtime import Result, RunOptions, Runtime
from .sinks import REGISTRY as SINKS
from .sinks import EventSink, JsonLinesSink, make_sink
from .windows import ClipBuffer, Window

__all__ = [
    "ClipBuffer",
    "EmitPolicy",
    "EventSink",
    "JsonLinesSink",
    "LabelSmoother",
    "Result",
    "RunOptions",
    "RunSummary",
    "SINKS",
    "Runtime",
    "Window",
    "make_sink",
    "run_file",
]
