"""Open the runner for a model file: the runtime's entry into `engine.backends`."""

from __future__ import annotations

import os

from .backends import open_model
from .base import BaseRunner


def open_runner(
    path: str | os.PathLike,
    backend: str = "onnxruntime",
    cache_dir: str | os.PathLike | None = None,
    build: dict | None = None,
    **kwargs,
) -> BaseRunner:
    """An inactive runner for `path`: `OrtRunner` for `.onnx`, `TrtRunner` for engines.

    Args:
        path: Model file: `.onnx` (or its export directory), or a TensorRT engine
            (`.engine` / `.plan` / `.trt` from `edgeaction build-engine`, which always
            runs on TensorRT).
        backend: String. `"onnxruntime"` (CPU default), `"tensorrt"` or `"auto"`.
        cache_dir: Path or None. Engine cache for an `.onnx` model on TensorRT (built
            once, reused; see `engine.cache`). None: `~/.cache/edgeaction/engines`.
        build: Dict or None. `build_engine` options for an `.onnx` model on TensorRT
            (`fp16`, default `True`; `batch` `(min, opt, max)`, default `(1, 4, 8)`);
            unused otherwise.
        **kwargs: Passed to the runner (e.g. `intra_op_threads`).
    """
    return open_model(path, backend, strict=False, cache_dir=cache_dir, build=build, **kwargs)
