"""`edgeaction train`: decode a data set, fit a model, write the run directory.

```
RUN/model.keras              best checkpoint by val accuracy
RUN/contract.json            the model contract
RUN/report/metrics.json      test_accuracy, val_accuracy, bad clips, timings
RUN/report/history.csv       per-epoch loss/accuracy
RUN/report/curves.png        loss and accuracy curves
RUN/report/confusion_matrix.png, per_class.json, per_class.md   on the test split
RUN/checkpoints/             last.keras + state.json (for --resume), best.keras
RUN/tensorboard/             with --tensorboard
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .. import __version__
from .._lazy import require
from ..contract import ModelContract
from ..datasets import discover, load_clips
from ..errors import fail
from ..fsutil import atomic_path, atomic_write_text, check_writable_dir, make_dir
from ..keypoints.features import mirror
from ..preprocess import normalize

log = logging.getLogger("edgeaction.train")


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
    policy: str = "loop"
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


def parse_flip_pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    """`"left:right,swipe_left:swipe_right"` → `(("left", "right"), ("swipe_left", ...))`."""
    pairs = []
    for tok in (text or "").split(","):
        if not tok.strip():
            continue
        a, sep, b = (x.strip() for x in tok.partition(":"))
        if not (sep and a and b) or ":" in b:
            fail(
                "--flip-pairs takes LABEL:LABEL pairs separated by commas "
                f"(left:right,swipe_left:swipe_right). Received: {tok.strip()!r}"
            )
        pairs.append((a, b))
    return tuple(pairs)


def parse_labels(text: str | None) -> tuple[str, ...]:
    """`"walk, jump"` → `("walk", "jump")`."""
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


#: What a horizontal flip does to a batch's labels: `perm[i]` is class i's label after
#: mirroring, and only classes with `ok[i]` are ever flipped.
FlipPlan = tuple[np.ndarray, np.ndarray]


def flip_plan(
    labels: tuple[str, ...],
    pairs: tuple[tuple[str, str], ...] = (),
    safe: tuple[str, ...] = (),
) -> FlipPlan | None:
    """The label-aware horizontal flip declared by `--flip-pairs` and `--flip-safe`.

    A mirror must never change a clip's meaning silently (it turns a counter-clockwise
    circle into a clockwise one), so nothing is flipped unless declared: classes of a
    pair swap labels, safe classes keep theirs, every other class is never flipped.

    Args:
        labels: Tuple of strings. The data set's labels, in class-index order.
        pairs: Tuple of `(a, b)` label pairs a mirror exchanges. Defaults to none.
        safe: Tuple of labels that are mirror-symmetric. Defaults to none.

    Returns:
        None (no flip) when both are empty, else `(perm, ok)` (see `FlipPlan`).
    """
    if not pairs and not safe:
        return None
    idx = {lab: i for i, lab in enumerate(labels)}
    named = [x for ab in pairs for x in ab] + list(safe)
    unknown = sorted({x for x in named if x not in idx})
    if unknown:
        fail(
            f"--flip-pairs/--flip-safe name label(s) not in the data set: {', '.join(unknown)}; "
            f"its labels are {', '.join(labels)}"
        )
    twice = sorted({x for x in named if named.count(x) > 1})
    if twice:
        fail(
            f"label(s) {', '.join(twice)} named twice in --flip-pairs/--flip-safe; a class is "
            "either swapped with one other class (a pair) or kept (safe)"
        )
    perm = np.arange(len(labels))
    ok = np.zeros(len(labels), bool)
    for a, b in pairs:
        perm[idx[a]], perm[idx[b]] = idx[b], idx[a]
        ok[idx[a]] = ok[idx[b]] = True
    for a in safe:
        ok[idx[a]] = True
    return perm, ok


def class_weights(y: np.ndarray, num_classes: int, mode: str = "auto") -> dict[int, float] | None:
    """Inverse-frequency loss weights `{class: n / (K * n_class)}`, or None.

    Args:
        y: Integer array. Training labels.
        num_classes: Integer. K.
        mode: String. `"auto"`: weights when the largest class has more than 1.5x the
            clips of the smallest, else None; `"none"`: None. Defaults to `"auto"`.
    """
    if mode not in ("auto", "none"):
        fail(f"--class-weight must be auto or none. Received: {mode!r}")
    counts = np.bincount(np.asarray(y, np.int64), minlength=num_classes)
    if mode == "none" or counts.min() == 0 or counts.max() <= 1.5 * counts.min():
        return None
    return {i: round(float(len(y) / (num_classes * c)), 6) for i, c in enumerate(counts)}


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


def _feed(contract: ModelContract, frames, keypoints):
    """Model input(s): one array, or a dict by input name for several inputs.

    `keypoints` is the keypoint input already computed (`_keypoint_input`)."""
    feed = {}
    if contract.uses_frames:
        feed[contract.input_name] = normalize(frames, contract)
    if contract.uses_keypoints:
        feed[contract.pose_name] = keypoints.astype(np.float32)
    return next(iter(feed.values())) if len(feed) == 1 else feed


def _keypoint_input(contract: ModelContract, raw, policy: str, rng=None):
    """Keypoint input `(N, T, D)` of raw keypoints, through the contract's feature set.

    `raw` holds, per clip, the whole clip's raw keypoints `(n, R)` (keypoint-only
    models: sampled here, with a random time warp when `rng` is given) or a window
    already sampled at the frames' indices `(T, R)` (models that read frames too). With
    `rng` every window also gets a small random similarity transform
    (`keypoints.features.augment`).
    """
    from ..keypoints.extract import sample_keypoints
    from ..keypoints.features import augment, compute, time_warp_indices

    t, kind = contract.frames, contract.keypoint_kind
    wins = []
    for r in raw:
        if contract.uses_frames:
            w = r
        elif rng is not None:
            w = r[time_warp_indices(len(r), t, rng)]
        else:
            w = sample_keypoints(r, t, policy)
        if rng is not None:
            w = augment(w, kind, rng)
        wins.append(w)
    if not wins:
        return np.zeros((0, *contract.keypoint_shape()[1:]), np.float32)
    return compute(contract.keypoint_features, np.stack(wins))


def _make_sequence(data, contract, batch, flip: FlipPlan | None, seed, onehot: int | None, cfg):
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
                pb = _keypoint_input(contract, pb, cfg.policy, rng)
            yb = np.eye(onehot, dtype=np.float32)[yb] if onehot else yb
            return _feed(contract, xb, pb), yb

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(y))

    return ClipBatches()


def _load_split(items, ds, contract, cfg, verbose, desc):
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


def _keypoint_cache(contract: ModelContract, cfg: TrainConfig) -> ModelContract:
    """Check the keypoint cache fits the arch; the contract takes its extraction settings."""
    from ..keypoints.extract import cache_max_hands, check_cache

    kind = contract.keypoint_kind
    if cfg.keypoints_dir is None:
        fail(
            f"{cfg.arch} reads {kind} keypoints: run `edgeaction keypoints {cfg.data} --kind "
            f"{kind} --out DIR` once, then train with --keypoints DIR"
        )
    check_cache(cfg.keypoints_dir, kind, cfg.data, who=f"--arch {cfg.arch}")
    return replace(contract, max_hands=cache_max_hands(cfg.keypoints_dir))


def _strategy(tf, distribute: bool):
    """The tf.distribute strategy: none, MirroredStrategy, or MultiWorker with TF_CONFIG.

    With `--distribute`, one machine uses every local GPU (MirroredStrategy; on a CPU-only
    machine one replica). When `TF_CONFIG` describes a cluster (several workers), the
    same flag uses MultiWorkerMirroredStrategy: start `edgeaction train ... --distribute`
    on every worker with its own TF_CONFIG and its own --out; keep the chief's (index 0)
    run directory.
    """
    if not distribute:
        return tf.distribute.get_strategy()
    cluster = {}
    if os.environ.get("TF_CONFIG"):
        try:
            cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
        except (ValueError, AttributeError) as e:
            fail(f"TF_CONFIG is not valid JSON ({e}); see the README's multi-machine section")
    if len(cluster.get("worker", [])) + len(cluster.get("chief", [])) > 1:
        s = tf.distribute.MultiWorkerMirroredStrategy()
        log.info("MultiWorkerMirroredStrategy: %d replica(s)", s.num_replicas_in_sync)
    else:
        s = tf.distribute.MirroredStrategy()
        log.info("MirroredStrategy over %d replica(s)", s.num_replicas_in_sync)
    return s


def _optimizer(keras, name: str, lr: float):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    return keras.optimizers.Adam(learning_rate=lr)


def _resolve(cfg: TrainConfig, spec) -> TrainConfig:
    """Fill architecture defaults and check ranges."""
    from .models import PRETRAINED

    cfg = replace(
        cfg,
        frames=cfg.frames or spec.frames,
        size=cfg.size or spec.size,
        epochs=cfg.epochs or spec.epochs,
        batch=cfg.batch or spec.batch,
        lr=cfg.lr or spec.lr,
    )
    if cfg.epochs < 1:
        fail(f"--epochs must be >= 1. Received: {cfg.epochs}")
    if cfg.batch < 1:
        fail(f"--batch must be >= 1. Received: {cfg.batch}")
    if cfg.frames < 1 or not 16 <= cfg.size <= 1024:
        fail(f"--frames must be >= 1 and --size in 16..1024. Received: {cfg.frames}, {cfg.size}")
    if cfg.keep is None:
        cfg = replace(cfg, keep=spec.keep)
    if cfg.keep not in ("best", "last"):
        fail(f"--keep must be best or last. Received: {cfg.keep!r}")
    if not 0 <= cfg.max_bad_fraction <= 1:
        fail(f"--max-bad must be in 0..1. Received: {cfg.max_bad_fraction}")
    if cfg.fine_tune < 0 or cfg.fine_tune_epochs < 1:
        fail(
            f"--fine-tune must be >= 0 and --fine-tune-epochs >= 1. Received: {cfg.fine_tune}, "
            f"{cfg.fine_tune_epochs}"
        )
    if cfg.fine_tune and str(cfg.weights) == "none":
        fail(
            "--fine-tune unfreezes a pretrained backbone; with --weights none the whole "
            "backbone trains from the start: leave out --fine-tune"
        )
    if cfg.class_weight not in ("auto", "none"):
        fail(f"--class-weight must be auto or none. Received: {cfg.class_weight!r}")
    if cfg.fine_tune and cfg.arch not in PRETRAINED:
        fail(
            f"--fine-tune is for the pretrained backbones ({', '.join(PRETRAINED)}), not {cfg.arch}"
        )
    return cfg


_STATE = "state.json"
_RESUMABLE = (
    "arch", "frames", "size", "batch", "lr", "seed", "head", "layout", "policy",
    "weights", "fine_tune", "flip_pairs", "flip_safe", "class_weight",
)  # fmt: skip


def _resume_state(ckpt: Path, cfg: TrainConfig) -> tuple[TrainConfig, dict]:
    sp = ckpt / _STATE
    if not (sp.is_file() and (ckpt / "last.keras").is_file()):
        fail(
            f"nothing to resume in {ckpt.parent}: no checkpoints/last.keras; train without --resume"
        )
    try:
        state = json.loads(sp.read_text())
    except ValueError as e:
        fail(f"{sp} is damaged ({e}); train again without --resume")
    saved = state.get("config", {})
    given = {k: getattr(cfg, k) for k in ("arch", "frames", "size", "batch", "lr", "head")}
    changed = {k: saved[k] for k, v in given.items() if v is not None and saved.get(k, v) != v}
    if changed:
        log.warning("resuming with the run's own settings %s", changed)
    keep = {k: saved[k] for k in _RESUMABLE if k in saved}
    keep["flip_pairs"] = tuple(tuple(ab) for ab in keep.get("flip_pairs", ()))  # JSON lists
    keep["flip_safe"] = tuple(keep.get("flip_safe", ()))
    cfg = replace(cfg, **keep)
    return cfg, state


def train(cfg: TrainConfig) -> dict:
    """Run one training; returns the metrics written to `report/metrics.json`."""
    from .models import arch_spec, resolve_weights

    spec = arch_spec(cfg.arch)
    ckpt_dir = Path(cfg.out) / "checkpoints"
    state = None
    if cfg.resume:
        cfg, state = _resume_state(ckpt_dir, cfg)
        spec = arch_spec(cfg.arch)
    cfg = _resolve(cfg, spec)
    phase1 = cfg.epochs
    total = phase1 + (cfg.fine_tune_epochs if cfg.fine_tune else 0)
    if state is not None and state["epoch"] >= total:
        fail(
            f"{cfg.out} already trained {state['epoch']} epochs; give --epochs (or "
            "--fine-tune-epochs) above that to train on"
        )
    # Before anything is decoded or written: a missing ImageNet file is one line, at once.
    weights = state.get("weights") if state else resolve_weights(cfg.arch, cfg.weights)
    ds = discover(
        cfg.data, layout=cfg.layout, seed=cfg.seed, allow_outside_root=cfg.allow_outside_root
    )
    flip = flip_plan(ds.labels, cfg.flip_pairs, cfg.flip_safe)
    never = [lab for lab, ok in zip(ds.labels, flip[1], strict=True) if not ok] if flip else []
    if never:
        log.warning(
            "horizontal flip: never flipped (in neither --flip-pairs nor --flip-safe): %s",
            ", ".join(never),
        )
    out = check_writable_dir(cfg.out, "run directory")

    tf = require("tensorflow")
    keras = require("keras")
    from ..report import preload, write_report
    from .models import backbone_of, build_model, unfreeze_top

    preload()  # a missing matplotlib fails now, not after training
    keras.utils.set_random_seed(cfg.seed)
    norm = {}
    if spec.norm:
        norm = dict(zip(("colour", "scale", "mean", "std"), spec.norm, strict=True))
    contract = ModelContract(
        name=cfg.name or out.resolve().name or "model",
        labels=ds.labels,
        frames=cfg.frames,
        height=cfg.size,
        width=cfg.size,
        modality=spec.modality,
        pose_name=spec.keypoint_input,
        producer={
            "edgeaction": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            "arch": cfg.arch,
        },
        **norm,
    )
    if contract.uses_keypoints:
        contract = _keypoint_cache(contract, cfg)
    # The model first: a wrong weights file is one line before minutes of decoding.
    onehot = contract.num_classes if spec.loss == "categorical_crossentropy" else None
    strategy = _strategy(tf, cfg.distribute)
    best, last = ckpt_dir / "best.keras", ckpt_dir / "last.keras"

    def compile_(model, lr):
        acc = (
            keras.metrics.CategoricalAccuracy(name="accuracy")
            if onehot
            else keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        )
        model.compile(
            optimizer=_optimizer(keras, spec.optimizer, lr), loss=spec.loss, metrics=[acc]
        )

    with strategy.scope():
        if state is not None:
            model = keras.saving.load_model(str(last), safe_mode=True)
            log.info("resuming %s at epoch %d", out, state["epoch"])
        else:
            kw = {"head": cfg.head}
            if weights is not None:
                kw["weights"] = weights["path"] or "none"
            model = build_model(cfg.arch, contract, **kw)  # a wrong weights file fails here
            compile_(model, cfg.lr)

    verbose = cfg.verbose
    t0 = time.monotonic()
    data, bad, lengths = {}, [], []
    for split in ("train", "val", "test"):
        x, p, y, b, n = _load_split(ds.split(split), ds, contract, cfg, verbose, f"decode {split}")
        data[split] = (x, p, y)
        if p is not None and split != "train":  # fixed inputs: computed once
            data[split] = (x, _keypoint_input(contract, p, cfg.policy), y)
        bad += b
        lengths += n
    n_total = len(ds.items)
    if n_total and len(bad) / n_total > cfg.max_bad_fraction:
        fail(
            f"{len(bad)} of {n_total} clips could not be decoded (> {cfg.max_bad_fraction:.0%}); "
            f"first: {bad[0][0]}: {bad[0][1]}"
        )
    present = set(data["train"][2].tolist())
    empty = [lab for i, lab in enumerate(ds.labels) if i not in present]
    if empty:
        fail(f"no readable training clips for label(s) {empty}; add clips or remove the folder")
    if len(data["val"][2]) == 0:
        fail("the validation split is empty; give at least 3 clips per label")
    decode_s = time.monotonic() - t0
    # Uniform sampling of T frames from clips of median length L keeps every L/T-th frame:
    # the runtime must window a stream the same way, so the contract records the step.
    step = max(1, min(64, int(round(float(np.median(lengths)) / cfg.frames)))) if lengths else 1
    contract = replace(contract, subsample=step)
    log.info("decoded %d clips in %.1f s (%d bad)", n_total - len(bad), decode_s, len(bad))

    make_dir(ckpt_dir, "checkpoint directory")  # removed again if training fails
    done = state["epoch"] if state else 0
    writer = _StateWriter(ckpt_dir / _STATE, cfg, state, weights)
    timer = _StepTimer()

    def callbacks(append: bool):
        cbs = [
            keras.callbacks.ModelCheckpoint(
                str(best),
                monitor="val_accuracy",
                save_best_only=True,
                initial_value_threshold=writer.best,
            ),
            keras.callbacks.ModelCheckpoint(str(last)),
            keras.callbacks.CSVLogger(str(ckpt_dir / "history.csv"), append=append),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5
            ),
            writer,
            timer,
        ]
        if cfg.patience:
            cbs.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_accuracy", patience=cfg.patience, restore_best_weights=True
                )
            )
        if cfg.tensorboard:
            require("tensorboard")
            logs = make_dir(out / "tensorboard", "tensorboard directory")  # removed on failure
            cbs.append(keras.callbacks.TensorBoard(log_dir=str(logs)))
        return cbs

    cw = class_weights(data["train"][2], contract.num_classes, cfg.class_weight)
    if cw:
        log.info("class weights (inverse frequency): %s", cw)
    xv, pv, yv = data["val"]
    yv_fit = np.eye(onehot, dtype=np.float32)[yv] if onehot else yv
    batches = _make_sequence(data["train"], contract, cfg.batch, flip, cfg.seed, onehot, cfg)
    fit = dict(validation_data=(_feed(contract, xv, pv), yv_fit), class_weight=cw, verbose=verbose)
    t1 = time.monotonic()
    in_phase2 = bool(cfg.fine_tune) and (done >= phase1 or (state or {}).get("phase") == 2)
    if not in_phase2:
        model.fit(
            batches,
            epochs=phase1,
            initial_epoch=done,
            callbacks=callbacks(append=state is not None),
            **fit,
        )
    fine_tune = None
    if cfg.fine_tune:
        ft_lr = cfg.lr / 10
        with strategy.scope():
            unfrozen = unfreeze_top(model, cfg.fine_tune)
            compile_(model, ft_lr)  # a fresh optimizer at lr/10 (also when resuming phase 2)
        log.info("fine-tuning the top %d backbone layers at lr %g", cfg.fine_tune, ft_lr)
        writer.phase = 2
        model.fit(
            batches,
            epochs=total,
            initial_epoch=max(done, phase1),
            callbacks=callbacks(append=True),
            **fit,
        )
        fine_tune = {
            "layers": cfg.fine_tune,
            "epochs": cfg.fine_tune_epochs,
            "lr": ft_lr,
            "unfrozen": unfrozen,
            "batchnorm": "frozen, inference mode",
        }
    fit_s = time.monotonic() - t1
    kept = best if cfg.keep == "best" else last
    best_model = keras.saving.load_model(str(kept), safe_mode=True)
    res, probs = {}, {}
    for split in ("val", "test"):
        x, p, y = data[split]
        if len(y):
            probs[split] = best_model.predict(
                _feed(contract, x, p), batch_size=cfg.batch, verbose=0
            )
            res[f"{split}_accuracy"] = float(np.mean(np.argmax(probs[split], 1) == y))
        else:
            res[f"{split}_accuracy"] = None
    with atomic_path(out / "model.keras") as tmp:
        shutil.copyfile(kept, tmp)
    contract.save(out)
    report = check_writable_dir(out / "report", "report directory")
    history = _read_history(ckpt_dir / "history.csv")
    atomic_write_text(report / "history.csv", _history_csv(history))
    eval_split = "test" if "test" in probs else "val"
    backbone = backbone_of(model)
    metrics = {
        **res,
        "labels": list(ds.labels),
        "arch": cfg.arch,
        "layout": ds.layout,
        "report_split": eval_split,
        "epochs_run": len(next(iter(history.values()), [])),
        "clips": {s: int(len(data[s][2])) for s in data},
        "bad_clips": len(bad),
        "bad_clip_fraction": round(len(bad) / n_total, 4) if n_total else 0.0,
        "bad_clip_list": [{"path": p, "error": e} for p, e in bad],
        "params": int(model.count_params()),
        "weights": weights,
        "fine_tune": fine_tune,
        "flip": (
            {
                "pairs": [list(ab) for ab in cfg.flip_pairs],
                "safe": list(cfg.flip_safe),
                "never_flipped": never,
            }
            if flip
            else None
        ),
        "class_weight": {
            "mode": cfg.class_weight,
            "weights": {ds.labels[i]: w for i, w in cw.items()} if cw else None,
            "train_counts": {
                lab: int(n)
                for lab, n in zip(
                    ds.labels,
                    np.bincount(data["train"][2], minlength=contract.num_classes),
                    strict=True,
                )
            },
        },
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "backbone_trainable_params": (
            int(sum(np.prod(w.shape) for w in backbone.trainable_weights)) if backbone else None
        ),
        "decode_seconds": round(decode_s, 2),
        "fit_seconds": round(fit_s, 2),
        "train_step_seconds_median": timer.median(),
        "train_step_seconds_first": timer.first,
        "seed": cfg.seed,
        "median_clip_frames": float(np.median(lengths)) if lengths else None,
        "subsample": contract.subsample,
        "config": _config_json(cfg),
    }
    cls = write_report(
        report,
        data[eval_split][2],
        probs[eval_split],
        ds.labels,
        history=history,
        title=f"{contract.name} ({cfg.arch}), {eval_split} split",
    )
    metrics["test_top5_accuracy"] = cls.get("top5_accuracy")
    atomic_write_text(report / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def _config_json(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def _StateWriter(path: Path, cfg: TrainConfig, state: dict | None, weights: dict | None):  # noqa: N802
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
                "config": _config_json(cfg),
            }
            atomic_write_text(path, json.dumps(body, indent=2) + "\n")

    return StateWriter()


def _StepTimer():  # noqa: N802
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


def _read_history(path: Path) -> dict[str, list[float]]:
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


def _history_csv(h: dict[str, list[float]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = sorted(h)
    w.writerow(["epoch", *keys])
    for e in range(len(h[keys[0]]) if keys else 0):
        w.writerow([e + 1, *(f"{float(h[k][e]):.6g}" for k in keys)])
    return buf.getvalue()


def keras_quiet() -> None:
    """Silence TensorFlow's C++ start-up chatter unless the user asked for it.

    oneDNN stays on: turning it off (TF_ENABLE_ONEDNN_OPTS=0) made seed-a's training
    step 3x slower here (23.4 s vs 7.4 s at batch 10, 2 cores).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
