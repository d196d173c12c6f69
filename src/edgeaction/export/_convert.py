"""Child process of `edgeaction export`: Keras → ONNX with tf2onnx, plus a parity check.

tf2onnx can take many GB on big graphs (FACTS), so the conversion runs here, in its own
process; the parent only sees a finished file and a small JSON result.

    python -m edgeaction.export._convert REQUEST.json
"""

from __future__ import annotations

import json
import os
import sys


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
            error=f"'{e.name}' is not installed; export needs the train extra: pip install 'edgeaction[train]'"
        )
        return 1
    try:
        model = keras.saving.load_model(req["keras"], safe_mode=True)
    except ValueError as e:
        msg = str(e).splitlines()[0]
        if "lambda" in msg.lower() or "safe_mode" in msg.lower():
            done(
                error=f"{req['keras']} holds a Lambda or unsafe layer and is refused in safe mode ({msg[:160]}); "
                "replace the Lambda with a registered custom layer"
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
            error=f"the model outputs {n_out} classes but the contract has {req['classes']} labels; "
            "the contract.json does not belong to this model"
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
    spec = [tf.TensorSpec([None, *ins[n]["shape"][1:]], tf.float32, name=n) for n in names]
    tf2onnx.convert.from_keras(
        model, input_signature=spec, opset=req["opset"], output_path=req["onnx"]
    )

    # Parity: Keras vs ONNX Runtime on seeded inputs in each input's value range
    # (normalised frames -1..1, pose keypoints 0..1).
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    feed = {
        n: rng.uniform(*ins[n]["range"], (req["parity_clips"], *ins[n]["shape"][1:])).astype(
            np.float32
        )
        for n in names
    }
    k = np.asarray(
        model.predict(feed if len(feed) > 1 else feed[names[0]], verbose=0, batch_size=4)
    )
    sess = ort.InferenceSession(req["onnx"], providers=["CPUExecutionProvider"])
    o = sess.run(None, feed)[0]
    done(
        ok=True,
        tf2onnx=tf2onnx.__version__,
        tensorflow=tf.__version__,
        keras=keras.__version__,
        max_abs_diff=float(np.max(np.abs(k - o))),
        top1_agreement=float(np.mean(np.argmax(k, 1) == np.argmax(o, 1))),
        clips=int(req["parity_clips"]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
