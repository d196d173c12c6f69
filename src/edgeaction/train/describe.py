"""`edgeaction train --arch NAME --describe`: the layer list, parameters and FLOPs as JSON.

FLOPs count multiply-adds of convolutions, dense and recurrent layers as 2 operations
(the usual convention of papers and of `keras-flops`/`ptflops`); batch norm, activations
and pooling are left out (under 1 % of the total for these models). Layers of the
per-frame encoder run once per frame, so they count T times per clip; recurrent layers
count once per time step.
"""

from __future__ import annotations

import math

from .._lazy import require
from ..contract import ModelContract
from .models import arch_spec, build_model

keras = require("keras")

_KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "units",
    "activation",
    "return_sequences",
    "pool_size",
    "rate",
    "frames",
    "axis",
)


def _shape(t) -> list:
    return [None if d is None else int(d) for d in t.shape]


def _io(layer):
    try:
        return layer.input, layer.output
    except (AttributeError, ValueError):
        return None, None


def layer_flops(layer) -> int:
    """FLOPs of one call of `layer` on one sample (its own batch axis)."""
    L = keras.layers
    inp, out = _io(layer)
    if inp is None or isinstance(inp, list | tuple):
        return 0
    ish, osh = _shape(inp), _shape(out)
    if isinstance(layer, L.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return 2 * math.prod(osh[1:]) * kh * kw
    if isinstance(layer, L.ConvLSTM2D):
        kh, kw = layer.kernel_size
        steps, cin, f = ish[1], ish[-1], layer.filters
        ho, wo = (osh[2], osh[3]) if layer.return_sequences else (osh[1], osh[2])
        return 2 * steps * ho * wo * 4 * f * kh * kw * (cin + f)
    if isinstance(layer, L.Conv2D):
        kh, kw = layer.kernel_size
        return 2 * math.prod(osh[1:]) * kh * kw * ish[-1] // max(1, layer.groups)
    if isinstance(layer, L.Conv1D):
        (k,) = layer.kernel_size
        return 2 * math.prod(osh[1:]) * k * ish[-1] // max(1, layer.groups)
    if isinstance(layer, L.Bidirectional):
        return _rnn_flops(layer.forward_layer, ish) + _rnn_flops(layer.backward_layer, ish)
    if isinstance(layer, L.LSTM | L.GRU | L.SimpleRNN):
        return _rnn_flops(layer, ish)
    if isinstance(layer, L.Dense):
        return 2 * math.prod(ish[1:]) * layer.units
    return 0


def _rnn_flops(layer, ish) -> int:
    L = keras.layers
    gates = 4 if isinstance(layer, L.LSTM) else 3 if isinstance(layer, L.GRU) else 1
    steps, fin, u = ish[1], ish[-1], layer.units
    return 2 * steps * gates * (fin * u + u * u)


def model_flops(model, per_frame: int) -> int:
    """FLOPs of one clip: nested models recurse; the `encoder` runs `per_frame` times."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            mult = per_frame if layer.name == "encoder" else 1
            total += mult * model_flops(layer, per_frame)
        else:
            total += layer_flops(layer)
    return total


def _config(layer) -> dict:
    try:
        cfg = layer.get_config()
    except Exception:  # custom layers without get_config
        return {}
    return {k: cfg[k] for k in _KEYS if k in cfg}


def _describe_layer(layer, per_frame: int, expand: bool) -> dict:
    inp, out = _io(layer)
    d = {"name": layer.name, "class": type(layer).__name__}
    d["config"] = _config(layer)
    if out is not None and not isinstance(out, list | tuple):
        d["output_shape"] = _shape(out)
    d["params"] = int(layer.count_params()) if layer.built else 0
    if isinstance(layer, keras.Model):
        d["class"] = "Functional"
        d["config"] = {"layers": len(layer.layers)}
        d["flops"] = model_flops(layer, per_frame)
        if expand:
            d["runs"] = "per frame (time folded into batch)" if layer.name == "encoder" else "once"
            d["layers"] = [
                _describe_layer(sub, per_frame, False)
                for sub in layer.layers
                if not isinstance(sub, keras.layers.InputLayer)
            ]
    else:
        d["flops"] = layer_flops(layer)
    return d


def describe(arch: str, contract: ModelContract, **kwargs) -> dict:
    """Build `arch` for `contract` and describe it (JSON-ready dict)."""
    spec = arch_spec(arch)
    model = build_model(arch, contract, **kwargs)
    flops = model_flops(model, contract.frames)
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    inputs = {t.name: _shape(t) for t in model.inputs}
    return {
        "arch": arch,
        "summary": spec.summary,
        "modality": spec.modality,
        "inputs": inputs,
        "output": {contract.output_name: _shape(model.output)},
        "params": int(model.count_params()),
        "trainable_params": trainable,
        "flops_per_clip": int(flops),
        "gflops_per_clip": round(flops / 1e9, 3),
        "defaults": {
            "frames": spec.frames,
            "size": spec.size,
            "optimizer": spec.optimizer,
            "lr": spec.lr,
            "loss": spec.loss.replace("sparse_", ""),
            "metrics": ["categorical_accuracy"],
            "epochs": spec.epochs,
            "batch": spec.batch,
            "lr_schedule": "ReduceLROnPlateau",
        },
        "layers": [
            _describe_layer(layer, contract.frames, True)
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
        ],
    }
