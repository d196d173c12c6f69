"""A small split export made on the spot, without TensorFlow.

What `edgeaction selftest` builds its engines from on a user's GPU, and the tests'
`tiny_split`: `model.onnx` (a whole clip classifier with its contract embedded),
`contract.json`, and the `encoder.onnx` / `head.onnx` parts `export --split` writes, with
model(clip) == head(stack(encoder(frame) for frame in clip)). Only `onnx` and numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _split_graph_nodes(helper, src: str, dst: str, prefix: str, part: str) -> list:
    """Nodes of the `tiny_split` encoder (`part="encoder"`) or head, `src` → `dst`.

    Encoder: mean over a 4x4 grid of 8x8 blocks → MatMul (48 → 16) → Relu, per frame.
    Head: flatten (T, F) → MatMul (T*F → 24) → Tanh → MatMul (24 → classes) → Softmax, so
    the order of the frames matters.
    """
    p = prefix
    if part == "encoder":
        return [
            helper.make_node("Reshape", [src, "enc_grid"], [p + "g"]),
            helper.make_node("ReduceMean", [p + "g"], [p + "m"], axes=[2, 4], keepdims=0),
            helper.make_node("Reshape", [p + "m", "enc_flat"], [p + "v"]),
            helper.make_node("MatMul", [p + "v", "enc_w"], [p + "z"]),
            helper.make_node("Add", [p + "z", "enc_b"], [p + "a"]),
            helper.make_node("Relu", [p + "a"], [dst]),
        ]
    return [
        helper.make_node("Reshape", [src, "head_flat"], [p + "v"]),
        helper.make_node("MatMul", [p + "v", "head_w1"], [p + "z"]),
        helper.make_node("Add", [p + "z", "head_b1"], [p + "a"]),
        helper.make_node("Tanh", [p + "a"], [p + "h"]),
        helper.make_node("MatMul", [p + "h", "head_w2"], [p + "logits"]),
        helper.make_node("Softmax", [p + "logits"], [dst], axis=-1),
    ]


def _save(path: Path, graph, meta: dict) -> None:
    """Save `graph` as an opset-17 model at `path` with `meta` as metadata, checked."""
    import onnx
    from onnx import helper

    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def make_probe_export(out: Path, contract, seed: int = 0, features: int = 16) -> Path:
    """An export directory like `edgeaction export --split` writes, built without TensorFlow.

    `model.onnx` (embedded contract) + `contract.json` + `encoder.onnx` (`frame`
    (N, H, W, 3) → `features` (N, F)) + `head.onnx` (`features` (N, T, F) → probs), with
    `edgeaction.split` metadata as `export.onnx_export._finish_split` writes it, and
    model(clip) == head(stack(encoder(frame) for frame in clip)). H and W must be
    multiples of 4.
    """
    from onnx import TensorProto, helper, numpy_helper

    from ..contract import CONTRACT_KEY, SPLIT_KEY

    c, t, f = contract, contract.frames, features
    h, w = contract.height, contract.width
    rng = np.random.default_rng(seed)
    weights = {
        "enc_grid": np.array([-1, 4, h // 4, 4, w // 4, 3], np.int64),
        "enc_flat": np.array([-1, 48], np.int64),
        "enc_w": rng.normal(0, 1, (48, f)).astype(np.float32),
        "enc_b": rng.normal(0, 0.5, (f,)).astype(np.float32),
        "head_flat": np.array([-1, t * f], np.int64),
        "head_w1": rng.normal(0, 0.3, (t * f, 24)).astype(np.float32),
        "head_b1": rng.normal(0, 0.3, (24,)).astype(np.float32),
        "head_w2": rng.normal(0, 1, (24, c.num_classes)).astype(np.float32),
    }
    inits = {k: numpy_helper.from_array(v, k) for k, v in weights.items()}

    def save(name, nodes, inp, outp, used, meta):
        _save(
            out / name,
            helper.make_graph(nodes, name, [inp], [outp], [inits[k] for k in used]),
            meta,
        )

    def vi(name, dims):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)

    out.mkdir(parents=True, exist_ok=True)
    enc_w = ["enc_grid", "enc_flat", "enc_w", "enc_b"]
    head_w = ["head_flat", "head_w1", "head_b1", "head_w2"]
    inits["whole_frames"] = numpy_helper.from_array(
        np.array([-1, h, w, 3], np.int64), "whole_frames"
    )
    whole = [
        helper.make_node("Reshape", [c.input_name, "whole_frames"], ["per_frame"]),
        *_split_graph_nodes(helper, "per_frame", "feats", "e_", "encoder"),
        *_split_graph_nodes(helper, "feats", c.output_name, "h_", "head"),
    ]
    save(
        "model.onnx",
        whole,
        vi(c.input_name, ["N", t, h, w, 3]),
        vi(c.output_name, ["N", c.num_classes]),
        ["whole_frames", *enc_w, *head_w],
        {CONTRACT_KEY: c.to_json()},
    )
    c.save(out)
    for part, inp, shape, outp, osize, used in (
        ("encoder", "frame", ["N", h, w, 3], "features", f, enc_w),
        ("head", "features", ["N", t, f], c.output_name, c.num_classes, head_w),
    ):
        meta = {
            "part": part,
            "input": inp,
            "output": outp,
            "features": f,
            "frames": t,
            "contract": c.to_dict(),
        }
        save(
            f"{part}.onnx",
            _split_graph_nodes(helper, inp, outp, "", part),
            vi(inp, shape),
            vi(outp, ["N", osize]),
            used,
            {SPLIT_KEY: json.dumps(meta), "edgeaction.version": "test"},
        )
    return out
