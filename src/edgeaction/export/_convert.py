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

from ..onnx_fp16 import cpu_fp16_fallback, to_fp16

#: Prefix of the progress lines this process prints for the parent.
PROGRESS = "edgeaction-export-step: "


def progress(step: str, text: str) -> None:
    """Print one progress line for the parent (which logs it)."""
    print(f"{PROGRESS}{step}: {text}", flush=True)


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


class _Refused(Exception):
    """A step's one-line error for the parent (written as the result's `error`)."""


def main(request_path: str) -> int:
    """Run the steps of the request at `request_path`; write its result JSON; 0 or 1."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    req = json.loads(open(request_path).read())

    def done(**res):
        with open(req["result"], "w") as f:
            json.dump(res, f)

    try:
        done(**_steps(req))
    except _Refused as e:
        done(error=str(e))
        return 1
    return 0


def _steps(req: dict) -> dict:
    """convert, parity, then fp16 and split when asked; the result's fields."""
    try:
        import keras
        import tensorflow as tf
        import tf2onnx

        from edgeaction.train import models  # noqa: F401  (registers FoldTime/UnfoldTime)
    except ImportError as e:
        raise _Refused(
            f"'{e.name}' is not installed; export needs the train extra: "
            "pip install 'edgeaction[train]'"
        ) from None
    model = _load(req, keras)
    names, ins, parts = _check_model(req, model, keras)
    t = time.monotonic()
    spec = [tf.TensorSpec([None, *ins[n]["shape"][1:]], tf.float32, name=n) for n in names]
    tf2onnx.convert.from_keras(
        model, input_signature=spec, opset=req["opset"], output_path=req["onnx"]
    )
    progress("convert", f"tf2onnx wrote the ONNX graph in {time.monotonic() - t:.1f} s")
    feed = _parity_feed(req, names, ins)
    k, o, parity = _parity(req, model, feed, names)
    res = dict(
        ok=True,
        tf2onnx=tf2onnx.__version__,
        tensorflow=tf.__version__,
        keras=keras.__version__,
        **parity,
    )
    if req.get("fp16"):
        res.update(_fp16(req, feed, o))
    if parts is not None:
        res.update(_split(req, parts, feed, k, o, tf, tf2onnx))
    return res


def _load(req: dict, keras):
    """The Keras model, in safe mode unless the user opted in knowingly.

    `edgeaction export --unsafe-keras` sets EDGEACTION_UNSAFE_KERAS=1 (or the request says
    so): a Lambda layer runs arbitrary Python from the file.
    """
    unsafe = bool(req.get("unsafe_keras")) or os.environ.get("EDGEACTION_UNSAFE_KERAS") == "1"
    try:
        return keras.saving.load_model(req["keras"], safe_mode=not unsafe)
    except ValueError as e:
        msg = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
        text = str(e).lower()
        if not unsafe and ("safe_mode" in text or "unsafe_deserialization" in text):
            raise _Refused(
                f"{req['keras']} holds a Lambda layer (or other code stored in the file) "
                "and is refused: a Lambda layer runs arbitrary Python from the file; if you "
                "trust where the file comes from, pass --unsafe-keras to load it anyway "
                "(or replace the Lambda with a registered custom layer)"
            ) from None
        raise _Refused(f"{req['keras']} is not a loadable Keras model ({msg[:200]})") from None
    except Exception as e:  # zip/h5 errors of every kind
        raise _Refused(
            f"{req['keras']} is not a loadable Keras model ({str(e).splitlines()[0][:200]})"
        ) from None


def _check_model(req: dict, model, keras) -> tuple[list[str], dict, tuple | None]:
    """The model against the contract: classes, input names; its split parts if asked.

    Returns `(input names in the model's order, contract inputs by name, parts or None)`.
    """
    n_out = int(model.outputs[0].shape[-1])
    if n_out != req["classes"]:
        raise _Refused(
            f"the model outputs {n_out} classes but the contract has {req['classes']} "
            "labels; the contract.json does not belong to this model"
        )
    # One TensorSpec per contract input, in the model's own input order.
    ins = {i["name"]: i for i in req["inputs"]}
    names = [t.name for t in model.inputs]
    if sorted(names) != sorted(ins):
        raise _Refused(
            f"the model's inputs are {names} but the contract names {sorted(ins)}; "
            "the contract.json does not belong to this model"
        )
    parts = None
    if req.get("split"):
        parts = _split_models(model, keras)
        if parts is None:
            raise _Refused(
                f"--split needs a model with a per-frame 'encoder' sub-model (edge-tiny, "
                f"edge-mnv3, seed-a); {model.name} has none; export it without --split"
            )
    return names, ins, parts


def _parity_feed(req: dict, names: list[str], ins: dict) -> dict:
    """The parent's held-out clips, else seeded inputs in each input's value range
    (normalised frames, pose keypoints 0..1)."""
    import numpy as np

    if req.get("parity_npz"):
        with np.load(req["parity_npz"]) as z:
            return {n: np.ascontiguousarray(z[n], np.float32) for n in names}
    rng = np.random.default_rng(0)
    return {
        n: rng.uniform(*ins[n]["range"], (req["parity_clips"], *ins[n]["shape"][1:])).astype(
            np.float32
        )
        for n in names
    }


def _parity(req: dict, model, feed: dict, names: list[str]):
    """Keras vs ONNX Runtime on `feed`: `(keras outputs, onnx outputs, result fields)`."""
    import numpy as np
    import onnxruntime as ort

    clips = len(feed[names[0]])
    k = np.asarray(
        model.predict(feed if len(feed) > 1 else feed[names[0]], verbose=0, batch_size=4)
    )
    sess = ort.InferenceSession(req["onnx"], providers=["CPUExecutionProvider"])
    o = _ort_run(sess, feed, batch=16)
    diff, agree = _compare(k, o)
    progress(
        "parity",
        f"Keras vs ONNX Runtime: max |diff| {diff:.1e}, top-1 agreement {_pct(agree)} on "
        f"{clips} {req['parity_source']}",
    )
    return k, o, {"max_abs_diff": diff, "top1_agreement": agree, "clips": clips}


def _fp16(req: dict, feed: dict, o) -> dict:
    """`raw.onnx` → float16, compared with float32 under ONNX Runtime: result fields."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    t = time.monotonic()
    m16, kept = to_fp16(onnx.load(req["onnx"]))
    onnx.save(m16, req["onnx_fp16"])
    try:
        s16 = ort.InferenceSession(req["onnx_fp16"], providers=["CPUExecutionProvider"])
        o16 = _ort_run(s16, feed, batch=16)
    except Exception as e:  # onnxruntime raises its own exception types
        msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise _Refused(
            "the float16 graph does not run on ONNX Runtime's CPU execution provider "
            f"({msg}); its agreement with float32 cannot be checked, so no file was "
            "written; export without --fp16 and let TensorRT build FP16 (--fp16 there)"
        ) from None
    o16 = np.where(np.isfinite(o16), o16, np.inf).astype(np.float32)
    d16, a16 = _compare(o, o16)
    flipped = np.argmax(o, 1) != np.argmax(o16, 1)
    top2 = np.sort(o, 1)[:, -2:]
    margin = float(np.max(top2[flipped, 1] - top2[flipped, 0])) if flipped.any() else None
    fallback = cpu_fp16_fallback(req["onnx_fp16"], ort, onnx)
    progress(
        "fp16",
        f"float16 vs float32 under ONNX Runtime: max |diff| {d16:.1e}, top-1 agreement "
        f"{_pct(a16)} ({', '.join(kept) or 'no op'} kept float32; "
        f"{time.monotonic() - t:.1f} s)",
    )
    return dict(
        fp16_max_abs_diff=d16,
        fp16_top1_agreement=a16,
        fp16_kept_float32=kept,
        fp16_flip_margin=margin,
        fp16_cpu_float32_ops=fallback,
    )


def _split(req: dict, parts: tuple, feed: dict, k, o, tf, tf2onnx) -> dict:
    """`encoder.onnx` + `head.onnx`, compared with Keras as head(encoder(frames))."""
    import numpy as np
    import onnxruntime as ort

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
    progress(
        "split",
        f"encoder.onnx (frame → {feats} features) + head.onnx vs Keras: max |diff| "
        f"{ds:.1e}, top-1 agreement {_pct(ag)} ({time.monotonic() - t:.1f} s)",
    )
    return dict(
        split_max_abs_diff=ds,
        split_top1_agreement=ag,
        features=feats,
        split_vs_onnx_max_abs_diff=float(np.max(np.abs(o - ps))),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
