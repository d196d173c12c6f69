"""Engine: one runner interface over ONNX Runtime (CPU default) and TensorRT.

Never imports TensorFlow. `open_runner(path)` reads the model contract and returns an
inactive runner; use it with `with`. Backends are registered in `engine.backends` (name,
runner, artefact kinds it opens); the engine sidecar lives in `engine.sidecar`.
"""

from .base import BaseRunner, TensorMeta
from .loader import open_runner
from .ort import OrtRunner

__all__ = ["BaseRunner", "OrtRunner", "TensorMeta", "open_runner"]
