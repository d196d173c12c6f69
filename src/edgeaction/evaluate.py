"""`edgeaction evaluate`: score a trained, exported or compiled model on a labelled data set.

One function for the three forms a model takes: a Keras run (`RUN/` or `RUN/model.keras`
with `contract.json` beside it), an ONNX model (`model.onnx`, contract embedded) and a
TensorRT engine (through `engine.open_runner`). The contract of the model decides
everything: labels (authoritative; the data's labels must be a subset), frames, size,
colour and normalisation, so the numbers are those the runtime would get.

```python
r = evaluate("models/a/model.onnx", "data/", split="test")
r["accuracy"], r["top5_accuracy"], r["out"]
```

Writes into `out` (default `<model dir>/eval-<data name>/`), each file atomically: the
report of `report.write_report` (`confusion_matrix.png`, `per_class.json`,
`per_class.md`), `predictions.csv` (one row per clip) and `metrics.json`.

The ONNX and engine paths never import TensorFlow; the Keras path loads it before any
video is decoded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from . import __version__, artefacts
from .contract import ModelContract
from .engine.backends import accepted_kinds, check_backend, open_model, select_backend
from .engine.base import BaseRunner
from .errors import EdgeActionError, fail
from .fsutil import atomic_write_text, check_writable_dir
from .preprocess import normalize
from .report import preload, write_report

log = logging.getLogger("edgeaction.evaluate")

SPLITS = ("test", "val", "train", "all")
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"


# ---- models --------------------------------------------------------------------------------
def resolve_model(model: str | os.PathLike, backend: str = "auto") -> tuple[Path, str]:
    """The model file and the backend that runs it (`engine.backends`).

    Args:
        model: A run directory (`model.keras` + `contract.json`), an export directory
            (`model.onnx`), or a `.keras`, `.onnx` or TensorRT engine file.
        backend: String. `"auto"` (from the file) or a backend of
            `backend_choices(include_keras=True)`. Defaults to `"auto"`.

    Returns:
        `(path, backend)` with `backend` a registered backend name.
    """
    check_backend(backend, include_keras=True)
    kind, p = artefacts.resolve_model(model, accepted_kinds(True, backend))
    return p, select_backend(kind, backend, include_keras=True, what=str(p)).name


def load_model(
    model: str | os.PathLike, backend: str = "auto", unsafe_keras: bool = False
) -> BaseRunner:
    """Open `model` (see `resolve_model`) on its backend, activated: call `deactivate`.

    Args:
        model: A run directory, `.keras`, `.onnx` or export directory, or an engine.
        backend: String. `"auto"` or a backend of `backend_choices(include_keras=True)`.
        unsafe_keras: Boolean. Load a `.keras` file with `safe_mode=False`, which runs
            the Python code a `Lambda` layer stores in the file. Defaults to `False`.
    """
    runner = open_model(model, backend, include_keras=True, only_if_taken={"unsafe": unsafe_keras})
    return runner.activate()


# ---- data ----------------------------------------------------------------------------------
def _select(ds, data: Path, split: str, seed: int) -> tuple[list, str]:
    """The clips of `split` and a note saying which split that is and where it came from."""
    if split == "all":
        return list(ds.items), "all"
    items = ds.split(split)
    if not items:
        have = [s for s in ("train", "val", "test") if any(it.split == s for it in ds.items)]
        fail(
            f"{data} has no '{split}' clips (its splits: {', '.join(have) or 'none'}); "
            f"choose --split {' or '.join([*have, 'all'])}"
        )
    return items, split + _split_note(ds, data, split, seed)


def _split_note(ds, data: Path, split: str, seed: int) -> str:
    """Where the split comes from when no file gives it (discover splits by seed then)."""
    stratified = f" (stratified split, seed {seed}: the data set gives none)"
    if ds.layout == "folders":
        return stratified
    if ds.layout == "frames":
        if data.is_file():
            return stratified
        if split == "test" and not (data / "test.csv").is_file():
            return f" (carved from train.csv by seed {seed}: no test.csv)"
        return ""
    manifest = data / "manifest.csv" if data.is_dir() else data
    try:
        with open(manifest, encoding="utf-8-sig") as f:
            header = f.readline().lower()
    except OSError:
        return ""
    return "" if "split" in header else stratified


# ---- evaluation ----------------------------------------------------------------------------
def evaluate(
    model: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike | None = None,
    layout: str | None = None,
    split: str = "test",
    pose_dir: str | os.PathLike | None = None,
    backend: str = "auto",
    batch: int = 8,
    progress: bool = True,
    seed: int = 0,
    allow_outside_root: bool = False,
    unsafe_keras: bool = False,
) -> dict:
    """Score `model` on a split of the labelled data set `data` and write a report.

    Args:
        model: A run directory or `.keras` file (`contract.json` beside it), an export
            directory or `.onnx` file, or a TensorRT engine.
        data: Data set root (any layout `datasets.discover` knows).
        out: Directory for the report; default `<model dir>/eval-<data name>/`.
        layout: String or None. Data-set layout; None detects it.
        split: String. `"test"`, `"val"`, `"train"` or `"all"`. When the data set gives
            no split, the stratified split of `seed` is used (as training does).
            Defaults to `"test"`.
        pose_dir: Path or None. Keypoint cache of `data` from `edgeaction keypoints DATA
            --kind KIND --out DIR` (`--keypoints DIR`), of the kind the model reads. None:
            keypoint models get their keypoints extracted on the fly with MediaPipe (one
            extractor for the whole evaluation, reset per clip), as the cache would hold
            them. Ignored for frame-only models.
        backend: String. `"auto"`, `"keras"`, `"onnxruntime"` or `"tensorrt"`.
        batch: Integer. Clips per inference call. Defaults to `8`.
        progress: Boolean. Show a progress bar. Defaults to `True`.
        seed: Integer. Seed of the stratified split. Defaults to `0`.
        allow_outside_root: Boolean. Read clips that resolve outside the data set root
            (see `datasets.discover`). Defaults to `False`.
        unsafe_keras: Boolean. Load a `.keras` model with `safe_mode=False` (a `Lambda`
            layer runs arbitrary Python from the file). Defaults to `False`.

    Returns:
        The dict written to `metrics.json` (accuracy, top5_accuracy, split, clips,
        bad_clips, model, backend, seconds (all of it, model loading included),
        clips_per_second (clips over decode + inference time), ...) plus `"report"`, the
        full `report.classification_metrics` dict.
    """
    t0 = time.monotonic()
    if split not in SPLITS:
        fail(f"--split must be one of {', '.join(SPLITS)}. Received: {split!r}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        fail(f"--batch must be a whole number >= 1. Received: {batch!r}")
    path, backend = resolve_model(model, backend)
    data_root = Path(data)
    if out is None:
        given = Path(model)
        model_dir = given if given.is_dir() else path.parent
        name = data_root.resolve().name or "data"
        out = model_dir / f"eval-{name}"
    if Path(out).exists() and not Path(out).is_dir():
        fail(f"evaluation output directory {out} is a file, not a directory; choose another path")
    if pose_dir is not None and not Path(pose_dir).is_dir():
        fail(
            f"keypoint cache {pose_dir} not found; run `edgeaction keypoints {data} --kind KIND "
            f"--out {pose_dir}` (KIND: what the model reads), or leave out --keypoints to "
            "extract them on the fly"
        )

    from .datasets import outside_root_allowed

    # A Keras runner reads its contract (and fails on a missing one) before TensorFlow's
    # import, which happens on activation, before any video is decoded.
    m = load_model(path, backend, unsafe_keras)
    try:
        with outside_root_allowed(allow_outside_root):
            return _evaluate(
                m, path, data_root, Path(out), layout, split, pose_dir, batch, progress, seed, t0
            )
    finally:
        m.deactivate()


def _evaluate(m, path, data_root, out, layout, split, pose_dir, batch, progress, seed, t0) -> dict:
    c = m.contract
    preload()  # a missing matplotlib fails now, not after decoding
    if m.max_batch:
        batch = min(batch, m.max_batch)
    clips = ClipBatches(c, data_root, layout, split, pose_dir, batch, seed, "the model")
    ds, split_used, bad = clips.ds, clips.split_used, clips.bad
    out_dir = check_writable_dir(out, "evaluation output directory")
    index = {lab: i for i, lab in enumerate(c.labels)}

    probs, ys, kept = [], [], []
    infer_s = 0.0
    for good, raw, p in clips.iterate(progress, "evaluate"):
        x = normalize(raw, c) if raw is not None else None
        t = time.monotonic()
        out = np.asarray(m.classify(x, p))
        infer_s += time.monotonic() - t
        if out.ndim != 2 or out.shape != (len(good), c.num_classes):
            fail(
                f"{path.name} returned shape {list(out.shape)} for {len(good)} clips; "
                f"expected ({len(good)}, {c.num_classes}) (its contract has "
                f"{c.num_classes} labels)"
            )
        probs.append(out.astype(np.float32))
        ys += [index[it.label] for it in good]
        kept += good
    decode_s = clips.decode_s
    scores = np.concatenate(probs)
    if not c.outputs_probabilities:
        scores = _softmax(scores)
    y = np.asarray(ys, np.int64)
    seconds = time.monotonic() - t0
    loop_s = decode_s + infer_s
    summary = {
        "model": str(path),
        "backend": m.backend,
        "contract": c.name,
        "modality": c.modality,
        "data": str(ds.root),
        "layout": getattr(ds, "layout", None),
        "split": split,
        "split_used": split_used,
        "clips": len(kept),
        "bad_clips": len(bad),
        "bad_clip_list": [{"path": p, "error": e} for p, e in bad],
    }
    if c.uses_keypoints:
        summary["keypoints"] = clips.keypoint_source
    title = f"{c.name} ({m.backend}) on {ds.root.name}, split {split}"
    report = write_report(out_dir, y, scores, c.labels, extra=_flat(summary), title=title)
    summary.update(
        accuracy=report["accuracy"],
        top5_accuracy=report["top5_accuracy"],
        top_k=report["top_k"],
        macro_f1=report["macro"]["f1"],
        weighted_f1=report["weighted"]["f1"],
        labels=list(c.labels),
        seconds=round(seconds, 3),
        decode_seconds=round(decode_s, 3),
        infer_seconds=round(infer_s, 3),
        clips_per_second=round(len(kept) / loop_s, 2) if loop_s > 0 else None,
        infer_clips_per_second=round(len(kept) / infer_s, 2) if infer_s > 0 else None,
        batch=batch,
        out=str(out_dir),
        edgeaction=__version__,
    )
    atomic_write_text(out_dir / PREDICTIONS_FILE, _predictions_csv(kept, ds.root, y, scores, c))
    atomic_write_text(out_dir / METRICS_FILE, json.dumps(summary, indent=2) + "\n")
    return {**summary, "report": report}


class ClipBatches:
    """The clips of one split of a data set, decoded in batches for one contract.

    Shared by `evaluate` and `compare`: checks a keypoint cache is of the kind the model
    reads, finds the data set, refuses labels the model does not know, picks the split;
    `iterate` yields `(items, raw clips (N,T,H,W,3) uint8 or None, keypoint input
    (N,T,D) float32 or None)` per batch, records unreadable clips in `bad` and the
    decoding (and keypoint extraction) time in `decode_s`, and fails when no clip at all
    could be read.

    A keypoint model reads its raw keypoints from `pose_dir` when given, else extracts
    them on the fly with one MediaPipe extractor of its kind (opened by `iterate`, reset
    per clip, closed at the end); either way the T entries sampled like the frames go
    through the contract's feature set (`keypoints.compute`).
    """

    def __init__(self, c, data_root, layout, split, pose_dir, batch, seed, who="the model"):
        from . import datasets

        if c.uses_keypoints and pose_dir is not None:
            from .keypoints import check_cache

            check_cache(pose_dir, c.keypoint_kind, data_root, f"model {c.name}", c.max_hands)
        self.ds = datasets.discover(data_root, layout=layout, seed=seed)
        unknown = sorted(set(self.ds.labels) - set(c.labels))
        if unknown:
            verb = "do" if who.endswith("s") else "does"
            fail(
                f"{data_root} has label(s) {who} {verb} not know: {', '.join(unknown)} "
                f"(model {c.name} has {', '.join(c.labels)})"
            )
        self.items, self.split_used = _select(self.ds, data_root, split, seed)
        self.contract, self.pose_dir, self.batch = c, pose_dir, batch
        self.data_root, self.split = data_root, split
        self.bad: list[tuple[str, str]] = []
        self.decode_s = 0.0
        self.extractor = None

    @property
    def keypoint_source(self) -> str | None:
        """Where keypoint inputs come from (`"cache DIR"`, `"extracted on the fly (...)"`)."""
        if not self.contract.uses_keypoints:
            return None
        if self.pose_dir is not None:
            return f"cache {self.pose_dir}"
        return f"extracted on the fly (MediaPipe {self.contract.keypoint_kind})"

    def iterate(self, progress: bool, desc: str):
        from tqdm.auto import tqdm

        c, items = self.contract, self.items
        kept = 0
        if c.uses_keypoints and self.pose_dir is None and self.extractor is None:
            from .keypoints import extractor_for

            # MediaPipe is imported before any video is decoded (see keypoints.extract)
            self.extractor = extractor_for(c).open()
        bar = tqdm(total=len(items), desc=desc, unit="clip", disable=not progress, leave=False)
        try:
            for start in range(0, len(items), self.batch):
                chunk = items[start : start + self.batch]
                t = time.monotonic()
                clips, poses, good = [], [], []
                for it in chunk:
                    got = _load_one(it, self.ds.root, c, self.pose_dir, self.extractor)
                    if isinstance(got, str):
                        self.bad.append((str(it.path), got))
                        continue
                    clips.append(got[0])
                    poses.append(got[1])
                    good.append(it)
                raw = np.stack(clips) if good and c.uses_frames else None
                pose = np.stack(poses).astype(np.float32) if good and c.uses_keypoints else None
                self.decode_s += time.monotonic() - t
                bar.update(len(chunk))
                if good:
                    kept += len(good)
                    yield good, raw, pose
        finally:
            bar.close()
            if self.extractor is not None:
                self.extractor.close()
                self.extractor = None
        bad = self.bad
        if not kept:
            first = f"; first: {bad[0][0]}: {bad[0][1]}" if bad else ""
            fail(
                f"none of the {len(items)} '{self.split}' clips of {self.data_root} "
                f"could be read{first}"
            )
        if bad:
            log.warning("%d of %d clips could not be read and were left out", len(bad), len(items))


def _load_one(it, root: Path, c: ModelContract, pose_dir, ex=None) -> tuple | str:
    """`(clip or None, keypoint input or None)` of one item, or the reason it cannot be read."""
    from .clips import load_clips
    from .keypoints import keypoint_input

    clip = pose = None
    try:
        length = None
        if c.uses_frames:
            x, _, bad, lengths = load_clips(
                [it],
                c.labels,
                c.frames,
                c.height,
                c.width,
                c.colour,
                policy=c.short_clips,
                progress=False,
            )
            if bad:
                return bad[0][1]
            clip, length = x[0], lengths[0]
        if c.uses_keypoints:
            pose = keypoint_input(it, root, c, pose_dir, ex, length, c.short_clips)
    except EdgeActionError as e:
        log.warning("skipping clip %s: %s", it.describe(), e)
        return str(e)
    return clip, pose


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _flat(d: dict) -> dict:
    return {k: v for k, v in d.items() if not isinstance(v, list | dict)}


def _name(path) -> str:  # a name that is not UTF-8 shows its bytes as \xNN (a UTF-8 CSV)
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _predictions_csv(items, root: Path, y, scores, c: ModelContract) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip", "path", "label", "predicted", "score", "correct"])
    pred = np.argmax(scores, axis=1)
    for it, t, p, s in zip(items, y, pred, scores, strict=True):
        w.writerow(
            [
                it.key(root),
                _name(it.path),
                c.labels[t],
                c.labels[p],
                f"{float(s[p]):.6f}",
                int(t == p),
            ]
        )
    return buf.getvalue()
