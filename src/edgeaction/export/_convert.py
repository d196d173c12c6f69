"""Child process of `edgeaction export`: Keras → ONNX with tf2onnx, plus the checks.

tf2onnx can take many GB on big graphs (FACTS), so the conversion runs here, in its own
process; the parent only sees finished files and a small JSON result. In order:

1. `convert`: the whole model → `raw.onnx`.
2. `parity`: Keras vs ONNX Runtime on the parity inputs: the held-out clips the parent
   decoded into `parity.npz` (this process never decodes video), else seeded random
   inputs in each input's value range.
3. `fp16` (optional): `raw.onnx` → `raw_fp16.onnx` (see `to_fp16`), compared with the
   float32 graph under ONNX Runtime on the same inputs.
4. `split` (optional): the `encoder` sub-model → `encoder.onnx` (`frame` (N, H, W, 3) →
   (N, F)) and the layers after `unfold_time` → `head.onnx` (`features` (N, T, F) →
   probabilities), compared with Keras as head(encoder(frames)).

Each finished step prints one `PROGRESS` line on stdout, which the parent logs.

    python -m edgeaction.export._convert REQUEST.json
"""

from __future__ import annotations

import json
import os
import sys
import time

#: Prefix of the progress lines this process prints for the parent.
PROGRESS = "edgeaction-export-step: "

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


def progress(step: str, text: str) -> None:
    """Print one progress line for the parent (which logs it)."""
    print(f"{PROGRESS}{step}: {text}", flush=True)


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
    _toposort(out.graph)
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


def _toposort(graph) -> None:
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


def _ort_run(sess, feed: dict, batch: int = 64):
    """`sess.run` in batches of `batch` along axis 0; the first output, concatenated."""
    import numpy as np

    n = len(next(iter(feed.values())))
    outs = [
        sess.run(None, {k: v[i : i + batch] for k, v in feed.items()})[0]
        for i in range(0, n, batch)
    ]
    return np.concatenate(outs)


def _compare(ref, got) -> tuple[float, float]:
    """(max |ref - got|, share of rows whose argmax agrees)."""
    import numpy as np

    return (
        float(np.max(np.abs(ref - got))),
        float(np.mean(np.argmax(ref, 1) == np.argmax(got, 1))),
    )


def _pct(x: float) -> str:
    return f"{x:.1%}".replace(".0%", "%")


def _split_models(model, keras):
    """`(encoder, head)` Keras models of a folded per-frame model, or None without one.

    The head takes `features` (N, T, F) and replays the trained model's layers after
    `unfold_time` (same layer objects, so the same weights).
    """
    try:
        enc = model.get_layer("encoder")
        unfold = model.get_layer("unfold_time")
    except ValueError:
        return None
    if not isinstance(enc, keras.Model) or len(enc.outputs[0].shape) != 2:
        return None
    feats = unfold.output
    inner = keras.Model(feats, model.outputs[0], name="head_layers")
    inp = keras.Input(tuple(feats.shape[1:]), name="features")
    head = keras.Model(inp, inner(inp), name="head")
    return enc, head


def main(request_path: str) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    req = json.loads(open(request_path).read())
    result_path = req["result"]

    def done(**res):
        with open(result_path, "w") as f:
            json.dump(res, f)

    import numpy as np

    try:
        import keras
        import tensorflow as tf
        import tf2onnx

        from edgeaction.train import models  # noqa: F401  (registers FoldTime/UnfoldTime)
    except ImportError as e:
        done(
            error=f"'{e.name}' is not installed; export needs the train extra: "
            "pip install 'edgeaction[train]'"
        )
        return 1
    # Safe mode unless the user opted in knowingly (`edgeaction export --unsafe-keras`
    # sets EDGEACTION_UNSAFE_KERAS=1, or the request says so): a Lambda layer runs
    # arbitrary Python from the file.
    unsafe = bool(req.get("unsafe_keras")) or os.environ.get("EDGEACTION_UNSAFE_KERAS") == "1"
    try:
        model = keras.saving.load_model(req["keras"], safe_mode=not unsafe)
    except ValueError as e:
        msg = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
        text = str(e).lower()
        if not unsafe and ("safe_mode" in text or "unsafe_deserialization" in text):
            done(
                error=f"{req['keras']} holds a Lambda layer (or other code stored in the file) "
                "and is refused: a Lambda layer runs arbitrary Python from the file; if you "
                "trust where the file comes from, pass --unsafe-keras to load it anyway "
                "(or replace the Lambda with a registered custom layer)"
            )
        else:
            done(error=f"{req['keras']} is not a loadable Keras model ({msg[:200]})")
        return 1
    except Exception as e:  # zip/h5 errors of every kind
        done(error=f"{req['keras']} is not a loadable Keras model ({str(e).splitlines()[0][:200]})")
        return 1
    n_out = int(model.outputs[0].shape[-1])
    if n_out != req["classes"]:
        done(
            error=f"the model outputs {n_out} classes but the contract has {req['classes']} "
            "labels; the contract.json does not belong to this model"
        )
        return 1
    # One TensorSpec per contract input, in the model's own input order.
    ins = {i["name"]: i for i in req["inputs"]}
    names = [t.name for t in model.inputs]
    if sorted(names) != sorted(ins):
        done(
            error=f"the model's inputs are {names} but the contract names {sorted(ins)}; "
            "the contract.json does not belong to this model"
        )
        return 1
    parts = None
    if req.get("split"):
        parts = _split_models(model, keras)
        if parts is None:
            done(
                error=f"--split needs a model with a per-frame 'encoder' sub-model (edge-tiny, "
                f"edge-mnv3, seed-a); {model.name} has none; export it without --split"
            )
            return 1

    t = time.monotonic()
    spec = [tf.TensorSpec([None, *ins[n]["shape"][1:]], tf.float32, name=n) for n in names]
    tf2onnx.convert.from_keras(
        model, input_signature=spec, opset=req["opset"], output_path=req["onnx"]
    )
    progress("convert", f"tf2onnx wrote the ONNX graph in {time.monotonic() - t:.1f} s")

    # Parity: Keras vs ONNX Runtime on the parent's held-out clips, else on seeded inputs
    # in each input's value range (normalised frames, pose keypoints 0..1).
    import onnxruntime as ort

    if req.get("parity_npz"):
        with np.load(req["parity_npz"]) as z:
            feed = {n: np.ascontiguousarray(z[n], np.float32) for n in names}
    else:
        rng = np.random.default_rng(0)
        feed = {
            n: rng.uniform(*ins[n]["range"], (req["parity_clips"], *ins[n]["shape"][1:])).astype(
                np.float32
            )
            for n in names
        }
    clips = len(feed[names[0]])
    k = np.asarray(
        model.predict(feed if len(feed) > 1 else feed[names[0]], verbose=0, batch_size=4)
    )
    sess = ort.InferenceSession(req["onnx"], providers=["CPUExecutionProvider"])
    o = _ort_run(sess, feed, batch=16)
    diff, agree = _compare(k, o)
    res = dict(
        ok=True,
        tf2onnx=tf2onnx.__version__,
        tensorflow=tf.__version__,
        keras=keras.__version__,
        max_abs_diff=diff,
        top1_agreement=agree,
        clips=clips,
    )
    progress(
        "parity",
        f"Keras vs ONNX Runtime: max |diff| {diff:.1e}, top-1 agreement {_pct(agree)} on "
        f"{clips} {req['parity_source']}",
    )

    if req.get("fp16"):
        import onnx

        t = time.monotonic()
        m16, kept = to_fp16(onnx.load(req["onnx"]))
        onnx.save(m16, req["onnx_fp16"])
        try:
            s16 = ort.InferenceSession(req["onnx_fp16"], providers=["CPUExecutionProvider"])
            o16 = _ort_run(s16, feed, batch=16)
        except Exception as e:  # onnxruntime raises its own exception types
            msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            done(
                error="the float16 graph does not run on ONNX Runtime's CPU execution provider "
                f"({msg}); its agreement with float32 cannot be checked, so no file was "
                "written; export without --fp16 and let TensorRT build FP16 (--fp16 there)"
            )
            return 1
        o16 = np.where(np.isfinite(o16), o16, np.inf).astype(np.float32)
        d16, a16 = _compare(o, o16)
        flipped = np.argmax(o, 1) != np.argmax(o16, 1)
        top2 = np.sort(o, 1)[:, -2:]
        margin = float(np.max(top2[flipped, 1] - top2[flipped, 0])) if flipped.any() else None
        fallback = cpu_fp16_fallback(req["onnx_fp16"], ort, onnx)
        res.update(
            fp16_max_abs_diff=d16,
            fp16_top1_agreement=a16,
            fp16_kept_float32=kept,
            fp16_flip_margin=margin,
            fp16_cpu_float32_ops=fallback,
        )
        progress(
            "fp16",
            f"float16 vs float32 under ONNX Runtime: max |diff| {d16:.1e}, top-1 agreement "
            f"{_pct(a16)} ({', '.join(kept) or 'no op'} kept float32; "
            f"{time.monotonic() - t:.1f} s)",
        )

    if parts is not None:
        enc, head = parts
        t = time.monotonic()
        frame = [None, *enc.inputs[0].shape[1:]]
        feats = int(enc.outputs[0].shape[-1])
        frames = int(head.inputs[0].shape[1])
        tf2onnx.convert.from_keras(
            enc,
            input_signature=[tf.TensorSpec(frame, tf.float32, name="frame")],
            opset=req["opset"],
            output_path=req["encoder"],
        )
        tf2onnx.convert.from_keras(
            head,
            input_signature=[tf.TensorSpec([None, frames, feats], tf.float32, name="features")],
            opset=req["opset"],
            output_path=req["head"],
        )
        x = feed[req["frames_name"]]
        se = ort.InferenceSession(req["encoder"], providers=["CPUExecutionProvider"])
        sh = ort.InferenceSession(req["head"], providers=["CPUExecutionProvider"])
        f = _ort_run(se, {"frame": x.reshape(-1, *x.shape[2:])})
        ps = _ort_run(sh, {"features": f.reshape(len(x), frames, feats)})
        ds, ag = _compare(k, ps)
        res.update(
            split_max_abs_diff=ds,
            split_top1_agreement=ag,
            features=feats,
            split_vs_onnx_max_abs_diff=float(np.max(np.abs(o - ps))),
        )
        progress(
            "split",
            f"encoder.onnx (frame → {feats} features) + head.onnx vs Keras: max |diff| "
            f"{ds:.1e}, top-1 agreement {_pct(ag)} ({time.monotonic() - t:.1f} s)",
        )
    done(**res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
