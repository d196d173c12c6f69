"""The keypoint input of one data-set clip, from the cache or extracted on the fly.

What evaluation and export's parity check feed a keypoint model for a clip: the same
windows and feature set training used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import fail
from .extract import extract_video, load_window, sample_keypoints
from .features import compute


def keypoint_input(
    item,
    root: Path,
    c,
    pose_dir=None,
    ex=None,
    length: int | None = None,
    policy: str = "stretch",
) -> np.ndarray:
    """The keypoint input `(T, D)` float32 of one data-set clip for contract `c`.

    Raw keypoints of the contract's kind come from the cache `pose_dir`, else are
    extracted from the clip with MediaPipe (`ex`, an open extractor of that kind, or a
    new one); the T entries at the frames' indices (`sample_indices`) go through the
    contract's feature set. A clip in which no hand / person is found still gets an
    input (the feature set encodes absence).

    Args:
        item: The clip (`datasets.ClipItem`).
        root: Root of its data set (the cache key is `item.key(root)`).
        c: `ModelContract` of a keypoint model.
        pose_dir: Path or None. Keypoint cache of the data set.
        ex: `keypoints.Extractor` or None. Reused when extracting (reset per clip).
        length: Integer or None. Frames the clip decodes to, when its frames were
            decoded: keypoints of another length are refused (they would not align).
        policy: String. Short-clip policy of `sample_indices`. Defaults to `"stretch"`.
    """
    kind = c.keypoint_kind
    if pose_dir is not None:
        raw = load_window(pose_dir, item, root, c.frames, kind, policy, length)
    else:
        every = extract_video(item, kind=kind, ex=ex)
        if length is not None and len(every) != int(length):
            fail(
                f"{item.describe()}: {len(every)} frames decoded for keypoints but {length} "
                "for the model's frames; keypoints and frames would not align"
            )
        raw = sample_keypoints(every, c.frames, policy)
    return compute(c.keypoint_features, raw)
