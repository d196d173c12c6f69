"""The runner interface every backend implements (in the spirit of Polygraphy's runners).

Public methods check state and inputs; subclasses implement `activate_impl`,
`infer_impl` and `deactivate_impl` only.

```python
with OrtRunner("model.onnx") as r:
    out = r.infer({"frames": clip})          # {"probs": (N, classes) float32}
```
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract import ModelContract, SplitPart
from ..errors import fail


@dataclass(frozen=True)
class TensorMeta:
    """Name, dtype and shape of one model input or output (None: dynamic axis)."""

    name: str
    dtype: np.dtype
    shape: tuple


class BaseRunner:
    """Runs one model; activate before `infer`, deactivate after (or use `with`).

    Args:
        contract: The model contract the runner serves.
        name: String. A name for messages and metrics.
        part: SplitPart or None. Set when the runner serves one part (encoder or head) of
            a model exported with `--split`: its input and output are then checked
            against the part (`SplitPart.check_io`) instead of the contract's names, and
            `classify` is refused (use `engine.split.SplitRunner`).
    """

    #: The registry name of the runner's backend (`engine.backends.BACKENDS`).
    backend: str = ""

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
    ) -> BaseRunner:
        """An inactive runner for the model file `path` (how `engine.backends` opens one).

        Args:
            path: Path of the model file.
            kind: String. Its artefact kind (`artefacts.resolve_model`).
            contract: ModelContract or None. The contract the caller expects.
            part: SplitPart or None. The split part the caller expects.
            cache_dir: Path or None. Engine cache (backends that build engines).
            build: Dict or None. Engine build options (backends that build engines);
                other backends ignore `cache_dir` and `build`.
            **kwargs: The runner's own keywords.
        """
        return cls(path, contract=contract, part=part, **kwargs)

    def __init__(self, contract: ModelContract, name: str, part: SplitPart | None = None):
        self.contract = contract
        self.name = name
        self.part = part
        self.is_active = False
        self.last_inference_s: float | None = None

    # ---- public API ----------------------------------------------------------------------
    def activate(self) -> BaseRunner:
        if self.is_active:
            return self
        self.activate_impl()
        self.is_active = True
        self._check_against_contract()
        return self

    def deactivate(self) -> None:
        if not self.is_active:
            return
        try:
            self.deactivate_impl()
        finally:
            self.is_active = False

    def __enter__(self) -> BaseRunner:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    def get_input_metadata(self) -> dict[str, TensorMeta]:
        self._need_active("get_input_metadata")
        return self.get_input_metadata_impl()

    def get_output_metadata(self) -> dict[str, TensorMeta]:
        self._need_active("get_output_metadata")
        return self.get_output_metadata_impl()

    @property
    def max_batch(self) -> int | None:
        """Largest batch the model takes (None: unbounded)."""
        return None

    @property
    def precision(self) -> str:
        """`"fp16"` when the model computes in reduced precision, else `"fp32"`."""
        return "fp32"

    def infer(
        self, feed: dict[str, np.ndarray], check_inputs: bool = True
    ) -> dict[str, np.ndarray]:
        """Run the model on `feed` (name → array) and return outputs (name → array)."""
        self._need_active("infer")
        if check_inputs:
            self._check_feed(feed)
        t = time.perf_counter()
        out = self.infer_impl(feed)
        self.last_inference_s = time.perf_counter() - t
        return out

    def classify(self, clips: np.ndarray | None, pose: np.ndarray | None = None) -> np.ndarray:
        """Probabilities `(N, classes)` for a batch of clips and/or pose keypoints.

        Args:
            clips: Normalised clips in the contract's layout and dtype, or None for a
                pose-only model.
            pose: Float32 `(N, T, keypoints * 4)` keypoints when the contract's modality
                reads pose, else None.
        """
        c = self.contract
        if self.part is not None:
            fail(
                f"{self.name}: this is the {self.part.part} of a split model, not a clip "
                "classifier; run it with infer() or through engine.split.SplitRunner"
            )
        feed = {}
        for name, arr, used in (
            (c.input_name, clips, c.uses_frames),
            (c.pose_name, pose, c.uses_keypoints),
        ):
            if used and arr is None:
                fail(f"{self.name}: model (modality {c.modality}) needs input '{name}'")
            if used:
                feed[name] = arr
        out = self.infer(feed, check_inputs=True)
        return out[c.output_name]

    # ---- for subclasses ------------------------------------------------------------------
    def activate_impl(self) -> None:
        raise NotImplementedError

    def deactivate_impl(self) -> None:
        raise NotImplementedError

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def get_input_metadata_impl(self) -> dict[str, TensorMeta]:
        raise NotImplementedError

    def get_output_metadata_impl(self) -> dict[str, TensorMeta]:
        raise NotImplementedError

    # ---- checks --------------------------------------------------------------------------
    def _need_active(self, what: str) -> None:
        if not self.is_active:
            fail(f"{self.name}: activate() the runner (or use `with`) before {what}()")

    def _check_against_contract(self) -> None:
        ins = self.get_input_metadata_impl()
        outs = self.get_output_metadata_impl()
        if self.part is not None:
            self.part.check_io(
                {n: m.shape for n, m in ins.items()},
                {n: m.shape for n, m in outs.items()},
                what=self.name,
            )
            return
        c = self.contract
        if set(ins) != set(c.input_names):
            fail(
                f"{self.name}: contract wants inputs {list(c.input_names)}, model inputs are "
                f"{sorted(ins)}; re-export the model with `edgeaction export`"
            )
        if c.uses_frames:
            m = ins[c.input_name]
            c.check_input(m.name, m.shape, np.dtype(m.dtype).name, what=self.name)
        if c.uses_keypoints:
            c.check_keypoint_input(ins[c.pose_name].shape, what=self.name)
        if c.output_name not in outs:
            fail(
                f"{self.name}: contract wants output '{c.output_name}', model outputs are "
                f"{sorted(outs)}; re-export the model with `edgeaction export`"
            )
        c.check_output(outs[c.output_name].shape[-1], what=self.name)

    def _check_feed(self, feed: dict[str, np.ndarray]) -> None:
        meta = self.get_input_metadata_impl()
        missing = sorted(set(meta) - set(feed))
        extra = sorted(set(feed) - set(meta))
        if missing or extra:
            fail(f"{self.name}: feed has inputs {sorted(feed)}, model wants {sorted(meta)}")
        for name, m in meta.items():
            a = feed[name]
            if not isinstance(a, np.ndarray):
                fail(
                    f"{self.name}: input '{name}' must be a numpy array. Received: {type(a).__name__}"
                )
            if a.dtype != m.dtype:
                fail(
                    f"{self.name}: input '{name}' must be {np.dtype(m.dtype).name}. Received: {a.dtype}"
                )
            if a.ndim != len(m.shape) or any(
                isinstance(w, int) and w > 0 and w != g
                for w, g in zip(m.shape, a.shape, strict=True)
            ):
                fail(
                    f"{self.name}: input '{name}' must have shape {list(m.shape)}. Received: {list(a.shape)}"
                )
        mb = self.max_batch
        if mb is not None:
            b = next(iter(feed.values())).shape[0]
            if b > mb:
                fail(f"{self.name}: batch {b} exceeds the model's maximum batch {mb}")
