import json

import pytest

from edgeaction.video import VideoReader
from tests.conftest import cli

pytestmark = pytest.mark.slow


def test_demo_quick_runs_the_whole_chain(tmp_path):
    p = cli("demo", "--quick", "--out", tmp_path / "d")
    assert "edgeaction demo" in p.stdout and "windows classified" in p.stdout
    d = json.loads((tmp_path / "d" / "demo.json").read_text())
    ev = [json.loads(x) for x in open(d["files"]["events"])]
    assert len(ev) == d["windows_classified"] > 0
    frames = list(VideoReader(d["files"]["annotated_video"], 64, 64))
    assert len(frames) == 3 * 32  # three actions of 32 frames in the quick showcase
    assert 0 <= d["test_accuracy"] <= 1 and d["export_max_abs_diff"] < 1e-4
    assert d["run_feature_cache"] is True  # exported with --split, windows overlap
