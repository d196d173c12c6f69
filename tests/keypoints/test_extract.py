"""Keypoints: `edgeaction keypoints` / `pose-extract` on real clips, the cache, sampling.

MediaPipe runs only in child processes (the CLI, or a short script); this process reads
caches and decodes with GStreamer, and never imports TensorFlow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from tests.conftest import cli

# the shortest real clips: 72 frames of 1080p H.264 (scaled to 640 wide) and 165 frames
# of 320x240 MPEG-4 AVI; two labels, so the folder layout holds a classifier's data set
CLIPS = {"a": ["two_people_1080p.mp4"], "b": ["ucf101_apply_eye_makeup.avi"]}


@pytest.fixture(scope="module")
def pose_data(real_clips, tmp_path_factory):
    """A class-folder data set of symlinks to real clips, and its pose cache."""
    root = tmp_path_factory.mktemp("pose_data")
    for label, names in CLIPS.items():
        (root / label).mkdir()
        for name in names:
            (root / label / name).symlink_to(real_clips / name)
    cache = tmp_path_factory.mktemp("pose_cache")
    p = cli("pose-extract", root, "--allow-outside-root", "--out", cache, timeout=300)
    return root, cache, p


def _items(root):
    from edgeaction.datasets import discover

    ds = discover(root, allow_outside_root=True)  # symlinks to the real clips
    return ds, {it.path.name: it for it in ds.items}


def _npz(cache, item, root):
    with np.load(cache / f"{item.key(root)}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_import_loads_no_mediapipe_cv2_or_tensorflow():
    code = (
        "import sys, edgeaction.keypoints as k; "
        "k.load_window, k.sample_keypoints, k.compute; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'mediapipe', 'cv2', 'tensorflow'}); "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_pose_extract_finds_people_in_real_clips(pose_data):
    from edgeaction.clips import load_clips

    root, cache, p = pose_data
    ds, items = _items(root)
    line = p.stdout.strip().splitlines()[-1]
    assert line.startswith("keypoints (pose): 2 clips (2 extracted, 0 cached, 0 unreadable)"), line
    assert "% with a person" in line and "fps" in line
    # MediaPipe's TFLite/absl chatter stays hidden
    assert "W0000" not in p.stderr and "XNNPACK" not in p.stderr, p.stderr[-2000:]

    _, _, bad, lengths = load_clips(ds.items, ds.labels, 4, 32, 32, progress=False)
    assert not bad
    decoded = {it.path.name: n for it, n in zip(ds.items, lengths, strict=True)}
    index = json.loads((cache / "index.json").read_text())
    assert set(index["clips"]) == {it.key(root) for it in ds.items}
    for name, item in items.items():
        z = _npz(cache, item, root)
        assert str(z["kind"]) == "pose"
        kp = z["keypoints"]
        assert kp.dtype == np.float32 and kp.shape == (decoded[name], 132), (name, kp.shape)
        kp = kp.reshape(-1, 33, 4)
        assert int(z["frames"]) == decoded[name]
        assert str(z["mediapipe_version"]) == "0.10.21" and int(z["model_complexity"]) == 1
        st = item.path.stat()
        assert int(z["source_size"]) == st.st_size and int(z["source_mtime_ns"]) == st.st_mtime_ns
        assert max(z["image_size"]) <= 640  # the 1080p clip is scaled to 640 wide

        person = kp[..., 3].max(axis=1) > 0.5
        assert person.mean() > 0.5, (name, person.mean())
        visible = kp[..., 3] > 0.5
        xy = kp[..., :2][visible]
        assert ((xy >= 0) & (xy <= 1)).mean() > 0.9, name
        assert (kp[~kp.any(axis=(1, 2))] == 0).all()  # frames without a person: zeros

        entry = index["clips"][item.key(root)]
        assert entry["file"] == f"{item.key(root)}.npz" and entry["label"] == item.label
        assert entry["frames"] == decoded[name]
        assert entry["frames_found"] == int(kp.any(axis=(1, 2)).sum())
    assert index["kind"] == "pose" and index["values_per_frame"] == 132


def test_second_run_uses_the_cache(pose_data):
    root, cache, _ = pose_data
    before = {f.name: f.stat().st_mtime_ns for f in cache.glob("*.npz")}
    p = cli("pose-extract", root, "--allow-outside-root", "--out", cache)
    assert "(0 extracted, 2 cached, 0 unreadable)" in p.stdout and "all cached" in p.stdout
    assert {f.name: f.stat().st_mtime_ns for f in cache.glob("*.npz")} == before


def test_load_pose_samples_like_the_frames(pose_data):
    from edgeaction.keypoints import load_cached, load_window, sample_keypoints
    from edgeaction.sampling import sample_indices

    root, cache, _ = pose_data
    ds, items = _items(root)
    item = items["ucf101_apply_eye_makeup.avi"]
    kp = load_cached(cache, item, root, "pose")
    for t, policy in ((8, "loop"), (200, "loop"), (200, "pad")):
        x = load_window(cache, item, root, t, "pose", policy)
        assert x.shape == (t, 33 * 4) and x.dtype == np.float32
        idx = sample_indices(len(kp), t, policy)
        np.testing.assert_array_equal(x, kp[idx])
        np.testing.assert_array_equal(x, sample_keypoints(kp, t, policy))
    with pytest.raises(EdgeActionError, match="cover 165 frames, the clip decodes to 100"):
        load_window(cache, item, root, 8, "pose", expect_frames=100)
    # a hands model asking this cache: one line naming the kinds and the command
    with pytest.raises(EdgeActionError) as e:
        load_cached(cache, item, root, "hands")
    assert "are pose keypoints, hands are needed" in str(e.value) and "--kind hands" in str(e.value)


def test_missing_or_stale_cache_fails_with_one_line(pose_data, tmp_path):
    from edgeaction.keypoints import load_window

    def load_pose(c, it, r, t):
        return load_window(c, it, r, t, "pose")

    root, cache, _ = pose_data
    _, items = _items(root)
    item = items["two_people_1080p.mp4"]
    with pytest.raises(EdgeActionError) as e:
        load_pose(tmp_path / "empty", item, root, 8)
    msg = str(e.value)
    assert "\n" not in msg and "no cached pose keypoints for" in msg
    assert "run `edgeaction keypoints" in msg and "--kind pose" in msg and "first" in msg

    # an entry whose video changed since extraction is refused, and extracted again
    stale = tmp_path / "cache"
    shutil.copytree(cache, stale)
    npz = stale / f"{item.key(root)}.npz"
    with np.load(npz, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    d["source_mtime_ns"] = np.int64(d["source_mtime_ns"] - 10**9)
    np.savez_compressed(npz, **d)
    with pytest.raises(EdgeActionError, match="out of date .the video changed"):
        load_pose(stale, item, root, 8)
    p = cli("pose-extract", root, "--allow-outside-root", "--out", stale)
    assert "(1 extracted, 1 cached, 0 unreadable)" in p.stdout, p.stdout
    assert load_pose(stale, item, root, 8).shape == (8, 132)


def _decoded_lengths(data):
    from edgeaction.clips import load_clips
    from edgeaction.datasets import discover

    ds = discover(data, allow_outside_root=True)
    _, _, bad, lengths = load_clips(ds.items, ds.labels, 4, 32, 32, progress=False)
    assert not bad
    return ds, dict(zip((it.key(ds.root) for it in ds.items), lengths, strict=True))


def test_segments_and_frame_folders_match_the_decoded_frames(tmp_path, real_clips):
    import cv2  # test-only encoder of real image files

    from edgeaction.video.reader import VideoReader

    # manifest segments (absolute paths into the real clips)
    seg = tmp_path / "segments"
    seg.mkdir()
    two, ucf = real_clips / "two_people_1080p.mp4", real_clips / "ucf101_apply_eye_makeup.avi"
    (seg / "list.csv").write_text(
        f"path,label,start,end\n{two},a,0.5,1.5\n{ucf},b,,1\n{ucf},b,5.5,\n"
    )
    # frame folders: 12 real frames of a person, 6 black frames
    frames = tmp_path / "frames"
    with VideoReader(real_clips / "kinetics_ta_chi.mp4", None, None, "BGR") as r:
        for f in r:
            if f.index >= 12:
                break
            (frames / "c1").mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(frames / "c1" / f"img{f.index}.png"), f.image)
    (frames / "c2").mkdir()
    for i in range(6):
        assert cv2.imwrite(str(frames / "c2" / f"{i:03d}.png"), np.zeros((40, 60, 3), np.uint8))
    (frames / "clips.csv").write_text("c1;taichi;0\nc2;empty;1\n")

    for data, cache in ((seg / "list.csv", tmp_path / "c_seg"), (frames / "clips.csv", None)):
        cache = cache or tmp_path / "c_frames"
        p = cli("pose-extract", data, "--allow-outside-root", "--out", cache)
        ds, lengths = _decoded_lengths(data)
        assert f"{len(ds.items)} clips ({len(ds.items)} extracted" in p.stdout, p.stdout
        index = json.loads((cache / "index.json").read_text())["clips"]
        for item in ds.items:
            kp = _npz(cache, item, ds.root)["keypoints"]
            key = item.key(ds.root)
            assert kp.shape == (lengths[key], 132) and index[key]["frames"] == lengths[key]
    assert sorted(lengths.values()) == [6, 12]
    found = {it.label: index[it.key(ds.root)]["frames_found"] for it in ds.items}
    assert found == {"taichi": 12, "empty": 0}


def test_unreadable_clips_are_skipped(tmp_path, synth_video):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "broken.mp4").write_text("not a video")
    (tmp_path / "b" / "seq.mp4").symlink_to(synth_video)
    p = cli("pose-extract", tmp_path, "--allow-outside-root", "--out", tmp_path / "cache")
    assert "2 clips (1 extracted, 0 cached, 1 unreadable)" in p.stdout, p.stdout
    assert "skipped unreadable clip" in p.stderr and "broken.mp4" in p.stderr
    index = json.loads((tmp_path / "cache" / "index.json").read_text())
    assert len(index["clips"]) == 1 and index["bad"][0]["path"].endswith("broken.mp4")

    (tmp_path / "b" / "seq.mp4").unlink()
    (tmp_path / "b" / "bad.avi").write_bytes(b"\0" * 100)
    p = cli(
        "pose-extract", tmp_path, "--allow-outside-root", "--out", tmp_path / "cache", check=False
    )
    err = [x for x in p.stderr.splitlines() if x.startswith("edgeaction: error:")]
    assert p.returncode == 1 and len(err) == 1 and "none of the 2 clips" in err[0], p.stderr


EXTRACTOR_CHECKS = """
import sys
import numpy as np
from edgeaction.errors import EdgeActionError
from edgeaction.keypoints import extract_video, extractor

clip, cached = sys.argv[1], sys.argv[2]
with extractor("pose") as pose:
    black = pose(np.zeros((240, 320, 3), np.uint8))
    assert black.shape == (132,) and black.dtype == np.float32 and not black.any()
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert not pose(noise).any()
    assert pose.extract_frames([]).shape == (0, 132)
    try:
        pose(np.zeros((240, 320), np.uint8))
        raise AssertionError("a grey frame was accepted")
    except EdgeActionError as e:
        assert "RGB uint8 frame" in str(e)
kp = extract_video(clip, kind="pose")
np.testing.assert_allclose(kp, np.load(cached)["keypoints"])
try:
    extractor("feet")
    raise AssertionError("an unknown kind was accepted")
except EdgeActionError as e:
    assert "pose, hands, pose+hands" in str(e)
assert "tensorflow" not in sys.modules
print("ok", kp.shape)
"""


def test_missing_mediapipe_stops_with_the_install_hint(tmp_path, synth_video):
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "seq.mp4").symlink_to(synth_video)
    code = (
        "import sys; sys.modules['mediapipe'] = None\n"
        "from edgeaction.cli import main\n"
        f"sys.exit(main(['pose-extract', {str(tmp_path)!r}, '--allow-outside-root', "
        f"'--out', {str(tmp_path / 'c')!r}]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    err = [x for x in p.stderr.splitlines() if x.startswith("edgeaction: error:")]
    assert p.returncode == 1 and len(err) == 1, p.stderr
    assert "'mediapipe' is not installed" in err[0] and "--no-deps mediapipe==0.10.21" in err[0]
    assert "unreadable" not in p.stderr


def test_extractor_on_frames_and_a_plain_video(pose_data, real_clips):
    # in a child process, so that this one never loads MediaPipe's threads and models
    root, cache, _ = pose_data
    _, items = _items(root)
    npz = cache / f"{items['two_people_1080p.mp4'].key(root)}.npz"
    clip = real_clips / "two_people_1080p.mp4"
    p = subprocess.run(
        [sys.executable, "-c", EXTRACTOR_CHECKS, str(clip), str(npz)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and "ok (72, 132)" in p.stdout, p.stdout + p.stderr[-3000:]
    # the plain file gave the keypoints the data-set cache holds for it (same reader, size)
    assert "W0000" not in p.stderr and "XNNPACK" not in p.stderr, p.stderr[-2000:]


AFTER_GSTREAMER = """
import sys
from edgeaction.keypoints import extractor
from edgeaction.video.reader import VideoReader

frames = [f.image for f in VideoReader(sys.argv[1], 320, 180)][:10]
with extractor("pose") as pose:  # MediaPipe (and matplotlib) loaded after GStreamer ran
    kp = pose.extract_frames(frames)
print("ok", kp.shape, int(kp.any(axis=1).sum()))
"""


def test_mediapipe_after_gstreamer_works(real_clips):
    # GStreamer's libunwind used to crash the first C++ exception of a later import
    clip = real_clips / "two_people_1080p.mp4"
    p = subprocess.run(
        [sys.executable, "-c", AFTER_GSTREAMER, str(clip)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "ok (10, 132) 10" in p.stdout, p.stdout


def test_sample_keypoints_checks_its_input():
    from edgeaction.keypoints import sample_keypoints

    kp = np.arange(5 * 132, dtype=np.float32).reshape(5, 132)
    x = sample_keypoints(kp, 3)
    assert x.shape == (3, 132) and x.dtype == np.float32
    np.testing.assert_array_equal(sample_keypoints(kp, 7, "loop")[5], kp[0])
    stretched = sample_keypoints(kp, 7)  # the default: in order, the last frame last
    assert (np.diff(stretched[:, 0]) >= 0).all() and stretched[-1, 0] == kp[4, 0]
    np.testing.assert_array_equal(sample_keypoints(kp, 7, "pad")[6], kp[4])
    with pytest.raises(EdgeActionError, match="must be"):
        sample_keypoints(np.zeros((5, 33, 4), np.float32), 3)


def test_help_names_the_cache_format_and_mediapipe():
    for verb in ("keypoints", "pose-extract"):
        p = cli(verb, "--help")
        for needle in ("index.json", "(frames, values)", "mediapipe==0.10.21", "--force"):
            assert needle in p.stdout
    assert "--kind" in cli("keypoints", "--help").stdout
