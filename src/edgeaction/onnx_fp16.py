"""The float16 graph TensorRT builds FP16 engines from (TensorRT 10.12+ and 11.x).

TensorRT 11.x has no FP16 builder flag: networks are strongly typed, so an FP16 engine
needs an ONNX graph that is itself float16 (FACTS). `to_fp16` makes one with ONNX
Runtime's converter, keeping float32 inputs and outputs and the numerically sensitive
ops of `FP16_KEEP_FLOAT32`. `edgeaction export --fp16` writes its result as
`model_fp16.onnx` (parity-gated on held-out clips); `build-engine` converts on the fly
when that file is missing (`engine.fp16_source`). Needs `onnx` and `onnxruntime` only, no
TensorFlow.

A shared ONNX utility below both stages: `export` and `engine` import it, neither
imports the other.
"""

from __future__ import annotations

import os

#: Op types `model_fp16.onnx` keeps in float32, on top of ONNX Runtime's
#: `float16.DEFAULT_OP_BLOCK_LIST` (ML-domain ops, TopK, Range, CumSum, Min, Max, ...):
#:
#: - `Softmax`, `LogSoftmax`: they make the scores a pipeline thresholds and ranks; in
#:   float16 a probability near 0.3 is rounded to 2.4e-4 steps and the sum over many
#:   classes (400 for Kinetics) may be accumulated in float16.
#: - reductions (`ReduceMean`, `ReduceSum`, ..., `GlobalAveragePool`, in MobileNetV3's
#:   squeeze-excite blocks) and normalisations built on them: float16 accumulation over
#:   H x W or thousands of values.
#: - `Exp`, `Log`, `Pow`, `Sqrt`, `Reciprocal`: range (float16 `exp` overflows above 11).
#:
#: Measured (ORT 1.31 CPU EP, 64 seeded + 24 held-out clips; edge-tiny GRU/LSTM/SimpleRNN,
#: edge-mnv3, seed-b, pose-lstm): top-1 agreement 100 % with and without these additions,
#: max |diff| 1.2e-4 .. 3.6e-4 with them. ORT's default list alone looks better on the
#: CPU (edge-mnv3 4e-7, seed-b 5e-5) only because the CPU EP has no float16 MatMul/Add/
#: Conv/LSTM kernels: it runs them in float32 between inserted Casts and drops the
#: float32 → float16 → float32 round trips, so the classifier tail never rounds; the Cast
#: the converter puts in front of the float32 Softmax keeps the float16 rounding of the
#: logits that a GPU (TensorRT) has too. Convolutions, MatMul/Gemm and the recurrent
#: cells (LSTM, the `Loop` bodies tf2onnx makes of GRU, SimpleRNN and ConvLSTM2D) stay
#: float16: that is where the size and the TensorRT speed are. Only top-level nodes are
#: blocked: the converter puts a blocked node's Casts into the main graph, which breaks
#: a node inside a `Loop` body (blocking the Loop itself breaks its TensorList reads).
FP16_KEEP_FLOAT32 = (
    "Softmax",
    "LogSoftmax",
    "ReduceMean",
    "ReduceSum",
    "ReduceSumSquare",
    "ReduceLogSumExp",
    "GlobalAveragePool",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "LpNormalization",
    "Exp",
    "Log",
    "Pow",
    "Sqrt",
    "Reciprocal",
)


def fp16_block_list() -> list[str]:
    """ONNX Runtime's default float16 op block list plus `FP16_KEEP_FLOAT32`."""
    from onnxruntime.transformers import float16

    return sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(FP16_KEEP_FLOAT32))


def to_fp16(model):
    """A float16 copy of an ONNX model with float32 inputs and outputs.

    Uses `onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)`
    (onnxconverter-common's converter types a `Loop` condition float16 and breaks every
    graph with a Loop; FACTS). The op types of `fp16_block_list()` stay float32 where
    they are top-level nodes (see `FP16_KEEP_FLOAT32`).

    Args:
        model: ONNX `ModelProto` (float32).

    Returns:
        `(model_fp16, kept)`: the converted model and the sorted op types kept float32.
    """
    import copy

    from onnxruntime.transformers import float16

    m = copy.deepcopy(model)
    block = set(fp16_block_list())
    names = {n.name for n in m.graph.node}
    for i, n in enumerate(m.graph.node):  # unnamed nodes cannot be blocked by name
        if not n.name:
            n.name = f"fp16_node_{i}"
            while n.name in names:
                n.name += "_"
            names.add(n.name)
    blocked = [n for n in m.graph.node if n.op_type in block]
    out = float16.convert_float_to_float16(
        m,
        keep_io_types=True,
        op_block_list=[],
        node_block_list=[n.name for n in blocked],
    )
    toposort(out.graph)
    return out, sorted({n.op_type for n in blocked})


def cpu_fp16_fallback(path: str, ort, onnx) -> list[str] | None:
    """Op types of a float16 model that ONNX Runtime's CPU EP runs in float32.

    The CPU EP has float16 kernels for few ops (here not Conv, MatMul, Add, Mul, Clip,
    LSTM, MaxPool, ...). For the others it inserts Casts ("InsertedPrecisionFreeCast")
    and runs them in float32, dropping the float32 → float16 → float32 round trips
    between such ops, so a CPU check of a float16 model measures float16 weights and
    float16 tensors only where the graph keeps them: a lower bound on the error of real
    float16 kernels (TensorRT). None when the optimised graph cannot be read.
    """
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as td:
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            so.optimized_model_filepath = os.path.join(td, "cpu.onnx")
            ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            m = onnx.load(so.optimized_model_filepath)
    except Exception:  # best effort: the check itself already ran
        return None

    def walk(g, inside: bool, found: set) -> None:
        casts = {
            n.output[0]
            for n in g.node
            if n.op_type == "Cast"
            and n.name.startswith("InsertedPrecisionFreeCast")
            and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in n.attribute)
        }
        for n in g.node:
            if n.op_type != "Cast" and casts.intersection(n.input):
                found.add(f"{n.op_type} (in Loop)" if inside else n.op_type)
            for a in n.attribute:
                for sub in [a.g] if a.HasField("g") else list(a.graphs):
                    walk(sub, True, found)

    found: set[str] = set()
    walk(m.graph, False, found)
    return sorted(found)


def toposort(graph) -> None:
    """Sort the main graph's nodes topologically, in place (stable).

    The converter appends its Cast nodes at the end of the graph; ONNX Runtime sorts for
    itself, but the ONNX checker (and TensorRT's parser) want sorted nodes. A node with a
    subgraph (`Loop`, `If`) also depends on the outer values its body reads.
    """

    def used(g) -> set[str]:
        names = set()
        for n in g.node:
            names.update(n.input)
            for a in n.attribute:
                for sub in [a.g] if a.HasField("g") else list(a.graphs):
                    names |= used(sub)
        return names

    produced = {o: i for i, n in enumerate(graph.node) for o in n.output if o}
    deps = []
    for i, n in enumerate(graph.node):
        need = set(n.input)
        for a in n.attribute:
            for sub in [a.g] if a.HasField("g") else list(a.graphs):
                need |= used(sub)
        deps.append({produced[x] for x in need if x in produced and produced[x] != i})
    order, done, pending = [], set(), list(range(len(graph.node)))
    while pending:
        ready = [i for i in pending if deps[i] <= done]
        if not ready:  # a cycle: leave the rest as it was
            order += pending
            break
        order += ready
        done.update(ready)
        pending = [i for i in pending if i not in done]
    nodes = [graph.node[i] for i in order]
    del graph.node[:]
    graph.node.extend(nodes)
