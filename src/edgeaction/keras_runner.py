"""Keras runner: a trained `model.keras` behind the runner interface (`engine.base`).

Registered as the `keras` backend of `engine.backends` (for `evaluate` and `compare`),
never offered by the runtime: importing this module is free, but opening a model imports
TensorFlow, which the runtime (`engine`, `pipelines`, `run`) must never do
(`tests/test_runtime_no_tensorflow.py`).

```python
with KerasRunner("runs/a/model.keras") as r:      # contract.json beside it
    probs = r.classify(clips)
```
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .contract import CONTRACT_FILE, ModelContract, SplitPart
from .engine.base import BaseRunner, TensorMeta
from .errors import fail, first_line

#: The flag that loads a `.keras` file with `safe_mode=False`.
UNSAFE_KERAS_FLAG = "--unsafe-keras"


def load_keras_file(keras, path: Path, unsafe: bool = False):
    """`keras.saving.load_model` in safe mode unless `unsafe`; one-line errors.

    Safe mode refuses layers that carry Python code in the file (a `Lambda` layer holds
    marshalled bytecode that runs when the model loads or runs): such a file fails with
    one line naming `--unsafe-keras`, the knowing opt-in for a file from a trusted source.

    Args:
        keras: The imported `keras` module.
        path: Path of the `.keras` file.
        unsafe: Boolean. Load with `safe_mode=False` (runs the file's Python code).
            Defaults to `False`.
    """
    try:
        return keras.saving.load_model(str(path), safe_mode=not unsafe)
    except Exception as e:  # zip, h5, JSON and deserialisation errors of every kind
        if not unsafe and _is_safe_mode_refusal(e):
            fail(
                f"{path} holds a Lambda layer (or other code stored in the file) and is refused: "
                "a Lambda layer runs arbitrary Python from the file; if you trust where the "
                f"file comes from, pass {UNSAFE_KERAS_FLAG} to load it anyway"
            )
        fail(f"{path} is not a loadable Keras model ({first_line(e)})")


def _is_safe_mode_refusal(e: BaseException) -> bool:
    text = str(e).lower()
    return "safe_mode" in text or "unsafe_deserialization" in text


class KerasRunner(BaseRunner):
    """Run a `.keras` model from `edgeaction train` with Keras (`predict_on_batch`).

    Its inputs are named as the contract names them (a Keras input of another name is
    taken as the clip input when it is 5-D, else as the keypoint input); its one output
    is the contract's `output_name`.

    Args:
        path: Path of the `.keras` file; `contract.json` must lie beside it.
        contract: ModelContract or None. The contract the caller expects (checked
            against the one beside the file); None takes that one.
        part: Must be None: Keras models are not split.
        unsafe: Boolean. Load with `safe_mode=False`, which runs the Python code a
            `Lambda` layer stores in the file. Defaults to `False`.
    """

    backend = "keras"

    def __init__(
        self,
        path: str | os.PathLike,
        contract: ModelContract | None = None,
        part: SplitPart | None = None,
        unsafe: bool = False,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            fail(f"model not found: {self.path}; give the model.keras from `edgeaction train`")
        if part is not None:
            fail(f"{self.path.name} is a whole Keras model; split parts are ONNX files")
        built = ModelContract.load(self.path.with_name(CONTRACT_FILE))
        if contract is not None and contract != built:
            fail(
                f"{self.path.name} serves model '{built.name}', not the given contract "
                f"'{contract.name}'; give this model's own run directory"
            )
        self._unsafe = unsafe
        self._model = None
        self._inputs: list[tuple[str, tuple]] = []
        super().__init__(built, name=f"keras:{self.path.name}")

    def activate_impl(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from ._lazy import require

        keras = require("keras")
        from .train import models  # noqa: F401  (registers FoldTime/UnfoldTime)

        self._model = load_keras_file(keras, self.path, self._unsafe)
        c = self.contract
        self._inputs = []
        for t in self._model.inputs:
            name, shape = str(getattr(t, "name", "")), tuple(t.shape)
            if name not in (c.input_name, c.pose_name):
                name = c.input_name if len(shape) == 5 else c.pose_name
            self._inputs.append((name, shape))
        self._classes = self._model.outputs[0].shape[-1]

    def deactivate_impl(self) -> None:
        self._model = None

    def get_input_metadata_impl(self) -> dict[str, TensorMeta]:
        c = self.contract
        return {
            n: TensorMeta(n, np.dtype(c.dtype if n == c.input_name else np.float32), s)
            for n, s in self._inputs
        }

    def get_output_metadata_impl(self) -> dict[str, TensorMeta]:
        n = self.contract.output_name
        return {n: TensorMeta(n, np.dtype(np.float32), (None, self._classes))}

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = [feed[n] for n, _ in self._inputs]
        out = self._model.predict_on_batch(x[0] if len(x) == 1 else x)
        return {self.contract.output_name: np.asarray(out)}
