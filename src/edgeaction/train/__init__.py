"""Training: architectures (`models`), `--describe` (`describe`) and the loop (`trainer`).

Data sets are found and decoded by `edgeaction.datasets` (shared with `evaluate`), with
the same GStreamer reader the runtime uses.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
