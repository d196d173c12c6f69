"""`edgeaction train`: train a clip classifier (or `--describe` an architecture)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .. import options
from ..errors import EdgeActionError
from ..sampling import SHORT_CLIPS
from .common import outside_root_arg

# Kept here (not imported from train.models) so `edgeaction --help` never loads Keras;
# tests/train/test_models.py checks it matches train.models.ARCHS.
ARCH_NAMES = ("edge-tiny", "edge-mnv3", "seed-a", "seed-b", "pose-lstm", "hands", "rgb-hands")

TRAIN_EPILOG = """\
architectures (defaults: frames, size, optimizer, epochs, batch):
  edge-tiny   small CNN per frame + GRU/LSTM/SimpleRNN head   8, 64², Adam, 20, 16
  edge-mnv3   MobileNetV3-Small per frame + RNN head           8, 96², Adam, 20, 16
  seed-a      ResNet50 → Conv2D 64 2x2 → 2x SimpleRNN          16, 112², SGD, 20, 10
  seed-b      ConvLSTM2D frames + LSTM pose keypoints (fused)  20, 64², Adam, 20, 8
  pose-lstm   LSTM over MediaPipe pose keypoints only          30, -, Adam, 50, 16
  hands       Conv1D + BiLSTM over MediaPipe hand features     32, -, Adam, 80, 16
  rgb-hands   edge-tiny frames + the hands branch (fused)      16, 64², Adam, 40, 8
  seed-a and edge-mnv3 start from ImageNet weights (--weights), frozen; --fine-tune N then
  trains the backbone's top N layers at lr/10. The ImageNet file must be in Keras' cache.

examples:
  edgeaction train data/ --out runs/a                      # class folders, edge-tiny
  edgeaction train --arch seed-a --describe                # layers, params, FLOPs
  edgeaction keypoints data/ --kind hands --out hands/ && edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
  edgeaction keypoints data/ --kind pose --out pose/ && edgeaction train data/ --arch seed-b --keypoints pose/ --out runs/b
  edgeaction train data/ --arch edge-mnv3 --fine-tune 10 --out runs/m  # ImageNet backbone
  edgeaction train data/ --out runs/a --flip-pairs left:right --flip-safe wave  # mirror map
  edgeaction train data/ --out runs/a --epochs 40 --resume # train on from the last epoch
"""


def run(a) -> int:
    """`edgeaction train` with the parsed arguments `a`; returns the exit status."""
    from ..train.trainer import TrainConfig, keras_quiet

    keras_quiet()
    if a.describe:
        return _describe(a)
    if a.data is None or a.out is None:
        raise EdgeActionError("train needs DATA and --out (or --describe to list the layers)")
    from ..train.trainer import parse_flip_pairs, parse_labels, train

    pairs, safe = parse_flip_pairs(a.flip_pairs), parse_labels(a.flip_safe)
    if a.no_flip and (pairs or safe):
        raise EdgeActionError(
            "--no-flip contradicts --flip-pairs/--flip-safe; give one or the other"
        )
    if a.no_flip:
        logging.getLogger("edgeaction").warning(
            "--no-flip is the default now (no flip unless --flip-pairs/--flip-safe); drop it"
        )
    m = train(
        TrainConfig(
            data=a.data,
            out=a.out,
            arch=a.arch,
            frames=a.frames,
            size=a.size,
            epochs=a.epochs,
            batch=a.batch,
            lr=a.lr,
            seed=a.seed,
            head=a.head,
            layout=a.layout,
            keypoints_dir=a.keypoints,
            augment=not a.no_augment,
            weights=a.weights,
            fine_tune=a.fine_tune,
            fine_tune_epochs=a.fine_tune_epochs,
            policy=a.short_clips,
            flip_pairs=pairs,
            flip_safe=safe,
            class_weight=a.class_weight,
            max_bad_fraction=a.max_bad,
            patience=a.patience,
            keep=a.keep,
            resume=a.resume,
            tensorboard=a.tensorboard,
            distribute=a.distribute,
            verbose=1 if sys.stdout.isatty() else 2,
            name=a.name,
            allow_outside_root=a.allow_outside_root,
        )
    )
    test = m["test_accuracy"]
    print(
        f"test accuracy {'n/a' if test is None else f'{test:.3f}'}, "
        f"val accuracy {m['val_accuracy']:.3f} ({m['bad_clips']} bad clips); "
        f"wrote {a.out}/model.keras, contract.json, report/"
    )
    return 0


def _describe(a) -> int:
    from ..contract import ModelContract
    from ..train.describe import describe
    from ..train.models import arch_spec

    spec = arch_spec(a.arch)
    if a.classes < 2:
        raise EdgeActionError(f"--classes must be >= 2. Received: {a.classes}")
    size = a.size or spec.size
    contract = ModelContract(
        name=a.arch,
        labels=tuple(f"class{i}" for i in range(a.classes)),
        frames=a.frames or spec.frames,
        height=size,
        width=size,
        modality=spec.modality,
        pose_name=spec.keypoint_input,
    )
    kw = {"head": a.head}
    if a.weights is not None:  # without: random init, the structure is the same
        kw["weights"] = a.weights
    print(json.dumps(describe(a.arch, contract, **kw), indent=2))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `train` on the top-level sub-parsers."""
    t = sub.add_parser(
        "train",
        help="train a clip classifier (or --describe an architecture)",
        description="Decode a labelled data set with the runtime's reader, train an "
        "architecture and write RUN/ (model.keras, contract.json, report/ with curves, "
        "confusion matrix, per-class precision/recall/F1, metrics.json). Frames, size, "
        "epochs, batch and learning rate default to the architecture's own (see --describe).",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _data_args(t)
    _model_args(t)
    _augment_args(t)
    _run_args(t)
    t.set_defaults(fn=run)


def _data_args(t: argparse.ArgumentParser) -> None:
    """DATA, --arch, --describe and the clip shape and schedule (frames ... lr)."""
    t.add_argument(
        "data",
        type=options.path,
        nargs="?",
        help="data set: class folders <label>/<clip>.mp4, a frame-folder CSV "
        "(folder;label;index) or its directory with train.csv/val.csv, or a manifest CSV "
        "path,label[,start,end][,split]",
    )
    t.add_argument(
        "--arch",
        default="edge-tiny",
        choices=list(ARCH_NAMES),
        help="architecture (default edge-tiny)",
    )
    t.add_argument(
        "--describe",
        action="store_true",
        help="print the architecture's layers, parameters and FLOPs per clip as JSON and exit",
    )
    t.add_argument(
        "--classes",
        type=options.positive_int,
        default=5,
        help="classes assumed by --describe (default 5)",
    )
    t.add_argument(
        "--layout",
        choices=["folders", "frames", "manifest"],
        help="data layout (default: detected)",
    )
    t.add_argument("--frames", type=options.frames, help="frames per clip, T (default: the arch's)")
    t.add_argument("--size", type=options.pixels, help="frame size in pixels (default: the arch's)")
    t.add_argument("--epochs", type=options.positive_int, help="epochs (default: the arch's)")
    t.add_argument("--batch", type=options.positive_int, help="batch size (default: the arch's)")
    t.add_argument("--lr", type=options.positive_float, help="learning rate (default: the arch's)")


def _model_args(t: argparse.ArgumentParser) -> None:
    """The head, keypoints, backbone weights and fine-tuning, short clips, --seed."""
    t.add_argument(
        "--head",
        choices=["gru", "lstm", "simplernn"],
        help="RNN head of the edge archs (default gru)",
    )
    t.add_argument(
        "--keypoints",
        "--pose",
        dest="keypoints",
        type=options.pathlib_path,
        metavar="DIR",
        help="keypoint cache from `edgeaction keypoints DATA --kind KIND --out DIR`, of the "
        "kind the arch reads (hands: hands; seed-b, pose-lstm: pose); --pose is an alias",
    )
    t.add_argument(
        "--no-augment",
        action="store_true",
        help="keypoint models: no random time warp, rotation (±15°), scale (±15 %%) or shift "
        "(±8 %%) of the keypoints in training",
    )
    t.add_argument(
        "--weights",
        type=options.path,
        metavar="imagenet|none|FILE",
        help="seed-a (ResNet50) and edge-mnv3 (MobileNetV3-Small) backbone weights: imagenet "
        "(default; the file must already be in the Keras cache, it is never downloaded), none "
        "(random init, the whole backbone trains from the start), or a Keras weights file. "
        "Pretrained weights are frozen: the head trains (see --fine-tune)",
    )
    t.add_argument(
        "--fine-tune",
        type=options.non_negative_int,
        default=0,
        metavar="N",
        help="after the --epochs with a frozen backbone, unfreeze its top N layers with "
        "weights (BatchNorm stays frozen) and train --fine-tune-epochs more at lr/10 "
        "(default 0: no fine-tuning; not with --weights none)",
    )
    t.add_argument(
        "--fine-tune-epochs",
        type=options.positive_int,
        default=10,
        metavar="E",
        help="epochs of the --fine-tune phase (default 10)",
    )
    t.add_argument(
        "--short-clips",
        choices=list(SHORT_CLIPS),
        default=SHORT_CLIPS[0],
        help="clips shorter than T frames: stretch them over T (slow motion, the default: "
        "a gesture drawn once stays drawn once), loop them (periodic actions only: a "
        "looped stroke reads as a second stroke) or repeat the last frame. The model's "
        "contract records it, so evaluate and export sample alike",
    )
    t.add_argument(
        "--seed", type=options.seed, default=0, help="seed for split, init and augmentation"
    )


def _augment_args(t: argparse.ArgumentParser) -> None:
    """The horizontal flip and class weights."""
    t.add_argument(
        "--flip-pairs",
        type=options.text,
        metavar="A:B,...",
        help="turn on the horizontal-flip augmentation: label pairs a mirror image swaps "
        "(e.g. left:right,swipe_left:swipe_right); a flipped clip of A is labelled B",
    )
    t.add_argument(
        "--flip-safe",
        type=options.text,
        metavar="LABEL,...",
        help="turn on the horizontal flip for these mirror-symmetric classes (they keep "
        "their label). Classes in neither option are never flipped (logged); the default "
        "is no flip at all, since a mirror turns e.g. a clockwise circle into a "
        "counter-clockwise one",
    )
    t.add_argument(
        "--no-flip",
        action="store_true",
        help="deprecated no-op: flipping is off unless --flip-pairs/--flip-safe",
    )
    t.add_argument(
        "--class-weight",
        choices=["auto", "none"],
        default="auto",
        help="auto: weight the loss by inverse class frequency when the largest training "
        "class has more than 1.5x the clips of the smallest (default auto)",
    )


def _run_args(t: argparse.ArgumentParser) -> None:
    """Stopping, which epoch to keep, resuming, logging, the run directory."""
    t.add_argument(
        "--max-bad",
        type=options.fraction,
        default=0.05,
        help="stop when more than this fraction of clips cannot be decoded (default 0.05)",
    )
    t.add_argument(
        "--patience",
        type=options.non_negative_int,
        default=0,
        help="early-stopping patience in epochs (0: off)",
    )
    t.add_argument(
        "--keep",
        choices=["best", "last"],
        help="which epoch becomes model.keras: the best validation accuracy, or the last "
        "one (default: the arch's; hands keeps the last: with a validation split of a few "
        "clips per class the best is often a lucky early epoch)",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue RUN from its last checkpoint (same settings)",
    )
    t.add_argument(
        "--tensorboard", action="store_true", help="write TensorBoard logs to RUN/tensorboard"
    )
    t.add_argument(
        "--distribute",
        action="store_true",
        help="train under tf.distribute.MirroredStrategy (all local GPUs; see README for several machines)",
    )
    t.add_argument(
        "--name",
        type=options.text,
        help="model name used in events and engines (default: the --out folder name)",
    )
    t.add_argument("--out", type=options.pathlib_path, help="run directory to write")
    outside_root_arg(t)
