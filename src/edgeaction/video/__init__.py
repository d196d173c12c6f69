"""Video in and out through GStreamer, shared by training, the runtime and `synth`.

One reader decodes and scales every clip — in training, evaluation and the live
pipeline alike — so a model never sees frames prepared differently from the ones it was
trained on; `pull.FramePipeline` is the one frame-pulling core of this reader and of
the runtime's streams (`pipelines.sources.Stream`). One writer encodes numpy frames to
H.264 MP4.
"""

from .reader import Frame, VideoReader, probe_file, read_clip
from .writer import VideoWriter

__all__ = ["Frame", "VideoReader", "VideoWriter", "probe_file", "read_clip"]
