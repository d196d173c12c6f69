"""Pick the runner for a model file from its extension and the requested backend."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import fail
from .base import BaseRunner

BACKENDS = ("onnxruntime", "tensorrt")
ENGINE_SUFFIXES = (".engine", ".plan")


def open_runner(
    path: str | os.PathLike,
    backend: str = "onnxruntime",
    cache_dir: str | os.PathLike | None = None,
    build: dict | None = None,
    **kwargs,
) -> BaseRunner:
    """An inactive runner for `path`: `OrtRunner` for `.onnx`, `TrtRunner` for engines.

    Args:
        path: Model file: `.onnx`, or a `.engine` / `.plan` from `edgeaction build-engine`
            (which always runs on TensorRT).
        backend: String. `"onnxruntime"` (CPU default) or `"tensorrt"`.
        cache_dir: Path or None. Engine cache for an `.onnx` model on TensorRT (built
            once, reused; see `engine.cache`). None: `~/.cache/edgeaction/engines`.
        build: Dict or None. `build_engine` options for an `.onnx` model on TensorRT
            (`fp16`, default `True`; `batch` `(min, opt, max)`, default `(1, 4, 8)`);
            unused otherwise.
        **kwargs: Passed to the runner (e.g. `intra_op_threads`).
    """
    p = Path(path)
    if not p.exists():
        fail(f"model not found: {p}; give an .onnx file from `edgeaction export`")
    if p.is_dir():
        if (p / "model.onnx").exists():
            p = p / "model.onnx"
        else:
            fail(f"{p} is a directory without model.onnx; give the .onnx file")
    if backend not in BACKENDS:
        fail(f"--backend must be one of {', '.join(BACKENDS)}. Received: {backend!r}")
    if p.suffix in ENGINE_SUFFIXES or backend == "tensorrt":
        if p.suffix not in (*ENGINE_SUFFIXES, ".onnx"):
            fail(f"{p} is neither an engine ({'/'.join(ENGINE_SUFFIXES)}) nor an .onnx model")
        from .trt import TrtRunner  # an .onnx model is built into an engine on activate

        if p.suffix == ".onnx":
            opts = {**(build or {}), **kwargs.pop("build_options", {})}
            if cache_dir is not None:
                opts["cache_dir"] = cache_dir
            kwargs["build_options"] = opts
        return TrtRunner(p, **kwargs)
    if p.suffix != ".onnx":
        fail(f"{p} is not an .onnx model; the onnxruntime backend takes ONNX files")
    from .ort import OrtRunner

    return OrtRunner(p, **kwargs)
