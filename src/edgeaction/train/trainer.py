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

import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._lazy import require
from ..contract import ModelContract
from ..datasets import discover
from ..errors import fail
from ..fsutil import atomic_path, atomic_write_text, check_writable_dir, make_dir
from .batches import FlipPlan, augment_batch, feed, keypoint_input, load_split, make_sequence
from .callbacks import StateWriter, StepTimer, config_json, history_csv, read_history
from .config import TrainConfig

log = logging.getLogger("edgeaction.train")


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


@dataclass
class _Run:
    """State passed between the steps of `train`."""

    cfg: TrainConfig
    spec: Any
    state: dict | None
    weights: dict | None
    ds: Any
    flip: FlipPlan | None
    never: list[str]
    out: Path
    ckpt_dir: Path
    total: int
    contract: ModelContract | None = None
    onehot: int | None = None
    data: dict = field(default_factory=dict)
    bad: list = field(default_factory=list)
    lengths: list = field(default_factory=list)
    decode_s: float = 0.0

    @property
    def best(self) -> Path:
        return self.ckpt_dir / "best.keras"

    @property
    def last(self) -> Path:
        return self.ckpt_dir / "last.keras"


def train(cfg: TrainConfig) -> dict:
    """Run one training; returns the metrics written to `report/metrics.json`."""
    run = _prepare(cfg)
    tf = require("tensorflow")
    keras = require("keras")
    from ..report import preload

    preload()  # a missing matplotlib fails now, not after training
    keras.utils.set_random_seed(run.cfg.seed)
    run.contract = _new_contract(run, tf, keras)
    # The model first: a wrong weights file is one line before minutes of decoding.
    run.onehot = run.contract.num_classes if run.spec.loss == "categorical_crossentropy" else None
    strategy = _strategy(tf, run.cfg.distribute)
    model = _model(run, keras, strategy)
    _decode(run)
    fitted = _fit(run, keras, strategy, model)
    return _finish(run, keras, model, fitted)


def _prepare(cfg: TrainConfig) -> _Run:
    """Resume state, resolved options, weights, data set and flip plan; the run directory."""
    from .models import arch_spec, resolve_weights

    spec = arch_spec(cfg.arch)
    ckpt_dir = Path(cfg.out) / "checkpoints"
    state = None
    if cfg.resume:
        cfg, state = _resume_state(ckpt_dir, cfg)
        spec = arch_spec(cfg.arch)
    cfg = _resolve(cfg, spec)
    total = cfg.epochs + (cfg.fine_tune_epochs if cfg.fine_tune else 0)
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
    return _Run(cfg, spec, state, weights, ds, flip, never, out, ckpt_dir, total)


def _new_contract(run: _Run, tf, keras) -> ModelContract:
    """The model contract: the data set's labels, the arch's sizes and normalisation."""
    cfg, spec = run.cfg, run.spec
    norm = {}
    if spec.norm:
        norm = dict(zip(("colour", "scale", "mean", "std"), spec.norm, strict=True))
    contract = ModelContract(
        name=cfg.name or run.out.resolve().name or "model",
        labels=run.ds.labels,
        frames=cfg.frames,
        height=cfg.size,
        width=cfg.size,
        modality=spec.modality,
        pose_name=spec.keypoint_input,
        short_clips=cfg.policy,
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
    return contract


def _compile(run: _Run, keras, model, lr: float) -> None:
    """Compile `model` with a fresh optimizer at `lr` and the run's loss and accuracy."""
    acc = (
        keras.metrics.CategoricalAccuracy(name="accuracy")
        if run.onehot
        else keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    )
    model.compile(
        optimizer=_optimizer(keras, run.spec.optimizer, lr), loss=run.spec.loss, metrics=[acc]
    )


def _model(run: _Run, keras, strategy):
    """The resumed `last.keras`, or a new compiled model (a wrong weights file fails here)."""
    from .models import build_model

    with strategy.scope():
        if run.state is not None:
            model = keras.saving.load_model(str(run.last), safe_mode=True)
            log.info("resuming %s at epoch %d", run.out, run.state["epoch"])
        else:
            kw = {"head": run.cfg.head}
            if run.weights is not None:
                kw["weights"] = run.weights["path"] or "none"
            model = build_model(run.cfg.arch, run.contract, **kw)
            _compile(run, keras, model, run.cfg.lr)
    return model


def _decode(run: _Run) -> None:
    """Decode the three splits into `run.data`; check bad clips, empty labels, the val split.

    The contract takes the frame step of uniform sampling (`subsample`).
    """
    cfg, ds, contract = run.cfg, run.ds, run.contract
    t0 = time.monotonic()
    for split in ("train", "val", "test"):
        x, p, y, b, n = load_split(
            ds.split(split), ds, contract, cfg, cfg.verbose, f"decode {split}"
        )
        run.data[split] = (x, p, y)
        if p is not None and split != "train":  # fixed inputs: computed once
            run.data[split] = (x, keypoint_input(contract, p, cfg.policy), y)
        run.bad += b
        run.lengths += n
    bad, n_total = run.bad, len(ds.items)
    if n_total and len(bad) / n_total > cfg.max_bad_fraction:
        fail(
            f"{len(bad)} of {n_total} clips could not be decoded (> {cfg.max_bad_fraction:.0%}); "
            f"first: {bad[0][0]}: {bad[0][1]}"
        )
    present = set(run.data["train"][2].tolist())
    empty = [lab for i, lab in enumerate(ds.labels) if i not in present]
    if empty:
        fail(f"no readable training clips for label(s) {empty}; add clips or remove the folder")
    if len(run.data["val"][2]) == 0:
        fail("the validation split is empty; give at least 3 clips per label")
    run.decode_s = time.monotonic() - t0
    # Uniform sampling of T frames from clips of median length L keeps every L/T-th frame:
    # the runtime must window a stream the same way, so the contract records the step.
    lengths = run.lengths
    step = max(1, min(64, int(round(float(np.median(lengths)) / cfg.frames)))) if lengths else 1
    run.contract = replace(contract, subsample=step)
    log.info("decoded %d clips in %.1f s (%d bad)", n_total - len(bad), run.decode_s, len(bad))


def _callbacks(run: _Run, keras, writer, timer, append: bool) -> list:
    """Checkpoints (best by val accuracy, last), CSV history, LR schedule, state, timing."""
    cfg, best, last = run.cfg, run.best, run.last
    cbs = [
        keras.callbacks.ModelCheckpoint(
            str(best),
            monitor="val_accuracy",
            save_best_only=True,
            initial_value_threshold=writer.best,
        ),
        keras.callbacks.ModelCheckpoint(str(last)),
        keras.callbacks.CSVLogger(str(run.ckpt_dir / "history.csv"), append=append),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5),
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
        logs = make_dir(run.out / "tensorboard", "tensorboard directory")  # removed on failure
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(logs)))
    return cbs


@dataclass
class _Fitted:
    """What `_fit` reports: class weights, the fine-tuning record, timings."""

    class_weight: dict | None
    fine_tune: dict | None
    fit_s: float
    timer: Any


def _fit(run: _Run, keras, strategy, model) -> _Fitted:
    """Phase 1 (frozen backbone or whole model), then fine-tuning when asked; resumable."""
    from .models import unfreeze_top

    cfg, contract, state, onehot = run.cfg, run.contract, run.state, run.onehot
    make_dir(run.ckpt_dir, "checkpoint directory")  # removed again if training fails
    done = state["epoch"] if state else 0
    writer = StateWriter(run.ckpt_dir / _STATE, cfg, state, run.weights)
    timer = StepTimer()
    cw = class_weights(run.data["train"][2], contract.num_classes, cfg.class_weight)
    if cw:
        log.info("class weights (inverse frequency): %s", cw)
    xv, pv, yv = run.data["val"]
    yv_fit = np.eye(onehot, dtype=np.float32)[yv] if onehot else yv
    batches = make_sequence(run.data["train"], contract, cfg.batch, run.flip, cfg.seed, onehot, cfg)
    fit = dict(
        validation_data=(feed(contract, xv, pv), yv_fit), class_weight=cw, verbose=cfg.verbose
    )
    t1 = time.monotonic()
    phase1 = cfg.epochs
    in_phase2 = bool(cfg.fine_tune) and (done >= phase1 or (state or {}).get("phase") == 2)
    if not in_phase2:
        cbs = _callbacks(run, keras, writer, timer, append=state is not None)
        model.fit(batches, epochs=phase1, initial_epoch=done, callbacks=cbs, **fit)
    fine_tune = None
    if cfg.fine_tune:
        ft_lr = cfg.lr / 10
        with strategy.scope():
            unfrozen = unfreeze_top(model, cfg.fine_tune)
            _compile(run, keras, model, ft_lr)  # a fresh optimizer at lr/10 (also on resume)
        log.info("fine-tuning the top %d backbone layers at lr %g", cfg.fine_tune, ft_lr)
        writer.phase = 2
        cbs = _callbacks(run, keras, writer, timer, append=True)
        model.fit(batches, epochs=run.total, initial_epoch=max(done, phase1), callbacks=cbs, **fit)
        fine_tune = {
            "layers": cfg.fine_tune,
            "epochs": cfg.fine_tune_epochs,
            "lr": ft_lr,
            "unfrozen": unfrozen,
            "batchnorm": "frozen, inference mode",
        }
    return _Fitted(cw, fine_tune, time.monotonic() - t1, timer)


def _finish(run: _Run, keras, model, fitted: _Fitted) -> dict:
    """Evaluate the kept checkpoint, write model.keras, contract.json and the report."""
    from ..report import write_report

    cfg, contract, out = run.cfg, run.contract, run.out
    kept = run.best if cfg.keep == "best" else run.last
    best_model = keras.saving.load_model(str(kept), safe_mode=True)
    res, probs = {}, {}
    for split in ("val", "test"):
        x, p, y = run.data[split]
        if len(y):
            probs[split] = best_model.predict(feed(contract, x, p), batch_size=cfg.batch, verbose=0)
            res[f"{split}_accuracy"] = float(np.mean(np.argmax(probs[split], 1) == y))
        else:
            res[f"{split}_accuracy"] = None
    with atomic_path(out / "model.keras") as tmp:
        shutil.copyfile(kept, tmp)
    contract.save(out)
    report = check_writable_dir(out / "report", "report directory")
    history = read_history(run.ckpt_dir / "history.csv")
    atomic_write_text(report / "history.csv", history_csv(history))
    eval_split = "test" if "test" in probs else "val"
    metrics = {**res, **_metrics(run, model, fitted, history, eval_split)}
    cls = write_report(
        report,
        run.data[eval_split][2],
        probs[eval_split],
        run.ds.labels,
        history=history,
        title=f"{contract.name} ({cfg.arch}), {eval_split} split",
    )
    metrics["test_top5_accuracy"] = cls.get("top5_accuracy")
    atomic_write_text(report / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def _metrics(run: _Run, model, fitted: _Fitted, history: dict, eval_split: str) -> dict:
    """`report/metrics.json` after the accuracies (in the order they are written)."""
    from .models import backbone_of

    cfg, ds, data, bad, contract = run.cfg, run.ds, run.data, run.bad, run.contract
    n_total, lengths, cw = len(ds.items), run.lengths, fitted.class_weight
    backbone = backbone_of(model)
    return {
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
        "weights": run.weights,
        "fine_tune": fitted.fine_tune,
        "flip": (
            {
                "pairs": [list(ab) for ab in cfg.flip_pairs],
                "safe": list(cfg.flip_safe),
                "never_flipped": run.never,
            }
            if run.flip
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
        "decode_seconds": round(run.decode_s, 2),
        "fit_seconds": round(fitted.fit_s, 2),
        "train_step_seconds_median": fitted.timer.median(),
        "train_step_seconds_first": fitted.timer.first,
        "seed": cfg.seed,
        "median_clip_frames": float(np.median(lengths)) if lengths else None,
        "subsample": contract.subsample,
        "config": config_json(cfg),
    }


def keras_quiet() -> None:
    """Silence TensorFlow's C++ start-up chatter unless the user asked for it.

    oneDNN stays on: turning it off (TF_ENABLE_ONEDNN_OPTS=0) made seed-a's training
    step 3x slower here (23.4 s vs 7.4 s at batch 10, 2 cores).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


__all__ = [
    "TrainConfig",
    "augment_batch",
    "class_weights",
    "flip_plan",
    "keras_quiet",
    "parse_flip_pairs",
    "parse_labels",
    "train",
]
