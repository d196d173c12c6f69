import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.video import VideoReader, VideoWriter, probe_file


def test_written_mp4_is_h264_and_decodes_back(tmp_path):
    p = tmp_path / "out.mp4"
    frames = [np.full((48, 64, 3), v, np.uint8) for v in range(0, 250, 10)]
    with VideoWriter(p, 64, 48, fps=12.5) as w:
        for f in frames:
            w.write(f)
    assert w.frames_written == len(frames)
    info = probe_file(p)
    assert info["size"] == (64, 48) and info["fps"] == pytest.approx(12.5)
    back = list(VideoReader(p, 64, 48))
    assert len(back) == len(frames)
    assert abs(float(back[-1].image.mean()) - 240) < 6
    import gi

    gi.require_version("GstPbutils", "1.0")
    from gi.repository import GstPbutils

    info = GstPbutils.Discoverer.new(5 * 10**9).discover_uri(p.as_uri())
    (video,) = info.get_video_streams()
    caps = video.get_caps().get_structure(0)
    assert caps.get_name() == "video/x-h264"
    assert caps.get_string("profile") in ("constrained-baseline", "baseline", "main", "high")
    assert [x.name for x in tmp_path.iterdir()] == ["out.mp4"]


def test_interrupted_writer_leaves_nothing(tmp_path):
    p = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(p, 32, 32) as w:
            w.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("Ctrl-C")
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_shape_is_refused(tmp_path):
    w = VideoWriter(tmp_path / "o.mp4", 32, 32).open()
    with pytest.raises(EdgeActionError, match="writer was opened for 32x32"):
        w.write(np.zeros((16, 32, 3), np.uint8))
    assert not (tmp_path / "o.mp4").exists()


def test_jetson_writer_uses_the_hardware_encoder_when_present(tmp_path, monkeypatch):
    from edgeaction.video import writer as wmod

    w = VideoWriter(tmp_path / "o.mp4", 32, 32, platform="jetson")
    monkeypatch.setattr(wmod, "_has_element", lambda name: True)
    d = w._description("o.mp4")
    assert "nvvidconv ! video/x-raw(memory:NVMM),format=I420 ! nvv4l2h264enc" in d
    assert "x264enc" not in d and d.index("format=I420") < d.index("nvv4l2h264enc")
    monkeypatch.undo()
    # no nvv4l2h264enc here (nor on an Orin Nano): x264enc, and the file is written
    with VideoWriter(tmp_path / "o.mp4", 32, 32, platform="jetson") as w:
        assert "x264enc" in w._description("x.mp4")
        for _ in range(5):
            w.write(np.zeros((32, 32, 3), np.uint8))
    assert (tmp_path / "o.mp4").stat().st_size > 0
