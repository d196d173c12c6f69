"""Keras callbacks and history files of `edgeaction train` (state for --resume, step times)."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .._lazy import require
from ..fsutil import atomic_write_text
from .config import TrainConfig


def config_json(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def StateWriter(path: Path, cfg: TrainConfig, state: dict | None, weights: dict | None):  # noqa: N802
    """A callback writing `checkpoints/state.json` after each epoch (for --resume).

    Besides the epoch and the best val accuracy it keeps the training phase (2: fine-tuning)
    and the record of the backbone weights the run started from.
    """
    keras = require("keras")

    class StateWriter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = (state or {}).get("best_val_accuracy")
            self.phase = (state or {}).get("phase", 1)

        def on_epoch_end(self, epoch, logs=None):
            v = (logs or {}).get("val_accuracy")
            if v is not None and (self.best is None or v > self.best):
                self.best = float(v)
            body = {
                "epoch": epoch + 1,
                "best_val_accuracy": self.best,
                "phase": self.phase,
                "weights": weights,
                "config": config_json(cfg),
            }
            atomic_write_text(path, json.dumps(body, indent=2) + "\n")

    return StateWriter()


def StepTimer():  # noqa: N802
    """A callback timing training steps (the first one, with graph tracing, apart)."""
    keras = require("keras")

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []
            self.first: float | None = None
            self._t = 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self._t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            dt = time.perf_counter() - self._t
            if self.first is None:
                self.first = round(dt, 4)
            else:
                self.times.append(dt)

        def median(self) -> float | None:
            return round(float(np.median(self.times)), 4) if self.times else self.first

    return StepTimer()


def read_history(path: Path) -> dict[str, list[float]]:
    """Per-epoch logs from the CSVLogger file (covers resumed runs too)."""
    hist: dict[str, list[float]] = {}
    if not path.is_file():
        return hist
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if k != "epoch" and v not in (None, ""):
                    hist.setdefault(k, []).append(float(v))
    return hist


def history_csv(h: dict[str, list[float]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = sorted(h)
    w.writerow(["epoch", *keys])
    for e in range(len(h[keys[0]]) if keys else 0):
        w.writerow([e + 1, *(f"{float(h[k][e]):.6g}" for k in keys)])
    return buf.getvalue()
