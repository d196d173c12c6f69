"""Keypoint feature sets and augmentation: numpy only, no MediaPipe."""

from __future__ import annotations

import numpy as np
import pytest

from edgeaction.contract import ModelContract
from edgeaction.errors import EdgeActionError
from edgeaction.keypoints.features import (
    FEATURE_SETS,
    HAND_SLOT,
    HANDS_V1_PARTS,
    INDEX_TIP,
    RAW_DIMS,
    augment,
    compute,
    found,
    mirror,
    split_raw,
    time_warp_indices,
)

T = 24


def _hand(tips: np.ndarray, size: float = 0.1) -> np.ndarray:
    """21 landmarks per frame: the wrist `size` below the index fingertip, the other
    landmarks spread between them (so the hand has a shape and a size)."""
    t = len(tips)
    lm = np.zeros((t, 21, 3), np.float32)
    frac = np.linspace(1.0, 0.0, 21)[None, :, None]
    lm[..., :2] = tips[:, None, :] + frac * np.array([0.0, size], np.float32)
    lm[:, INDEX_TIP, :2] = tips
    lm[:, 9, :2] = tips + np.array([0.2 * size, 0.5 * size])  # middle knuckle
    lm[..., 2] = -0.01
    return lm


def _raw_hands(tips, present=None, second=None, size=0.1) -> np.ndarray:
    """Raw `hands` vectors: slot 0 from `tips` (where `present`), slot 1 from `second`."""
    t = len(tips)
    present = np.ones(t, bool) if present is None else present
    raw = np.zeros((t, 2, HAND_SLOT), np.float32)
    raw[:, 0, :63] = _hand(tips, size).reshape(t, -1)
    raw[:, 0, 63:] = (1.0, 1.0, 0.9)
    raw[~present, 0] = 0.0
    if second is not None:
        raw[:, 1, :63] = _hand(second, size).reshape(t, -1)
        raw[:, 1, 63:] = (1.0, 0.0, 0.8)
    return raw.reshape(t, -1)


def _circle(t=T, centre=(0.5, 0.5), r=0.15, turns=1.0):
    a = np.linspace(0, 2 * np.pi * turns, t)
    return np.stack([centre[0] + r * np.cos(a), centre[1] - r * np.sin(a)], 1).astype(np.float32)


def _part(x: np.ndarray, name: str) -> np.ndarray:
    at = 0
    for n, w in HANDS_V1_PARTS:
        if n == name:
            return x[..., at : at + w]
        at += w
    raise KeyError(name)


def test_layouts_and_dims():
    assert RAW_DIMS == {"pose": 132, "hands": 132, "pose+hands": 264}
    assert FEATURE_SETS["pose-xyzv"].dims == 132
    assert FEATURE_SETS["hands-v1"].dims == sum(w for _, w in HANDS_V1_PARTS)
    assert FEATURE_SETS["pose+hands-v1"].dims == 132 + FEATURE_SETS["hands-v1"].dims
    raw = _raw_hands(_circle())
    parts = split_raw(raw, "hands")
    assert parts["hands"].shape == (T, 2, 21, 3) and parts["hands_meta"].shape == (T, 2, 3)
    np.testing.assert_allclose(parts["hands"][:, 0, INDEX_TIP, :2], _circle())
    for name, fs in FEATURE_SETS.items():
        x = compute(name, np.zeros((3, T, RAW_DIMS[fs.kind]), np.float32))
        assert x.shape == (3, T, fs.dims) and x.dtype == np.float32, name
        assert np.isfinite(x).all(), name


def test_pose_xyzv_is_the_raw_pose():
    raw = np.random.default_rng(0).random((T, 132)).astype(np.float32)
    np.testing.assert_array_equal(compute("pose-xyzv", raw), raw)
    both = np.concatenate([raw, _raw_hands(_circle())], 1)
    x = compute("pose+hands-v1", both)
    np.testing.assert_array_equal(x[:, :132], raw)
    np.testing.assert_allclose(x[:, 132:], compute("hands-v1", both[:, 132:]))


def test_trajectory_ignores_where_and_how_large_a_gesture_is_drawn():
    a = compute("hands-v1", _raw_hands(_circle(centre=(0.3, 0.4), r=0.1)))
    b = compute("hands-v1", _raw_hands(_circle(centre=(0.7, 0.6), r=0.25)))
    np.testing.assert_allclose(_part(a, "trajectory"), _part(b, "trajectory"), atol=1e-5)
    np.testing.assert_allclose(_part(a, "velocity"), _part(b, "velocity"), atol=1e-5)
    assert not np.allclose(_part(a, "tip"), _part(b, "tip"))  # where it was drawn still shows
    # drawn the other way round: the velocities change sign
    c = compute("hands-v1", _raw_hands(_circle()[::-1]))
    d = compute("hands-v1", _raw_hands(_circle()))
    np.testing.assert_allclose(
        _part(c, "velocity")[1:], -_part(d, "velocity")[::-1][:-1], atol=1e-5
    )


def test_hand_shape_is_wrist_relative_and_scale_free():
    small = compute("hands-v1", _raw_hands(_circle(), size=0.05))
    large = compute("hands-v1", _raw_hands(_circle(), size=0.2))
    np.testing.assert_allclose(_part(small, "shape"), _part(large, "shape"), atol=1e-4)


def test_frames_without_a_hand_are_explicit():
    present = np.ones(T, bool)
    present[5:9] = False
    raw = _raw_hands(_circle(turns=0.9), present)
    assert found(raw, "hands").tolist() == present.tolist()
    x = compute("hands-v1", raw)
    np.testing.assert_allclose(_part(x, "seen"), 20 / 24)
    # the lost frames are closed up: every step is a seen frame, never a hand at (0, 0)
    tips, seen_tips = _part(x, "tip"), _circle(turns=0.9)[present]
    d = np.linalg.norm(tips[:, None] - seen_tips[None], axis=-1)
    assert d.min(1).max() < 1e-6 and (np.diff(d.argmin(1)) >= 0).all()  # in order
    # no hand at all: share 0, a still hand, finite values
    none = compute("hands-v1", np.zeros((T, 132), np.float32))
    assert not _part(none, "seen").any() and np.isfinite(none).all()
    assert not _part(none, "velocity").any()


def test_the_track_follows_the_drawing_hand_when_slots_swap():
    tips = _circle()
    still = np.tile(np.array([[0.9, 0.9]], np.float32), (T, 1))
    raw = _raw_hands(tips, second=still).reshape(T, 2, HAND_SLOT)
    raw[:2, 1] = 0.0  # the resting hand comes in late: the drawing hand is present most
    raw[12:] = raw[12:, ::-1].copy()  # MediaPipe reports the hands in the other order
    x = compute("hands-v1", raw.reshape(T, -1))
    np.testing.assert_allclose(_part(x, "tip"), tips, atol=1e-6)
    other = _part(x, "other")
    assert other[:2].tolist() == [[0, 0, 0]] * 2 and (other[2:, 0] == 1).all()
    np.testing.assert_allclose(other[2:, 1:], (still + [0.0, 0.1] - tips)[2:], atol=1e-5)


def test_augment_moves_only_what_is_there():
    rng = np.random.default_rng(0)
    present = np.ones(T, bool)
    present[:3] = False
    raw = _raw_hands(_circle(), present)
    out = augment(raw, "hands", rng)
    assert out.shape == raw.shape and not np.allclose(out, raw)
    np.testing.assert_array_equal(out[:3], 0)  # empty slots stay empty
    np.testing.assert_array_equal(
        split_raw(out, "hands")["hands_meta"], split_raw(raw, "hands")["hands_meta"]
    )
    # a similarity transform: distances along the path scale by one factor
    a, b = (
        split_raw(raw, "hands")["hands"][3:, 0, INDEX_TIP, :2],
        split_raw(out, "hands")["hands"][3:, 0, INDEX_TIP, :2],
    )
    ratio = np.linalg.norm(np.diff(b, axis=0), axis=1) / np.linalg.norm(np.diff(a, axis=0), axis=1)
    assert np.ptp(ratio) < 1e-3 and 0.85 <= ratio.mean() <= 1.15
    pose = np.zeros((T, 132), np.float32)
    np.testing.assert_array_equal(augment(pose, "pose", rng), pose)  # no person: zeros stay


def test_time_warp_indices_stay_in_the_clip_and_in_order():
    rng = np.random.default_rng(1)
    for n in (1, 5, 32, 300):
        for _ in range(20):
            idx = time_warp_indices(n, 32, rng)
            assert idx.shape == (32,) and idx.min() >= 0 and idx.max() <= n - 1
            assert (np.diff(idx) >= 0).all()


def test_mirror_is_its_own_inverse():
    raw = _raw_hands(_circle(centre=(0.3, 0.5)), second=_circle(centre=(0.7, 0.5)))
    m = mirror(raw, "hands")
    h, hm = split_raw(m, "hands")["hands"], split_raw(m, "hands")["hands_meta"]
    np.testing.assert_allclose(h[:, 0, INDEX_TIP, 0], 1 - _circle(centre=(0.3, 0.5))[:, 0])
    assert (hm[:, 0, 1] == 0).all() and (hm[:, 1, 1] == 1).all()  # right <-> left
    np.testing.assert_allclose(mirror(m, "hands"), raw, atol=1e-6)
    pose = np.random.default_rng(0).random((2, 132)).astype(np.float32)
    np.testing.assert_allclose(mirror(mirror(pose, "pose"), "pose"), pose, atol=1e-6)


def test_wrong_inputs_fail_with_one_line():
    with pytest.raises(EdgeActionError, match="reads hands keypoints, 132 values per frame"):
        compute("hands-v1", np.zeros((T, 264), np.float32))
    with pytest.raises(EdgeActionError, match="unknown keypoint feature set 'hands-v9'"):
        compute("hands-v9", np.zeros((T, 132), np.float32))
    kw = dict(name="m", labels=("a", "b"), frames=T, height=1, width=1)
    with pytest.raises(EdgeActionError, match="reads pose keypoints, modality hands reads hands"):
        ModelContract(**kw, modality="hands", keypoint_features="pose-xyzv")
    with pytest.raises(EdgeActionError, match="reads no keypoints"):
        ModelContract(**kw, keypoint_features="hands-v1")
    with pytest.raises(EdgeActionError, match="not a feature set this edgeaction knows"):
        ModelContract.from_dict({**kw, "modality": "hands", "keypoint_features": "hands-v9"})


def test_contract_records_the_feature_set():
    c = ModelContract(
        name="g", labels=("up", "down"), frames=T, height=1, width=1, modality="hands"
    )
    assert c.keypoint_kind == "hands" and c.keypoint_features == "hands-v1"
    assert c.keypoint_shape(2) == (2, T, FEATURE_SETS["hands-v1"].dims)
    assert not c.uses_frames and c.input_names == (c.pose_name,)
    assert ModelContract.from_json(c.to_json()) == c
    fused = ModelContract(
        name="g",
        labels=("up", "down"),
        frames=T,
        height=32,
        width=32,
        modality="rgb+hands",
        pose_name="hands",
    )
    assert fused.uses_frames and fused.input_names == ("frames", "hands")
