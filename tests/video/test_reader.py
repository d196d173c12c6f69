import subprocess

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.sampling import sample_indices
from edgeaction.video import VideoReader, VideoWriter, probe_file, read_clip

REAL = {  # file: (frames decoded, source size)
    "ucf101_apply_eye_makeup.avi": (164, (320, 240)),
    "kinetics_arm_wrestling.mp4": (280, (340, 256)),
    "two_people_1080p.mp4": (72, (1920, 1080)),
    "gesture_thumbs_up_720p.mp4": (195, (1280, 720)),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_clips_decode_to_the_requested_size(real_clips, name):
    frames, size = REAL[name]
    info = probe_file(real_clips / name)
    assert info["size"] == size and info["fps"] > 20 and info["duration_s"] > 1
    got = list(VideoReader(real_clips / name, 112, 112))
    # AVI/MPEG-4 may report one frame more or less than its header; H.264 files are exact
    assert abs(len(got) - frames) <= 1
    assert got[0].image.shape == (112, 112, 3) and got[0].image.dtype == np.uint8
    assert got[-1].image.std() > 5  # real picture content, not a blank frame
    if name.endswith(".mp4"):  # MPEG-4 ASP in AVI carries no reordering info: pts repeat
        pts = [f.pts for f in got]
        assert all(b > a for a, b in zip(pts, pts[1:], strict=False))


def test_odd_width_rows_are_unpadded_and_bgr_swaps_channels(tmp_path):
    frame = np.zeros((20, 30, 3), np.uint8)
    frame[..., 0] = 200  # pure red
    with VideoWriter(tmp_path / "red.mp4", 30, 20, fps=10) as w:
        for _ in range(5):
            w.write(frame)
    rgb = list(VideoReader(tmp_path / "red.mp4", 25, 15))  # 25*3 % 4 != 0: padded rows
    bgr = list(VideoReader(tmp_path / "red.mp4", 25, 15, colour="BGR"))
    assert rgb[0].image.shape == (15, 25, 3)
    assert rgb[0].image[..., 0].mean() > 150 and rgb[0].image[..., 2].mean() < 50
    assert bgr[0].image[..., 2].mean() > 150 and bgr[0].image[..., 0].mean() < 50


def test_display_branch_pairs_frames(real_clips):
    got = list(VideoReader(real_clips / "kinetics_cleaning_pool.mp4", 64, 64, display_width=320))
    assert len(got) == 300
    assert all(f.display is not None and f.display.shape[1] == 320 for f in got)


def _write(p, data):
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "nope.mp4", "not found"),
        (lambda p: _write(p / "zero.mp4", b""), "empty"),
        (lambda p: _write(p / "notes.mp4", b"hello\n" * 100), "not a video"),
        (lambda p: _write(p / "rand.mp4", np.random.default_rng(0).bytes(5000)), "not a video"),
        (lambda p: p, "is a directory"),
    ],
)
def test_bad_files_fail_with_one_line(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(EdgeActionError, match=match) as e:
        list(VideoReader(path, 32, 32))
    assert "\n" not in str(e.value)


def test_audio_only_file_is_explained(tmp_path):
    wav = tmp_path / "tone.wav"
    subprocess.run(
        [
            "gst-launch-1.0",
            "-q",
            "audiotestsrc",
            "num-buffers=20",
            "!",
            "wavenc",
            "!",
            "filesink",
            f"location={wav}",
        ],
        check=True,
    )
    with pytest.raises(EdgeActionError, match="no video stream"):
        list(VideoReader(wav, 32, 32, timeout_s=60))  # found from the pads, not a timeout


def test_truncated_mp4_is_a_user_error(tmp_path, real_clips):
    data = (real_clips / "kinetics_ta_chi.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(EdgeActionError):
        list(VideoReader(cut, 32, 32, timeout_s=5))


def test_sample_indices_policies():
    assert sample_indices(16, 8).tolist() == [1, 3, 5, 7, 9, 11, 13, 15]
    assert sample_indices(8, 8).tolist() == list(range(8))
    assert sample_indices(3, 7, "loop").tolist() == [0, 1, 2, 0, 1, 2, 0]
    # the default spreads a short clip over T in order, each frame once or more: a stroke
    # drawn once stays drawn once (looping it read as a second stroke, issue 14)
    assert sample_indices(3, 7).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert sample_indices(3, 6, "stretch").tolist() == [0, 0, 1, 1, 2, 2]
    assert sample_indices(6, 3, "stretch").tolist() == sample_indices(6, 3, "loop").tolist()
    assert sample_indices(3, 5, "pad").tolist() == [0, 1, 2, 2, 2]
    with pytest.raises(EdgeActionError, match="policy"):
        sample_indices(3, 5, "wrap")


def test_read_clip_loops_short_clips(tmp_path):
    with VideoWriter(tmp_path / "s.mp4", 32, 32, fps=10) as w:
        for i in range(3):
            w.write(np.full((32, 32, 3), 60 * (i + 1), np.uint8))
    clip = read_clip(tmp_path / "s.mp4", 6, 32, 32, policy="loop")
    means = clip.reshape(6, -1).mean(1)
    assert clip.shape == (6, 32, 32, 3)
    assert np.allclose(means[:3], means[3:], atol=3) and means[0] < means[1] < means[2]


def test_read_clip_stretches_short_clips_by_default(tmp_path):
    with VideoWriter(tmp_path / "s.mp4", 32, 32, fps=10) as w:
        for i in range(3):
            w.write(np.full((32, 32, 3), 60 * (i + 1), np.uint8))
    means = read_clip(tmp_path / "s.mp4", 6, 32, 32).reshape(6, -1).mean(1)
    assert np.allclose(means[0::2], means[1::2], atol=3)  # each frame twice, in order
    assert means[0] < means[2] < means[4]


def test_gst_is_loaded_once_not_per_sample(monkeypatch):
    """`gst()` runs in the decode threads for every pull and every sample, one more of
    each per zone; `gi.require_version` scans the typelib directories and opens the
    typelibs each time it is called (~60 us), so after the first call nothing is looked
    up again (strace of 8 cameras x 2 zones: hundreds of directory scans per second)."""
    gi = pytest.importorskip("gi")
    from edgeaction._lazy import gst

    first = gst()
    calls = []
    monkeypatch.setattr(gi, "require_version", lambda *a: calls.append(a))
    for _ in range(3):
        assert gst() == first
    assert calls == []


def _sample(caps: str, data: bytes):
    from edgeaction._lazy import gst

    Gst, _ = gst()
    return Gst.Sample.new(Gst.Buffer.new_wrapped(data), Gst.Caps.from_string(caps), None, None)


def test_sample_array_reads_the_caps_layout_once_per_caps(monkeypatch):
    """A decode thread copies one sample per frame per zone; the caps of a stream stay
    the same, so their `VideoInfo` (the row stride) is worked out once, not per sample
    (~4 us of a 64x64 zone frame's copy). Padded rows, other sizes and 4-channel caps
    interleaved still give the right pixels."""
    pytest.importorskip("gi")
    from edgeaction._lazy import gst
    from edgeaction.video.reader import sample_array

    _, GstVideo = gst()
    rng = np.random.default_rng(0)
    layouts = {  # caps: (height, width, channels, row stride in bytes)
        "video/x-raw,format=RGB,width=25,height=15,framerate=30/1": (15, 25, 3, 76),
        "video/x-raw,format=BGR,width=64,height=64,framerate=30/1": (64, 64, 3, 192),
        "video/x-raw,format=RGBA,width=7,height=3,framerate=0/1": (3, 7, 4, 28),
    }
    want = {c: rng.integers(0, 256, (h, s), np.uint8) for c, (h, w, ch, s) in layouts.items()}
    real, built = GstVideo.VideoInfo.new_from_caps, []
    monkeypatch.setattr(
        GstVideo.VideoInfo, "new_from_caps", lambda caps: built.append(1) or real(caps)
    )
    for _ in range(5):
        for caps, (h, w, ch, _s) in layouts.items():
            got = sample_array(_sample(caps, want[caps].tobytes()), "s", ch)
            assert got.flags.writeable and got.shape == (h, w, ch)
            assert (got == want[caps][:, : w * ch].reshape(h, w, ch)).all()
    assert len(built) <= len(layouts)
