"""Keypoints per frame (MediaPipe Pose, MediaPipe Hands, or both), extracted once and cached.

Keypoint models (contract modality `pose`, `hands`, `pose+hands`, or `rgb+` one of
them) read, per frame, a flat raw vector whose layout `keypoints.features` defines
(`RAW_DIMS`); the contract's feature set turns a window of them into model input.

Training reads raw keypoints from a cache that `edgeaction keypoints DATA --kind KIND
--out DIR` writes (only numpy is needed to read it); the runtime and `evaluate` extract
them live with `extractor(kind)`. Both sample the same T entries as the frames
(`sampling.sample_indices`).

```python
with extractor("hands") as ex:
    raw = ex(rgb)                                   # (132,) float32
raw = extract_video("clip.mp4", kind="hands")       # (n, 132), n = frames the reader decodes
extract_dataset("data/", "kp-cache/", kind="hands") # kp-cache/<clip key>.npz + index.json
raw = load_cached("kp-cache/", item, root, kind="hands")   # (n, 132)
```

Importing this module loads neither MediaPipe nor OpenCV. MediaPipe 0.10.21 is needed
to extract (extra `pose`; installed with `pip install --no-deps mediapipe==0.10.21`, see
scripts/setup.sh): later releases ship no models. It runs Pose (`model_complexity=1`,
`pose_landmark_full`) and Hands (`model_complexity=1`, `hand_landmark_full` +
`palm_detection_full`) fully offline from the wheel.

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

import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .._lazy import native_stderr_hidden
from ..errors import EdgeActionError, fail, first_line
from ..sampling import sample_indices
from .extractors import (
    DETECTION_HANDS,
    EXTRACTORS,
    HANDS_FALLBACK,
    MODEL_COMPLEXITY,
    Extractor,
    HandsExtractor,
    PoseExtractor,
    PoseHandsExtractor,
    check_kind,
    extractor,
    extractor_for,
    preload,
)
from .features import (
    HAND_SLOTS,
    KINDS,
    RAW_DIMS,
    found,
)

log = logging.getLogger("edgeaction.keypoints")

MAX_WIDTH = 640  # larger frames are scaled down (aspect kept) before extraction
CACHE_VERSION = 2  # 2: flat raw vectors of a named kind (1: pose only, (n, 33, 4))
INDEX_FILE = "index.json"


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

    A whole video streams through `VideoReader`, the reader `clips.decode_item` uses,
    so a long clip is never held in memory; a segment (start/end) or a frame folder goes
    through `clips.decode_item` itself. Frame folders keep their images' size.
    """
    from ..video.reader import VideoReader, check_video_path, probe_file

    segment = _is_item(src) and (src.start is not None or src.end is not None)
    if _is_item(src) and (segment or getattr(src, "kind", "video") != "video"):
        from ..clips import decode_item

        size = _capped_size(probe_file(src.path)["size"], max_width) if segment else None
        frames = decode_item(src, *(size or (None, None)))
        if not size and frames:
            size = (int(frames[0].shape[1]), int(frames[0].shape[0]))
        return frames, size
    path = check_video_path(src.path if _is_item(src) else src)
    source = probe_file(path)["size"]
    size = _capped_size(source, max_width)
    reader = VideoReader(path, *(size or (None, None)), "RGB")
    return (f.image for f in reader), size or (tuple(source) if source else None)


def _extract(src, ex: Extractor, max_width: int | None) -> tuple[np.ndarray, tuple | None]:
    ex.open()  # import MediaPipe before GStreamer starts (see the module notes)
    ex.reset()
    frames, size = _decode(src, max_width)
    kp = ex.extract_frames(frames)
    if len(kp) == 0:
        fail(f"{_name(src)}: the clip holds no video frames")
    return kp, size


def _name(src) -> str:
    if _is_item(src):
        return src.describe() if hasattr(src, "describe") else str(src.path)
    return str(src)


def extract_video(
    src, kind: str = "pose", ex: Extractor | None = None, max_width: int | None = MAX_WIDTH
) -> np.ndarray:
    """Raw keypoints of every frame of a video, `(n, RAW_DIMS[kind])` float32.

    Frames are decoded with the project's reader, as `clips.decode_item` decodes a
    data-set item (its segment, if any), so `n` is the frame count training decodes for
    that clip; at the source size scaled to at most `max_width` pixels wide.

    Args:
        src: Path of a video file, or a `datasets.ClipItem`.
        kind: String. `"pose"`, `"hands"` or `"pose+hands"`. Defaults to `"pose"`.
        ex: An `Extractor` of that kind to reuse (it is reset first), or None for a new one.
        max_width: Integer or None. Scale wider frames down to this width, aspect kept
            (None: source size). Defaults to `640`.
    """
    if ex is not None:
        if ex.kind != kind:
            fail(f"extract_video(kind={kind!r}) was given a {ex.kind} extractor")
        return _extract(src, ex, max_width)[0]
    with extractor(kind) as new:
        return _extract(src, new, max_width)[0]


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


def _entry_kind(meta: dict) -> str | None:
    k = meta.get("kind")
    return str(k) if k is not None else ("pose" if "keypoints" in meta else None)


def _stale_reason(meta: dict, item, stat: tuple[int, int] | None, kind: str) -> str | None:
    """Why a cache entry does not belong to this clip as it is now, or None."""
    if int(meta.get("version", -1)) != CACHE_VERSION:
        return "it was written by another edgeaction version"
    kp = meta.get("keypoints")
    if kp is None or kp.ndim != 2 or kp.shape[1] != RAW_DIMS.get(_entry_kind(meta), -1):
        return "it holds no keypoints"
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


def _fix(root, cache_dir, kind: str, extra: str = "") -> str:
    return f"run `edgeaction keypoints {root} --kind {kind} --out {cache_dir}{extra}`"


def _index(cache_dir: str | os.PathLike) -> dict:
    try:
        d = json.loads((Path(cache_dir) / INDEX_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def cache_kind(cache_dir: str | os.PathLike) -> str | None:
    """The keypoint kind a cache directory holds (from its index.json), or None."""
    index = _index(cache_dir)
    k = index.get("kind", "pose") if index else None
    return k if k in KINDS else None


def cache_max_hands(cache_dir: str | os.PathLike) -> int:
    """The `--max-hands` a cache directory was extracted with (2 when it does not say)."""
    m = _index(cache_dir).get("max_hands", HAND_SLOTS)
    return m if m in range(1, HAND_SLOTS + 1) else HAND_SLOTS


def check_cache(
    cache_dir: str | os.PathLike,
    kind: str,
    data="DATA",
    who="the model",
    max_hands: int | None = None,
) -> Path:
    """Fail with one line unless `cache_dir` is a keypoint cache of `kind` (and, for hand
    kinds, extracted with `max_hands` when given)."""
    p = Path(cache_dir)
    if not p.is_dir():
        fail(f"keypoint cache {p} not found; {_fix(data, p, kind)}")
    have = cache_kind(p)
    if have is None and not any(p.glob("*.npz")):
        fail(f"keypoint cache {p} holds no keypoints; {_fix(data, p, kind)} first")
    if have is not None and have != kind:
        other = p.with_name(f"{p.name}-{kind.replace('+', '-')}")
        fail(
            f"keypoint cache {p} holds {have} keypoints, {who} reads {kind}; give its {kind} "
            f"cache, or make one: {_fix(data, other, kind)} (one directory per kind)"
        )
    have_hands = cache_max_hands(p)
    if max_hands is not None and "hands" in kind and have_hands != max_hands:
        fail(
            f"keypoint cache {p} was extracted with --max-hands {have_hands}, {who} with "
            f"--max-hands {max_hands}; {_fix(data, p, kind, f' --max-hands {max_hands} --force')}"
        )
    return p


def load_cached(
    cache_dir: str | os.PathLike, item, root: str | os.PathLike, kind: str = "pose"
) -> np.ndarray:
    """The cached raw keypoints of a data-set clip, `(n, RAW_DIMS[kind])` float32.

    A cache entry of another kind, or whose video changed (size or mtime) since
    extraction, is refused; when the video is gone the cache alone is used
    (keypoint-only training from a cache).
    """
    key, p = _cache_path(cache_dir, item, root)
    fix = _fix(root, cache_dir, kind)
    if not p.is_file():
        fail(f"no cached {kind} keypoints for {key} (no {p}); {fix} first")
    try:
        meta = _read_npz(p)
    except (OSError, ValueError, EOFError) as e:
        fail(
            f"cached keypoints for {key} are unreadable ({first_line(e)}); "
            f"{_fix(root, cache_dir, kind, ' --force')}"
        )
    have = _entry_kind(meta)
    if have != kind and int(meta.get("version", -1)) == CACHE_VERSION:
        fail(f"cached keypoints for {key} are {have} keypoints, {kind} are needed; {fix}")
    why = _stale_reason(meta, item, _source_stat(item.path), kind)
    if why:
        fail(f"cached keypoints for {key} are out of date ({why}); {fix} again")
    return meta["keypoints"].astype(np.float32, copy=False)


def sample_keypoints(raw: np.ndarray, frames: int, policy: str = "stretch") -> np.ndarray:
    """Sample `frames` entries of raw keypoints `(n, D)` like the frames: `(T, D)` float32.

    The indices are `sampling.sample_indices(n, frames, policy)`, the ones a clip of
    `n` decoded frames is sampled at, so frames and keypoints stay aligned.
    """
    kp = np.asarray(raw, np.float32)
    if kp.ndim != 2:
        fail(f"raw keypoints must be (n, values). Received: {list(kp.shape)}")
    idx = sample_indices(len(kp), frames, policy)
    return np.ascontiguousarray(kp[idx])


def load_window(
    cache_dir: str | os.PathLike,
    item,
    root: str | os.PathLike,
    frames: int,
    kind: str,
    policy: str = "stretch",
    expect_frames: int | None = None,
) -> np.ndarray:
    """Cached raw keypoints of one clip sampled to `frames`: `(T, RAW_DIMS[kind])` float32.

    Args:
        cache_dir: Directory `edgeaction keypoints` wrote.
        item: The clip (`datasets.ClipItem`).
        root: Root of its data set (the key of the cache entry is `item.key(root)`).
        frames: Integer. T, entries to sample.
        kind: String. Keypoint kind the model reads.
        policy: String. Short-clip policy of `sample_indices`. Defaults to `"stretch"`.
        expect_frames: Integer or None. The clip's decoded frame count, when the caller
            decoded it: a cache entry of another length is refused.
    """
    kp = load_cached(cache_dir, item, root, kind)
    if expect_frames is not None and len(kp) != int(expect_frames):
        key = item.key(Path(root))
        fail(
            f"cached keypoints for {key} cover {len(kp)} frames, the clip decodes to "
            f"{expect_frames}; {_fix(root, cache_dir, kind, ' --force')}"
        )
    return sample_keypoints(kp, frames, policy)


def _write_entry(
    path: Path,
    kp: np.ndarray,
    item,
    stat,
    size,
    version: str,
    kind: str,
    max_hands: int = HAND_SLOTS,
    detection: float = DETECTION_HANDS,
) -> None:
    """Write one cache entry atomically (`detection`: the palm detection threshold used)."""
    from ..fsutil import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            keypoints=kp.astype(np.float32),
            kind=np.str_(kind),
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
            max_hands=np.int64(max_hands),
            min_detection_confidence=np.float64(detection),
            hands_fallback=np.int64(HANDS_FALLBACK if "hands" in kind else -1),
        )


def extract_dataset(
    data: str | os.PathLike,
    out: str | os.PathLike,
    kind: str = "pose",
    layout: str | None = None,
    progress: bool = True,
    force: bool = False,
    max_width: int | None = MAX_WIDTH,
    allow_outside_root: bool = False,
    max_hands: int = HAND_SLOTS,
) -> dict:
    """Extract and cache the raw keypoints of every clip of a data set.

    Writes `out/<item.key(root)>.npz` per clip (`keypoints` (n, RAW_DIMS[kind]) float32,
    `kind`, plus the source path, size, mtime, frame count, MediaPipe version and model
    complexity), each atomically, and `out/index.json`. Clips whose entry is up to date
    (same kind, source size and mtime) are skipped unless `force`; unreadable clips are
    skipped with a warning. A directory holds one kind: extracting another kind into a
    cache of one is refused.

    Args:
        data: Data set root (any layout `datasets.discover` knows).
        out: Cache directory.
        kind: String. `"pose"`, `"hands"` or `"pose+hands"`. Defaults to `"pose"`.
        layout: String or None. Data-set layout; None detects it.
        progress: Boolean. Show a progress bar over clips. Defaults to `True`.
        force: Boolean. Extract again even when the cache is up to date.
        max_width: Integer or None. Scale wider frames to this width. Defaults to `640`.
        allow_outside_root: Boolean. Read clips that resolve outside the data set root
            (see `datasets.discover`). Defaults to `False`.
        max_hands: Integer, 1 or 2. Hands MediaPipe looks for (hand kinds; see
            `Extractor`). Entries extracted with another value are extracted again.
            Defaults to `2`.

    Returns:
        Summary dict: kind, clips, extracted, cached, bad (list of (path, reason)),
        frames, frames_found (with a person / a hand), found_rate, seconds, fps (frames
        extracted per second of decoding + extraction), out, index.
    """
    from ..datasets import discover
    from ..fsutil import check_writable_dir, keep

    check_kind(kind)
    t0 = time.monotonic()
    ds = discover(data, layout=layout, allow_outside_root=allow_outside_root)
    have = cache_kind(out) if Path(out).is_dir() else None
    if have is not None and have != kind:
        fail(
            f"{out} is a cache of {have} keypoints; give another --out for {kind} "
            "(one directory per kind)"
        )
    cache = check_writable_dir(out, "keypoint cache directory")
    keep(cache)  # entries extracted before a failure are valid: a rerun skips them
    run = _Run(kind, max_hands)
    with native_stderr_hidden() as stderr:
        run.extract(ds, cache, progress, force, max_width, stderr)
    for path, reason in run.bad:
        log.warning("skipped unreadable clip %s: %s", path, reason)
    entries, bad = run.entries, run.bad
    if not entries and bad:
        fail(f"none of the {len(bad)} clips of {data} could be read; first: {bad[0][1]}")
    index_path = _write_index(cache, ds, kind, max_hands, entries, bad)
    no_find = _warn_no_find(entries, kind)
    return {
        "kind": kind,
        "clips": len(ds.items),
        "extracted": run.extracted,
        "cached": run.cached,
        "bad": bad,
        "frames": run.frames,
        "frames_found": run.frames_found,
        "found_rate": run.frames_found / run.frames if run.frames else 0.0,
        "no_find_clips": no_find,
        "seconds": time.monotonic() - t0,
        "fps": run.frames_new / run.extract_s if run.extract_s > 0 else None,
        "out": str(cache),
        "index": str(index_path),
    }


def _write_index(cache: Path, ds, kind: str, max_hands: int, entries: dict, bad: list) -> Path:
    """Write `index.json` (the cache's kind, settings, clips and bad clips); its path."""
    from ..fsutil import atomic_write_text

    index = {
        "version": CACHE_VERSION,
        "kind": kind,
        "values_per_frame": RAW_DIMS[kind],
        "data": str(ds.root),
        "layout": getattr(ds, "layout", None),
        "model_complexity": MODEL_COMPLEXITY,
        "max_hands": max_hands,
        "clips": entries,
        "bad": [{"path": p, "reason": r} for p, r in bad],
    }
    index_path = cache / INDEX_FILE
    atomic_write_text(index_path, json.dumps(index, indent=1) + "\n")
    return index_path


def _warn_no_find(entries: dict, kind: str) -> list[str]:
    """The keys of clips with no person (hand) in any frame, logged as a warning."""
    no_find = [k for k, e in entries.items() if e["frames_found"] == 0]
    if no_find:
        what = "a person" if kind == "pose" else "a hand"
        log.warning(
            "%d clip(s) with %s in no frame (their windows read as absent): %s",
            len(no_find),
            what,
            ", ".join(no_find[:5]) + (" ..." if len(no_find) > 5 else ""),
        )
    return no_find


class _Run:
    """The clip loop of `extract_dataset` and its counts."""

    def __init__(self, kind: str, max_hands: int):
        self.kind, self.max_hands = kind, max_hands
        self.entries: dict[str, dict] = {}
        self.bad: list[tuple[str, str]] = []
        self.extracted = self.cached = self.frames = self.frames_found = self.frames_new = 0
        self.extract_s = 0.0

    def extract(self, ds, cache: Path, progress: bool, force: bool, max_width, stderr) -> None:
        from tqdm.auto import tqdm

        ex = extractor(self.kind, max_hands=self.max_hands)
        bar = tqdm(
            ds.items, desc=self.kind, unit="clip", disable=not progress, leave=False, file=stderr
        )
        try:
            for item in bar:
                kp = self._one(item, ds.root, cache, force, max_width, ex)
                if kp is not None and self.extract_s > 0:
                    bar.set_postfix(fps=f"{self.frames_new / self.extract_s:.0f}")
        finally:
            bar.close()
            ex.close()

    def _one(self, item, root: Path, cache: Path, force: bool, max_width, ex: Extractor):
        key, path = _cache_path(cache, item, root)
        stat = _source_stat(item.path)
        if stat is None:
            self.bad.append((str(item.path), "cannot stat the file"))
            return None
        kp = None if force else _fresh_keypoints(path, item, stat, self.kind, self.max_hands)
        if kp is not None:
            self.cached += 1
        else:
            t = time.monotonic()
            ex.open()  # a missing or unusable MediaPipe stops the run (not per clip)
            try:
                kp, size = _extract(item, ex, max_width)
            except EdgeActionError as e:
                self.bad.append((str(item.path), str(e)))
                return None
            _write_entry(
                path,
                kp,
                item,
                stat,
                size,
                ex.version,
                self.kind,
                self.max_hands,
                DETECTION_HANDS if "hands" in self.kind else ex.min_detection_confidence,
            )
            self.extract_s += time.monotonic() - t
            self.extracted += 1
            self.frames_new += len(kp)
        n_found = int(found(kp, self.kind).sum())
        self.frames += len(kp)
        self.frames_found += n_found
        self.entries[key] = {
            "file": path.relative_to(cache).as_posix(),
            "source": str(item.path),
            "label": item.label,
            "split": getattr(item, "split", None),
            "frames": int(len(kp)),
            "frames_found": n_found,
        }
        return kp


def _fresh_keypoints(path: Path, item, stat, kind: str, max_hands: int) -> np.ndarray | None:
    """The keypoints of an up-to-date cache entry of `kind`, or None (missing, stale, ...)."""
    if not path.is_file():
        return None
    try:
        meta = _read_npz(path)
    except (OSError, ValueError, EOFError):
        return None
    if _entry_kind(meta) != kind or _stale_reason(meta, item, stat, kind) is not None:
        return None
    if "hands" in kind and (
        int(meta.get("max_hands", HAND_SLOTS)) != max_hands
        or float(meta.get("min_detection_confidence", -1)) != DETECTION_HANDS
        or int(meta.get("hands_fallback", -1)) != HANDS_FALLBACK
    ):
        return None
    return meta["keypoints"]


__all__ = [
    "CACHE_VERSION",
    "DETECTION_HANDS",
    "EXTRACTORS",
    "HANDS_FALLBACK",
    "MAX_WIDTH",
    "MODEL_COMPLEXITY",
    "Extractor",
    "HandsExtractor",
    "PoseExtractor",
    "PoseHandsExtractor",
    "cache_kind",
    "cache_max_hands",
    "check_cache",
    "check_kind",
    "extract_dataset",
    "extract_video",
    "extractor",
    "extractor_for",
    "load_cached",
    "load_window",
    "preload",
    "sample_keypoints",
]
