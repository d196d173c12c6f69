"""`edgeaction compare` on the tiny trained model: FP16 vs FP32, Keras vs ONNX, errors.

Every compare runs in a child process; the ONNX-only ones with TensorFlow blocked, so
they also prove that path never imports it.
"""

import json

import pytest

from tests.conftest import cli, cli_no_tf, make_onnx, one_line_error


def _one_line_error(p, *needles):
    return one_line_error(p, *needles, alone=True)  # nothing else on stderr


@pytest.fixture(scope="module")
def exported_fp16(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export-fp16")
    cli("export", trained_run, "--out", out, "--fp16")
    assert (out / "model_fp16.onnx").is_file()
    return out


def test_fp32_vs_fp16_imports_no_tensorflow(exported_fp16, synth_data, tmp_path):
    js = tmp_path / "cmp.json"
    p = cli_no_tf(
        "compare",
        exported_fp16 / "model.onnx",
        exported_fp16 / "model_fp16.onnx",
        "--data",
        synth_data,
        "--split",
        "all",
        "--json",
        js,
    )
    assert "top-1 agree" in p.stdout and "accuracy" in p.stdout, p.stdout
    r = json.loads(js.read_text())
    assert r["clips"] == 18 and r["bad_clips"] == 0 and r["split"] == "all"
    assert r["top1_agreement"] >= 0.98
    assert r["max_abs_diff"] < 1e-2 and 0 <= r["mean_abs_diff"] <= r["max_abs_diff"]
    assert r["agreements"] + r["disagreements"] == r["clips"]
    assert r["a"]["backend"] == r["b"]["backend"] == "onnxruntime"
    assert r["b"]["model"].endswith("model_fp16.onnx") and r["margin_model"] == "a"
    assert 0 <= r["a"]["accuracy"] <= 1 and 0 <= r["b"]["accuracy"] <= 1
    assert sorted(pc["label"] for pc in r["per_class"]) == sorted(r["labels"])
    assert sum(pc["clips"] for pc in r["per_class"]) == r["clips"]
    assert set(r["per_class"][0]) == {
        "label",
        "clips",
        "disagreements",
        "a_accuracy",
        "b_accuracy",
    }
    assert len(r["disagreeing_clips"]) == r["disagreements"]
    for d in r["disagreeing_clips"]:
        assert d["a_top1"] != d["b_top1"] and d["margin"] >= 0
        assert {"clip", "label", "a_score", "b_score"} <= set(d)
    assert not list(tmp_path.glob(".*partial*"))


def test_keras_vs_onnx_agree(trained_run, exported, synth_data, tmp_path):
    js = tmp_path / "k.json"
    cli("compare", trained_run, exported / "model.onnx", "--data", synth_data, "--json", js)
    r = json.loads(js.read_text())
    assert r["a"]["backend"] == "keras" and r["b"]["backend"] == "onnxruntime"
    assert r["split"] == "test" and r["clips"] > 0
    assert r["top1_agreement"] == 1.0 and r["disagreeing_clips"] == []
    assert r["max_abs_diff"] < 1e-4
    assert r["a"]["accuracy"] == r["b"]["accuracy"]


def test_onnx_vs_itself(exported, synth_data, tmp_path):
    js = tmp_path / "s.json"
    m = exported / "model.onnx"
    png = tmp_path / "c.png"
    cli_no_tf("compare", m, m, "--data", synth_data, "--split", "val", "--json", js, "--plot", png)
    r = json.loads(js.read_text())
    assert r["top1_agreement"] == 1.0 and r["disagreements"] == 0
    assert r["max_abs_diff"] == 0.0 and r["mean_abs_diff"] == 0.0
    assert len(r["clip_max_abs_diff"]) == r["clips"]
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] > 300 and im.size[1] > 200
        assert len(set(im.convert("L").getdata())) > 2  # drawn, not blank


def test_mismatched_contracts_one_line_error(trained_run, exported, synth_data, tmp_path):
    from edgeaction.contract import contract_from_onnx

    c = contract_from_onnx(exported / "model.onnx")
    other = c.__class__(
        name="other", labels=("x", "y", "z"), frames=c.frames, height=c.height, width=c.width
    )
    bad = make_onnx(tmp_path / "other.onnx", other)
    err = _one_line_error(
        cli_no_tf("compare", exported / "model.onnx", bad, "--data", synth_data, check=False),
        "labels differ",
        "x, y, z",
    )
    assert str(bad) in err
    # A Keras run against it fails the same way before TensorFlow is imported.
    _one_line_error(
        cli_no_tf("compare", trained_run, bad, "--data", synth_data, check=False), "labels differ"
    )
    _one_line_error(
        cli_no_tf("compare", tmp_path / "nope.onnx", bad, "--data", synth_data, check=False),
        "model not found",
    )


def test_unknown_labels_and_help(exported, synth_data, tmp_path):
    import shutil

    for lab in ("walk", "dance"):
        (tmp_path / "d" / lab).mkdir(parents=True)
        src = next((synth_data / "walk").glob("*.mp4"))
        shutil.copy(src, tmp_path / "d" / lab / src.name)
    m = exported / "model.onnx"
    p = cli_no_tf("compare", m, m, "--data", tmp_path / "d", "--split", "all", check=False)
    _one_line_error(p, "do not know: dance")
    h = cli("compare", "--help")
    assert "FP16-vs-FP32" in h.stdout and "model_fp16.onnx" in h.stdout
