"""Pipelines: GStreamer sources → sliding windows → runner → events and annotated video.

Never imports TensorFlow.
"""

from .events import EventSink
from .run import RunSummary, run_file
from .windows import ClipBuffer, Window

__all__ = ["ClipBuffer", "EventSink", "RunSummary", "Window", "run_file"]
