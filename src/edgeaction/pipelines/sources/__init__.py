"""Video sources for the multi-stream runtime: one URI grammar, one class per input kind,
one GStreamer pipeline and reader thread per stream.

```
parse_source("rtsp://user:pw@cam/stream")   # -> SourceSpec(kind="rtsp", display="rtsp://***:***@cam/stream")
validate_source("/data/cam.mp4?loop=1")      # the same grammar, nothing opened (services)
pipeline_description(spec, 112, 112)        # -> "rtspsrc ... ! decodebin ! videoscale ... ! appsink name=model"
Stream(0, spec, q, 112, 112).start()        # one GStreamer pipeline + one thread, frames onto q
```

Accepted sources (`kinds.REGISTRY`, one class each):

- a video file path, or `file:///abs/path`; `?loop=1` starts again at the end (soak tests),
  `?realtime=1` plays it at its own frame rate like a camera (live: drops are counted);
- `rtsp://[user:pass@]host[:port]/path` (and `rtsps://`), reconnected with back-off when lost;
- `v4l2:///dev/videoN` (a USB / V4L2 camera), reconnected like RTSP;
- `csi://N` (a Jetson CSI camera through `nvarguscamerasrc sensor-id=N`; Jetson only);
- `test://[PATTERN]` (GStreamer's `videotestsrc`, default `ball`) with
  `?width=320&height=240&fps=30`, `&frames=N` (end after N frames) and `&live=0`
  (not paced: as fast as decoding goes).

Modules: `uri` (the grammar: `parse_source`, `validate_source`), `kinds` (the kinds and
their `REGISTRY`), `spec` (`SourceSpec`, `SourceKind`, option readers, redaction),
`pipeline` (`pipeline_description`, error wording), `stream` (`Stream`).

Credentials in URLs never appear in messages: they use `SourceSpec.display`.

Never imports TensorFlow.
"""

from .kinds import REGISTRY, TEST_PATTERNS, kind_of
from .pipeline import PLATFORMS, pipeline_description
from .spec import SCHEME as _SCHEME
from .spec import SourceKind, SourceSpec, redact
from .spec import bad as _bad
from .spec import flag as _flag
from .spec import query_options as _options
from .stream import Stream, StreamStats
from .uri import KINDS, accepted, parse_source, validate_source

#: The accepted source forms, as messages list them.
ACCEPTED = accepted()

__all__ = [
    "ACCEPTED",
    "KINDS",
    "PLATFORMS",
    "REGISTRY",
    "TEST_PATTERNS",
    "SourceKind",
    "SourceSpec",
    "Stream",
    "StreamStats",
    "kind_of",
    "parse_source",
    "pipeline_description",
    "redact",
    "validate_source",
]
# `_SCHEME`, `_bad`, `_flag` and `_options` stay importable for `jetson.service` until it
# uses `validate_source`.
_COMPAT = (_SCHEME, _bad, _flag, _options)
