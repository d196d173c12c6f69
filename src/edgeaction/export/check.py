"""`edgeaction check MODEL.onnx`: will TensorRT build this model? A pre-flight without a GPU.

Reads the ONNX file (never TensorFlow, never TensorRT) and reports what would stop
TensorRT's ONNX parser or builder, or make the engine slow, as findings of three levels:

- `blocker`: the build fails (invalid graph, opset out of range, an op TensorRT lacks,
  dynamic T/H/W, float64, INT64 values beyond INT32);
- `warning`: it builds, but check it (Loop/Scan/If, INT64 weights, ops newer than the
  Jetson's TensorRT, input types the operator list does not name);
- `info`: worth knowing (dynamic batch, native RNN ops, an op's documented restrictions,
  strong typing on TensorRT 11).

The operator lists ship as data (`export/data/onnx_trt_ops_{10,11}.json`) with their source:
ONNX-TensorRT's `docs/operators.md`. `edgeaction export` runs `preflight` after writing
`model.onnx` and prints the summary line.

```python
report = preflight("models/a/model.onnx", trt_major=10)
print(format_table(report))      # aligned table + "0 blockers, 1 warning: ready for TensorRT 10"
report.ready                     # False when there is any blocker
```
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .._lazy import require
from ..artefacts import ONNX, resolve_model
from ..errors import fail, first_line
from .check_report import LEVELS, CheckReport, Finding, format_table, plural

TRT_MAJORS = (10, 11)
DEFAULT_DOMAINS = ("", "ai.onnx")
CONTROL_FLOW = ("Loop", "Scan", "If")
NATIVE_RNN = ("LSTM", "GRU", "RNN")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Inputs whose out-of-range INT64 values are harmless: ONNX clamps Slice starts/ends to the
# dimension (tf2onnx writes INT64_MAX for "to the end"), and a Loop trip count of INT64_MAX
# means "no limit" (the parser handles it since TensorRT 8.5).
_CLAMPED_INPUTS = {"Slice": (1, 2), "Loop": (0,)}
# ONNX element type names -> the type names of ONNX-TensorRT's operators.md
_DOC_TYPES = {
    "FLOAT": "FP32",
    "FLOAT16": "FP16",
    "BFLOAT16": "BF16",
    "FLOAT8E4M3FN": "FP8",
    "FLOAT4E2M1": "FP4",
}
# Types TensorRT has at all (DOUBLE only by casting down); anything else cannot be parsed.
_TRT_TYPES = {"FP32", "FP16", "BF16", "INT32", "INT64", "INT8", "UINT8", "BOOL", "FP8"}
_TRT_TYPES |= {"INT4", "FP4", "DOUBLE"}
_MAX_PER_OP = 5  # findings per op type for unsupported ops, then one "... and N more"


@cache
def op_table(trt_major: int = 10) -> dict[str, Any]:
    """The shipped ONNX-TensorRT operator list for a TensorRT major version.

    Args:
        trt_major: Integer. `10` or `11`.

    Returns:
        Dict with `source` (repository, path, release), `opset_min`, `opset_max`,
        `baseline` and `ops` (op type -> `supported`, `types`, optional `restrictions`,
        `since`).
    """
    if trt_major not in TRT_MAJORS:
        fail(f"--trt must be one of {', '.join(map(str, TRT_MAJORS))}. Received: {trt_major}")
    name = f"onnx_trt_ops_{trt_major}.json"
    return json.loads(resources.files(__package__).joinpath("data", name).read_text("utf-8"))


def source_line(table: dict[str, Any]) -> str:
    """`onnx/onnx-tensorrt docs/operators.md, TensorRT 10.15 GA (...)` for reports."""
    s = table["source"]
    line = f"{s['repository']} {s['path']}, {s['release']}"
    return line + (
        "; the 11.x list is derived from it (see the data file)" if s.get("derived") else ""
    )


def _version(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in str(s).split(".") if x.isdigit())


def _resolve(path: str | os.PathLike) -> Path:
    # Any file is read as ONNX (its content is checked), so any suffix is taken.
    _, p = resolve_model(path, (ONNX,), any_suffix=True)
    if p.stat().st_size == 0:
        fail(f"{p} is empty (0 bytes), not an ONNX model")
    return p


def _load(p: Path):
    onnx = require("onnx")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # DecodeError, RuntimeError, ...: anything that is not ONNX
        fail(
            f"{p} is not an ONNX model ({first_line(e, 120)}); give the model.onnx "
            "that `edgeaction export` writes"
        )
    if model.ir_version < 1 or not model.HasField("graph") or not len(model.graph.node):
        fail(
            f"{p} is not an ONNX model (no IR version or no graph); give the model.onnx "
            "that `edgeaction export` writes"
        )
    return model


def _graphs(graph, where: str = ""):
    """Yield `(graph, where)` for the main graph and every subgraph (Loop/If/Scan bodies)."""
    yield graph, where
    for node in graph.node:
        for a in node.attribute:
            subs = [a.g] if a.HasField("g") else list(a.graphs)
            for g in subs:
                yield from _graphs(g, f"{where}{node.name or node.op_type}/{a.name}/")


def _type_name(onnx, elem_type: int) -> str:
    name = onnx.TensorProto.DataType.Name(elem_type)
    return _DOC_TYPES.get(name, name)


def preflight(path: str | os.PathLike, trt_major: int = 10) -> CheckReport:
    """Check an ONNX model against what TensorRT's ONNX parser and builder accept.

    Runs the ONNX checker and strict shape inference, then checks the opset and domains,
    every op (subgraphs included) against the ONNX-TensorRT operator list of `trt_major`,
    the graph inputs' dynamic axes, control flow (Loop/Scan/If) and data types (float64,
    INT64 values). Needs the `onnx` package, not TensorFlow or TensorRT.

    Args:
        path: Path. An ONNX file, or an export directory holding `model.onnx`.
        trt_major: Integer. TensorRT major version, `10` (Jetson, JetPack 6) or `11`.
            Defaults to `10`.

    Returns:
        A `CheckReport`; `report.ready` is False when any finding is a blocker.

    Raises:
        EdgeActionError: the file is missing, empty or not ONNX, or `trt_major` is not
            10 or 11.
    """
    table = op_table(trt_major)
    p = _resolve(path)
    model = _load(p)
    onnx = require("onnx")
    out = _Findings()
    typed = _check_validity(onnx, p, model, out)  # 1. checker, strict shape inference
    opset = _check_opset(model, table, trt_major, out)  # 2. opset and domains
    w = _walk(model)
    _check_loops(w, out)
    _check_custom_domains(w, out)
    types = _tensor_types(typed)
    _check_ops(w, table, trt_major, out)  # 3. every op against the operator list
    _check_op_dtypes(onnx, w, table, types, out)
    _check_inputs(model, out)  # 4. dynamic dimensions of graph inputs
    _check_float64(onnx, typed, w, out)  # 6. data types: float64 anywhere,
    _check_int64(onnx, model, w, p, out)  # INT64 inputs and weights
    if trt_major >= 11:  # 7. TensorRT 11: strongly typed networks
        _note_strongly_typed(onnx, model, w, types, out)
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    out.sort(key=lambda f: order[f.level])
    return CheckReport(
        path=str(p),
        trt_major=trt_major,
        opset=opset,
        nodes=len(w.nodes),
        ops=dict(w.ops.most_common()),
        findings=list(out),
        source=source_line(table),
    )


class _Findings(list):
    """The findings of one check, added one line at a time."""

    def add(self, level, code, message, op="", node="") -> None:
        self.append(Finding(level, code, op, node, message))


@dataclass
class _Walk:
    """Every node of a model (subgraphs included), walked once."""

    nodes: list = field(default_factory=list)
    ops: Counter = field(default_factory=Counter)  # histogram (custom ops as domain:op)
    by_op: dict = field(default_factory=dict)  # op type -> node names (default domains)
    custom: dict = field(default_factory=dict)  # custom domain -> Counter of op types
    consumers: dict = field(default_factory=dict)  # tensor -> [(op type, input index)]
    constants: list = field(default_factory=list)  # (name, TensorProto) of Constant nodes
    initializers: list = field(default_factory=list)


def _walk(model) -> _Walk:
    w = _Walk()
    for g, where in _graphs(model.graph):
        w.initializers.extend(g.initializer)
        for n in g.node:
            w.nodes.append(n)
            domain = n.domain or ""
            name = where + (n.name or n.output[0] if n.output else n.name)
            for i, inp in enumerate(n.input):
                if inp:
                    w.consumers.setdefault(inp, []).append((n.op_type, i))
            if domain not in DEFAULT_DOMAINS:
                w.ops[f"{domain}:{n.op_type}"] += 1
                w.custom.setdefault(domain, Counter())[n.op_type] += 1
                continue
            w.ops[n.op_type] += 1
            w.by_op.setdefault(n.op_type, []).append(name)
            if n.op_type == "Constant" and n.output:
                for a in n.attribute:
                    if a.name == "value" and a.HasField("t"):
                        w.constants.append((n.output[0], a.t))
    return w


def _check_validity(onnx, p: Path, model, out: _Findings):
    """The ONNX checker, then strict shape inference (what full_check adds); returns the
    best typed model there is (the model itself when inference fails outright)."""
    try:
        onnx.checker.check_model(str(p))
    except Exception as e:
        out.add("blocker", "onnx-checker", f"the ONNX checker rejects the model: {first_line(e)}")
    typed = None
    try:
        typed = onnx.shape_inference.infer_shapes(
            model, check_type=True, strict_mode=True, data_prop=True
        )
    except Exception as e:
        out.add("blocker", "shape-inference", f"strict shape inference fails: {first_line(e)}")
        try:
            typed = onnx.shape_inference.infer_shapes(model)
        except Exception:
            typed = None
    return model if typed is None else typed


def _check_opset(model, table, trt_major: int, out: _Findings) -> int | None:
    opsets = {o.domain or "": o.version for o in model.opset_import}
    opset = max((v for d, v in opsets.items() if d in DEFAULT_DOMAINS), default=None)
    lo, hi = table["opset_min"], table["opset_max"]
    if opset is None:
        out.add("blocker", "opset", "the model imports no default ONNX opset; re-export it")
    elif not lo <= opset <= hi:
        out.add(
            "blocker",
            "opset",
            f"opset {opset} is outside {lo}..{hi}, the range TensorRT {trt_major}'s ONNX "
            f"parser reads; export with --opset 17 (tf2onnx 1.17 writes <= 18)",
        )
    return opset


def _check_loops(w: _Walk, out: _Findings) -> None:
    """Loop scan outputs need a build-time length: flag a trip count that is not a constant."""
    const_names = {t.name for t in w.initializers} | {name for name, _ in w.constants}
    for n in w.nodes:
        if n.op_type != "Loop" or (n.domain or "") not in DEFAULT_DOMAINS:
            continue
        body = next((a.g for a in n.attribute if a.name == "body"), None)
        n_scan = len(body.output) - 1 - (len(n.input) - 2) if body is not None else 0
        if n_scan > 0 and (not n.input or n.input[0] not in const_names):
            out.add(
                "warning",
                "loop-scan",
                f"{plural(n_scan, 'scan output')} but the trip count M is not a constant: "
                "TensorRT needs a build-time scan output length (fixed T usually resolves it)",
                op="Loop",
                node=n.name,
            )


def _check_custom_domains(w: _Walk, out: _Findings) -> None:
    for domain, c in sorted(w.custom.items()):
        listed = ", ".join(sorted(c))
        out.add(
            "blocker",
            "custom-domain",
            f"{sum(c.values())} node(s) of domain '{domain}' ({listed}): TensorRT parses the "
            "default ONNX domain only; these need a TensorRT plugin registered under the "
            "same op name, or a re-export without them",
            op=listed if len(c) == 1 else "",
        )


def _check_ops(w: _Walk, table, trt_major: int, out: _Findings) -> None:
    """Every op type against the operator list: unsupported, newer than the baseline,
    control flow, native RNNs, documented restrictions."""
    doc_ops = table["ops"]
    baseline = table.get("baseline", f"{trt_major}.0")
    for op, names in sorted(w.by_op.items()):
        entry = doc_ops.get(op)
        if entry is None or not entry.get("supported"):
            _unsupported(op, names, entry, trt_major, out)
            continue
        since = entry.get("since")
        if since and _version(since) > _version(baseline):
            out.add(
                "warning",
                "op-version",
                f"{op} needs TensorRT >= {since} (added to the ONNX parser then); "
                f"baseline {baseline} lacks it"
                + (" (JetPack 6 ships 10.3)" if trt_major == 10 else ""),
                op=op,
                node=names[0],
            )
        if op in CONTROL_FLOW:
            _control_flow(op, names, out)
        elif op in NATIVE_RNN:
            out.add(
                "info",
                "native-rnn",
                f"native {op} ({len(names)} node(s)) maps to TensorRT's RNN layers",
                op=op,
                node=names[0],
            )
        if entry.get("restrictions"):
            out.add("info", "op-restriction", entry["restrictions"], op=op)


def _unsupported(op: str, names: list[str], entry, trt_major: int, out: _Findings) -> None:
    why = (
        "is not in ONNX-TensorRT's operator list"
        if entry is None
        else f"is not supported by TensorRT {trt_major}'s ONNX parser"
    )
    for name in names[:_MAX_PER_OP]:
        out.add(
            "blocker",
            "unsupported-op",
            f"{op} {why} (docs/operators.md); replace it before export or "
            "implement it as a TensorRT plugin",
            op=op,
            node=name,
        )
    if len(names) > _MAX_PER_OP:
        out.add(
            "blocker",
            "unsupported-op",
            f"... and {len(names) - _MAX_PER_OP} more {op} node(s)",
            op=op,
        )


def _control_flow(op: str, names: list[str], out: _Findings) -> None:
    layer = {"Loop": "loop", "Scan": "loop", "If": "conditional"}[op]
    hint = (
        "; tf2onnx writes Loop for Keras GRU/SimpleRNN/ConvLSTM2D, an LSTM head "
        "exports as one native LSTM op"
        if op == "Loop"
        else ""
    )
    for name in names:
        out.add(
            "warning",
            "control-flow",
            f"TensorRT runs {op} via its {layer} layer; slower than an LSTM op, "
            f"check build time/latency{hint}",
            op=op,
            node=name,
        )


def _tensor_types(typed) -> dict[str, int]:
    """Element type of every typed tensor (from shape inference) and initialiser."""
    types: dict[str, int] = {}
    for g, _ in _graphs(typed.graph):
        for vi in [*g.input, *g.output, *g.value_info]:
            if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
                types[vi.name] = vi.type.tensor_type.elem_type
        for t in g.initializer:
            types[t.name] = t.data_type
    return types


def _check_op_dtypes(onnx, w: _Walk, table, types: dict[str, int], out: _Findings) -> None:
    """Dtypes the doc does not list for an op's first input (from shape inference)."""
    doc_ops = table["ops"]
    seen_dtype: set[tuple[str, str]] = set()
    for n in w.nodes:
        entry = doc_ops.get(n.op_type)
        if (n.domain or "") not in DEFAULT_DOMAINS or not entry or not entry.get("types"):
            continue
        if not n.input or n.input[0] not in types:
            continue
        t = _type_name(onnx, types[n.input[0]])
        if t in entry["types"] or t == "DOUBLE" or (n.op_type, t) in seen_dtype:
            continue
        seen_dtype.add((n.op_type, t))
        out.add(
            "warning",
            "op-dtype",
            f"input type {t} is not among the types docs/operators.md lists for "
            f"{n.op_type} ({', '.join(entry['types'])}); the parser may reject it",
            op=n.op_type,
            node=n.name,
        )


def _check_inputs(model, out: _Findings) -> None:
    """Dynamic dimensions of the graph inputs: the batch axis only may be dynamic."""
    init_names = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in init_names:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            out.add("blocker", "input-type", "graph input is not a tensor", node=vi.name)
            continue
        if not tt.HasField("shape"):
            out.add(
                "blocker",
                "dynamic-dim",
                "input has no shape (unknown rank); TensorRT needs the rank and fixed "
                "T/H/W: re-export with a fixed input shape",
                node=vi.name,
            )
            continue
        dims = list(tt.shape.dim)
        dyn = [
            (i, d.dim_param or "?")
            for i, d in enumerate(dims)
            if not (d.HasField("dim_value") and d.dim_value > 0)
        ]
        if dyn and dyn[0][0] == 0:
            out.add(
                "info",
                "dynamic-batch",
                f"dynamic batch (axis 0 '{dyn[0][1]}'): build-engine sets the min/opt/max "
                "optimisation profile",
                node=vi.name,
            )
        rest = [(i, name) for i, name in dyn if i > 0]
        if rest:
            axes = ", ".join(f"{i} ('{name}')" for i, name in rest)
            out.add(
                "blocker",
                "dynamic-dim",
                f"dynamic axes {axes} of a rank-{len(dims)} input; the engine needs fixed "
                "T/H/W (the optimisation profile covers the batch axis only): re-export "
                "with a fixed shape",
                node=vi.name,
            )


_WHY_FLOAT64 = {
    "input": "TensorRT has no FLOAT64 inputs/outputs",
    "output": "TensorRT has no FLOAT64 inputs/outputs",
    "initialiser": "the parser casts FLOAT64 weights down to FLOAT, clamping them",
    "constant": "the parser casts FLOAT64 weights down to FLOAT, clamping them",
}


def _check_float64(onnx, typed, w: _Walk, out: _Findings) -> None:
    """float64 anywhere: inputs, outputs, tensors, weights, constants, casts."""
    double = onnx.TensorProto.DOUBLE
    f64: dict[str, list[str]] = {}
    for g, _ in _graphs(typed.graph):
        for kind, vis in (("input", g.input), ("output", g.output), ("tensor", g.value_info)):
            for vi in vis:
                if vi.type.tensor_type.elem_type == double:
                    f64.setdefault(kind, []).append(vi.name)
    for t in w.initializers:
        if t.data_type == double:
            f64.setdefault("initialiser", []).append(t.name)
    for name, t in w.constants:
        if t.data_type == double:
            f64.setdefault("constant", []).append(name)
    for n in w.nodes:
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == double:
                    f64.setdefault("cast", []).append(n.name)
    for kind, names in f64.items():
        out.add(
            "blocker",
            "float64",
            f"{plural(len(names), 'float64 ' + kind)} ({_some(names)}): "
            f"{_WHY_FLOAT64.get(kind, 'TensorRT has no FLOAT64 tensors')}; re-export in float32",
            node=names[0] if len(names) == 1 else "",
        )


def _check_int64(onnx, model, w: _Walk, p: Path, out: _Findings) -> None:
    """INT64 graph inputs, and INT64 weights: do their values fit INT32?"""
    init_names = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name not in init_names and vi.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            out.add(
                "warning",
                "int64",
                "INT64 input: bind it as an int64 buffer (TensorRT >= 9 keeps INT64 I/O; "
                "layers without INT64 support cast it down to INT32)",
                node=vi.name,
            )
    small, harmless = [], []
    numpy_helper = require("onnx.numpy_helper")
    for name, t in [(t.name, t) for t in w.initializers] + w.constants:
        if t.data_type != onnx.TensorProto.INT64:
            continue
        try:
            arr = numpy_helper.to_array(t, base_dir=str(p.parent))
        except Exception as e:
            out.add("warning", "int64", f"INT64 weights not readable: {first_line(e)}", node=name)
            continue
        if not arr.size or (int(arr.min()) >= INT32_MIN and int(arr.max()) <= INT32_MAX):
            small.append(name)
            continue
        uses = w.consumers.get(name, [])
        if not uses:
            continue  # unused: the parser never imports it
        if all(i in _CLAMPED_INPUTS.get(op, ()) for op, i in uses):
            harmless.append(name)
            continue
        big = int(arr.max()) if int(arr.max()) > INT32_MAX else int(arr.min())
        used_by = ", ".join(sorted({op for op, _ in uses}))
        out.add(
            "blocker",
            "int64-range",
            f"INT64 weights hold {big}, beyond INT32 (used by {used_by}); TensorRT casts "
            "INT64 weights down to INT32 where a layer lacks INT64: make them fit INT32",
            node=name,
        )
    if small:
        out.add(
            "warning",
            "int64",
            f"{plural(len(small), 'INT64 weight tensor')} ({_some(small)}): TensorRT casts "
            "INT64 weights down to INT32 where a layer lacks INT64; their values fit INT32",
        )
    if harmless:
        out.add(
            "info",
            "int64",
            f"{plural(len(harmless), 'INT64 limit')} beyond INT32 ({_some(harmless)}) as "
            "Slice bounds or Loop trip counts: clamped, harmless",
        )


def _note_strongly_typed(onnx, model, w: _Walk, types: dict[str, int], out: _Findings) -> None:
    """TensorRT 11 networks are strongly typed: say which precision the graph builds in."""
    fp16 = any(types.get(vi.name) == onnx.TensorProto.FLOAT16 for vi in model.graph.input) or any(
        t.data_type == onnx.TensorProto.FLOAT16 for t in w.initializers
    )
    out.add(
        "info",
        "strongly-typed",
        "TensorRT 11 networks are strongly typed: the graph's float16 tensors build as "
        "FP16, the rest as FP32"
        if fp16
        else "TensorRT 11 networks are strongly typed: a float32 graph gives an FP32 "
        "engine; for FP16 export with --fp16 (model_fp16.onnx)",
    )


def _some(names: list[str], k: int = 3) -> str:
    head = ", ".join(names[:k])
    return head + (f", +{len(names) - k} more" if len(names) > k else "")


__all__ = ["LEVELS", "CheckReport", "Finding", "format_table", "op_table", "preflight"]
