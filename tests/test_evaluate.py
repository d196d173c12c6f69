"""`edgeaction evaluate` on the tiny trained model: Keras and ONNX agree, errors are one line.

ONNX evaluations run with TensorFlow blocked (as tests/test_runtime_no_tensorflow.py
does): the runtime side of evaluation must never import it.
"""

import csv
import json
import shutil

import numpy as np
import pytest

from tests.conftest import cli, cli_no_tf, one_line_error


def _one_line_error(p, *needles):
    return one_line_error(p, *needles, alone=True)  # nothing else on stderr


def _predictions(out):
    with open(out / "predictions.csv", newline="") as f:
        return {r["clip"]: r for r in csv.DictReader(f)}


def _manifest_count(data, split):
    with open(data / "manifest.csv", newline="") as f:
        return sum(1 for r in csv.DictReader(f) if r.get("split") == split)


@pytest.fixture(scope="module")
def onnx_test(exported, synth_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "onnx-test"
    p = cli_no_tf("evaluate", exported / "model.onnx", synth_data, "--out", out)
    return out, p


@pytest.fixture(scope="module")
def onnx_all(exported, synth_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "onnx-all"
    cli_no_tf("evaluate", exported, synth_data, "--split", "all", "--out", out, "--batch", 5)
    return out


@pytest.fixture(scope="module")
def keras_all(trained_run, synth_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "keras-all"
    cli("evaluate", trained_run, synth_data, "--split", "all", "--out", out)
    return out


def test_onnx_report_without_tensorflow(onnx_test, synth_data):
    out, p = onnx_test
    for name in (
        "metrics.json",
        "per_class.json",
        "per_class.md",
        "confusion_matrix.png",
        "predictions.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "curves.png").exists()  # no history when evaluating
    m = json.loads((out / "metrics.json").read_text())
    assert m["split"] == "test" and m["split_used"] == "test" and m["backend"] == "onnxruntime"
    assert m["clips"] == _manifest_count(synth_data, "test") and m["bad_clips"] == 0
    assert 0.0 <= m["accuracy"] <= m["top5_accuracy"] == 1.0  # 3 classes: top-3 holds all
    assert m["top_k"] == 3 and m["model"].endswith("model.onnx")
    assert m["seconds"] > 0 and m["clips_per_second"] > 0
    assert len(_predictions(out)) == m["clips"]
    for word in ("accuracy", "top-5", "worst F1", "report", str(out)):
        assert word in p.stdout, p.stdout


def test_accuracy_is_the_confusion_diagonal(onnx_all, synth_data):
    m = json.loads((onnx_all / "metrics.json").read_text())
    doc = json.loads((onnx_all / "per_class.json").read_text())
    cm = np.asarray(doc["confusion_matrix"])
    assert cm.sum() == m["clips"] == 18 and m["split"] == "all"
    assert m["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert doc["labels"] == m["labels"] and len(doc["per_class"]) == len(m["labels"])
    preds = _predictions(onnx_all)
    correct = sum(int(r["correct"]) for r in preds.values())
    assert correct == np.trace(cm)
    md = (onnx_all / "per_class.md").read_text()
    for lab in m["labels"]:
        assert f"| {lab} |" in md


def test_keras_and_onnx_agree(keras_all, onnx_all):
    k = json.loads((keras_all / "metrics.json").read_text())
    o = json.loads((onnx_all / "metrics.json").read_text())
    assert k["backend"] == "keras" and o["backend"] == "onnxruntime"
    assert k["clips"] == o["clips"] == 18
    assert k["accuracy"] == pytest.approx(o["accuracy"])
    kc = json.loads((keras_all / "per_class.json").read_text())["confusion_matrix"]
    oc = json.loads((onnx_all / "per_class.json").read_text())["confusion_matrix"]
    assert kc == oc
    kp, op = _predictions(keras_all), _predictions(onnx_all)
    assert kp.keys() == op.keys()
    for clip, r in kp.items():
        assert r["predicted"] == op[clip]["predicted"], clip
        assert float(r["score"]) == pytest.approx(float(op[clip]["score"]), abs=1e-4), clip


def test_default_out_is_beside_the_model(exported, synth_data, tmp_path):
    model = tmp_path / "m" / "model.onnx"  # contract embedded; no contract.json beside it
    model.parent.mkdir()
    shutil.copy(exported / "model.onnx", model)
    cli_no_tf("evaluate", model, synth_data, "--split", "val")
    out = tmp_path / "m" / f"eval-{synth_data.name}"
    m = json.loads((out / "metrics.json").read_text())
    assert m["split"] == "val" and m["clips"] == _manifest_count(synth_data, "val")


def test_evaluate_help():
    p = cli("evaluate", "--help")
    assert p.returncode == 0 and "usage: edgeaction evaluate" in p.stdout
    for opt in ("--out", "--layout", "--split", "--keypoints", "--batch", "predictions.csv"):
        assert opt in p.stdout


# ---- errors ---------------------------------------------------------------------------------
def test_data_with_a_label_the_model_does_not_know(exported, synth_data, tmp_path):
    data = tmp_path / "data"
    labels = sorted(d.name for d in synth_data.iterdir() if d.is_dir())
    for lab in labels[:2]:
        shutil.copytree(synth_data / lab, data / lab)
    clip = next((synth_data / labels[0]).glob("*.mp4"))
    (data / "moonwalk").mkdir()
    shutil.copy(clip, data / "moonwalk" / "m0.mp4")
    out = tmp_path / "out"
    p = cli_no_tf("evaluate", exported, data, "--split", "all", "--out", out, check=False)
    _one_line_error(p, "moonwalk", "does not know")
    assert not out.exists()  # nothing written for a refused data set


def test_missing_model(synth_data, tmp_path):
    p = cli_no_tf("evaluate", tmp_path / "nope.onnx", synth_data, check=False)
    _one_line_error(p, "model not found")


def test_without_matplotlib_it_stops_before_decoding(exported, synth_data, tmp_path):
    block = ("tensorflow", "keras", "tf2onnx", "matplotlib")
    p = cli_no_tf(
        "evaluate", exported, synth_data, "--out", tmp_path / "o", check=False, block=block
    )
    _one_line_error(p, "'matplotlib' is not installed", "pip install matplotlib")
    assert not (tmp_path / "o").exists()


def test_text_files_as_models(synth_data, tmp_path, trained_run):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n")
    _one_line_error(cli_no_tf("evaluate", notes, synth_data, check=False), "not a model")
    fake = tmp_path / "fake.onnx"
    fake.write_text("not a model\n")
    _one_line_error(cli_no_tf("evaluate", fake, synth_data, check=False), "not a loadable ONNX")
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_text("not a model\n")
    shutil.copy(trained_run / "contract.json", run / "contract.json")
    p = cli("evaluate", run, synth_data, check=False)
    _one_line_error(p, "not a loadable Keras model")


def test_keras_run_without_contract(tmp_path, synth_data, trained_run):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(trained_run / "model.keras", run / "model.keras")
    _one_line_error(cli_no_tf("evaluate", run, synth_data, check=False), "no model contract")


def _pose_onnx(path, labels):
    """A tiny pose-only ONNX model: mean over T of (N, T, 132) keypoints → MatMul → Softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY, ModelContract

    c = ModelContract(name="posey", labels=labels, frames=4, height=32, width=32, modality="pose")
    w = np.random.default_rng(0).normal(0, 1, (c.keypoints * 4, len(labels))).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("ReduceMean", [c.pose_name], ["m"], axes=[1], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [c.output_name], axis=-1),
        ],
        "pose",
        [helper.make_tensor_value_info(c.pose_name, TensorProto.FLOAT, ["N", 4, 132])],
        [helper.make_tensor_value_info(c.output_name, TensorProto.FLOAT, ["N", len(labels)])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json())
    onnx.save(m, str(path))
    return path


def test_a_bad_keypoint_cache_is_one_line(tmp_path, synth_data):
    labels = tuple(sorted(d.name for d in synth_data.iterdir() if d.is_dir()))
    _pose_onnx(tmp_path / "pose.onnx", labels)
    cache = tmp_path / "cache"
    p = cli_no_tf("evaluate", tmp_path / "pose.onnx", synth_data, "--keypoints", cache, check=False)
    _one_line_error(p, "keypoint cache", "not found", "edgeaction keypoints")
    cache.mkdir()
    p = cli_no_tf("evaluate", tmp_path / "pose.onnx", synth_data, "--pose", cache, check=False)
    _one_line_error(p, "holds no keypoints", f"edgeaction keypoints {synth_data} --kind pose")
    (cache / "index.json").write_text(json.dumps({"version": 2, "kind": "hands", "clips": {}}))
    p = cli_no_tf("evaluate", tmp_path / "pose.onnx", synth_data, "--pose", cache, check=False)
    _one_line_error(p, "holds hands keypoints", "model posey reads pose", "--kind pose")


# ---- in process: a random tiny ONNX model on a data set without a split ------------------------
def test_data_without_a_split_gets_the_stratified_split(tmp_path, synth_data, tiny_contract):
    from dataclasses import replace

    from edgeaction.evaluate import evaluate
    from tests.conftest import make_onnx

    labels = sorted(d.name for d in synth_data.iterdir() if d.is_dir())
    data = tmp_path / "plain"  # class folders, no manifest
    for lab in labels:
        shutil.copytree(synth_data / lab, data / lab)
    model = make_onnx(tmp_path / "m.onnx", replace(tiny_contract, labels=tuple(labels)))
    r = evaluate(model, data, out=tmp_path / "out", progress=False)
    assert r["split"] == "test" and r["split_used"].startswith("test (stratified")
    assert 0 < r["clips"] < 18 and r["backend"] == "onnxruntime"
    evaluate(model, data, out=tmp_path / "out2", progress=False)  # same seed, same split
    assert _predictions(tmp_path / "out").keys() == _predictions(tmp_path / "out2").keys()
    assert r["report"]["accuracy"] == r["accuracy"]


def test_a_split_the_data_set_lacks(tmp_path, synth_data, tiny_contract):
    from dataclasses import replace

    from edgeaction.errors import EdgeActionError
    from edgeaction.evaluate import evaluate
    from tests.conftest import make_onnx

    data = tmp_path / "data"
    shutil.copytree(synth_data, data)
    rows = (data / "manifest.csv").read_text().splitlines()
    kept = [rows[0]] + [r for r in rows[1:] if not r.endswith(",test")]
    (data / "manifest.csv").write_text("\n".join(kept) + "\n")
    labels = sorted(d.name for d in synth_data.iterdir() if d.is_dir())
    model = make_onnx(tmp_path / "m.onnx", replace(tiny_contract, labels=tuple(labels)))
    with pytest.raises(EdgeActionError, match="has no 'test' clips.*--split train or val or all"):
        evaluate(model, data, out=tmp_path / "out", progress=False)
    r = evaluate(model, data, out=tmp_path / "out", split="val", progress=False)
    assert r["split_used"] == "val"


def test_pose_model_reads_the_cache(tmp_path, synth_data):
    from edgeaction import datasets
    from edgeaction.evaluate import evaluate
    from edgeaction.keypoints import RAW_DIMS, extract

    labels = tuple(sorted(d.name for d in synth_data.iterdir() if d.is_dir()))
    model = _pose_onnx(tmp_path / "pose.onnx", labels)
    ds = datasets.discover(synth_data)
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    for it in ds.items:
        path = cache / f"{it.key(ds.root)}.npz"
        kp = rng.random((12, RAW_DIMS["pose"])).astype(np.float32)
        stat = (it.path.stat().st_size, it.path.stat().st_mtime_ns)
        extract._write_entry(path, kp, it, stat, (48, 48), "test", "pose")
    r = evaluate(
        model, synth_data, out=tmp_path / "out", split="all", pose_dir=cache, progress=False
    )
    assert r["clips"] == 18 and r["bad_clips"] == 0 and r["modality"] == "pose"
    assert r["decode_seconds"] < 5  # keypoints only: no video decoded
