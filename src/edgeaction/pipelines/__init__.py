"""Pipelines: GStreamer sources → sliding windows → runner → events and annotated video.

Never imports TensorFlow.
"""

from .events import EmitPolicy, EventSink, LabelSmoother
from .run import RunSummary, run_file
from .runtime import Result, RunOptions, Runtime
from .windows import ClipBuffer, Window

__all__ = [
    "ClipBuffer",
    "EmitPolicy",
    "EventSink",
    "LabelSmoother",
    "Result",
    "RunOptions",
    "RunSummary",
    "Runtime",
    "Window",
    "run_file",
]
