"""Decoding data-set clips: one clip's frames (`decode_item`) and T-frame windows of many
(`load_clips`), what training, evaluation and export's parity check read.

Split from `datasets` (which finds and describes clips) so that module stays about
layouts; this one is about pixels. Never imports TensorFlow.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .datasets import _EPS, ClipItem, _segment
from .errors import EdgeActionError, fail
from .sampling import sample_indices
from .video.images import list_images, read_images
from .video.reader import VideoReader

log = logging.getLogger("edgeaction.datasets")


def decode_item(
    item: ClipItem, width: int | None, height: int | None, colour: str = "RGB"
) -> list[np.ndarray]:
    """Every frame of one clip (its segment, if any) as (H, W, 3) uint8 arrays.

    Decoded by GStreamer with the runtime reader's scale/convert chain; `width=height=None`
    keeps the source size. Fails with one line for a missing, unreadable or empty clip.
    """
    if item.kind == "frames":
        return read_images(list_images(item.path), width, height, colour)
    if item.kind != "video":
        fail(f"unknown clip kind {item.kind!r}; expected 'video' or 'frames'")
    with VideoReader(item.path, width, height, colour) as r:
        if item.start is None and item.end is None:
            return [f.image for f in r]
        start = item.start or 0.0
        end = math.inf if item.end is None else item.end
        out, t0, last = [], None, 0.0
        for f in r:
            t = f.pts
            if math.isnan(t):
                if not r.fps:
                    fail(
                        f"{r.name}: the stream has no timestamps or frame rate; cannot cut segments"
                    )
                t = f.index / r.fps
            t0 = t if t0 is None else t0
            last = t - t0
            if last >= end - _EPS:
                break
            if last >= start - _EPS:
                out.append(f.image)
    if not out:
        fail(
            f"{item.path.name}: the segment {_segment(item)} s holds no frames; "
            f"the clip's last frame is at {last:.2f} s"
        )
    return out


def _load_item(
    item: ClipItem, frames: int, height: int, width: int, colour: str, policy: str
) -> tuple[np.ndarray, int]:
    if item.kind == "frames":  # decode only the sampled images
        files = list_images(item.path)
        idx = sample_indices(len(files), frames, policy)
        wanted = sorted(set(idx.tolist()))
        decoded = read_images([files[i] for i in wanted], width, height, colour)
        imgs = dict(zip(wanted, decoded, strict=True))
        return np.stack([imgs[i] for i in idx]), len(files)
    imgs = decode_item(item, width, height, colour)
    idx = sample_indices(len(imgs), frames, policy)
    return np.stack([imgs[i] for i in idx]), len(imgs)


def load_clips(
    items: list[ClipItem],
    labels: tuple[str, ...],
    frames: int,
    height: int,
    width: int,
    colour: str = "RGB",
    policy: str = "stretch",
    progress: bool = True,
    desc: str = "decode",
    return_index: bool = False,
):
    """Decode clips to `(N, T, H, W, 3)` uint8 and label indices; skip and report bad ones.

    Each clip is sampled to `frames` frames uniformly (`sample_indices`; shorter clips
    follow `policy`). Frame folders decode only the sampled images.

    Returns:
        `(x, y, bad, lengths)`: `bad` lists `(path, reason)` of clips that could not be
        read, `lengths` the frame count of each good clip (its segment, for segments).
        With `return_index`, `(x, y, bad, lengths, keep)`: `keep` are the positions in
        `items` of the good clips, one per row of `x`.
    """
    from tqdm.auto import tqdm

    index = {lab: i for i, lab in enumerate(labels)}
    xs, ys, bad, lengths, keep = [], [], [], [], []
    for k, it in enumerate(tqdm(items, desc=desc, unit="clip", disable=not progress, leave=False)):
        try:
            clip, n = _load_item(it, frames, height, width, colour, policy)
        except EdgeActionError as e:
            log.warning("skipping unreadable clip %s: %s", it.describe(), e)
            bad.append((str(it.path), str(e)))
            continue
        xs.append(clip)
        ys.append(index[it.label])
        lengths.append(n)
        keep.append(k)
    x = np.stack(xs) if xs else np.zeros((0, frames, height, width, 3), np.uint8)
    y = np.asarray(ys, np.int64)
    return (x, y, bad, lengths, keep) if return_index else (x, y, bad, lengths)


__all__ = ["decode_item", "load_clips"]
