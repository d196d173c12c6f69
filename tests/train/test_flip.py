"""Label-aware flips: pose keypoints mirror with the frames (no TensorFlow needed)."""

import numpy as np

from edgeaction.keypoints.features import mirror
from edgeaction.train.trainer import _flip_map


def flip_pose(p):
    return mirror(p, "pose")


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


def test_flip_map_swaps_mirrored_labels_only():
    labels = ("jump", "swipe_left", "swipe_right", "wave")
    assert _flip_map(labels).tolist() == [0, 2, 1, 3]
