"""The NCTHW wrapper of `edgeaction jetson deepstream`: a model behind one Transpose.

nvdspreprocess' sequence library builds NCTHW tensors only; an NTHWC (Keras) or NTCHW
model is rewritten as the same graph behind one Transpose from an NCTHW input of the same
name, its embedded contract saying NCTHW. Needs the `onnx` package (run it where you export).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..contract import CONTRACT_KEY, ModelContract
from ..errors import fail
from ..fsutil import atomic_path


def write_ncthw(onnx_path: Path, c: ModelContract, out: Path) -> Path:
    """Write `onnx_path` behind a Transpose from an NCTHW input of the same name.

    Args:
        onnx_path: Path. An NTHWC or NTCHW model carrying contract `c`.
        c: ModelContract. The model's contract (its `layout` picks the permutation).
        out: Path. Where the wrapped model goes (written temp + rename).

    Returns:
        `out`. The wrapped model embeds `c` with layout NCTHW.
    """
    from .._lazy import require

    try:
        onnx = require("onnx")
    except Exception as e:
        fail(
            f"{c.layout} models need an NCTHW wrapper for nvdspreprocess, written with the "
            f"onnx package ({e}); run this where you export, or `pip install onnx`"
        )
    from onnx import TensorProto, helper

    m = onnx.load(str(onnx_path))
    g = m.graph
    inits = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if [i.name for i in inputs] != [c.input_name]:
        fail(
            f"{onnx_path.name} has inputs {[i.name for i in inputs]}, its contract names "
            f"'{c.input_name}'; re-export the model with `edgeaction export`"
        )
    old = inputs[0]
    if old.type.tensor_type.elem_type != TensorProto.FLOAT:
        fail(f"{onnx_path.name} input is not float32; give the float32 model.onnx")
    dims = old.type.tensor_type.shape.dim
    batch_dim = (dims[0].dim_param or "N") if dims and not dims[0].dim_value else dims[0].dim_value
    inner = f"{c.input_name}__{c.layout.lower()}"
    while inner in {n for node in g.node for n in (*node.input, *node.output)}:
        inner += "_"
    for node in g.node:
        node.input[:] = [inner if n == c.input_name else n for n in node.input]
    for o in g.output:
        if o.name == c.input_name:
            fail(f"{onnx_path.name} outputs its input; re-export the model")
    perm = {"NTHWC": [0, 2, 3, 4, 1], "NTCHW": [0, 2, 1, 3, 4]}[c.layout]
    g.node.insert(0, helper.make_node("Transpose", [c.input_name], [inner], perm=perm))
    new_in = helper.make_tensor_value_info(
        c.input_name, TensorProto.FLOAT, [batch_dim, 3, c.frames, c.height, c.width]
    )
    kept = [i for i in g.input if i.name != c.input_name]
    del g.input[:]
    g.input.extend([new_in, *kept])
    wrapped = replace(c, layout="NCTHW").with_producer(
        deepstream_wrapper=f"Transpose {perm} from {c.layout} {onnx_path.name}"
    )
    props = [(p.key, p.value) for p in m.metadata_props if p.key != CONTRACT_KEY]
    del m.metadata_props[:]
    for k, v in [*props, (CONTRACT_KEY, wrapped.to_json())]:
        m.metadata_props.add(key=k, value=v)
    try:
        onnx.checker.check_model(m)
    except Exception as e:
        fail(f"could not wrap {onnx_path.name} for NCTHW input: {str(e).splitlines()[0]}")
    with atomic_path(out) as tmp:
        onnx.save(m, str(tmp))
    return out
