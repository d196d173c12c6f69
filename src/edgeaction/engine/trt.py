"""TensorRT runner: a serialized engine from `edgeaction build-engine`, on one CUDA stream.

The engine's sidecar (`ENGINE.json`, written by `build_engine`) gives the contract and
says what the engine was built for; an engine from another TensorRT version, another GPU
or another model is refused with one line before TensorRT is asked to deserialize it, and
so is an engine whose bytes differ from the sidecar's `engine_sha256` (checked when the
runner is made, before TensorRT is imported, and again on the bytes deserialized).

Buffers are allocated once for the profile's largest batch (page-locked host memory and
device memory per tensor); each `infer` uses views of the batch's shape. One inference:
H2D copies → `execute_async_v3` → D2H copies on one stream, timed with CUDA events into
`last_timings` (`h2d_ms`, `compute_ms`, `d2h_ms`; `enqueue_ms`, the host time of the
`execute_async_v3` call).

```python
with TrtRunner("models/a/model_b8_fp16_sm87.engine") as r:
    probs = r.classify(clips)
    r.last_timings  # {"enqueue_ms": 0.05, "h2d_ms": 0.4, "compute_ms": 2.1, "d2h_ms": 0.01}
```
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..artefacts import ONNX, kind_of
from ..contract import ModelContract, SplitPart, split_part_from_onnx
from ..errors import fail
from ..fsutil import verify_checksum
from .base import BaseRunner, TensorMeta
from .sidecar import (
    engine_checksum_problem,
    plan_checksum_problem,
    read_sidecar,
    sidecar_contract,
    sidecar_mismatch,
    sidecar_part,
)
from .trt_common import DEFAULT_BATCH, GPU_HOW, gpu_info, import_tensorrt

__all__ = ["TrtRunner", "read_sidecar", "sidecar_mismatch"]  # the sidecar's, re-exported


class TrtRunner(BaseRunner):
    """Run a serialized TensorRT engine (name-based tensor API, TensorRT 8.6–11.x).

    Given an `.onnx` model instead of an engine, the runner is a lazy loader in
    Polygraphy's spirit: the engine is built on `activate` (or reused from the engine
    cache, `engine.cache`) with `build_options`.

    Args:
        path: Path of the `.engine` / `.plan` file (its sidecar `ENGINE.json` must be
            beside it), or of an `.onnx` model (whole model or split part).
        contract: ModelContract or None. The contract the caller expects (checked
            against the sidecar's); None takes the sidecar's.
        check_sidecar: Boolean. Refuse an engine built with another TensorRT version,
            GPU or model. Defaults to `True`.
        build_options: Dict or None. For an `.onnx` model: `build_engine` keywords
            (`fp16`, default `True`; `batch`, default `(1, 4, 8)`; `workspace_mib`, ...)
            plus `cache_dir`. `out` writes the engine there instead of the cache.
        part: SplitPart or None. The split part the caller expects this model to be
            (encoder or head of an `export --split` model); checked against the part
            the ONNX metadata or the engine's sidecar records.
    """

    backend = "tensorrt"

    @classmethod
    def from_artefact(
        cls,
        path: Path,
        kind: str,
        contract: ModelContract | None = None,
        part: SplitPart | None = None,
        cache_dir: str | os.PathLike | None = None,
        build: dict | None = None,
        **kwargs,
    ) -> TrtRunner:
        """See `BaseRunner.from_artefact`; an ONNX model gets `build` and `cache_dir` as
        its `build_options`."""
        if kind == ONNX:
            opts = {**(build or {}), **kwargs.pop("build_options", {})}
            if cache_dir is not None:
                opts["cache_dir"] = cache_dir
            kwargs["build_options"] = opts
        return cls(path, contract=contract, part=part, **kwargs)

    def __init__(
        self,
        path: str | os.PathLike,
        contract: ModelContract | None = None,
        check_sidecar: bool = True,
        build_options: dict[str, Any] | None = None,
        part: SplitPart | None = None,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            fail(f"engine not found: {self.path}; build one with `edgeaction build-engine`")
        self._check_sidecar = check_sidecar
        self.last_timings: dict[str, float] | None = None
        self.cuda_binding: str | None = None
        self._onnx = None
        self._reset()
        if kind_of(self.path) == ONNX:
            # Polygraphy-style lazy loader: the engine is built (or reused) on activate.
            from ..contract import contract_from_onnx

            verify_checksum(self.path)  # an ONNX file altered since export is refused
            import_tensorrt()  # fail now (exit 2) rather than at activate
            self._onnx, self.path = self.path, None
            self._build_options = {"fp16": True, "batch": DEFAULT_BATCH, **(build_options or {})}
            self.sidecar = None
            built_part = split_part_from_onnx(self._onnx)
            built = built_part.contract if built_part else contract_from_onnx(self._onnx)
            name = self._onnx.name
        else:
            self.sidecar = read_sidecar(self.path)
            # Before any TensorRT call: an engine altered or cut short since it was built.
            why = engine_checksum_problem(self.path, self.sidecar)
            if why:
                fail(f"{why}; rebuild it with `edgeaction build-engine MODEL.onnx`")
            built = sidecar_contract(self.sidecar, self.path)
            built_part = sidecar_part(self.sidecar, self.path)
            name = self.path.name
        if contract is not None and contract != built:
            fail(
                f"{name} serves model '{built.name}', not the given contract "
                f"'{contract.name}'; build the engine from this model's ONNX file"
            )
        if part != built_part:
            held = f"the split {built_part.part}" if built_part else "a whole model"
            wanted = f"the split {part.part}" if part else "a whole model"
            fail(f"{name} holds {held}, not {wanted}; give the file `edgeaction export` wrote")
        super().__init__(contract or built, name=f"tensorrt:{name}", part=part)

    def _engine_from_onnx(self, trt) -> Path:
        """The cached engine of the ONNX model when it still fits here, else a new build
        (into the cache, or `build_options["out"]`)."""
        from ..fsutil import sha256_file
        from .cache import cached_engine_path, cached_engine_problem
        from .trt_build import build_engine
        from .trt_common import parse_batch

        opts = self._build_options
        device = gpu_info()
        if opts.get("dla_core") is not None:
            device = {**device, "dla_core": opts["dla_core"]}
        profile = parse_batch(opts["batch"])
        precision = "fp16" if opts["fp16"] else "fp32"
        if opts.get("out"):
            out = Path(opts["out"])
        else:  # the engine cache: one file per model/TensorRT/GPU/precision/profile
            out = cached_engine_path(
                self._onnx,
                sha256_file(self._onnx),
                trt.__version__,
                device,
                precision,
                profile,
                opts.get("cache_dir"),
            )
            out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            why = cached_engine_problem(out, self._onnx, trt.__version__, device, self.contract)
            if why is None:
                return out
            self._build_log(f"rebuilding {out.name}: {why}")
        build = {k: v for k, v in opts.items() if k != "cache_dir"}
        return build_engine(self._onnx, **{**build, "out": out}, log=self._build_log)

    def _build_log(self, line: str) -> None:
        # An engine build takes minutes on a Jetson: say so on stderr, not only in a log.
        print(f"[{self.name}] {line}", file=sys.stderr, flush=True)

    def _reset(self) -> None:
        self._trt = self._runtime = self._engine = self._context = None
        self._stream = None
        self._events: list = []
        self._host: dict = {}
        self._dev: dict = {}
        self._io: dict[str, tuple[bool, np.dtype, tuple]] = {}
        self._max_batch = None

    # ---- lifecycle -------------------------------------------------------------------------
    def activate_impl(self) -> None:
        from . import cuda_mem

        trt = import_tensorrt()
        if self._onnx is not None and self.path is None:
            self.path = self._engine_from_onnx(trt)
            self.sidecar = read_sidecar(self.path)
        if self._check_sidecar:
            here = {"tensorrt": trt.__version__, "device": gpu_info()}
            why = sidecar_mismatch(self.sidecar, here)
            if why:
                fail(
                    f"{self.path.name}: {why}; TensorRT engines only run where they were "
                    "built: rebuild it here with `edgeaction build-engine MODEL.onnx`"
                )
        self._trt = trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        try:
            self._runtime = trt.Runtime(self._logger)
        except Exception:  # pybind: factory returned nullptr (CUDA could not initialise)
            self._runtime = None
        if self._runtime is None:
            fail(f"TensorRT found no usable NVIDIA GPU; {GPU_HOW}", exit_code=2)
        plan = self.path.read_bytes()
        why = plan_checksum_problem(self.path.name, plan, self.sidecar or {})
        if why:
            fail(f"{why}; rebuild it with `edgeaction build-engine MODEL.onnx`")
        self._engine = self._runtime.deserialize_cuda_engine(plan)
        if self._engine is None:
            fail(
                f"TensorRT {trt.__version__} could not deserialize {self.path.name} (see the "
                "log above); rebuild it here with `edgeaction build-engine`"
            )
        self._context = self._engine.create_execution_context()
        if self._context is None:
            fail(f"could not create an execution context for {self.path.name} (GPU memory?)")
        engine = self._engine
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            self._io[name] = (is_input, dtype, tuple(engine.get_tensor_shape(name)))
        inputs = [n for n, (inp, _, _) in self._io.items() if inp]
        for name in inputs:
            max_shape = tuple(engine.get_tensor_profile_shape(name, 0)[2])
            self._max_batch = max_shape[0]
            self._context.set_input_shape(name, max_shape)
        self._stream = cuda_mem.Stream()
        self.cuda_binding = cuda_mem.backend_name()  # "cuda-python 12.6.2" / "pycuda 2026.1"
        self._events = [cuda_mem.Event() for _ in range(4)]
        for name, (_, dtype, _) in self._io.items():
            shape = tuple(self._context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                fail(f"{self.path.name}: cannot size tensor '{name}' {list(shape)}")
            self._host[name] = cuda_mem.PinnedBuffer(shape, dtype)
            self._dev[name] = cuda_mem.DeviceBuffer(self._host[name].nbytes)

    def deactivate_impl(self) -> None:
        try:
            for buf in [*self._host.values(), *self._dev.values(), *self._events]:
                buf.free()
            if self._stream is not None:
                self._stream.free()
        finally:
            self._reset()

    # ---- metadata --------------------------------------------------------------------------
    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    @property
    def precision(self) -> str:
        """The engine's precision: its sidecar's, or the build option's before a build."""
        if self.sidecar is not None:
            return str(self.sidecar.get("precision") or "fp16")
        return "fp16" if self._build_options.get("fp16") else "fp32"

    def _meta(self, want_inputs: bool) -> dict[str, TensorMeta]:
        return {
            n: TensorMeta(n, dtype, tuple(d if d >= 0 else None for d in shape))
            for n, (inp, dtype, shape) in self._io.items()
            if inp == want_inputs
        }

    def get_input_metadata_impl(self) -> dict[str, TensorMeta]:
        return self._meta(True)

    def get_output_metadata_impl(self) -> dict[str, TensorMeta]:
        return self._meta(False)

    # ---- inference -------------------------------------------------------------------------
    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from . import cuda_mem

        context, s = self._context, self._stream
        e0, e1, e2, e3 = self._events
        sizes = {}
        for name, arr in feed.items():
            if not context.set_input_shape(name, tuple(arr.shape)):
                fail(f"{self.name}: input '{name}' shape {list(arr.shape)} is outside the profile")
            host = self._host[name].view(arr.shape)
            np.copyto(host, arr)
            sizes[name] = host.nbytes
        outputs = {}
        for name, (inp, dtype, _) in self._io.items():
            context.set_tensor_address(name, self._dev[name].ptr)
            if not inp:
                shape = tuple(context.get_tensor_shape(name))
                outputs[name] = shape
                sizes[name] = int(math.prod(shape)) * dtype.itemsize
        e0.record(s)
        for name in feed:
            cuda_mem.copy_htod(self._dev[name], self._host[name], sizes[name], s)
        e1.record(s)
        t0 = time.perf_counter()  # host time to enqueue the work (trtexec's Enqueue Time)
        if not context.execute_async_v3(s.handle):
            fail(f"{self.name}: TensorRT execute_async_v3 failed (see the log above)")
        enqueue_ms = (time.perf_counter() - t0) * 1000.0
        e2.record(s)
        for name in outputs:
            cuda_mem.copy_dtoh(self._host[name], self._dev[name], sizes[name], s)
        e3.record(s)
        s.synchronize()
        self.last_timings = {
            "enqueue_ms": enqueue_ms,
            "h2d_ms": e1.ms_since(e0),
            "compute_ms": e2.ms_since(e1),
            "d2h_ms": e3.ms_since(e2),
        }
        return {name: self._host[name].view(shape).copy() for name, shape in outputs.items()}
