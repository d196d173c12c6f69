"""MediaPipe keypoint extractors: Pose, Hands, or both, one flat raw vector per frame.

`extractor(kind)` gives an unopened extractor of a keypoint kind (`keypoints.features`
defines the raw layouts, `RAW_DIMS`); `keypoints.extract` runs them over videos and data
sets. Importing this module loads neither MediaPipe nor OpenCV; see `keypoints.extract`
for the import order with GStreamer and why TensorFlow is hidden from MediaPipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable

import numpy as np

from .._lazy import native_stderr_hidden
from ..errors import EdgeActionError, fail, first_line
from .features import (
    HAND_LANDMARKS,
    HAND_SLOT,
    HAND_SLOTS,
    KINDS,
    POSE_LANDMARKS,
    RAW_DIMS,
)

MODEL_COMPLEXITY = 1  # the only Pose/Hands models 0.10.21 ships offline (0 and 2 download)
DETECTION_HANDS = 0.05  # palm detection threshold of HandsExtractor (see its notes)
HANDS_FALLBACK = 0  # model_complexity of HandsExtractor's second look (-1: none; see its notes)


def _mediapipe():
    """Import MediaPipe (one line naming the fix when it is missing), without TensorFlow."""
    if sys.modules.get("mediapipe") is not None:
        return sys.modules["mediapipe"]
    from .._lazy import require

    os.environ.setdefault("GLOG_minloglevel", "2")
    hide_tf = "tensorflow" not in sys.modules
    if hide_tf:  # mediapipe.tasks tries `from tensorflow.tools.docs import doc_controls`
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        with native_stderr_hidden():
            mp = require("mediapipe")
    finally:
        if hide_tf and "tensorflow" in sys.modules and sys.modules["tensorflow"] is None:
            del sys.modules["tensorflow"]
    if not hasattr(mp, "solutions"):
        fail(
            f"mediapipe {getattr(mp, '__version__', '?')} has no solutions API (releases after "
            "0.10.21 ship no models); install `pip install --no-deps mediapipe==0.10.21` "
            "(bash scripts/setup.sh does)"
        )
    return mp


def preload() -> str:
    """Import MediaPipe now (about 0.5 s) and return its version.

    For a process that decodes video and extracts keypoints live: pay the import up front,
    before the pipeline starts, rather than at the first frame.
    """
    return str(getattr(_mediapipe(), "__version__", "unknown"))


class Extractor:
    """MediaPipe on RGB frames, one flat raw keypoint vector per frame (`RAW_DIMS[kind]`).

    Tracking runs across consecutive frames (`static_image_mode=False`), so feed the
    frames of one video in order and call `reset()` before the next video.

    ```python
    with extractor("hands") as ex:
        raw = ex(rgb)                       # (132,) float32
        raws = ex.extract_frames(frames)    # (n, 132) float32
    ```

    Args:
        min_detection_confidence: Float. Person / palm detection threshold. Defaults to
            `0.5`.
        min_tracking_confidence: Float. Below this the person / hand is detected again.
            Defaults to `0.5`.
        max_hands: Integer, 1 or 2. Hands MediaPipe looks for (hand kinds only; the raw
            layout keeps 2 slots). With 2 and one hand in view, the palm detector runs on
            every frame looking for the second: about half the speed. Defaults to `2`.
    """

    kind = ""
    solution = ""

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        max_hands: int = HAND_SLOTS,
    ):
        for name, v in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
        ):
            if not 0.0 <= float(v) <= 1.0:
                fail(f"{name} must be in 0..1. Received: {v!r}")
        if max_hands not in range(1, HAND_SLOTS + 1) or isinstance(max_hands, bool):
            fail(f"max_hands must be 1 or {HAND_SLOTS}. Received: {max_hands!r}")
        self.max_hands = int(max_hands)
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.model_complexity = MODEL_COMPLEXITY
        self.version = "unknown"
        self.dims = RAW_DIMS[self.kind]
        self._graph = None
        self._fresh = True  # hide native output until the landmark model has run
        self._used = False  # frames processed since the graph (re)started

    def _make(self, mp):
        raise NotImplementedError

    def _fill(self, res, out: np.ndarray) -> bool:
        """Write a result into `out` (zeros); return whether anything was found."""
        raise NotImplementedError

    def _find(self, rgb: np.ndarray, out: np.ndarray) -> bool:
        """Run the graph on one frame and fill `out`; return whether anything was found."""
        return self._fill(self._graph.process(rgb), out)

    def open(self) -> Extractor:
        if self._graph is not None:
            return self
        mp = _mediapipe()
        self.version = str(getattr(mp, "__version__", "unknown"))
        try:
            with native_stderr_hidden():
                self._graph = self._make(mp)
                self._settle()
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError/OSError
            self.close()
            fail(
                f"cannot start MediaPipe {self.solution} (model_complexity="
                f"{self.model_complexity}): {first_line(e)}; it needs mediapipe==0.10.21, "
                "which ships the model offline"
            )
        return self

    def _settle(self) -> None:
        """Run one black frame, so the graph's threads have started (and printed) now."""
        self._graph.process(np.zeros((64, 64, 3), np.uint8))
        self._fresh, self._used = True, False

    def close(self) -> None:
        if self._graph is not None:
            with contextlib.suppress(Exception):
                self._graph.close()
            self._graph = None

    def reset(self) -> None:
        """Forget what is tracked (call between videos)."""
        if self._graph is not None and self._used:
            with native_stderr_hidden():
                self._graph.reset()
                self._settle()

    def __enter__(self) -> Extractor:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Raw keypoints of one RGB frame, `(RAW_DIMS[kind],)` float32.

        Args:
            rgb: uint8 array (H, W, 3), RGB.
        """
        if self._graph is None:
            self.open()
        a = np.asarray(rgb)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or min(a.shape[:2]) < 1:
            fail(
                f"keypoint extraction needs an RGB uint8 frame (H, W, 3). "
                f"Received: {a.dtype} {list(a.shape)}"
            )
        a = np.ascontiguousarray(a)
        self._used = True
        out = np.zeros(self.dims, np.float32)
        try:
            if self._fresh:  # the landmark model starts (and prints) at the first find
                with native_stderr_hidden():
                    self._fresh = not self._find(a, out)
            else:
                self._find(a, out)
        except EdgeActionError:
            raise
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError
            fail(
                f"MediaPipe {self.solution} failed on a {a.shape[1]}x{a.shape[0]} frame: "
                f"{first_line(e)}"
            )
        return out

    def extract_frames(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """Raw keypoints of consecutive RGB frames of one video, `(n, dims)` float32."""
        kps = [self(f) for f in frames]
        if not kps:
            return np.zeros((0, self.dims), np.float32)
        return np.stack(kps)


class PoseExtractor(Extractor):
    """MediaPipe Pose: 33 landmarks (x, y, z, visibility); zeros without a person."""

    kind, solution = "pose", "Pose"

    def _make(self, mp):
        return mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=self.model_complexity,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        )

    def _fill(self, res, out: np.ndarray) -> bool:
        if res.pose_landmarks is None:
            return False
        lm = res.pose_landmarks.landmark[:POSE_LANDMARKS]
        out[:] = np.asarray([(p.x, p.y, p.z, p.visibility) for p in lm], np.float32).reshape(-1)
        return True


class HandsExtractor(Extractor):
    """MediaPipe Hands: up to 2 hands of 21 landmarks (x, y, z) with presence, handedness
    and its score per slot; an empty slot is all zeros with presence 0.

    Palm detection defaults to a threshold of 0.05 rather than MediaPipe's 0.5
    (`DETECTION_HANDS`): on the real gesture footage (backs of pointing hands, busy
    red-and-white backgrounds, wrists cut off by the frame) 0.5 missed the hand in every
    frame of 7 of 163 clips and in < 20 % of the frames of 11; 0.05 leaves 2 such clips,
    finds a hand in 92.9 % of frames, and 5-fold CV rose from 85.9 % (0.5) and 88.9 % (0.2)
    to 92.0 %. The landmark model's own hand-presence check (`min_tracking_confidence`)
    still drops what is not a hand.

    A frame where the full models find no hand gets a second look by MediaPipe's lite
    palm and landmark models (`HANDS_FALLBACK`, model_complexity 0, also shipped offline),
    a second tracker fed only those frames. The two detectors fail on different frames:
    on the 11 real gesture clips with a hand in under 55 % of frames the second look
    raised that share from 0.35 to 0.63 on average (a dark hand on red-and-white cloth,
    a pointing hand cut off by the frame's edge); frames where the full model finds a
    hand (93 %) pay nothing.
    """

    kind, solution = "hands", "Hands"

    def __init__(
        self, min_detection_confidence: float = None, second_look: int = HANDS_FALLBACK, **kwargs
    ):
        if min_detection_confidence is None:
            min_detection_confidence = DETECTION_HANDS
        if second_look not in (-1, 0):
            fail(f"second_look must be -1 (none) or 0 (the lite models). Received: {second_look!r}")
        self._second, self.second_look = None, int(second_look)
        super().__init__(min_detection_confidence, **kwargs)

    def _hands(self, mp, complexity: int):
        return mp.solutions.hands.Hands(
            static_image_mode=False,
            max_num_hands=self.max_hands,
            model_complexity=complexity,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        )

    def _make(self, mp):
        graph = self._hands(mp, self.model_complexity)
        if self.second_look >= 0:
            self._second = self._hands(mp, self.second_look)
            self._second.process(np.zeros((64, 64, 3), np.uint8))
        return graph

    def _find(self, rgb: np.ndarray, out: np.ndarray) -> bool:
        if self._fill(self._graph.process(rgb), out):
            return True
        return self._second is not None and self._fill(self._second.process(rgb), out)

    def close(self) -> None:
        if self._second is not None:
            with contextlib.suppress(Exception):
                self._second.close()
            self._second = None
        super().close()

    def reset(self) -> None:
        if self._graph is not None and self._used and self._second is not None:
            with native_stderr_hidden():
                self._second.reset()
                self._second.process(np.zeros((64, 64, 3), np.uint8))
        super().reset()

    def _fill(self, res, out: np.ndarray) -> bool:
        hands = res.multi_hand_landmarks or []
        sides = res.multi_handedness or []
        slots = out.reshape(HAND_SLOTS, HAND_SLOT)
        for k, (lm, side) in enumerate(zip(hands[:HAND_SLOTS], sides, strict=False)):
            c = side.classification[0]
            xyz = np.asarray([(p.x, p.y, p.z) for p in lm.landmark[:HAND_LANDMARKS]], np.float32)
            slots[k, : HAND_LANDMARKS * 3] = xyz.reshape(-1)
            slots[k, HAND_LANDMARKS * 3 :] = (1.0, float(c.label == "Right"), float(c.score))
        return bool(hands)


class PoseHandsExtractor(Extractor):
    """Pose and Hands on the same frames: the `pose` vector, then the `hands` vector."""

    kind, solution = "pose+hands", "Pose and Hands"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._parts = (PoseExtractor(**kwargs), HandsExtractor(**kwargs))

    def open(self) -> PoseHandsExtractor:
        for p in self._parts:
            p.open()
        self.version = self._parts[0].version
        self._graph = self._parts
        return self

    def close(self) -> None:
        for p in getattr(self, "_parts", ()):
            p.close()
        self._graph = None

    def reset(self) -> None:
        for p in self._parts:
            p.reset()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if self._graph is None:
            self.open()
        return np.concatenate([p(rgb) for p in self._parts])


EXTRACTORS: dict[str, type[Extractor]] = {
    c.kind: c for c in (PoseExtractor, HandsExtractor, PoseHandsExtractor)
}


def check_kind(kind: str) -> str:
    """`kind` when it is one of `KINDS`, else one line naming them."""
    if kind not in KINDS:
        fail(f"keypoint kind must be one of {', '.join(KINDS)}. Received: {kind!r}")
    return kind


def extractor(kind: str, **kwargs) -> Extractor:
    """A new (unopened) extractor of keypoint `kind` (`"pose"`, `"hands"`, `"pose+hands"`)."""
    return EXTRACTORS[check_kind(kind)](**kwargs)


def extractor_for(contract) -> Extractor:
    """A new (unopened) extractor as the contract's model was trained with (kind, hands)."""
    return extractor(contract.keypoint_kind, max_hands=contract.max_hands)
