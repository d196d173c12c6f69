"""Pose keypoints: MediaPipe Pose landmarks per frame, extracted once and cached.

Pose models (`modality` `"pose"` or `"rgb+pose"` in the contract) read, per frame, the
33 MediaPipe Pose landmarks as x, y (0..1 of the frame width and height), z (depth,
about the scale of x) and visibility (0..1). A frame without a person is all zeros.

Training reads keypoints from a cache that `edgeaction pose-extract` writes (only numpy
is needed to read it); the runtime extracts them live with `PoseExtractor`. Both sample
the same T entries as the frames (`video.reader.sample_indices`), so one clip gives
`(T, 33 * 4)` float32 keypoints beside `(T, H, W, 3)` frames.

```python
with PoseExtractor() as pose:
    kp = pose(rgb)                          # (33, 4) float32
kp = extract_video("clip.mp4")              # (n, 33, 4), n = frames the reader decodes
extract_dataset("data/", "pose-cache/")     # pose-cache/<clip key>.npz + index.json
x = load_pose("pose-cache/", item, root, frames=8)   # (8, 132) float32
```

Importing this module loads neither MediaPipe nor OpenCV. MediaPipe 0.10.21 is needed
to extract (extra `pose`; installed with `pip install --no-deps mediapipe==0.10.21`, see
scripts/setup.sh): later releases ship no pose models.

Import order: GStreamer links libunwind, whose `_Unwind_Resume` would serve C++
libraries loaded after it, and the first C++ exception one of them throws segfaults
(MediaPipe's import throws one inside matplotlib's ft2font). `_lazy.gst()` puts
libgcc_s' unwinder first, so MediaPipe may be imported after GStreamer; the extraction
functions still open the extractor (import MediaPipe) before they decode, and a process
that wants the import cost up front calls `preload()`. MediaPipe would also import
TensorFlow when it is installed (for doc decorators only); it is imported here with
TensorFlow hidden, so extracting never loads TF.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ._lazy import native_stderr_hidden
from .errors import EdgeActionError, fail, first_line
from .video.reader import sample_indices

log = logging.getLogger("edgeaction.pose")

KEYPOINTS = 33  # MediaPipe Pose landmarks
CHANNELS = 4  # x, y, z, visibility (contract.POSE_CHANNELS)
MODEL_COMPLEXITY = 1  # the only MediaPipe Pose model 0.10.21 ships (0 and 2 download)
MAX_WIDTH = 640  # larger frames are scaled down (aspect kept) before pose extraction
CACHE_VERSION = 1
INDEX_FILE = "index.json"


# ---- MediaPipe ------------------------------------------------------------------------------
def _mediapipe():
    """Import MediaPipe (one line naming the fix when it is missing), without TensorFlow."""
    if sys.modules.get("mediapipe") is not None:
        return sys.modules["mediapipe"]
    from ._lazy import require

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
            f"mediapipe {getattr(mp, '__version__', '?')} has no pose solution (releases after "
            "0.10.21 ship no models); install `pip install --no-deps mediapipe==0.10.21` "
            "(bash scripts/setup.sh does)"
        )
    return mp


def preload() -> str:
    """Import MediaPipe now (about 0.5 s) and return its version.

    For a process that decodes video and extracts pose live: pay the import up front,
    before the pipeline starts, rather than at the first frame.
    """
    return str(getattr(_mediapipe(), "__version__", "unknown"))


class PoseExtractor:
    """MediaPipe Pose on RGB frames: 33 landmarks (x, y, z, visibility) per frame.

    Tracking runs across consecutive frames (`static_image_mode=False`), so feed the
    frames of one video in order and call `reset()` before the next video.

    ```python
    with PoseExtractor() as pose:
        kp = pose(rgb)                      # (33, 4) float32; zeros without a person
        kps = pose.extract_frames(frames)   # (n, 33, 4) float32
    ```

    Args:
        min_detection_confidence: Float. Person detection threshold. Defaults to `0.5`.
        min_tracking_confidence: Float. Below this the person is detected again.
            Defaults to `0.5`.
    """

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.model_complexity = MODEL_COMPLEXITY
        self.version = "unknown"
        self._pose = None
        self._fresh = True  # hide native output until the landmark model has run
        self._used = False  # frames processed since the graph (re)started

    def open(self) -> PoseExtractor:
        if self._pose is not None:
            return self
        mp = _mediapipe()
        self.version = str(getattr(mp, "__version__", "unknown"))
        try:
            with native_stderr_hidden():
                self._pose = mp.solutions.pose.Pose(
                    static_image_mode=False,
                    model_complexity=self.model_complexity,
                    min_detection_confidence=self.min_detection_confidence,
                    min_tracking_confidence=self.min_tracking_confidence,
                )
                self._settle()
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError/OSError
            self.close()
            fail(
                f"cannot start MediaPipe Pose (model_complexity={self.model_complexity}): "
                f"{first_line(e)}; it needs mediapipe==0.10.21, which ships the model offline"
            )
        return self

    def _settle(self) -> None:
        """Run one black frame, so the graph's threads have started (and printed) now."""
        self._pose.process(np.zeros((64, 64, 3), np.uint8))
        self._fresh, self._used = True, False

    def close(self) -> None:
        if self._pose is not None:
            with contextlib.suppress(Exception):
                self._pose.close()
            self._pose = None

    def reset(self) -> None:
        """Forget the tracked person (call between videos)."""
        if self._pose is not None and self._used:
            with native_stderr_hidden():
                self._pose.reset()
                self._settle()

    def __enter__(self) -> PoseExtractor:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Landmarks of the most prominent person in one RGB frame, `(33, 4)` float32.

        Args:
            rgb: uint8 array (H, W, 3), RGB.

        Returns:
            x, y (0..1 of the width and height; a little outside when a joint is off the
            frame), z and visibility per landmark; all zeros when nobody is found.
        """
        if self._pose is None:
            self.open()
        a = np.asarray(rgb)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or min(a.shape[:2]) < 1:
            fail(
                f"pose extraction needs an RGB uint8 frame (H, W, 3). "
                f"Received: {a.dtype} {list(a.shape)}"
            )
        a = np.ascontiguousarray(a)
        self._used = True
        try:
            if self._fresh:  # the landmark model starts (and prints) at the first person
                with native_stderr_hidden():
                    res = self._pose.process(a)
                self._fresh = res.pose_landmarks is None
            else:
                res = self._pose.process(a)
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError
            fail(f"MediaPipe Pose failed on a {a.shape[1]}x{a.shape[0]} frame: {first_line(e)}")
        out = np.zeros((KEYPOINTS, CHANNELS), np.float32)
        if res.pose_landmarks is not None:
            lm = res.pose_landmarks.landmark
            out[:] = [(p.x, p.y, p.z, p.visibility) for p in lm[:KEYPOINTS]]
        return out

    def extract_frames(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """Landmarks of consecutive RGB frames of one video, `(n, 33, 4)` float32."""
        kps = [self(f) for f in frames]
        if not kps:
            return np.zeros((0, KEYPOINTS, CHANNELS), np.float32)
        return np.stack(kps)


# ---- videos ---------------------------------------------------------------------------------
def _capped_size(size, max_width: int | None) -> tuple[int, int] | None:
    """`(w, h)` scaled to at most `max_width` wide (aspect kept), or None to keep it."""
    if not size or not max_width or size[0] <= max_width:
        return None
    w, h = int(size[0]), int(size[1])
    return int(max_width), max(2, 2 * round(h * max_width / w / 2))


def _is_item(src) -> bool:
    return hasattr(src, "key") and hasattr(src, "label") and hasattr(src, "path")


def _decode(src, max_width: int | None) -> tuple[Iterable[np.ndarray], tuple[int, int] | None]:
    """Frames of a video path or data-set item at the source size (capped), and that size.

    A whole video streams through `VideoReader`, the reader `datasets.decode_item` uses,
    so a long clip is never held in memory; a segment (start/end) or a frame folder goes
    through `datasets.decode_item` itself. Frame folders keep their images' size.
    """
    from .video.reader import VideoReader, check_video_path, probe_file

    segment = _is_item(src) and (src.start is not None or src.end is not None)
    if _is_item(src) and (segment or getattr(src, "kind", "video") != "video"):
        from . import datasets

        size = _capped_size(probe_file(src.path)["size"], max_width) if segment else None
        frames = datasets.decode_item(src, *(size or (None, None)))
        if not size and frames:
            size = (int(frames[0].shape[1]), int(frames[0].shape[0]))
        return frames, size
    path = check_video_path(src.path if _is_item(src) else src)
    source = probe_file(path)["size"]
    size = _capped_size(source, max_width)
    reader = VideoReader(path, *(size or (None, None)), "RGB")
    return (f.image for f in reader), size or (tuple(source) if source else None)


def _extract(
    src, extractor: PoseExtractor, max_width: int | None
) -> tuple[np.ndarray, tuple[int, int] | None]:
    extractor.open()  # import MediaPipe before GStreamer starts (see the module notes)
    extractor.reset()
    frames, size = _decode(src, max_width)
    kp = extractor.extract_frames(frames)
    if len(kp) == 0:
        fail(f"{_name(src)}: the clip holds no video frames")
    return kp, size


def _name(src) -> str:
    if _is_item(src):
        return src.describe() if hasattr(src, "describe") else str(src.path)
    return str(src)


def extract_video(
    src, extractor: PoseExtractor | None = None, max_width: int | None = MAX_WIDTH
) -> np.ndarray:
    """Pose keypoints of every frame of a video, `(n, 33, 4)` float32.

    Frames are decoded with the project's reader, as `datasets.decode_item` decodes a
    data-set item (its segment, if any), so `n` is the frame count training decodes for
    that clip; at the source size scaled to at most `max_width` pixels wide.

    Args:
        src: Path of a video file, or a `datasets.ClipItem`.
        extractor: `PoseExtractor` to reuse (it is reset first), or None for a new one.
        max_width: Integer or None. Scale wider frames down to this width, aspect kept
            (None: source size). Defaults to `640`.
    """
    if extractor is not None:
        return _extract(src, extractor, max_width)[0]
    with PoseExtractor() as ex:
        return _extract(src, ex, max_width)[0]


def person_frames(keypoints: np.ndarray) -> np.ndarray:
    """Boolean per frame of `(n, 33, 4)` keypoints: whether a person was found."""
    kp = np.asarray(keypoints)
    return np.any(kp != 0, axis=(1, 2)) if len(kp) else np.zeros(0, bool)


# ---- cache ----------------------------------------------------------------------------------
def _cache_path(cache_dir: str | os.PathLike, item, root) -> tuple[str, Path]:
    key = item.key(Path(root))
    return key, Path(cache_dir) / f"{key}.npz"


def _source_stat(path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return int(st.st_size), int(st.st_mtime_ns)


def _span(item) -> np.ndarray:
    s, e = getattr(item, "start", None), getattr(item, "end", None)
    return np.array([np.nan if s is None else s, np.nan if e is None else e], np.float64)


def _read_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _stale_reason(meta: dict, item, stat: tuple[int, int] | None) -> str | None:
    """Why a cache entry does not belong to this clip as it is now, or None."""
    kp = meta.get("keypoints")
    if kp is None or kp.ndim != 3 or kp.shape[1:] != (KEYPOINTS, CHANNELS) or not len(kp):
        return "it holds no keypoints"
    if int(meta.get("version", -1)) != CACHE_VERSION:
        return "it was written by another edgeaction version"
    if int(meta.get("model_complexity", -1)) != MODEL_COMPLEXITY:
        return "it was extracted with another MediaPipe model"
    if not np.array_equal(meta.get("span", _span(item)), _span(item), equal_nan=True):
        return "it covers another part of the video"
    if stat is not None and (
        int(meta.get("source_size", -1)) != stat[0]
        or int(meta.get("source_mtime_ns", -1)) != stat[1]
    ):
        return "the video changed after extraction"
    return None


def load_cached(cache_dir: str | os.PathLike, item, root: str | os.PathLike) -> np.ndarray:
    """The cached keypoints of a data-set clip, `(n, 33, 4)` float32 (numpy only).

    A cache entry whose video changed (size or mtime) since extraction is refused; when
    the video is gone the cache alone is used (pose-only training from a cache).
    """
    key, p = _cache_path(cache_dir, item, root)
    fix = f"run `edgeaction pose-extract {root} --out {cache_dir}`"
    if not p.is_file():
        fail(f"no cached pose keypoints for {key} (no {p}); {fix} first")
    try:
        meta = _read_npz(p)
    except (OSError, ValueError, EOFError) as e:
        fail(f"cached pose keypoints for {key} are unreadable ({first_line(e)}); {fix} --force")
    why = _stale_reason(meta, item, _source_stat(item.path))
    if why:
        fail(f"cached pose keypoints for {key} are out of date ({why}); {fix} again")
    return meta["keypoints"].astype(np.float32, copy=False)


def sample_pose(keypoints: np.ndarray, frames: int, policy: str = "loop") -> np.ndarray:
    """Sample `frames` entries of `(n, 33, 4)` keypoints like the frames: `(T, 132)` float32.

    The indices are `video.reader.sample_indices(n, frames, policy)`, the ones a clip of
    `n` decoded frames is sampled at, so frames and keypoints stay aligned.
    """
    kp = np.asarray(keypoints, np.float32)
    if kp.ndim != 3 or kp.shape[2] != CHANNELS:
        fail(f"pose keypoints must be (n, keypoints, {CHANNELS}). Received: {list(kp.shape)}")
    idx = sample_indices(len(kp), frames, policy)
    return np.ascontiguousarray(kp[idx].reshape(len(idx), -1))


def load_pose(
    cache_dir: str | os.PathLike,
    item,
    root: str | os.PathLike,
    frames: int,
    policy: str = "loop",
    expect_frames: int | None = None,
) -> np.ndarray:
    """Cached keypoints of one clip sampled to `frames`: `(T, 33 * 4)` float32.

    Args:
        cache_dir: Directory `edgeaction pose-extract` wrote.
        item: The clip (`datasets.ClipItem`).
        root: Root of its data set (the key of the cache entry is `item.key(root)`).
        frames: Integer. T, entries to sample.
        policy: String. Short-clip policy of `sample_indices`. Defaults to `"loop"`.
        expect_frames: Integer or None. The clip's decoded frame count, when the caller
            decoded it: a cache entry of another length is refused.
    """
    kp = load_cached(cache_dir, item, root)
    if expect_frames is not None and len(kp) != int(expect_frames):
        key = item.key(Path(root))
        fail(
            f"cached pose keypoints for {key} cover {len(kp)} frames, the clip decodes to "
            f"{expect_frames}; run `edgeaction pose-extract {root} --out {cache_dir} --force`"
        )
    return sample_pose(kp, frames, policy)


def load_poses(
    cache_dir: str | os.PathLike,
    items: list,
    root: str | os.PathLike,
    frames: int,
    policy: str = "loop",
) -> np.ndarray:
    """`load_pose` for several clips: `(N, T, 33 * 4)` float32."""
    out = [load_pose(cache_dir, it, root, frames, policy) for it in items]
    if not out:
        return np.zeros((0, frames, KEYPOINTS * CHANNELS), np.float32)
    return np.stack(out)


def _write_entry(path: Path, kp: np.ndarray, item, stat, size, version: str) -> None:
    from .fsutil import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            keypoints=kp.astype(np.float32),
            version=np.int64(CACHE_VERSION),
            source=np.str_(str(item.path)),
            source_size=np.int64(stat[0]),
            source_mtime_ns=np.int64(stat[1]),
            span=_span(item),
            frames=np.int64(len(kp)),
            image_size=np.array(size or (0, 0), np.int64),
            label=np.str_(str(item.label)),
            mediapipe_version=np.str_(version),
            model_complexity=np.int64(MODEL_COMPLEXITY),
        )


def extract_dataset(
    data: str | os.PathLike,
    out: str | os.PathLike,
    layout: str | None = None,
    progress: bool = True,
    force: bool = False,
    max_width: int | None = MAX_WIDTH,
    allow_outside_root: bool = False,
) -> dict:
    """Extract and cache the pose keypoints of every clip of a data set.

    Writes `out/<item.key(root)>.npz` per clip (`keypoints` (n, 33, 4) float32 plus the
    source path, size, mtime, frame count, MediaPipe version and model complexity), each
    atomically, and `out/index.json`. Clips whose entry is up to date (same source size
    and mtime) are skipped unless `force`; unreadable clips are skipped with a warning.

    Args:
        data: Data set root (any layout `datasets.discover` knows).
        out: Cache directory.
        layout: String or None. Data-set layout; None detects it.
        progress: Boolean. Show a progress bar over clips. Defaults to `True`.
        force: Boolean. Extract again even when the cache is up to date.
        max_width: Integer or None. Scale wider frames to this width. Defaults to `640`.
        allow_outside_root: Boolean. Read clips that resolve outside the data set root
            (see `datasets.discover`). Defaults to `False`.

    Returns:
        Summary dict: clips, extracted, cached, bad (list of (path, reason)), frames,
        frames_with_person, person_rate, seconds, fps (frames extracted per second of
        decoding + pose), out, index.
    """
    from .datasets import discover
    from .fsutil import atomic_write_text, check_writable_dir

    t0 = time.monotonic()
    ds = discover(data, layout=layout, allow_outside_root=allow_outside_root)
    cache = check_writable_dir(out, "pose cache directory")
    run = _Run()
    with native_stderr_hidden() as stderr:
        run.extract(ds, cache, progress, force, max_width, stderr)
    for path, reason in run.bad:
        log.warning("skipped unreadable clip %s: %s", path, reason)
    entries, bad = run.entries, run.bad
    if not entries and bad:
        fail(f"none of the {len(bad)} clips of {data} could be read; first: {bad[0][1]}")
    index = {
        "version": CACHE_VERSION,
        "data": str(ds.root),
        "layout": getattr(ds, "layout", None),
        "keypoints": KEYPOINTS,
        "channels": ["x", "y", "z", "visibility"],
        "model_complexity": MODEL_COMPLEXITY,
        "clips": entries,
        "bad": [{"path": p, "reason": r} for p, r in bad],
    }
    index_path = cache / INDEX_FILE
    atomic_write_text(index_path, json.dumps(index, indent=1) + "\n")
    return {
        "clips": len(ds.items),
        "extracted": run.extracted,
        "cached": run.cached,
        "bad": bad,
        "frames": run.frames,
        "frames_with_person": run.frames_person,
        "person_rate": run.frames_person / run.frames if run.frames else 0.0,
        "seconds": time.monotonic() - t0,
        "fps": run.frames_new / run.extract_s if run.extract_s > 0 else None,
        "out": str(cache),
        "index": str(index_path),
    }


class _Run:
    """The clip loop of `extract_dataset` and its counts."""

    def __init__(self):
        self.entries: dict[str, dict] = {}
        self.bad: list[tuple[str, str]] = []
        self.extracted = self.cached = self.frames = self.frames_person = self.frames_new = 0
        self.extract_s = 0.0

    def extract(self, ds, cache: Path, progress: bool, force: bool, max_width, stderr) -> None:
        from tqdm.auto import tqdm

        extractor = PoseExtractor()
        bar = tqdm(
            ds.items, desc="pose", unit="clip", disable=not progress, leave=False, file=stderr
        )
        try:
            for item in bar:
                kp = self._one(item, ds.root, cache, force, max_width, extractor)
                if kp is not None and self.extract_s > 0:
                    bar.set_postfix(fps=f"{self.frames_new / self.extract_s:.0f}")
        finally:
            bar.close()
            extractor.close()

    def _one(self, item, root: Path, cache: Path, force: bool, max_width, extractor):
        key, path = _cache_path(cache, item, root)
        stat = _source_stat(item.path)
        if stat is None:
            self.bad.append((str(item.path), "cannot stat the file"))
            return None
        kp = None if force else _fresh_keypoints(path, item, stat)
        if kp is not None:
            self.cached += 1
        else:
            t = time.monotonic()
            extractor.open()  # a missing or unusable MediaPipe stops the run (not per clip)
            try:
                kp, size = _extract(item, extractor, max_width)
            except EdgeActionError as e:
                self.bad.append((str(item.path), str(e)))
                return None
            _write_entry(path, kp, item, stat, size, extractor.version)
            self.extract_s += time.monotonic() - t
            self.extracted += 1
            self.frames_new += len(kp)
        n_person = int(person_frames(kp).sum())
        self.frames += len(kp)
        self.frames_person += n_person
        self.entries[key] = {
            "file": path.relative_to(cache).as_posix(),
            "source": str(item.path),
            "label": item.label,
            "split": getattr(item, "split", None),
            "frames": int(len(kp)),
            "frames_with_person": n_person,
        }
        return kp


def _fresh_keypoints(path: Path, item, stat) -> np.ndarray | None:
    """The keypoints of an up-to-date cache entry, or None (missing, stale, unreadable)."""
    if not path.is_file():
        return None
    try:
        meta = _read_npz(path)
    except (OSError, ValueError, EOFError):
        return None
    return meta["keypoints"] if _stale_reason(meta, item, stat) is None else None
