"""`TrainConfig`: the options of one `edgeaction train` run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class TrainConfig:
    """Options of one training run (see `edgeaction train --help`).

    `None` for frames, size, epochs, batch and lr means the architecture's default
    (`edgeaction train --arch NAME --describe` lists them). `weights` (seed-a, edge-mnv3):
    `"imagenet"` (the file in the Keras cache; None means this), `"none"` or a weights file.
    `fine_tune` N > 0 adds a second phase of `fine_tune_epochs` epochs at lr/10 with the
    top N weighted layers of the pretrained backbone unfrozen.

    The horizontal flip is off unless `flip_pairs` (label pairs a mirror swaps) or
    `flip_safe` (labels a mirror keeps) are given; then only clips of those classes are
    flipped. `class_weight="auto"` weights the loss by inverse class frequency when the
    largest training class has more than 1.5x the clips of the smallest.
    """

    data: Path
    out: Path
    arch: str = "edge-tiny"
    frames: int | None = None
    size: int | None = None
    epochs: int | None = None
    batch: int | None = None
    lr: float | None = None
    seed: int = 0
    head: str | None = None
    layout: str | None = None
    keypoints_dir: Path | None = None
    augment: bool = True
    keep: str | None = None
    weights: str | Path | None = None
    fine_tune: int = 0
    fine_tune_epochs: int = 10
    policy: str = "stretch"
    flip_pairs: tuple[tuple[str, str], ...] = ()
    flip_safe: tuple[str, ...] = ()
    class_weight: str = "auto"
    max_bad_fraction: float = 0.05
    patience: int = 0
    resume: bool = False
    tensorboard: bool = False
    distribute: bool = False
    verbose: int = 1
    name: str | None = None
    allow_outside_root: bool = False
