"""`edgeaction compare`: two forms of one model, clip by clip, on a labelled data set.

The FP16-vs-FP32 check at clip level: any two of a Keras run (`RUN/` or `.keras`), an
ONNX model (`model.onnx`), its FP16 twin (`model_fp16.onnx`) and a TensorRT engine are
loaded as `edgeaction evaluate` loads them (`evaluate.load_model`), every clip is decoded
once at the contract's settings and fed to both, and the probabilities are compared.

```python
r = compare("models/a/model.onnx", "models/a/model_fp16.onnx", "data/", split="test")
r["top1_agreement"], r["max_abs_diff"], r["disagreeing_clips"]
```

The two contracts must agree on what the clip is (labels, frames, size, colour, modality,
keypoints and their feature set); each model gets the input normalised by its own
contract. With a Keras model TensorFlow is loaded before any video is decoded; an ONNX-
or engine-only comparison never imports it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from . import __version__
from .artefacts import KERAS, ONNX, kind_of
from .contract import CONTRACT_FILE, ModelContract
from .engine.backends import BACKENDS
from .errors import fail
from .evaluate import SPLITS, ClipBatches, _softmax, load_model, resolve_model
from .fsutil import atomic_write_text, check_writable_file
from .preprocess import normalize

log = logging.getLogger("edgeaction.compare")

#: Contract fields both models must share: they decide what a clip decodes to.
SHARED_FIELDS = ("labels", "frames", "height", "width", "colour", "modality")


def contract_difference(a: ModelContract, b: ModelContract) -> str | None:
    """What makes two contracts describe different clips, or None when they agree.

    Args:
        a: Contract of model A.
        b: Contract of model B.

    Returns:
        None, or a short phrase naming the first field that differs with both values.
    """
    kp = ("keypoints", "keypoint_features") if a.uses_keypoints or b.uses_keypoints else ()
    fields = SHARED_FIELDS + kp
    for f in fields:
        va, vb = getattr(a, f), getattr(b, f)
        if va != vb:
            if f == "labels":
                va, vb = ", ".join(va), ", ".join(vb)
            return f"{f} differ (A: {va}; B: {vb})"
    return None


def _peek_contract(path: Path) -> ModelContract | None:
    """The contract of a Keras or ONNX model without loading it (None for engines)."""
    kind = kind_of(path)
    if kind == KERAS:
        return ModelContract.load(path.with_name(CONTRACT_FILE))
    if kind == ONNX:
        from .contract import contract_from_onnx

        return contract_from_onnx(path)
    return None


def _check_contracts(a: ModelContract, b: ModelContract, pa: Path, pb: Path) -> None:
    diff = contract_difference(a, b)
    if diff:
        fail(
            f"{pa} and {pb} do not take the same clips: {diff}; compare two forms of one "
            "model (run, model.onnx, model_fp16.onnx, engine)"
        )


def compare(
    model_a: str | os.PathLike,
    model_b: str | os.PathLike,
    data: str | os.PathLike,
    split: str = "test",
    pose_dir: str | os.PathLike | None = None,
    layout: str | None = None,
    json_path: str | os.PathLike | None = None,
    plot_path: str | os.PathLike | None = None,
    batch: int = 8,
    progress: bool = True,
    seed: int = 0,
    allow_outside_root: bool = False,
    unsafe_keras: bool = False,
) -> dict:
    """Run two forms of one model on a split of `data` and compare them clip by clip.

    Args:
        model_a: A run directory or `.keras` file, an export directory or `.onnx` file
            (`model_fp16.onnx` too), or a TensorRT engine.
        model_b: The other model, in any of the same forms.
        data: Data set root (any layout `datasets.discover` knows).
        split: String. `"test"`, `"val"`, `"train"` or `"all"`. Defaults to `"test"`.
        pose_dir: Path or None. Keypoint cache of `data` from `edgeaction keypoints`
            (`--keypoints DIR`), of the kind the models read. None: keypoint models get
            their keypoints extracted on the fly with MediaPipe (once per clip, fed to
            both).
        layout: String or None. Data-set layout; None detects it.
        json_path: Path or None. Also write the result there as JSON (atomically).
        plot_path: Path or None. Also draw `plot_compare` there (PNG, atomically).
        batch: Integer. Clips per inference call. Defaults to `8`.
        progress: Boolean. Show a progress bar. Defaults to `True`.
        seed: Integer. Seed of the stratified split. Defaults to `0`.
        allow_outside_root: Boolean. Read clips that resolve outside the data set root
            (see `datasets.discover`). Defaults to `False`.
        unsafe_keras: Boolean. Load `.keras` models with `safe_mode=False` (a `Lambda`
            layer runs arbitrary Python from the file). Defaults to `False`.

    Returns:
        Dict with `a` and `b` (model, backend, contract, accuracy), `clips`,
        `bad_clips`, `top1_agreement`, `disagreements`, `max_abs_diff`,
        `mean_abs_diff` (of the probabilities), `per_class` (per true class: clips,
        disagreements, `a_accuracy`, `b_accuracy`), `disagreeing_clips` (clip, label,
        each model's top-1 and score, and `margin`, the top-1/top-2 margin of the
        reference model named by `margin_model`: the FP32 side), and the data facts.
    """
    t0 = time.monotonic()
    _check_settings(split, batch)
    pa, ba = resolve_model(model_a)
    pb, bb = resolve_model(model_b)
    ca, cb = _peek_contract(pa), _peek_contract(pb)
    if ca is not None and cb is not None:
        _check_contracts(ca, cb, pa, pb)  # before paying for TensorFlow's import
    data_root = _check_outputs_and_data(data, pose_dir, json_path, plot_path)
    from .datasets import outside_root_allowed

    # TensorFlow (the Keras backend) must be loaded before any video is decoded.
    order = sorted([(pa, ba), (pb, bb)], key=lambda m: BACKENDS[m[1]].needs != "tensorflow")
    loaded = {}
    try:
        for p, b in order:
            loaded[(p, b)] = load_model(p, b, unsafe_keras)
        ma, mb = loaded[(pa, ba)], loaded[(pb, bb)]
        _check_contracts(ma.contract, mb.contract, pa, pb)
        with outside_root_allowed(allow_outside_root):
            result = _compare(
                (pa, ma), (pb, mb), data_root, layout, split, pose_dir, batch, progress, seed
            )
    finally:
        for m in loaded.values():
            m.deactivate()
    result["seconds"] = round(time.monotonic() - t0, 3)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
        result["json"] = str(json_path)
    if plot_path is not None:
        result["plot"] = str(plot_compare(plot_path, result))
    return result


def _check_settings(split: str, batch: int) -> None:
    if split not in SPLITS:
        fail(f"--split must be one of {', '.join(SPLITS)}. Received: {split!r}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        fail(f"--batch must be a whole number >= 1. Received: {batch!r}")


def _check_outputs_and_data(data, pose_dir, json_path, plot_path) -> Path:
    """The data set root; fails before any model loads on a missing data set or
    keypoint cache, an unwritable --json/--plot file, or a missing matplotlib."""
    data_root = Path(data)
    if not data_root.exists():
        fail(f"data set {data_root} not found; give a labelled data set (`edgeaction synth`)")
    if pose_dir is not None and not Path(pose_dir).is_dir():
        fail(
            f"keypoint cache {pose_dir} not found; run `edgeaction keypoints {data} --kind KIND "
            f"--out {pose_dir}` (KIND: what the models read), or leave out --keypoints to "
            "extract them on the fly"
        )
    if json_path is not None:
        check_writable_file(json_path, "--json file")
    if plot_path is not None:
        check_writable_file(plot_path, "--plot file")
        from .report import preload

        preload()  # a missing matplotlib fails now, not after the run
    return data_root


def plot_compare(path: str | os.PathLike, r: dict) -> Path:
    """Draw a comparison: per-class disagreement and accuracies, and per-clip max |Δ|.

    Left: for each true class, the share of clips where A and B disagree (bars) and each
    model's accuracy (markers). Right: histogram of each clip's largest probability
    difference on a log scale, with the top-1 agreement in the title.
    """
    from .report import _figure, _save

    pc = r["per_class"]
    names = [c["label"] for c in pc]
    fig = _figure(max(8.0, 0.5 * len(names) + 6), 4.2)
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(2, len(names) / 4), 1.4]})
    x = np.arange(len(names))
    rate = [c["disagreements"] / c["clips"] if c["clips"] else 0.0 for c in pc]
    ax.bar(x, rate, color="#d62728", alpha=0.6, label="A/B disagree")
    ax.plot(x, [c["a_accuracy"] for c in pc], "o", color="#1f77b4", label="accuracy A")
    ax.plot(x, [c["b_accuracy"] for c in pc], "x", color="#2ca02c", label="accuracy B")
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of the class's clips")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(
        f"per class   A: {Path(r['a']['model']).name}   B: {Path(r['b']['model']).name}",
        fontsize=10,
    )
    d = np.maximum(np.asarray(r.get("clip_max_abs_diff") or [0.0]), 1e-12)
    bx.hist(np.log10(d), bins=20, color="#7f7f7f")
    bx.set_xlabel("log10 max |Δ prob| per clip")
    bx.set_ylabel("clips")
    bx.set_title(
        f"top-1 agreement {r['top1_agreement']:.1%} of {r['clips']} clips\n"
        f"max |Δ| {r['max_abs_diff']:.1e}",
        fontsize=10,
    )
    return _save(fig, Path(path))


def _compare(a, b, data_root, layout, split, pose_dir, batch, progress, seed) -> dict:
    """Both models on the clips of `split`; `a` and `b` are `(path, active runner)`."""
    (_, ma), (_, mb) = a, b
    c = ma.contract
    for m in (ma, mb):
        if m.max_batch:
            batch = min(batch, m.max_batch)
    clips = ClipBatches(c, data_root, layout, split, pose_dir, batch, seed, "the models")
    ds, split_used, bad = clips.ds, clips.split_used, clips.bad
    index = {lab: i for i, lab in enumerate(c.labels)}
    pas, pbs, ys, kept = [], [], [], []
    for good, raw, p in clips.iterate(progress, "compare"):  # decoded once, fed to both
        pas.append(_run(ma, raw, p, len(good)))
        pbs.append(_run(mb, raw, p, len(good)))
        ys += [index[it.label] for it in good]
        kept += good
    probs = np.concatenate(pas), np.concatenate(pbs)
    return _summarise(a, b, *probs, ys, kept, bad, ds) | {
        "split": split,
        "split_used": split_used,
        "batch": batch,
        "edgeaction": __version__,
    }


def _run(m, raw, pose, n: int) -> np.ndarray:
    """Probabilities `(n, classes)` float64 of model `m` on decoded uint8 clips."""
    c = m.contract
    x = normalize(raw, c) if raw is not None else None
    out = np.asarray(m.classify(x, pose))
    if out.ndim != 2 or out.shape != (n, c.num_classes):
        fail(
            f"{m.name} returned shape {list(out.shape)} for {n} clips; expected "
            f"({n}, {c.num_classes}) (its contract has {c.num_classes} labels)"
        )
    out = out.astype(np.float32)
    if not c.outputs_probabilities:
        out = _softmax(out)
    return out.astype(np.float64)


def _summarise(a, b, pa, pb, ys, kept, bad, ds) -> dict:
    (path_a, ma), (path_b, mb) = a, b
    labels = list(ma.contract.labels)
    y = np.asarray(ys, np.int64)
    ta, tb = pa.argmax(axis=1), pb.argmax(axis=1)
    diff = np.abs(pa - pb)
    agree = ta == tb
    # The margin is the reference's (FP32) top-1 minus top-2: how close the clip was.
    # Each runner knows its precision (an engine's sidecar, export's float16 graph).
    ref_b = ma.precision == "fp16" and mb.precision != "fp16"
    ref = pb if ref_b else pa
    top2 = np.sort(ref, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]

    per_class = []
    for k, lab in enumerate(labels):
        sel = y == k
        n = int(sel.sum())
        if not n:
            continue
        per_class.append(
            {
                "label": lab,
                "clips": n,
                "disagreements": int((~agree[sel]).sum()),
                "a_accuracy": round(float((ta[sel] == k).mean()), 6),
                "b_accuracy": round(float((tb[sel] == k).mean()), 6),
            }
        )
    disagreeing = [
        {
            "clip": it.key(ds.root),
            "path": str(it.path),
            "label": labels[y[i]],
            "a_top1": labels[ta[i]],
            "a_score": round(float(pa[i, ta[i]]), 6),
            "b_top1": labels[tb[i]],
            "b_score": round(float(pb[i, tb[i]]), 6),
            "margin": round(float(margin[i]), 6),
        }
        for i, it in enumerate(kept)
        if not agree[i]
    ]

    def side(path, m, top1) -> dict:
        return {
            "model": str(path),
            "backend": m.backend,
            "contract": m.contract.name,
            "accuracy": round(float((top1 == y).mean()), 6),
        }

    return {
        "a": side(path_a, ma, ta),
        "b": side(path_b, mb, tb),
        "data": str(ds.root),
        "layout": getattr(ds, "layout", None),
        "labels": labels,
        "clips": len(kept),
        "bad_clips": len(bad),
        "bad_clip_list": [{"path": p, "error": e} for p, e in bad],
        "top1_agreement": round(float(agree.mean()), 6),
        "agreements": int(agree.sum()),
        "disagreements": int((~agree).sum()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "clip_max_abs_diff": [float(v) for v in diff.max(axis=1)],
        "margin_model": "b" if ref_b else "a",
        "min_margin": round(float(margin.min()), 6),
        "per_class": per_class,
        "disagreeing_clips": disagreeing,
    }


def format_table(r: dict, max_clips: int = 10) -> str:
    """The short text table `edgeaction compare` prints for a `compare` result."""
    a, b = r["a"], r["b"]
    rows = [
        ("A", f"{a['model']} ({a['backend']})"),
        ("B", f"{b['model']} ({b['backend']})"),
        ("data", f"{r['data']}, split {r['split_used']}"),
        ("clips", f"{r['clips']} compared, {r['bad_clips']} unreadable"),
        (
            "top-1 agree",
            f"{r['top1_agreement']:.3f} ({r['disagreements']} of {r['clips']} clips differ)",
        ),
        ("|Δ| prob", f"max {r['max_abs_diff']:.2e}, mean {r['mean_abs_diff']:.2e}"),
        ("accuracy", f"A {a['accuracy']:.3f}, B {b['accuracy']:.3f}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lw = max([5, *(len(pc["label"]) for pc in r["per_class"])])
    lines.append("")
    lines.append(f"{'class':<{lw}}  clips  differ  acc A  acc B")
    for pc in r["per_class"]:
        lines.append(
            f"{pc['label']:<{lw}}  {pc['clips']:>5}  {pc['disagreements']:>6}  "
            f"{pc['a_accuracy']:.3f}  {pc['b_accuracy']:.3f}"
        )
    dis = r["disagreeing_clips"]
    if dis:
        ref = r["margin_model"].upper()
        lines.append("")
        lines.append(f"disagreeing clips ({len(dis)}; margin = top-1 minus top-2 of {ref}):")
        for d in dis[:max_clips]:
            lines.append(
                f"  {d['clip']}  {d['label']}: A {d['a_top1']} {d['a_score']:.3f}, "
                f"B {d['b_top1']} {d['b_score']:.3f}, margin {d['margin']:.3f}"
            )
        if len(dis) > max_clips:
            lines.append(f"  ... {len(dis) - max_clips} more (see --json)")
    return "\n".join(lines)
