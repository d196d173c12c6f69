"""What a keypoint model reads: raw landmark layouts per kind, and named feature sets.

Numpy only (no MediaPipe, no TensorFlow): the trainer, `evaluate`, export's parity check
and the live runtime all turn raw landmarks into model input through `compute()` here,
with the feature set named in the model contract (`keypoint_features`), so training
and serving cannot skew.

Raw landmarks, one flat float32 vector per frame (`RAW_DIMS[kind]` values):

`pose` (132)
    33 MediaPipe Pose landmarks × (x, y, z, visibility); x, y in 0..1 of the frame.
    All zeros when no person is found.
`hands` (132)
    2 hand slots × (21 landmarks × (x, y, z), present, right, score): slot k is the k-th
    hand MediaPipe Hands reports; `present` is 1 for a hand and 0 for an empty slot (whose
    landmarks are zeros and must not be read as a hand in the corner), `right` is 1 for
    a hand MediaPipe calls right, `score` its handedness confidence.
`pose+hands` (264)
    `pose` then `hands`.

Feature sets (`FEATURE_SETS`), each a function of a window of T raw vectors:

`pose-xyzv` (132)
    The raw pose landmarks as they are (what `seed-b` and `pose-lstm` read).
`hands-v1` (see `HANDS_V1_PARTS`)
    One tracked hand per window (the one present most; when both are, the one nearest
    the previous frame's fingertip). The frames where it was seen are resampled to T
    equal steps (gaps closed up: a lost frame is neither a jump nor a pause). Per step:
    the share of the window's frames with the hand (the same in every step); the index
    fingertip in frame coordinates; the fingertip trajectory centred on its window mean
    and divided by its spread (so a gesture drawn small or large, left or right in the
    frame reads alike); its velocity; the log of the spread (how large it was drawn);
    the hand's shape (21 landmarks relative to the wrist, divided by the wrist →
    middle-knuckle length); the other hand's presence and position relative to the
    tracked fingertip. A window with no hand reads share 0 and a still hand at the
    centre.
`pose+hands-v1`
    `pose-xyzv` then `hands-v1`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import fail

KINDS = ("pose", "hands", "pose+hands")
POSE_LANDMARKS = 33
POSE_CHANNELS = 4  # x, y, z, visibility
HAND_LANDMARKS = 21
HAND_SLOTS = 2
HAND_SLOT = HAND_LANDMARKS * 3 + 3  # landmarks x, y, z, then present, right, score
RAW_DIMS = {
    "pose": POSE_LANDMARKS * POSE_CHANNELS,
    "hands": HAND_SLOTS * HAND_SLOT,
    "pose+hands": POSE_LANDMARKS * POSE_CHANNELS + HAND_SLOTS * HAND_SLOT,
}
#: Left/right pose landmark pairs (MediaPipe Pose numbering), swapped by a mirror.
POSE_MIRROR = np.array(
    [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21]
    + [24, 23, 26, 25, 28, 27, 30, 29, 32, 31]
)
WRIST, INDEX_TIP, MIDDLE_MCP = 0, 8, 9

#: hands-v1 per-frame parts and their widths, in order.
HANDS_V1_PARTS = (
    ("seen", 1),
    ("tip", 2),
    ("trajectory", 2),
    ("velocity", 2),
    ("spread", 1),
    ("shape", HAND_LANDMARKS * 2),
    ("other", 3),
)


def kind_of(modality: str) -> str | None:
    """The keypoint kind a contract modality reads (`"rgb+hands"` → `"hands"`), or None."""
    kind = modality.removeprefix("rgb+")
    return kind if kind in KINDS else None


def split_raw(raw: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """Views of raw vectors `(..., RAW_DIMS[kind])` by part: `pose` `(..., 33, 4)`,
    `hands` `(..., 2, 21, 3)` and `hands_meta` `(..., 2, 3)` (present, right, score)."""
    a = np.asarray(raw, np.float32)
    if a.shape[-1] != RAW_DIMS[kind]:
        fail(
            f"{kind} keypoints have {RAW_DIMS[kind]} values per frame. "
            f"Received: {list(a.shape)}; extract them with `edgeaction keypoints --kind {kind}`"
        )
    out, at = {}, 0
    if kind in ("pose", "pose+hands"):
        n = RAW_DIMS["pose"]
        out["pose"] = a[..., :n].reshape(*a.shape[:-1], POSE_LANDMARKS, POSE_CHANNELS)
        at = n
    if kind in ("hands", "pose+hands"):
        h = a[..., at:].reshape(*a.shape[:-1], HAND_SLOTS, HAND_SLOT)
        out["hands"] = h[..., : HAND_LANDMARKS * 3].reshape(
            *a.shape[:-1], HAND_SLOTS, HAND_LANDMARKS, 3
        )
        out["hands_meta"] = h[..., HAND_LANDMARKS * 3 :]
    return out


def found(raw: np.ndarray, kind: str) -> np.ndarray:
    """Boolean per frame of raw vectors `(n, D)`: whether a person / any hand was found."""
    parts = split_raw(raw, kind)
    seen = np.zeros(np.asarray(raw).shape[:-1], bool)
    if "pose" in parts:
        seen |= np.any(parts["pose"] != 0, axis=(-1, -2))
    if "hands" in parts:
        seen |= np.any(parts["hands_meta"][..., 0] > 0.5, axis=-1)
    return seen


# ---- feature sets -----------------------------------------------------------------------------
def _pose_xyzv(raw: np.ndarray) -> np.ndarray:
    return np.asarray(raw, np.float32)[..., : RAW_DIMS["pose"]]


def _track(hands: np.ndarray, meta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One hand through a window: `(T, 21, 3)` landmarks, presence `(T,)`, and the slot.

    Starts from the slot present in most frames (ties: the higher handedness score);
    when both slots hold a hand, follows the one whose fingertip is nearest the last one.
    """
    present = meta[..., 0] > 0.5  # (T, 2)
    t = len(hands)
    counts = present.sum(0) + 1e-3 * meta[..., 2].mean(0)
    prev_slot = int(np.argmax(counts))
    slot = np.full(t, -1, np.int64)
    prev_tip = None
    for i in range(t):
        here = np.flatnonzero(present[i])
        if len(here) == 0:
            continue
        if len(here) == 1:
            k = int(here[0])
        elif prev_tip is None:
            k = prev_slot
        else:
            d = np.linalg.norm(hands[i, here, INDEX_TIP, :2] - prev_tip, axis=-1)
            k = int(here[np.argmin(d)])
        slot[i], prev_tip = k, hands[i, k, INDEX_TIP, :2]
    seen = slot >= 0
    track = np.zeros((t, HAND_LANDMARKS, 3), np.float32)
    track[seen] = hands[np.flatnonzero(seen), slot[seen]]
    return track, seen, slot


def _seen_frames(seen: np.ndarray) -> np.ndarray:
    """T frame indices over the frames where the hand was seen (equal steps through them),
    or every frame when it was seen in fewer than two."""
    t, idx = len(seen), np.flatnonzero(seen)
    if len(idx) < 2:
        return np.arange(t)
    return idx[np.minimum(((np.arange(t) + 0.5) * len(idx) / t).astype(np.int64), len(idx) - 1)]


def _hands_v1(raw: np.ndarray) -> np.ndarray:
    parts = split_raw(raw, "hands")
    hands, meta = parts["hands"], parts["hands_meta"]
    track, seen, slot = _track(hands, meta)
    t = len(track)
    seen_share = np.full((t, 1), seen.mean() if t else 0.0, np.float32)
    # the gesture is what the hand did while it was seen: gaps are closed up, so a lost
    # frame is neither a jump nor a pause (a window with < 2 seen frames keeps its frames)
    sel = _seen_frames(seen)  # every frame when it was seen in fewer than two
    track, slot = track[sel], slot[sel]
    if not seen.any():
        track = np.full_like(track, 0.5)
    elif seen.sum() == 1:
        track = np.repeat(track[seen], t, axis=0)
    tip = track[:, INDEX_TIP, :2]
    centre = tip.mean(0)
    spread = float(tip.std(0).max())
    trajectory = (tip - centre) / max(spread, 0.02)
    velocity = np.diff(trajectory, axis=0, prepend=trajectory[:1])
    size = np.linalg.norm(track[:, MIDDLE_MCP, :2] - track[:, WRIST, :2], axis=-1)
    shape = (track[:, :, :2] - track[:, WRIST : WRIST + 1, :2]) / np.maximum(size, 1e-3)[
        :, None, None
    ]
    # the other slot: present, and its wrist relative to the tracked fingertip
    other_slot = np.where(slot >= 0, 1 - slot, 1 - int(np.argmax(meta[..., 0].sum(0))))
    other_here = meta[sel, other_slot, 0] > 0.5
    other_pos = np.where(other_here[:, None], hands[sel, other_slot, WRIST, :2] - tip, 0.0)
    out = np.concatenate(
        [
            seen_share,
            tip,
            trajectory,
            4.0 * velocity,  # about unit scale at the gesture speeds seen
            np.full((t, 1), np.log(max(spread, 0.005) / 0.1), np.float32),
            0.5 * shape.reshape(t, -1),
            other_here[:, None].astype(np.float32),
            other_pos,
        ],
        axis=1,
    )
    return out.astype(np.float32)


def _pose_hands_v1(raw: np.ndarray) -> np.ndarray:
    a = np.asarray(raw, np.float32)
    n = RAW_DIMS["pose"]
    return np.concatenate([_pose_xyzv(a[..., :n]), _hands_v1(a[..., n:])], axis=-1)


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned map from a window of raw keypoints to model input.

    Args:
        name: String. Recorded in the contract as `keypoint_features`.
        kind: String. The raw keypoint kind it reads (`KINDS`).
        dims: Integer. Values per frame it produces.
        fn: Callable `(T, RAW_DIMS[kind]) -> (T, dims)` float32.
    """

    name: str
    kind: str
    dims: int
    fn: Callable[[np.ndarray], np.ndarray]


_HANDS_V1_DIMS = sum(w for _, w in HANDS_V1_PARTS)
FEATURE_SETS: dict[str, FeatureSet] = {
    fs.name: fs
    for fs in (
        FeatureSet("pose-xyzv", "pose", RAW_DIMS["pose"], _pose_xyzv),
        FeatureSet("hands-v1", "hands", _HANDS_V1_DIMS, _hands_v1),
        FeatureSet(
            "pose+hands-v1", "pose+hands", RAW_DIMS["pose"] + _HANDS_V1_DIMS, _pose_hands_v1
        ),
    )
}
#: The name of a new model's keypoint input, per kind (the contract's `pose_name`).
INPUT_NAMES = {"pose": "pose", "hands": "hands", "pose+hands": "keypoints"}
#: The feature set a new model of each kind reads.
DEFAULT_FEATURES = {"pose": "pose-xyzv", "hands": "hands-v1", "pose+hands": "pose+hands-v1"}


def feature_set(name: str) -> FeatureSet:
    """The `FeatureSet` called `name`; one line naming the known ones otherwise."""
    if name not in FEATURE_SETS:
        fail(f"unknown keypoint feature set {name!r}; this edgeaction knows {list(FEATURE_SETS)}")
    return FEATURE_SETS[name]


def compute(name: str, raw: np.ndarray) -> np.ndarray:
    """Model input of feature set `name` for raw windows.

    Args:
        name: String. A key of `FEATURE_SETS` (the contract's `keypoint_features`).
        raw: Float array `(T, D)` or `(N, T, D)`, D = `RAW_DIMS` of the set's kind.

    Returns:
        Float32 `(T, dims)` or `(N, T, dims)`.
    """
    fs = feature_set(name)
    a = np.asarray(raw, np.float32)
    if a.ndim not in (2, 3) or a.shape[-1] != RAW_DIMS[fs.kind]:
        fail(
            f"feature set {name} reads {fs.kind} keypoints, {RAW_DIMS[fs.kind]} values per "
            f"frame. Received: {list(a.shape)}; extract with `edgeaction keypoints --kind {fs.kind}`"
        )
    if a.ndim == 3:
        if not len(a):
            return np.zeros((0, a.shape[1], fs.dims), np.float32)
        return np.stack([fs.fn(w) for w in a])
    return fs.fn(a)


# ---- seeded random inputs (parity and float16 checks) -------------------------------------
def random_raw(kind: str, n: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded raw keypoint windows `(n, frames, RAW_DIMS[kind])` float32 shaped like MediaPipe's.

    Pose: uniform 0..1 (x, y, z, visibility). Hands: per window and slot a hand whose
    21 landmarks sit around a centre that moves across the frame (x, y in 0..1, z
    small), present in most frames of slot 0 and some of slot 1 (absent slots zeros, as
    extraction writes them), with a handedness flag and score; about one window in 8
    has no hand at all. For parity checks on inputs a real feature set sees.

    Args:
        kind: String. `"pose"`, `"hands"` or `"pose+hands"`.
        n: Integer. Windows.
        frames: Integer. T, frames per window.
        rng: numpy Generator.
    """
    if kind not in KINDS:
        fail(f"keypoint kind must be one of {', '.join(KINDS)}. Received: {kind!r}")
    parts = []
    if kind in ("pose", "pose+hands"):
        parts.append(rng.uniform(0.0, 1.0, (n, frames, RAW_DIMS["pose"])))
    if kind in ("hands", "pose+hands"):
        u = np.linspace(0.0, 1.0, frames)[None, :, None, None]
        a, b = rng.uniform(0.2, 0.8, (2, n, 1, HAND_SLOTS, 2))
        centre = a + (b - a) * u + rng.normal(0.0, 0.01, (n, frames, HAND_SLOTS, 2))
        shape = rng.uniform(-0.08, 0.08, (n, 1, HAND_SLOTS, HAND_LANDMARKS, 2))
        jitter = rng.normal(0.0, 0.003, (n, frames, HAND_SLOTS, HAND_LANDMARKS, 2))
        xy = centre[..., None, :] + shape + jitter
        z = rng.uniform(-0.1, 0.1, (n, frames, HAND_SLOTS, HAND_LANDMARKS, 1))
        xyz = np.concatenate([np.clip(xy, 0.0, 1.0), z], -1).reshape(n, frames, HAND_SLOTS, -1)
        present = rng.random((n, frames, HAND_SLOTS)) < np.array([0.9, 0.3])
        present &= rng.random((n, 1, 1)) >= 0.125
        right = rng.integers(0, 2, (n, 1, HAND_SLOTS)).astype(np.float64)
        score = rng.uniform(0.5, 1.0, (n, 1, HAND_SLOTS))
        h = np.zeros((n, frames, HAND_SLOTS, HAND_SLOT))
        h[..., : HAND_LANDMARKS * 3] = xyz * present[..., None]
        h[..., HAND_LANDMARKS * 3] = present
        h[..., HAND_LANDMARKS * 3 + 1] = right * present
        h[..., HAND_LANDMARKS * 3 + 2] = score * present
        parts.append(h.reshape(n, frames, -1))
    return np.concatenate(parts, -1).astype(np.float32)


def random_input(contract, n: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded keypoint input `(n, T, D)` float32 for a keypoint model's checks.

    The `pose-xyzv` feature set (raw pose landmarks as they are) gets uniform 0..1 values
    of the contract's shape, as before; other feature sets get `random_raw` of
    their kind through `keypoints.compute`, so the values are those the model sees.
    """
    if contract.keypoint_features == "pose-xyzv":
        return rng.random((n, *contract.keypoint_shape()[1:]), dtype=np.float32)
    raw = random_raw(contract.keypoint_kind, n, contract.frames, rng)
    return compute(contract.keypoint_features, raw)


# ---- augmentation (training only) ---------------------------------------------------------
def augment(raw: np.ndarray, kind: str, rng: np.random.Generator, strength: float = 1.0):
    """A random small similarity transform of raw keypoints about the frame centre.

    Rotation up to ±15°, scale 0.85–1.15 and a shift up to ±8 % of the frame (times
    `strength`), the same for every frame of the window; z scales with x and y. Absent
    landmarks (zeros, empty hand slots) stay as they are.

    Args:
        raw: Float array `(T, RAW_DIMS[kind])`.
        kind: String. One of `KINDS`.
        rng: numpy Generator.
        strength: Float. Multiplies every range. Defaults to `1.0`.
    """
    a = np.array(raw, np.float32, copy=True)
    ang = np.deg2rad(rng.uniform(-15, 15) * strength)
    s = 1.0 + rng.uniform(-0.15, 0.15) * strength
    shift = rng.uniform(-0.08, 0.08, 2) * strength
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32) * s

    def move(xyz: np.ndarray, keep: np.ndarray) -> None:
        xy = (xyz[..., :2] - 0.5) @ rot.T + 0.5 + shift
        xyz[..., :2] = np.where(keep[..., None], xy, xyz[..., :2])
        xyz[..., 2] = np.where(keep, xyz[..., 2] * s, xyz[..., 2])

    parts = split_raw(a, kind)  # views into `a`
    if "pose" in parts:
        p = parts["pose"]
        move(p[..., :3], np.any(p != 0, axis=-1))
    if "hands" in parts:
        present = parts["hands_meta"][..., 0] > 0.5
        move(parts["hands"], np.broadcast_to(present[..., None], parts["hands"].shape[:-1]))
    return a


def time_warp_indices(n: int, t: int, rng: np.random.Generator, strength: float = 1.0):
    """T frame indices into a clip of `n` frames, sampled like `sample_indices` but with a
    random crop (up to 8 % off each end) and a smooth random speed change (training only)."""
    u = (np.arange(t) + 0.5) / t
    u = np.clip(u + rng.uniform(-0.3, 0.3) * strength * u * (1 - u), 0.0, 1.0)
    a = rng.uniform(0, 0.08) * strength
    b = 1.0 - rng.uniform(0, 0.08) * strength
    return np.minimum((n * (a + (b - a) * u)).astype(np.int64), max(n - 1, 0))


def mirror(raw: np.ndarray, kind: str) -> np.ndarray:
    """Raw keypoints as a horizontally mirrored video would give them.

    x → 1 − x for every seen landmark, pose left/right landmarks swap, and each hand's
    `right` flag flips.
    """
    a = np.array(raw, np.float32, copy=True)
    parts = split_raw(a, kind)
    if "pose" in parts:
        p = parts["pose"]
        seen = p[..., 3] > 0
        p[..., 0] = np.where(seen, 1.0 - p[..., 0], 0.0)
        p[...] = p[..., POSE_MIRROR, :]
    if "hands" in parts:
        present = parts["hands_meta"][..., 0] > 0.5
        h = parts["hands"]
        h[..., 0] = np.where(present[..., None], 1.0 - h[..., 0], 0.0)
        m = parts["hands_meta"]
        m[..., 1] = np.where(present, 1.0 - m[..., 1], 0.0)
    return a
