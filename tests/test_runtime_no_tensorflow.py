"""The runtime (engine, pipelines, `edgeaction run`) must never import TensorFlow."""

from tests.conftest import cli_no_tf


def test_run_imports_no_tensorflow(tmp_path, tiny_onnx, synth_video):
    cli_no_tf(
        "run", tiny_onnx, "--source", synth_video,
        "--events", tmp_path / "e.jsonl", "--out-video", tmp_path / "a.mp4",
    )  # fmt: skip
    assert (tmp_path / "e.jsonl").stat().st_size > 0 and (tmp_path / "a.mp4").stat().st_size > 0
