"""Keypoints as a modality: MediaPipe Pose and Hands landmarks, cached, windowed, featurised.

- `features`: raw per-frame layouts per kind (`pose`, `hands`, `pose+hands`) and the named
  feature sets a contract records (numpy only; what train, evaluate, export and the
  runtime share).
- `extractors`: the MediaPipe extractors (Pose, Hands, both), one raw vector per frame.
- `extract`: per-video and per-data-set extraction, the npz cache `edgeaction keypoints`
  writes and training reads (it re-exports the extractors).
- `inputs`: the keypoint input of one data-set clip (cache or on the fly).

Importing this package loads neither MediaPipe nor OpenCV.
"""

from .extract import (
    Extractor,
    check_cache,
    check_kind,
    extract_dataset,
    extract_video,
    extractor,
    extractor_for,
    load_cached,
    load_window,
    preload,
    sample_keypoints,
)
from .features import DEFAULT_FEATURES, FEATURE_SETS, KINDS, RAW_DIMS, compute, kind_of
from .inputs import keypoint_input

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURE_SETS",
    "KINDS",
    "RAW_DIMS",
    "Extractor",
    "check_cache",
    "check_kind",
    "compute",
    "extract_dataset",
    "extract_video",
    "extractor",
    "extractor_for",
    "keypoint_input",
    "kind_of",
    "load_cached",
    "load_window",
    "preload",
    "sample_keypoints",
]
