"""Training and the run on a trained model, through the CLI, on a small synthetic set."""

import json

import pytest

from edgeaction.contract import ModelContract
from tests.conftest import cli

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
    )
    ev = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    m = json.loads((tmp_path / "m.json").read_text())
    assert len(ev) == m["windows"] > 0 and m["frames"] == 48
    assert all(e["label"] in ("jump", "run", "walk") for e in ev)
    # contract subsample 3, stride 2: a window every 6 frames spanning 10 frames
    assert ev[0]["window"] == [0, 9] and ev[1]["window"] == [6, 15]
