"""Run a model exported with `edgeaction export --split` as encoder + head.

The streaming runtime's per-frame feature cache: `encode` each new frame once (batched
across streams), keep the last T feature vectors per stream, and run `head` over them,
so a stride-1 window costs about one backbone pass per frame instead of T.

```python
with SplitRunner("models/a/model.onnx") as s:
    feats = s.encode(frames)                     # uint8 (N, H, W, 3) -> float32 (N, F)
    probs = s.head(feats[None])                  # float32 (1, T, F) -> (1, classes)
```

Both parts run through real `BaseRunner`s (`s.encoder`, `s.head_runner`), each built for
its `SplitPart`: its input and output are checked against the part's `edgeaction.split`
metadata, and every feed is checked on `infer`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..artefacts import ENCODER_ONNX, ENGINE, HEAD_ONNX, ONNX, resolve_model, split_paths
from ..contract import ModelContract, SplitPart, contract_from_onnx, split_part_from_onnx
from ..errors import fail
from ..preprocess import normalize
from .backends import check_backend, select_backend
from .base import BaseRunner
from .trt_common import DEFAULT_BATCH, parse_batch

ENCODER_FILE = ENCODER_ONNX  # the names `export --split` writes (`artefacts`)
HEAD_FILE = HEAD_ONNX
_REEXPORT = "re-export with `edgeaction export --split`"


def _resolve_model(model: str | os.PathLike) -> tuple[str, Path]:
    return resolve_model(model, (ONNX, ENGINE))


def _model_contract(kind: str, p: Path) -> ModelContract:
    if kind == ENGINE:
        from .sidecar import read_sidecar, sidecar_contract

        return sidecar_contract(read_sidecar(p), p)
    return contract_from_onnx(p)


def _parts(
    model: str | os.PathLike,
) -> tuple[ModelContract, SplitPart, SplitPart, Path, Path] | None:
    kind, p = _resolve_model(model)
    enc, head = split_paths(p)
    if not enc.exists() and not head.exists():
        return None
    for have, lack in ((enc, head), (head, enc)):
        if not lack.exists():
            fail(f"{p.parent} has {have.name} but no {lack.name}; {_REEXPORT}")
    contract = _model_contract(kind, p)
    parts = []
    for path, want in ((enc, "encoder"), (head, "head")):
        part = split_part_from_onnx(path)
        if part is None:
            fail(f"{path} carries no edgeaction.split metadata; {_REEXPORT}")
        if part.part != want:
            fail(f"{path} holds the split {part.part}, not the {want}; {_REEXPORT}")
        if part.contract != contract:
            fail(
                f"{path.name} beside {p.name} was exported for model '{part.contract.name}' "
                f"with another contract than {p.name}'s ('{contract.name}'); {_REEXPORT}"
            )
        parts.append(part)
    ep, hp = parts
    if ep.features != hp.features or ep.output != hp.input:
        fail(
            f"{enc.name} gives {ep.features} features as '{ep.output}', {head.name} takes "
            f"{hp.features} as '{hp.input}'; {_REEXPORT}"
        )
    return contract, ep, hp, enc, head


def find_split(model: str | os.PathLike) -> tuple[Path, Path] | None:
    """`(encoder.onnx, head.onnx)` of `model`, or None when it was exported without them.

    The parts must lie beside the model (or in the given export directory) and embed the
    model's own contract in their `edgeaction.split` metadata (same labels, frames, size,
    normalisation, ...).

    Args:
        model: Path of `model.onnx` (or another `.onnx` / engine with a sidecar in the
            export directory), or the export directory.

    Returns:
        The two paths, or None when neither part exists. Parts that are incomplete or
        belong to another model fail with one line saying to re-export with `--split`.
    """
    found = _parts(model)
    return None if found is None else (found[3], found[4])


class SplitRunner:
    """Encoder + head of one model exported with `edgeaction export --split`.

    Each part runs on a `BaseRunner` of the chosen backend (`encoder`, `head_runner`),
    so per-part metrics (`last_inference_s`) are there as for any runner.

    Args:
        model: Path of `model.onnx` or its export directory; `encoder.onnx` and
            `head.onnx` must lie beside it (see `find_split`).
        backend: String. A runtime backend (`engine.backends`): `"onnxruntime"` (CPU
            default) or `"tensorrt"`; an engine given runs on TensorRT. On TensorRT each part is
            built into its own engine on `activate` (or reused from the engine cache),
            the encoder with a profile of up to twice `build["batch"]`'s maximum frames
            (the runtime's encoder calls), the head with `build["batch"]` windows.
        cache_dir: Path or None. Engine cache for TensorRT (unused on onnxruntime).
        build: Dict or None. `build_engine` keywords for TensorRT (`fp16`, `batch` as
            `(min, opt, max)` windows per call, ...). Defaults to FP16 and `(1, 4, 8)`.
        **runner_kwargs: Passed to both part runners (e.g. `intra_op_threads` on ONNX
            Runtime).
    """

    def __init__(
        self,
        model: str | os.PathLike,
        backend: str = "onnxruntime",
        cache_dir: str | os.PathLike | None = None,
        build: dict | None = None,
        **runner_kwargs,
    ):
        check_backend(backend)
        kind, p = _resolve_model(model)
        # An engine given runs its parts on TensorRT whatever `backend` says (as ever).
        chosen = select_backend(kind, backend, strict=False)
        found = _parts(p)
        if found is None:
            fail(
                f"{p.parent} has no {ENCODER_FILE} and {HEAD_FILE} for the per-frame feature "
                f"cache; {_REEXPORT}, or use --feature-cache off"
            )
        self.contract, self.encoder_part, self.head_part, enc, head = found
        self.features: int = self.encoder_part.features
        self.cache_dir = cache_dir
        # Backends that build engines take a profile per part: the encoder up to twice
        # the windows' maximum in frames (the runtime's encoder calls), the head windows.
        opts = {k: v for k, v in (build or {}).items() if k != "out"}
        bmin, bopt, bmax = parse_batch(opts.get("batch", DEFAULT_BATCH))

        def mk(path: Path, part: SplitPart, batch: tuple) -> BaseRunner:
            return chosen.open(
                path,
                ONNX,
                contract=self.contract,
                part=part,
                cache_dir=cache_dir,
                build={**opts, "batch": batch},
                **runner_kwargs,
            )

        self.encoder: BaseRunner = mk(enc, self.encoder_part, (bmin, bopt, 2 * bmax))
        self.head_runner: BaseRunner = mk(head, self.head_part, (bmin, bopt, bmax))
        self.name = f"split:{p.name}"
        # Per-frame normalisation: `normalize` on the frames as one NTHWC clip.
        self._frame_contract = replace(self.contract, layout="NTHWC")

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.encoder.is_active and self.head_runner.is_active

    def activate(self) -> SplitRunner:
        try:
            self.encoder.activate()
            self.head_runner.activate()
        except BaseException:
            self.deactivate()
            raise
        self._enc_dtype = self.encoder.get_input_metadata()[self.encoder_part.input].dtype
        return self

    def deactivate(self) -> None:
        try:
            self.encoder.deactivate()
        finally:
            self.head_runner.deactivate()

    def __enter__(self) -> SplitRunner:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    @property
    def encoder_max_batch(self) -> int | None:
        """Largest batch of frames one encoder call takes (None: unbounded)."""
        return self.encoder.max_batch

    @property
    def head_max_batch(self) -> int | None:
        """Largest batch of windows one head call takes (None: unbounded)."""
        return self.head_runner.max_batch

    # ---- inference -------------------------------------------------------------------------
    def _need_active(self, what: str) -> None:
        if not self.is_active:
            fail(f"{self.name}: activate() the runner (or use `with`) before {what}()")

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """Features of single frames.

        Args:
            frames: uint8 array `(N, H, W, 3)` in the contract's colour order. Each frame
                is normalised exactly as `preprocess.normalize` normalises clips (same
                scale, mean, std and dtype).

        Returns:
            float32 array `(N, F)`.
        """
        self._need_active("encode")
        c = self.contract
        want = [None, c.height, c.width, 3]
        if not isinstance(frames, np.ndarray):
            fail(f"{self.name}: encode() takes a numpy array. Received: {type(frames).__name__}")
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != tuple(want[1:]):
            fail(
                f"{self.name}: encode() takes uint8 frames {want} (N, H, W, 3). "
                f"Received: {frames.dtype} {list(frames.shape)}"
            )
        if len(frames) == 0:
            return np.zeros((0, self.features), np.float32)
        x = normalize(frames[None], self._frame_contract)[0].astype(self._enc_dtype, copy=False)
        return self._run(self.encoder, self.encoder_part, x)

    def head(self, features: np.ndarray) -> np.ndarray:
        """Probabilities of windows of cached features.

        Args:
            features: float32 array `(N, T, F)`: per window, the encoder's features of its
                T frames in time order.

        Returns:
            Array `(N, classes)`, the whole model's output.
        """
        self._need_active("head")
        want = [None, self.contract.frames, self.features]
        if not isinstance(features, np.ndarray):
            fail(f"{self.name}: head() takes a numpy array. Received: {type(features).__name__}")
        if (
            features.dtype != np.float32
            or features.ndim != 3
            or features.shape[1:] != tuple(want[1:])
        ):
            fail(
                f"{self.name}: head() takes float32 features {want} (N, T, F). "
                f"Received: {features.dtype} {list(features.shape)}"
            )
        if len(features) == 0:
            return np.zeros((0, self.contract.num_classes), np.float32)
        return self._run(self.head_runner, self.head_part, features)

    @staticmethod
    def _run(runner: BaseRunner, part: SplitPart, x: np.ndarray) -> np.ndarray:
        mb = runner.max_batch
        if mb is None or len(x) <= mb:
            return runner.infer({part.input: x})[part.output]
        return np.concatenate(
            [runner.infer({part.input: x[i : i + mb]})[part.output] for i in range(0, len(x), mb)]
        )
