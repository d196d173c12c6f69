"""Find labelled clips on disk and decode them for training.

Layout handled here: class folders (UCF101 / UCF11 / Kinetics style,
`root/<label>/*.mp4|avi|...`), with an optional `root/manifest.csv`
(`path,label,split`) that fixes the split (what `edgeaction synth` writes). Without a
manifest the split is stratified and reproducible by seed.

Clips are decoded with the runtime's reader (`edgeaction.video`) and sampled to T frames
uniformly; unreadable clips are skipped with a warning and counted.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import EdgeActionError, fail
from ..video.reader import _VIDEO_EXTS, read_clip

log = logging.getLogger("edgeaction.train")

SPLITS = ("train", "val", "test")


@dataclass
class ClipItem:
    path: Path
    label: str
    split: str | None = None


@dataclass
class Dataset:
    """Clips of one data set, their labels and split."""

    root: Path
    labels: tuple[str, ...]
    items: list[ClipItem]
    bad: list[tuple[str, str]] = field(default_factory=list)

    def split(self, name: str) -> list[ClipItem]:
        return [it for it in self.items if it.split == name]


def discover(root: str | os.PathLike, seed: int = 0, fractions=(0.7, 0.15, 0.15)) -> Dataset:
    """Find the clips of a class-folder data set and assign a train/val/test split.

    Args:
        root: Directory with one sub-folder per label.
        seed: Integer. Seed of the stratified split when no manifest gives one.
        fractions: Tuple of 3 floats. Train/val/test shares. Defaults to 70/15/15.
    """
    r = Path(root)
    if not r.exists():
        fail(f"data set not found: {r}; check the path")
    if not r.is_dir():
        fail(
            f"data set {r} is not a directory; give the folder that holds one sub-folder per label"
        )
    manifest = r / "manifest.csv"
    if manifest.exists():
        items = _read_split_manifest(r, manifest)
    else:
        items = []
        for d in sorted(p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(d.iterdir()):
                if f.suffix.lower() in _VIDEO_EXTS and f.is_file() and not f.name.startswith("."):
                    items.append(ClipItem(f, d.name))
    if not items:
        fail(
            f"no clips found in {r}: expected <label>/<clip>.mp4 sub-folders "
            f"(extensions {', '.join(sorted(_VIDEO_EXTS))})"
        )
    labels = tuple(sorted({it.label for it in items}))
    if len(labels) < 2:
        fail(f"{r} holds clips of only one label ({labels[0]}); a classifier needs at least 2")
    if any(it.split is None for it in items):
        _stratified_split(items, labels, seed, fractions)
    return Dataset(r, labels, items)


def _read_split_manifest(root: Path, manifest: Path) -> list[ClipItem]:
    items = []
    with open(manifest, newline="") as f:
        rows = csv.DictReader(f)
        if not rows.fieldnames or not {"path", "label"} <= set(rows.fieldnames):
            fail(f"{manifest} needs a header with path,label[,split]")
        for n, row in enumerate(rows, start=2):
            rel, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
            split = (row.get("split") or "").strip() or None
            if not rel or not label:
                fail(f"{manifest} line {n}: empty path or label")
            if split is not None and split not in SPLITS:
                fail(f"{manifest} line {n}: split must be one of {SPLITS}. Received: {split!r}")
            p = (root / rel).resolve()
            if root.resolve() not in p.parents:
                fail(f"{manifest} line {n}: {rel} points outside the data set root {root}")
            items.append(ClipItem(p, label, split))
    return items


def _stratified_split(items: list[ClipItem], labels, seed: int, fractions) -> None:
    rng = np.random.default_rng(seed)
    for label in labels:
        group = [it for it in items if it.label == label and it.split is None]
        order = rng.permutation(len(group))
        n = len(group)
        n_val = int(round(n * fractions[1])) if n >= 3 else 0
        n_test = int(round(n * fractions[2])) if n >= 3 else 0
        n_val, n_test = max(n_val, 1 if n >= 3 else 0), max(n_test, 1 if n >= 3 else 0)
        for rank, i in enumerate(order):
            group[i].split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"


def load_clips(
    items: list[ClipItem],
    labels: tuple[str, ...],
    frames: int,
    height: int,
    width: int,
    colour: str = "RGB",
    policy: str = "loop",
    progress: bool = True,
    desc: str = "decode",
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]], list[int]]:
    """Decode clips to `(N, T, H, W, 3)` uint8 and label indices; skip and report bad ones.

    Returns:
        `(x, y, bad, lengths)`: `bad` lists `(path, reason)` of clips that could not be
        read, `lengths` the decoded frame count of each good clip.
    """
    from tqdm.auto import tqdm

    index = {lab: i for i, lab in enumerate(labels)}
    xs, ys, bad, lengths = [], [], [], []
    for it in tqdm(items, desc=desc, unit="clip", disable=not progress, leave=False):
        try:
            clip, n = read_clip(it.path, frames, width, height, colour, policy, return_length=True)
            xs.append(clip)
            ys.append(index[it.label])
            lengths.append(n)
        except EdgeActionError as e:
            log.warning("skipping unreadable clip %s: %s", it.path, e)
            bad.append((str(it.path), str(e)))
    x = np.stack(xs) if xs else np.zeros((0, frames, height, width, 3), np.uint8)
    return x, np.asarray(ys, np.int64), bad, lengths
