"""ONNX Runtime runner: the CPU default, CUDA/TensorRT providers where installed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._lazy import require
from ..artefacts import is_fp16_onnx
from ..contract import (
    CONTRACT_KEY,
    ModelContract,
    SplitPart,
    contract_from_onnx,
    split_part_from_onnx,
)
from ..errors import fail, first_line
from ..fsutil import verify_checksum
from .base import BaseRunner, TensorMeta

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


class OrtRunner(BaseRunner):
    """Run an ONNX model with ONNX Runtime.

    The file is checked against the sha256 in the `checksums.json` beside it (written by
    `edgeaction export`) before ONNX Runtime loads it; a mismatch is refused with one
    line. Files without a manifest entry load unchecked.

    Args:
        path: Path of the `.onnx` file.
        contract: ModelContract or None. Read from the model (embedded metadata or
            `contract.json` beside it) when None.
        providers: List of strings or None. Execution providers in order of preference;
            None uses `CPUExecutionProvider`.
        intra_op_threads: Integer or None. Threads inside one operator (None: ORT's
            default, one per core).
        inter_op_threads: Integer or None. Threads across operators.
        spin: Boolean or None. Let ORT's worker threads spin between calls (lower latency
            on otherwise idle cores). `False` stops them taking CPU that GStreamer's
            decoders need: what the streaming runtime uses (on 2 cores end-to-end fps went
            from ~700 to ~1060). None keeps ORT's default (spinning).
        graph_optimization: String. `"all"`, `"extended"`, `"basic"` or `"disable"`.
            Defaults to `"all"`.
        part: SplitPart or None. Serve one part of a model exported with `--split`
            (`encoder.onnx` / `head.onnx`; see `BaseRunner`). With `contract` None, a file
            that embeds `edgeaction.split` but no contract is read as its part.
    """

    backend = "onnxruntime"

    def __init__(
        self,
        path: str | os.PathLike,
        contract: ModelContract | None = None,
        providers: list[str] | None = None,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        spin: bool | None = None,
        graph_optimization: str = "all",
        part: SplitPart | None = None,
    ):
        self.path = Path(path)
        if not self.path.exists():
            fail(f"model not found: {self.path}; check the path")
        # Before ONNX Runtime reads a byte: refuse a file altered since export.
        verify_checksum(self.path)
        self._ort = require("onnxruntime")
        self._sess = None
        levels = {
            "all": "ORT_ENABLE_ALL",
            "extended": "ORT_ENABLE_EXTENDED",
            "basic": "ORT_ENABLE_BASIC",
            "disable": "ORT_DISABLE_ALL",
        }
        if graph_optimization not in levels:
            fail(
                f"graph_optimization must be one of {sorted(levels)}. Received: {graph_optimization!r}"
            )
        self._opt_level = levels[graph_optimization]
        self._threads = (intra_op_threads, inter_op_threads)
        self._spin = spin
        available = self._ort.get_available_providers()
        self.providers = [p for p in (providers or ["CPUExecutionProvider"]) if p in available]
        if not self.providers:
            fail(
                f"none of the providers {providers} is available; this onnxruntime has {available}"
            )
        if contract is None:
            self._make_session()
            meta = dict(self._sess.get_modelmeta().custom_metadata_map)
            if part is None and CONTRACT_KEY not in meta:
                part = split_part_from_onnx(self.path, meta)
            contract = part.contract if part is not None else contract_from_onnx(self.path, meta)
        if part is not None and part.contract != contract:
            fail(
                f"{self.path.name} is the {part.part} of model '{part.contract.name}', not of "
                f"'{contract.name}'; re-export the model with `edgeaction export --split`"
            )
        super().__init__(contract, name=f"onnxruntime:{self.path.name}", part=part)

    @property
    def precision(self) -> str:
        """`"fp16"` for export's float16 graph (`model_fp16.onnx`), else `"fp32"`."""
        return "fp16" if is_fp16_onnx(self.path) else "fp32"

    def _make_session(self) -> None:
        ort = self._ort
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, self._opt_level)
        intra, inter = self._threads
        if intra:
            opts.intra_op_num_threads = int(intra)
        if inter:
            opts.inter_op_num_threads = int(inter)
        if self._spin is not None:
            flag = "1" if self._spin else "0"
            opts.add_session_config_entry("session.intra_op.allow_spinning", flag)
            opts.add_session_config_entry("session.inter_op.allow_spinning", flag)
        opts.log_severity_level = 3
        try:
            self._sess = ort.InferenceSession(str(self.path), opts, providers=self.providers)
        except Exception as e:  # ORT raises its own exception types
            fail(f"{self.path} is not a loadable ONNX model ({first_line(e)})")

    def activate_impl(self) -> None:
        if self._sess is None:
            self._make_session()
        self._out_names = [o.name for o in self._sess.get_outputs()]

    def deactivate_impl(self) -> None:
        self._sess = None

    def _meta(self, args) -> dict[str, TensorMeta]:
        return {
            a.name: TensorMeta(
                a.name,
                np.dtype(_ORT_DTYPES.get(a.type, np.float32)),
                tuple(d if isinstance(d, int) else None for d in a.shape),
            )
            for a in args
        }

    def get_input_metadata_impl(self) -> dict[str, TensorMeta]:
        return self._meta(self._sess.get_inputs())

    def get_output_metadata_impl(self) -> dict[str, TensorMeta]:
        return self._meta(self._sess.get_outputs())

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = self._sess.run(self._out_names, feed)
        return dict(zip(self._out_names, outs, strict=True))
