"""`edgeaction train`: decode a data set, fit a model, write the run directory.

```
RUN/model.keras          best checkpoint by val accuracy
RUN/contract.json        the model contract
RUN/report/metrics.json  test_accuracy, val_accuracy, bad clips, timings
RUN/report/history.csv   per-epoch loss/accuracy
```
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import __version__
from .._lazy import require
from ..contract import ModelContract
from ..errors import fail
from ..fsutil import atomic_path, atomic_write_text, check_writable_dir
from ..preprocess import normalize
from ..synth import FLIP_PAIRS
from .data import discover, load_clips

log = logging.getLogger("edgeaction.train")


@dataclass
class TrainConfig:
    """Options of one training run (see `edgeaction train --help`)."""

    data: Path
    out: Path
    arch: str = "edge-tiny"
    frames: int = 8
    size: int = 64
    epochs: int = 20
    batch: int = 16
    lr: float = 2e-3
    seed: int = 0
    head: str = "gru"
    flip: bool = True
    max_bad_fraction: float = 0.05
    patience: int = 0
    verbose: int = 1
    name: str | None = None


def _flip_map(labels: tuple[str, ...]) -> np.ndarray | None:
    """Label permutation a horizontal flip applies (swap left/right pairs)."""
    idx = {lab: i for i, lab in enumerate(labels)}
    perm = np.arange(len(labels))
    for a, b in FLIP_PAIRS.items():
        if a in idx and b in idx:
            perm[idx[a]] = idx[b]
    return perm


def _make_sequence(x, y, contract, batch, flip_perm, seed, colour=True):
    keras = require("keras")

    class ClipBatches(keras.utils.PyDataset):
        """Shuffled, normalised batches with label-aware augmentation.

        A random horizontal flip swaps mirrored labels (swipe_left <-> swipe_right); a
        random channel permutation and inversion keep the model from learning colours.
        """

        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(x))

        def __len__(self):
            return int(np.ceil(len(x) / batch))

        def __getitem__(self, i):
            sel = self.order[i * batch : (i + 1) * batch]
            xb, yb = x[sel], y[sel].copy()
            if flip_perm is not None:
                flip = self.rng.random(len(sel)) < 0.5
                xb = xb.copy()
                xb[flip] = xb[flip][:, :, :, ::-1]
                yb[flip] = flip_perm[yb[flip]]
            if colour:
                xb = xb.copy() if flip_perm is None else xb
                for j in range(len(xb)):
                    xb[j] = xb[j][..., self.rng.permutation(3)]
                    if self.rng.random() < 0.5:
                        xb[j] = 255 - xb[j]
            return normalize(xb, contract), yb

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(x))

    return ClipBatches()


def train(cfg: TrainConfig) -> dict:
    """Run one training; returns the metrics written to `report/metrics.json`."""
    if cfg.epochs < 1:
        fail(f"--epochs must be >= 1. Received: {cfg.epochs}")
    if cfg.batch < 1:
        fail(f"--batch must be >= 1. Received: {cfg.batch}")
    if cfg.frames < 1 or not 16 <= cfg.size <= 1024:
        fail(f"--frames must be >= 1 and --size in 16..1024. Received: {cfg.frames}, {cfg.size}")
    out = check_writable_dir(cfg.out, "run directory")
    ds = discover(cfg.data, seed=cfg.seed)

    tf = require("tensorflow")
    keras = require("keras")
    from .models import build_model

    keras.utils.set_random_seed(cfg.seed)
    contract = ModelContract(
        name=cfg.name or out.resolve().name or "model",
        labels=ds.labels,
        frames=cfg.frames,
        height=cfg.size,
        width=cfg.size,
        producer={
            "edgeaction": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            "arch": cfg.arch,
        },
    )
    verbose = cfg.verbose
    t0 = time.monotonic()
    data, bad, lengths = {}, [], []
    for split in ("train", "val", "test"):
        items = ds.split(split)
        x, y, b, n = load_clips(
            items,
            ds.labels,
            cfg.frames,
            cfg.size,
            cfg.size,
            progress=verbose > 0,
            desc=f"decode {split}",
        )
        data[split] = (x, y)
        bad += b
        lengths += n
    n_total = len(ds.items)
    if n_total and len(bad) / n_total > cfg.max_bad_fraction:
        fail(
            f"{len(bad)} of {n_total} clips could not be decoded (> {cfg.max_bad_fraction:.0%}); "
            f"first: {bad[0][0]}: {bad[0][1]}"
        )
    present = set(data["train"][1].tolist())
    empty = [lab for i, lab in enumerate(ds.labels) if i not in present]
    if empty:
        fail(f"no readable training clips for label(s) {empty}; add clips or remove the folder")
    if len(data["val"][0]) == 0:
        fail("the validation split is empty; give at least 3 clips per label")
    decode_s = time.monotonic() - t0
    # Uniform sampling of T frames from clips of median length L keeps every L/T-th frame:
    # the runtime must window a stream the same way, so the contract records the step.
    step = max(1, min(64, int(round(float(np.median(lengths)) / cfg.frames)))) if lengths else 1
    contract = replace(contract, subsample=step)
    log.info("decoded %d clips in %.1f s (%d bad)", n_total - len(bad), decode_s, len(bad))

    model = build_model(cfg.arch, contract, head=cfg.head)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    best = ckpt_dir / "best.keras"
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            str(best), monitor="val_accuracy", save_best_only=True, verbose=0
        ),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5),
    ]
    if cfg.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", patience=cfg.patience, restore_best_weights=True
            )
        )
    flip_perm = _flip_map(ds.labels) if cfg.flip else None
    xv, yv = data["val"]
    t1 = time.monotonic()
    hist = model.fit(
        _make_sequence(*data["train"], contract, cfg.batch, flip_perm, cfg.seed),
        validation_data=(normalize(xv, contract), yv),
        epochs=cfg.epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    fit_s = time.monotonic() - t1
    best_model = keras.saving.load_model(str(best), safe_mode=True)
    res = {}
    for split in ("val", "test"):
        x, y = data[split]
        if len(x):
            probs = best_model.predict(normalize(x, contract), batch_size=cfg.batch, verbose=0)
            res[f"{split}_accuracy"] = float(np.mean(np.argmax(probs, 1) == y))
        else:
            res[f"{split}_accuracy"] = None
    with atomic_path(out / "model.keras") as tmp:
        shutil.copyfile(best, tmp)
    contract.save(out)
    report = check_writable_dir(out / "report", "report directory")
    h = hist.history
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = sorted(h)
    w.writerow(["epoch", *keys])
    for e in range(len(h[keys[0]])):
        w.writerow([e + 1, *(f"{float(h[k][e]):.6g}" for k in keys)])
    atomic_write_text(report / "history.csv", buf.getvalue())
    metrics = {
        **res,
        "labels": list(ds.labels),
        "arch": cfg.arch,
        "epochs_run": len(h[keys[0]]),
        "clips": {s: int(len(data[s][0])) for s in data},
        "bad_clips": len(bad),
        "bad_clip_list": [{"path": p, "error": e} for p, e in bad],
        "params": int(model.count_params()),
        "decode_seconds": round(decode_s, 2),
        "fit_seconds": round(fit_s, 2),
        "seed": cfg.seed,
        "median_clip_frames": float(np.median(lengths)) if lengths else None,
        "subsample": contract.subsample,
    }
    atomic_write_text(report / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def keras_quiet() -> None:
    """Silence TensorFlow's C++ start-up chatter unless the user asked for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
