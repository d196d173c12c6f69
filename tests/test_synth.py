import csv

import numpy as np

from edgeaction.synth import ACTIONS, FLIP_PAIRS, _pose, render_clip, synthesize
from edgeaction.video import VideoReader


def test_layout_manifest_and_stratified_split(synth_data):
    rows = list(csv.DictReader(open(synth_data / "manifest.csv")))
    assert len(rows) == 18 and {r["label"] for r in rows} == set(ACTIONS[:3])
    for label in ACTIONS[:3]:
        splits = [r["split"] for r in rows if r["label"] == label]
        assert splits.count("val") >= 1 and splits.count("test") >= 1 and splits.count("train") >= 3
    clip = synth_data / rows[0]["path"]
    assert clip.parent.name == rows[0]["label"] and clip.suffix == ".mp4"
    frames = list(VideoReader(clip, 48, 48))
    assert len(frames) == 12


def test_same_seed_same_pixels_other_seed_differs():
    a = render_clip("wave", 6, 48, np.random.default_rng([3, 1]))
    b = render_clip("wave", 6, 48, np.random.default_rng([3, 1]))
    c = render_clip("wave", 6, 48, np.random.default_rng([4, 1]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_synthesize_is_deterministic_on_disk(tmp_path):
    synthesize(tmp_path / "a", classes=2, clips_per_class=2, frames=4, size=32, seed=5)
    synthesize(tmp_path / "b", classes=2, clips_per_class=2, frames=4, size=32, seed=5)
    for p in sorted((tmp_path / "a").rglob("*.mp4")):
        q = tmp_path / "b" / p.relative_to(tmp_path / "a")
        fa = np.stack([f.image for f in VideoReader(p, 32, 32)])
        fb = np.stack([f.image for f in VideoReader(q, 32, 32)])
        assert np.array_equal(fa, fb)
    assert (tmp_path / "a" / "manifest.csv").read_text() == (
        tmp_path / "b" / "manifest.csv"
    ).read_text()


def test_swipes_are_mirror_images():
    assert FLIP_PAIRS == {"swipe_left": "swipe_right", "swipe_right": "swipe_left"}
    for phase in np.linspace(0, 2 * np.pi, 13):
        left, right = _pose("swipe_left", phase).hands[0], _pose("swipe_right", phase).hands[0]
        assert left[0] == -right[0] and left[1] == right[1]
    # the left swipe's hand travels towards -x during the sweep
    xs = [_pose("swipe_left", p).hands[0][0] for p in np.linspace(0, 0.69 * 2 * np.pi, 8)]
    assert all(b < a for a, b in zip(xs, xs[1:], strict=False))


def test_every_action_moves_the_figure():
    for a in ACTIONS:
        clip = render_clip(a, 8, 64, np.random.default_rng(0)).astype(np.int16)
        assert np.abs(np.diff(clip, axis=0)).mean() > 1.0, a
