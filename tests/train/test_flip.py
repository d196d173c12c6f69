"""Label-aware flips and class weights (no TensorFlow needed).

A horizontal flip must never change a clip's meaning silently: it is off by default, and
with `--flip-pairs`/`--flip-safe` only the declared classes are ever flipped.
"""

import json

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.keypoints.features import mirror
from edgeaction.synth import ACTIONS, flip_options, mirror_map
from edgeaction.train.trainer import (
    TrainConfig,
    augment_batch,
    class_weights,
    flip_plan,
    parse_flip_pairs,
    parse_labels,
)
from tests.conftest import cli
from tests.conftest import one_line_error as _one_line_error


def flip_pose(p):
    return mirror(p, "pose")


LABELS = ("circle_ccw", "left", "right", "tick", "wave")


def test_flip_pose_mirrors_x_and_swaps_sides():
    k = np.zeros((1, 2, 33, 4), np.float32)
    k[0, 0, 11] = (0.2, 0.5, 0.1, 0.9)  # left shoulder
    k[0, 0, 12] = (0.6, 0.5, 0.1, 0.8)  # right shoulder
    out = flip_pose(k.reshape(1, 2, 132)).reshape(1, 2, 33, 4)
    assert np.allclose(out[0, 0, 12], (0.8, 0.5, 0.1, 0.9))  # old left is the new right
    assert np.allclose(out[0, 0, 11], (0.4, 0.5, 0.1, 0.8))
    assert not out[0, 1].any()  # a frame without a person stays zeros
    assert np.allclose(flip_pose(flip_pose(k.reshape(1, 2, 132))), k.reshape(1, 2, 132))


def test_flip_pose_of_an_empty_batch():
    assert flip_pose(np.zeros((0, 4, 132), np.float32)).shape == (0, 4, 132)


def _clips(n=64, seed=0):
    """Grey clips (a channel permutation is then a no-op) with a left/right asymmetry."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2, 4, 6, 3), np.uint8)
    x[:, :, :, :3] = rng.integers(0, 40, (n, 2, 4, 3, 1))  # dark on the left
    x[:, :, :, 3:] = rng.integers(200, 255, (n, 2, 4, 3, 1))  # bright on the right
    y = np.arange(n) % len(LABELS)
    return x, y


def _mirrored(xb, x):
    """Per clip: was it mirrored? (inverting, the other augmentation, is undone first)."""
    out = []
    for a, b in zip(xb, x, strict=True):
        same = np.array_equal(a, b) or np.array_equal(a, 255 - b)
        mirror = b[:, :, ::-1]
        flipped = np.array_equal(a, mirror) or np.array_equal(a, 255 - mirror)
        assert same != flipped, "neither the clip nor its mirror"
        out.append(flipped)
    return np.array(out)


def test_flip_is_off_by_default():
    assert TrainConfig(data=".", out=".").flip_pairs == () == TrainConfig(".", ".").flip_safe
    assert flip_plan(LABELS) is None
    x, y = _clips()
    rng = np.random.default_rng(1)
    for _ in range(5):  # several batches: none holds a mirrored clip, labels untouched
        xb, _, yb = augment_batch(rng, x.copy(), None, y.copy(), None)
        assert not _mirrored(xb, x).any() and np.array_equal(yb, y)


def test_flip_pairs_swap_labels_and_unsafe_classes_never_flip():
    plan = flip_plan(LABELS, parse_flip_pairs("left:right"), parse_labels("wave"))
    perm, ok = plan
    assert perm.tolist() == [0, 2, 1, 3, 4] and ok.tolist() == [False, True, True, False, True]
    x, y = _clips(200)
    pose = np.zeros((200, 2, 132), np.float32)
    pose[..., 0] = 0.25  # nose x; seen
    pose[..., 3] = 1.0
    xb, pb, yb = augment_batch(np.random.default_rng(2), x.copy(), pose.copy(), y.copy(), plan)
    m = _mirrored(xb, x)
    names = np.array(LABELS)
    assert m.sum() > 20  # about half of the flippable clips
    assert not m[np.isin(names[y], ["circle_ccw", "tick"])].any()  # never flipped
    assert (names[yb][m & (names[y] == "left")] == "right").all()
    assert (names[yb][m & (names[y] == "right")] == "left").all()
    assert (names[yb][m & (names[y] == "wave")] == "wave").all()
    assert np.array_equal(yb[~m], y[~m])
    assert np.allclose(pb[m, :, 0], 0.75) and np.allclose(pb[~m, :, 0], 0.25)  # pose follows


def test_flip_map_errors_are_one_line():
    with pytest.raises(EdgeActionError, match="not in the data set: nope, up"):
        flip_plan(LABELS, (("left", "nope"),), ("up",))
    with pytest.raises(EdgeActionError, match="named twice"):
        flip_plan(LABELS, (("left", "right"),), ("left",))
    with pytest.raises(EdgeActionError, match="LABEL:LABEL pairs"):
        parse_flip_pairs("left:right,tick")
    assert parse_flip_pairs(" a:b , c:d,") == (("a", "b"), ("c", "d"))


def test_synthetic_actions_declare_their_mirror_map():
    pairs, safe = mirror_map(ACTIONS)
    assert pairs == (("swipe_left", "swipe_right"),)
    assert set(safe) | {"swipe_left", "swipe_right"} == set(ACTIONS)
    assert mirror_map(ACTIONS[:6]) == ((), ("walk", "run", "jump", "wave", "squat"))
    assert flip_options(ACTIONS[:3]) == ["--flip-safe", "walk,run,jump"]
    plan = flip_plan(ACTIONS, *mirror_map(ACTIONS))  # the old behaviour on synth data
    assert plan[1].all() and plan[0].tolist() == [0, 1, 2, 3, 4, 6, 5]


def test_class_weights_only_when_imbalanced():
    assert class_weights(np.repeat([0, 1, 2], [10, 10, 15]), 3) is None  # 1.5x: balanced
    w = class_weights(np.repeat([0, 1, 2], [10, 10, 40]), 3)
    assert w == {0: 2.0, 1: 2.0, 2: 0.5}
    assert class_weights(np.repeat([0, 1], [5, 50]), 2, "none") is None


@pytest.mark.slow
def test_cli_flip_options_and_class_weight(synth_data, tmp_path):
    p = cli("train", synth_data, "--flip-pairs", "jump:hop", "--out", tmp_path / "a", check=False)
    _one_line_error(p, "not in the data set: hop")
    assert not (tmp_path / "a").exists()
    p = cli(
        "train", synth_data, "--no-flip", "--flip-safe", "walk", "--out", tmp_path / "b",
        check=False,
    )  # fmt: skip
    _one_line_error(p, "--no-flip contradicts")
    run = tmp_path / "c"
    cli(
        "train", synth_data, "--frames", 2, "--size", 32, "--epochs", 1, "--batch", 8,
        "--flip-safe", "walk,run", "--out", run,
    )  # fmt: skip
    m = json.loads((run / "report" / "metrics.json").read_text())
    assert m["flip"] == {"pairs": [], "safe": ["walk", "run"], "never_flipped": ["jump"]}
    assert m["config"]["flip_safe"] == ["walk", "run"]
    assert m["class_weight"]["mode"] == "auto" and m["class_weight"]["weights"] is None
    assert sum(m["class_weight"]["train_counts"].values()) == m["clips"]["train"]


def test_no_flip_is_still_accepted():
    from edgeaction.cli import build_parser

    a = build_parser().parse_args(["train", "data", "--no-flip", "--out", "run"])
    assert a.no_flip and a.flip_pairs is None and a.flip_safe is None
    assert a.class_weight == "auto"
