"""Training and the run on a trained model, through the CLI, on a small synthetic set."""

import json
from pathlib import Path

import pytest

from edgeaction.contract import ModelContract
from tests.conftest import cli
from tests.conftest import one_line_error as _one_line_error

pytestmark = pytest.mark.slow


def test_train_writes_model_contract_and_metrics(trained_run, synth_data):
    assert (trained_run / "model.keras").stat().st_size > 0
    c = ModelContract.load(trained_run)
    assert c.labels == ("jump", "run", "walk") and c.frames == 4 and c.height == 32
    assert c.subsample == 3  # 12-frame clips sampled to 4 frames keep every 3rd frame
    assert c.producer["tensorflow"].startswith("2.")
    m = json.loads((trained_run / "report" / "metrics.json").read_text())
    assert 0 <= m["test_accuracy"] <= 1 and m["bad_clips"] == 0 and m["clips"]["train"] >= 9
    assert (trained_run / "report" / "history.csv").read_text().startswith("epoch,")


def test_run_on_exported_model(exported, synth_video, tmp_path):
    cli(
        "run",
        exported / "model.onnx",
        "--source",
        synth_video,
        "--events",
        tmp_path / "e.jsonl",
        "--out-video",
        tmp_path / "a.mp4",
        "--metrics",
        tmp_path / "m.json",
        "--emit",
        "every",
    )
    ev = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    m = json.loads((tmp_path / "m.json").read_text())
    assert len(ev) == m["windows"] > 0 and m["frames"] == 48
    assert all(e["label"] in ("jump", "run", "walk") for e in ev)
    # contract subsample 3, stride 2: a window every 6 frames spanning 10 frames
    assert ev[0]["window"] == [0, 9] and ev[1]["window"] == [6, 15]


def test_report_files_and_pngs_open(trained_run):
    import matplotlib.image as mpimg

    rep = trained_run / "report"
    for name in ("curves.png", "confusion_matrix.png"):
        img = mpimg.imread(rep / name)
        assert img.shape[0] > 100 and img.shape[1] > 100 and float(img.std()) > 0
    per = json.loads((rep / "per_class.json").read_text())
    assert set(per["per_class"]) == {"jump", "run", "walk"}
    md = (rep / "per_class.md").read_text()
    assert all(f"| {lab} " in md for lab in ("jump", "run", "walk"))
    m = json.loads((rep / "metrics.json").read_text())
    assert m["report_split"] == "test" and m["layout"] == "manifest"
    assert m["train_step_seconds_median"] > 0
    hist = (rep / "history.csv").read_text().splitlines()
    assert {"epoch", "accuracy", "loss", "val_accuracy", "val_loss"} <= set(hist[0].split(","))
    assert len(hist) == 1 + m["epochs_run"] == 3


@pytest.fixture(scope="module")
def damaged_data(synth_data, tmp_path_factory) -> Path:
    """The synth set as plain class folders plus one corrupt clip per label."""
    import shutil

    root = tmp_path_factory.mktemp("damaged")
    for d in synth_data.iterdir():
        if d.is_dir():
            shutil.copytree(d, root / d.name)
            (root / d.name / "zz_broken.mp4").write_bytes(
                b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 500
            )
    return root


def test_bad_clips_stop_training_above_the_threshold(damaged_data, tmp_path):
    p = cli(
        "train", damaged_data, "--frames", 4, "--size", 32, "--out", tmp_path / "r", check=False
    )
    _one_line_error(p, "3 of 21 clips could not be decoded")
    assert not (tmp_path / "r" / "model.keras").exists()


def test_bad_clips_counted_resume_distribute_tensorboard(damaged_data, tmp_path):
    run = tmp_path / "r"
    args = ("train", damaged_data, "--frames", 4, "--size", 32, "--batch", 8, "--max-bad", 0.2)
    cli(*args, "--epochs", 1, "--distribute", "--tensorboard", "--out", run)
    m = json.loads((run / "report" / "metrics.json").read_text())
    assert m["bad_clips"] == 3 and m["layout"] == "folders"
    assert all("zz_broken" in b["path"] for b in m["bad_clip_list"])
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 1
    cli(*args, "--epochs", 3, "--resume", "--out", run)
    m = json.loads((run / "report" / "metrics.json").read_text())
    assert m["epochs_run"] == 3
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 3
    p = cli(*args, "--epochs", 3, "--resume", "--out", run, check=False)
    _one_line_error(p, "already trained 3 epochs")
    p = cli(*args, "--epochs", 3, "--resume", "--out", tmp_path / "fresh", check=False)
    _one_line_error(p, "nothing to resume")


@pytest.fixture(scope="module")
def pose_cache(synth_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pose")
    cli("pose-extract", synth_data, "--out", out)
    return out


def test_seed_b_trains_and_exports_with_two_inputs(synth_data, pose_cache, tmp_path):
    import onnx

    run = tmp_path / "b"
    cli(
        "train", synth_data, "--arch", "seed-b", "--frames", 4, "--size", 32, "--epochs", 1,
        "--pose", pose_cache, "--out", run,
    )  # fmt: skip
    c = ModelContract.load(run)
    assert c.modality == "rgb+pose" and c.input_names == ("frames", "pose")
    cli("export", run, "--out", tmp_path / "onnx")
    m = onnx.load(str(tmp_path / "onnx" / "model.onnx"))
    dims = {
        i.name: [d.dim_value or None for d in i.type.tensor_type.shape.dim] for i in m.graph.input
    }
    assert dims == {"frames": [None, 4, 32, 32, 3], "pose": [None, 4, 132]}
    rep = json.loads((tmp_path / "onnx" / "export_report.json").read_text())
    assert rep["max_abs_diff"] < 1e-4 and rep["top1_agreement"] == 1.0


def test_keypoint_models_need_a_cache_of_their_kind(synth_data, pose_cache, tmp_path):
    p = cli("train", synth_data, "--arch", "pose-lstm", "--out", tmp_path / "p", check=False)
    _one_line_error(p, "edgeaction keypoints")
    assert "--kind pose" in p.stderr
    # a hands model given a pose cache: one line naming both kinds, nothing written
    p = cli(
        "train", synth_data, "--arch", "hands", "--keypoints", pose_cache, "--out",
        tmp_path / "h", check=False,
    )  # fmt: skip
    _one_line_error(p, "holds pose keypoints, --arch hands reads hands")
    assert not (tmp_path / "h" / "model.keras").exists()


def test_pose_lstm_trains_from_the_cache(synth_data, pose_cache, tmp_path):
    run = tmp_path / "p"
    cli(
        "train",
        synth_data,
        "--arch",
        "pose-lstm",
        "--frames",
        6,
        "--epochs",
        1,
        "--pose",
        pose_cache,
        "--out",
        run,
    )
    c = ModelContract.load(run)
    assert c.modality == "pose" and c.input_names == ("pose",)
    assert c.subsample == 2  # 12-frame clips, 6 keypoint frames
