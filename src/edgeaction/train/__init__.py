"""Training: data sets, architectures and the training loop.

This package imports TensorFlow on import, on purpose: seen on Debian 12 with TF 2.21,
loading TensorFlow *after* GStreamer has run a pipeline with OpenCV loaded segfaults,
while TensorFlow first is fine. Anything that trains imports this package before it
decodes or renders video.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .._lazy import require as _require  # noqa: E402

_require("tensorflow")  # import order matters, see above
