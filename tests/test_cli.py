"""User errors through the real CLI: one line, non-zero exit, no traceback."""

import pytest

from tests.conftest import cli, make_onnx
from tests.conftest import one_line_error as _one_line_error


def test_missing_video(tmp_path, tiny_onnx):
    _one_line_error(
        cli("run", tiny_onnx, "--source", tmp_path / "nope.mp4", check=False), "not found"
    )


def test_not_a_video_and_zero_bytes(tmp_path, tiny_onnx):
    (tmp_path / "a.mp4").write_text("plain text")
    _one_line_error(
        cli("run", tiny_onnx, "--source", tmp_path / "a.mp4", check=False), "not a video"
    )
    (tmp_path / "z.mp4").write_bytes(b"")
    _one_line_error(
        cli("run", tiny_onnx, "--source", tmp_path / "z.mp4", check=False), "empty (0 bytes)"
    )


def test_onnx_without_contract(tmp_path, tiny_contract, synth_video):
    m = make_onnx(tmp_path / "bare.onnx", tiny_contract, embed=False)
    _one_line_error(
        cli("run", m, "--source", synth_video, check=False), "carries no edgeaction contract"
    )


def test_directory_with_no_clips(tmp_path):
    (tmp_path / "data" / "walk").mkdir(parents=True)
    _one_line_error(
        cli("train", tmp_path / "data", "--out", tmp_path / "run", check=False), "no clips found"
    )
    assert not (tmp_path / "run" / "model.keras").exists()


def test_tensorrt_missing_exits_2(tiny_onnx):
    p = cli("build-engine", tiny_onnx, check=False)
    assert p.returncode == 2 and "--backend onnxruntime" in _one_line_error(p)


@pytest.mark.parametrize("cmd", ["synth", "train", "export", "run", "demo", "build-engine"])
def test_help_explains_each_command(cmd):
    p = cli(cmd, "--help")
    assert p.returncode == 0 and "usage: edgeaction" in p.stdout and len(p.stdout.splitlines()) > 4


def test_synth_cli_rejects_bad_values(tmp_path):
    _one_line_error(
        cli("synth", tmp_path / "d", "--classes", "9", check=False), "--classes must be in 2..7"
    )


def test_output_piped_into_head_is_not_a_traceback(tiny_onnx):
    import subprocess
    import sys

    # ~3,000 events (~500 KB) overflow the pipe after `head` has gone: EPIPE for sure
    cmd = (
        f"'{sys.executable}' -m edgeaction.cli run '{tiny_onnx}' --emit every -q "
        "--source 'test://ball?frames=6000&live=0' --stride 2 | head -2"
    )
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert len(p.stdout.splitlines()) == 2 and "Traceback" not in p.stderr, p.stderr[-2000:]
