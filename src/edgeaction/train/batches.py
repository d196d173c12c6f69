"""Training data of `edgeaction train`: decoded splits, model feeds, augmented batches."""

from __future__ import annotations

import numpy as np

from .._lazy import require
from ..clips import load_clips
from ..contract import ModelContract
from ..keypoints.features import mirror
from ..preprocess import normalize

#: `(perm, ok)`: the label each class becomes when mirrored, and which classes may be.
FlipPlan = tuple[np.ndarray, np.ndarray]


def augment_batch(
    rng: np.random.Generator,
    xb: np.ndarray | None,
    pb,
    yb: np.ndarray,
    flip: FlipPlan | None,
    kind: str | None = "pose",
):
    """Augment one training batch in place (copies): `(frames, keypoints, labels)`.

    A random horizontal flip, only of the classes `flip` allows, mirrors frames and raw
    keypoints of `kind` (`keypoints.features.mirror`, per clip of the array or list `pb`)
    and relabels (swipe_left <-> swipe_right); without `flip` nothing is mirrored. A
    random channel permutation and inversion keep the model from learning colours.
    """
    if flip is not None:
        perm, ok = flip
        f = (rng.random(len(yb)) < 0.5) & ok[yb]
        if xb is not None:
            xb[f] = xb[f][:, :, :, ::-1]
        if pb is not None:
            for j in np.flatnonzero(f):
                pb[j] = mirror(pb[j], kind)
        yb[f] = perm[yb[f]]
    if xb is not None:
        for j in range(len(xb)):
            xb[j] = xb[j][..., rng.permutation(3)]
            if rng.random() < 0.5:
                xb[j] = 255 - xb[j]
    return xb, pb, yb


def feed(contract: ModelContract, frames, keypoints):
    """Model input(s): one array, or a dict by input name for several inputs.

    `keypoints` is the keypoint input already computed (`keypoint_input`)."""
    feed = {}
    if contract.uses_frames:
        feed[contract.input_name] = normalize(frames, contract)
    if contract.uses_keypoints:
        feed[contract.pose_name] = keypoints.astype(np.float32)
    return next(iter(feed.values())) if len(feed) == 1 else feed


def keypoint_input(contract: ModelContract, raw, policy: str, rng=None):
    """Keypoint input `(N, T, D)` of raw keypoints, through the contract's feature set.

    `raw` holds, per clip, the whole clip's raw keypoints `(n, R)` (keypoint-only
    models: sampled here with the short-clip `policy`, with a random time warp when
    `rng` is given) or a window already sampled at the frames' indices `(T, R)` (models
    that read frames too). With `rng` every window also gets a small random similarity
    transform (`keypoints.features.augment`).
    """
    from ..keypoints.extract import sample_keypoints
    from ..keypoints.features import augment, compute, time_warp_indices

    t, kind = contract.frames, contract.keypoint_kind
    wins = []
    for r in raw:
        if contract.uses_frames:
            w = r
        elif rng is not None:
            if len(r) < t and policy != "stretch":
                r = sample_keypoints(r, t, policy)  # loop / pad first, as evaluate will
            w = r[time_warp_indices(len(r), t, rng)]
        else:
            w = sample_keypoints(r, t, policy)
        if rng is not None:
            w = augment(w, kind, rng)
        wins.append(w)
    if not wins:
        return np.zeros((0, *contract.keypoint_shape()[1:]), np.float32)
    return compute(contract.keypoint_features, np.stack(wins))


def make_sequence(data, contract, batch, flip: FlipPlan | None, seed, onehot: int | None, cfg):
    keras = require("keras")
    x, p, y = data

    class ClipBatches(keras.utils.PyDataset):
        """Shuffled, normalised batches with label-aware augmentation (`augment_batch`);
        keypoints also get a random time warp and similarity transform (`--no-augment`
        turns those off)."""

        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(y))

        def __len__(self):
            return int(np.ceil(len(y) / batch))

        def __getitem__(self, i):
            sel = self.order[i * batch : (i + 1) * batch]
            yb = y[sel].copy()
            xb = x[sel].copy() if x is not None else None
            pb = [p[k] for k in sel] if p is not None else None
            xb, pb, yb = augment_batch(self.rng, xb, pb, yb, flip, contract.keypoint_kind)
            if pb is not None:
                rng = self.rng if cfg.augment else None
                pb = keypoint_input(contract, pb, cfg.policy, rng)
            yb = np.eye(onehot, dtype=np.float32)[yb] if onehot else yb
            return feed(contract, xb, pb), yb

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(y))

    return ClipBatches()


def load_split(items, ds, contract, cfg, verbose, desc):
    """Decode the frames and/or load cached keypoints of `items`: `(x, raw, y, bad, lengths)`.

    `raw` is a list per clip: the whole clip's raw keypoints for keypoint-only models,
    the window at the frames' sample indices for models that read frames too.
    """
    from ..keypoints.extract import load_cached, load_window

    x = raw = None
    keep = list(range(len(items)))
    bad, lengths = [], []
    if contract.uses_frames:
        x, y, bad, lengths, keep = load_clips(
            items,
            ds.labels,
            contract.frames,
            contract.height,
            contract.width,
            contract.colour,
            cfg.policy,
            progress=verbose > 0,
            desc=desc,
            return_index=True,
        )
    else:
        index = {lab: i for i, lab in enumerate(ds.labels)}
        y = np.asarray([index[it.label] for it in items], np.int64)
    if contract.uses_keypoints:
        kind, kdir = contract.keypoint_kind, cfg.keypoints_dir
        raw = []
        for j, i in enumerate(keep):
            if contract.uses_frames:  # same frame count as decoded, same sample indices
                raw.append(
                    load_window(
                        kdir, items[i], ds.root, contract.frames, kind, cfg.policy, lengths[j]
                    )
                )
            else:
                raw.append(load_cached(kdir, items[i], ds.root, kind))
                lengths.append(len(raw[-1]))
    return x, raw, y, bad, lengths
