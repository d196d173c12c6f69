"""Model architectures, built from the model contract.

Per-frame backbones are applied by folding time into the batch axis —
`(B, T, H, W, C) -> (B*T, H, W, C)` → CNN → `(B, T, F)` — rather than with a literal
`TimeDistributed`: the same maths and weights, but it exports to ONNX at any size (a
literal TimeDistributed is unrolled per frame by Keras 3 and tf2onnx; FACTS) and it is
exactly the encoder/head split that streaming needs.
"""

from __future__ import annotations

from collections.abc import Callable

from .._lazy import require
from ..contract import ModelContract
from ..errors import fail

keras = require("keras")


@keras.saving.register_keras_serializable(package="edgeaction")
class FoldTime(keras.layers.Layer):
    """Fold the time axis into the batch axis: `(B, T, H, W, C) -> (B*T, H, W, C)`."""

    def call(self, x):
        s = tuple(x.shape[2:])
        return keras.ops.reshape(x, (-1, *s))

    def compute_output_shape(self, input_shape):
        b, t = input_shape[0], input_shape[1]
        return (None if b is None or t is None else b * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package="edgeaction")
class UnfoldTime(keras.layers.Layer):
    """Unfold `(B*T, ...)` back to `(B, T, ...)`.

    Args:
        frames: Integer. T, the number of frames per clip.
    """

    def __init__(self, frames: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(frames, int) or frames < 1:
            raise ValueError(f"UnfoldTime needs frames >= 1. Received: frames={frames}")
        self.frames = frames

    def call(self, x):
        return keras.ops.reshape(x, (-1, self.frames, *tuple(x.shape[1:])))

    def compute_output_shape(self, input_shape):
        return (None, self.frames, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "frames": self.frames}


def _tiny_encoder(h: int, w: int, widths=(16, 32, 48, 64)) -> keras.Model:
    """Conv-BN-ReLU-pool blocks, then a 1x1 squeeze and flatten, per frame.

    Flattening (rather than global pooling) keeps where limbs are in the frame, which a
    small model needs to tell mirrored motions apart.
    """
    L = keras.layers
    inp = keras.Input((h, w, 3), name="frame")
    x = inp
    for i, f in enumerate(widths):
        x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = L.ReLU(name=f"relu{i}")(x)
        x = L.MaxPool2D(name=f"pool{i}")(x)
    x = L.Conv2D(16, 1, activation="relu", name="squeeze")(x)
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inp, x, name="encoder")


def _rnn(kind: str, units: int, name: str):
    L = keras.layers
    kinds = {"gru": L.GRU, "lstm": L.LSTM, "simplernn": L.SimpleRNN}
    if kind not in kinds:
        fail(f"RNN head must be one of {sorted(kinds)}. Received: {kind!r}")
    return kinds[kind](units, name=name)


def build_edge_tiny(contract: ModelContract, head: str = "gru", units: int = 64) -> keras.Model:
    """`edge-tiny`: a small per-frame CNN folded over time, an RNN head, softmax."""
    L = keras.layers
    inp = keras.Input(contract.input_shape()[1:], name=contract.input_name)
    x = FoldTime(name="fold_time")(inp)
    x = _tiny_encoder(contract.height, contract.width)(x)
    x = UnfoldTime(contract.frames, name="unfold_time")(x)
    x = _rnn(head, units, "rnn")(x)
    x = L.Dropout(0.2, name="dropout")(x)
    out = L.Dense(contract.num_classes, activation="softmax", name=contract.output_name)(x)
    return keras.Model(inp, out, name="edge_tiny")


ARCHS: dict[str, Callable[..., keras.Model]] = {
    "edge-tiny": build_edge_tiny,
}


def build_model(arch: str, contract: ModelContract, **kwargs) -> keras.Model:
    """Build architecture `arch` for `contract` (input shape, classes, names).

    Every builder in `ARCHS` takes the contract and `head` (the RNN kind).
    """
    if arch not in ARCHS:
        fail(f"unknown architecture {arch!r}; choose from {', '.join(sorted(ARCHS))}")
    if contract.layout != "NTHWC":
        fail(f"Keras architectures take NTHWC input. Received: layout={contract.layout}")
    return ARCHS[arch](contract, **kwargs)
