"""`edgeaction train --arch hands` on real gesture clips: cache, contract, augmentation.

Reads a few EgoGestAR clips in place from ../shared/data/egogestar_dev (never copied);
MediaPipe Hands runs in the CLI child.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeaction.contract import ModelContract
from tests.conftest import cli, one_line_error

EGO = Path(__file__).resolve().parents[2] / "../shared/data/egogestar_dev"
#: two short clips each of two opposite swipes: the direction is all that tells them apart
CLIPS = {
    "left": [
        "left/testvideo_left_2.mp4",
        "left/testvideo_left_20.mp4",
        "left/testvideo_left_10.mp4",
    ],
    "right": [
        "right/testvideo_right_3.mp4",
        "right/testvideo_right_5.mp4",
        "right/testvideo_right_10.mp4",
    ],
}


@pytest.fixture(scope="module")
def hands_data(tmp_path_factory) -> tuple[Path, Path]:
    paths = [EGO / p for ps in CLIPS.values() for p in ps]
    if not all(p.is_file() for p in paths):
        pytest.skip(f"EgoGestAR development clips not found at {EGO} (../shared beside the repo)")
    root = tmp_path_factory.mktemp("hands_data")
    rows = ["path,label,split"]
    for lab, ps in CLIPS.items():
        for p, split in zip(ps, ("train", "val", "test"), strict=True):
            rows.append(f"{(EGO / p).resolve()},{lab},{split}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    cache = root / "hands"
    p = cli(
        "keypoints", root, "--kind", "hands", "--max-hands", "1", "--out", cache,
        "--allow-outside-root", timeout=300,
    )  # fmt: skip
    assert "keypoints (hands): 6 clips (6 extracted" in p.stdout, p.stdout
    return root, cache


def test_hands_cache_holds_explicit_slots(hands_data):
    root, cache = hands_data
    index = json.loads((cache / "index.json").read_text())
    assert index["kind"] == "hands" and index["max_hands"] == 1
    assert index["values_per_frame"] == 132
    found = sum(e["frames_found"] for e in index["clips"].values())
    frames = sum(e["frames"] for e in index["clips"].values())
    assert found / frames > 0.6, (found, frames)
    for e in index["clips"].values():
        with np.load(cache / e["file"]) as z:
            kp = z["keypoints"].reshape(-1, 2, 66)
            assert str(z["kind"]) == "hands" and int(z["max_hands"]) == 1
            assert int(z["hands_fallback"]) == 0  # a stale entry is extracted again
        present = kp[:, :, 63]
        assert set(np.unique(present)) <= {0.0, 1.0}
        assert not kp[:, 1].any()  # --max-hands 1: the second slot stays empty
        assert not kp[present == 0].any()  # an empty slot is zeros with presence 0
        xy = kp[present == 1][:, :63].reshape(-1, 21, 3)[..., :2]
        assert ((xy > -0.2) & (xy < 1.2)).all()


def test_hands_trains_and_records_its_features(hands_data, tmp_path):
    root, cache = hands_data
    run = tmp_path / "h"
    cli(
        "train", root, "--arch", "hands", "--frames", 16, "--epochs", 2, "--keypoints", cache,
        "--out", run, "--allow-outside-root",
    )  # fmt: skip
    c = ModelContract.load(run)
    assert c.modality == "hands" and c.keypoint_features == "hands-v1" and c.max_hands == 1
    assert c.input_names == ("hands",) and c.keypoint_shape() == (None, 16, 53)
    m = json.loads((run / "report" / "metrics.json").read_text())
    assert m["clips"] == {"train": 2, "val": 2, "test": 2}
    assert m["config"]["augment"] is True and m["subsample"] >= 1
    assert m["config"]["keep"] == "last"  # hands keeps its last epoch (ArchSpec.keep)
    assert c.short_clips == "stretch" and m["config"]["policy"] == "stretch"


def test_evaluate_samples_a_short_clip_as_the_model_was_trained(hands_data):
    """A clip shorter than T is stretched (or looped) as the contract says, never looped
    behind a stretching model's back: a swipe looped reads as a swipe drawn twice."""
    from edgeaction import datasets
    from edgeaction.evaluate import _load_one
    from edgeaction.keypoints import compute, load_cached, sample_keypoints

    root, cache = hands_data
    ds = datasets.discover(root, allow_outside_root=True)
    item = next(it for it in ds.items if it.path.name == "testvideo_left_2.mp4")
    raw = load_cached(cache, item, ds.root, "hands")
    t = len(raw) + 9  # longer than the clip
    inputs = {}
    for policy in ("stretch", "loop"):
        c = ModelContract(
            name="h", labels=("left", "right"), frames=t, height=8, width=8,
            modality="hands", pose_name="hands", max_hands=1, short_clips=policy,
        )  # fmt: skip
        _, inputs[policy] = _load_one(item, ds.root, c, cache)
        want = compute(c.keypoint_features, sample_keypoints(raw, t, policy))
        np.testing.assert_array_equal(inputs[policy], want)
    assert not np.array_equal(inputs["stretch"], inputs["loop"])


def test_a_cache_of_another_max_hands_is_refused_at_evaluate(hands_data, tmp_path):
    root, cache = hands_data
    run = tmp_path / "h"
    cli(
        "train", root, "--arch", "hands", "--frames", 8, "--epochs", 1, "--keypoints", cache,
        "--out", run, "--allow-outside-root", "--no-augment",
    )  # fmt: skip
    idx = cache.parent / "two"
    idx.mkdir()
    (idx / "index.json").write_text(json.dumps({"kind": "hands", "max_hands": 2}))
    p = cli(
        "evaluate", run, root, "--keypoints", idx, "--allow-outside-root", check=False,
    )  # fmt: skip
    one_line_error(p, "was extracted with --max-hands 2, model h with --max-hands 1")
    assert "--max-hands 1 --force`" in p.stderr


def test_the_lite_models_second_look_finds_hands_the_full_model_misses():
    """right_2: a pointing hand cut off by the frame's edge; the full models alone find it
    in about a fifth of the frames."""
    from edgeaction.keypoints import extract
    from edgeaction.keypoints.features import found

    clip = EGO / "right/testvideo_right_2.mp4"
    if not clip.is_file():
        pytest.skip(f"EgoGestAR development clips not found at {EGO} (../shared beside the repo)")
    share = {}
    for look in (-1, 0):
        with extract.HandsExtractor(max_hands=1, second_look=look) as ex:
            share[look] = found(extract.extract_video(clip, "hands", ex), "hands").mean()
    assert share[-1] < 0.4 and share[0] > share[-1] + 0.2, share


def test_the_time_warp_keeps_the_short_clip_policy(monkeypatch):
    """Training's random time warp samples a short clip as evaluate will: a looping
    model's augmented windows go back to the clip's start, a stretching one's never."""
    import edgeaction.keypoints.features as features
    from edgeaction.train.batches import keypoint_input

    n, t = 5, 16
    raw = np.zeros((n, 132), np.float32)
    raw[:, 63] = 1.0  # a hand in slot 0 of every frame, its wrist moving right
    raw[:, 0] = np.linspace(0.1, 0.9, n)
    windows = []
    monkeypatch.setattr(features, "compute", lambda name, w: windows.append(w) or w)
    for policy in ("stretch", "loop"):
        c = ModelContract(
            name="h", labels=("a", "b"), frames=t, height=8, width=8, modality="hands",
            pose_name="hands", short_clips=policy,
        )  # fmt: skip
        windows.clear()
        for seed in range(20):
            keypoint_input(c, [raw], policy, np.random.default_rng(seed))
        back = [bool((np.diff(w[0, :, 0]) < 0).any()) for w in windows]
        assert len(back) == 20 and all(back) == (policy == "loop") and any(back) == all(back)
