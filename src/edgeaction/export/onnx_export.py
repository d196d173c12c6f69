"""`edgeaction export RUN --out DIR`: Keras model → `DIR/model.onnx` + `DIR/contract.json`.

The conversion runs in a child process (tf2onnx peaks at many GB on big graphs; FACTS);
the parent renames the output tensor to the contract's name, embeds the contract in the
ONNX `metadata_props` (`edgeaction.contract`), checks the graph and writes the files
atomically. A parity check (Keras vs ONNX Runtime) guards every export: on held-out
clips of `--data` (decoded here, in the parent, by the runtime's reader; the child gets
the normalised arrays as an `.npz` and never decodes video), else on seeded random
inputs. Nothing is written into DIR unless every check passes.

Optional outputs:

- `--fp16`: `DIR/model_fp16.onnx`, a float16 graph with float32 inputs and outputs
  (`onnx_fp16.to_fp16`: ONNX Runtime's converter, numerically sensitive ops kept float32),
  checked against the float32 graph under ONNX Runtime on the same inputs.
- `--split` (models with a per-frame `encoder` sub-model: edge-tiny, edge-mnv3, seed-a):
  `DIR/encoder.onnx` (`frame` (N, H, W, 3) → `features` (N, F)) and `DIR/head.onnx`
  (`features` (N, T, F) → the contract's output), for streaming: encode each frame once,
  run the head over the last T feature vectors. Each carries its part of the contract
  in `metadata_props` under `edgeaction.split`, and head(encoder(frames)) is checked
  against the whole Keras model.

Integrity: `DIR/checksums.json` records the sha256 of every ONNX file written
(`fsutil.write_checksums`); `OrtRunner` and `TrtRunner` refuse a file that no longer
matches it (`fsutil.verify_checksum`). A kill (even SIGKILL) leaves DIR with its
previous files or refuses them with one line at load; the converter child is killed with
its parent (Linux `PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import __version__
from .._lazy import require
from ..contract import CONTRACT_FILE, CONTRACT_KEY, ModelContract
from ..errors import EdgeActionError, fail
from ..fsutil import (
    CHECKSUMS_FILE,
    atomic_paths,
    atomic_write_text,
    check_writable_dir,
    sha256_file,
    write_checksums,
)

#: ONNX opset: TensorRT 8.6–11 parse it and tf2onnx 1.17 refuses 19+ (FACTS).
DEFAULT_OPSET = 17
#: Parity gate of the float32 graphs (whole model and split): max |Keras - ORT|.
MAX_ABS_DIFF = 1e-4
#: The float16 graph fails below this top-1 agreement with the float32 one ...
FP16_MIN_AGREEMENT = 0.98
#: ... and is written with a warning below this one.
FP16_GOAL_AGREEMENT = 0.995
#: Seeded random clips of the parity check without `--data`.
RANDOM_PARITY_CLIPS = 4
#: Held-out clips of the parity check with `--data` (at most).
DATA_PARITY_CLIPS = 32
#: `metadata_props` key of the split parts' JSON (part, features, contract).
SPLIT_KEY = "edgeaction.split"
#: Architectures without a per-frame encoder (`--split` refuses them).
NO_ENCODER = ("seed-b", "pose-lstm", "hands", "rgb-hands")
ENCODER_INPUT = "frame"
FEATURES = "features"


def resolve_run(path: str | os.PathLike) -> tuple[Path, ModelContract]:
    """`RUN/` or `model.keras` → (keras path, contract)."""
    p = Path(path)
    if not p.exists():
        fail(f"not found: {p}; give a run directory from `edgeaction train` or a .keras file")
    keras_path = p / "model.keras" if p.is_dir() else p
    if not keras_path.exists():
        fail(f"{p} holds no model.keras; give a run directory from `edgeaction train`")
    if keras_path.suffix != ".keras":
        fail(
            f"{keras_path} is not a Keras .keras file; export takes a run directory or model.keras"
        )
    contract = ModelContract.load(keras_path.with_name(CONTRACT_FILE))
    return keras_path, contract


def export_model(
    run: str | os.PathLike,
    out: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    parity_clips: int | None = None,
    data: str | os.PathLike | None = None,
    pose_dir: str | os.PathLike | None = None,
    fp16: bool = False,
    split: bool = False,
    log=print,
) -> dict:
    """Export a trained model to ONNX with its contract; returns the export report.

    Args:
        run: Run directory (`model.keras` + `contract.json`) or a `.keras` path with a
            `contract.json` beside it.
        out: Output directory; gets `model.onnx`, `contract.json`, `checksums.json`
            (the sha256 of every ONNX file written, verified when a runner loads one),
            `export_report.json` (and `model_fp16.onnx`, `encoder.onnx`, `head.onnx`
            when asked for). Files are written to hidden `.partial` files and renamed
            into place only after every check passed.
        opset: Integer. ONNX opset, 13..18. Defaults to `17`.
        parity_clips: Integer or None. Clips of the Keras-vs-ORT parity check: seeded
            random clips without `data` (None: 4), at most this many held-out clips with
            it (None: 32).
        data: Path or None. A labelled data set (any layout `datasets.discover` reads):
            the parity check runs on its `test` split, else its `val` split (the split
            the run was trained with: seed and layout from `RUN/report/metrics.json`),
            short clips sampled and clips normalised as the contract says. None: seeded
            random inputs (for a keypoint input: random raw keypoints of the model's kind
            through its feature set, see `keypoints.features.random_input`).
        pose_dir: Path or None. Keypoint cache of `data` from `edgeaction keypoints`
            (`--keypoints DIR`), of the kind the model reads; with `data` only. None:
            a keypoint model's held-out clips get their keypoints extracted with
            MediaPipe.
        fp16: Boolean. Also write `model_fp16.onnx` (float16 inside, float32 inputs and
            outputs), checked against the float32 graph: fails below 98 % top-1
            agreement, warns below 99.5 %. Defaults to `False`.
        split: Boolean. Also write `encoder.onnx` and `head.onnx` (models with a
            per-frame `encoder` sub-model only). Defaults to `False`.
        log: Callable for progress lines (one per step: convert, parity, fp16, split).
    """
    keras_path, contract = _check_arguments(run, opset, parity_clips, pose_dir, data, split)
    out_dir = check_writable_dir(out, "export output directory")
    onnx = require("onnx")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="edgeaction-export-") as td:
        td = Path(td)
        req = _request(td, keras_path, contract, opset, parity_clips, data, pose_dir, log)
        res, model, m16, parts = _convert(td, req, keras_path, fp16, split, onnx, log)
    contract = contract.with_producer(
        edgeaction=__version__,
        tensorflow=res["tensorflow"],
        keras=res["keras"],
        tf2onnx=res["tf2onnx"],
        onnx_opset=str(opset),
    )
    files = _final_models(model, m16, parts, contract, res, onnx)
    sums, sizes = _write_all(out_dir, files, contract, onnx)
    report = _report(out_dir, opset, res, req["parity_source"], sums, fp16, split)
    checks = _preflight(out_dir, files)
    report.update(
        bytes=sizes,
        tensorrt_preflight=checks,
        seconds=round(time.monotonic() - t0, 1),
        producer=contract.producer,
    )
    atomic_write_text(out_dir / "export_report.json", json.dumps(report, indent=2) + "\n")
    for k, v in checks.items():
        log(f"check {k}: {v} (details: edgeaction check {out_dir / k.split()[0]})")
    log(
        f"wrote {', '.join(files)} (sha256 in {CHECKSUMS_FILE}) into {out_dir} ({report['seconds']} s)"
    )
    return report


def _check_arguments(
    run, opset: int, parity_clips: int | None, pose_dir, data, split: bool
) -> tuple[Path, ModelContract]:
    """Check `export_model`'s options against each other and the run's contract."""
    if not 13 <= opset <= 18:
        fail(f"--opset must be in 13..18 (tf2onnx 1.17 refuses 19+). Received: {opset}")
    if parity_clips is not None and (
        not isinstance(parity_clips, int) or isinstance(parity_clips, bool) or parity_clips < 1
    ):
        fail(f"parity_clips must be a whole number >= 1. Received: {parity_clips!r}")
    keras_path, contract = resolve_run(run)
    arch = contract.producer.get("arch")
    if split and (not contract.uses_frames or arch in NO_ENCODER):
        fail(
            f"--split needs a model with a per-frame 'encoder' sub-model (edge-tiny, edge-mnv3, "
            f"seed-a); {contract.name} ({arch or contract.modality}) has none; export it "
            "without --split"
        )
    if pose_dir is not None and data is None:
        fail("--keypoints needs --data: it holds the keypoints of the --data clips")
    return keras_path, contract


def _convert(td: Path, req: dict, keras_path: Path, fp16: bool, split: bool, onnx, log):
    """Run the conversion child on `req` and gate its result.

    Returns:
        `(result, model, float16 model or None, (encoder, head) or None)`, loaded from `td`.
    """
    if fp16:
        req["fp16"], req["onnx_fp16"] = True, str(td / "raw_fp16.onnx")
    if split:
        req.update(split=True, encoder=str(td / "encoder.onnx"), head=str(td / "head.onnx"))
    (td / "request.json").write_text(json.dumps(req))
    log(f"converting {keras_path} with tf2onnx (opset {req['opset']}) in a child process ...")
    res = _run_child(td, keras_path, log)
    _gate(res, fp16, split, log)
    model = onnx.load(str(td / "raw.onnx"))
    m16 = onnx.load(str(td / "raw_fp16.onnx")) if fp16 else None
    parts = None
    if split:
        parts = (onnx.load(str(td / "encoder.onnx")), onnx.load(str(td / "head.onnx")))
    return res, model, m16, parts


def _request(
    td: Path, keras_path: Path, contract, opset: int, parity_clips, data, pose_dir, log
) -> dict:
    """The child's request: paths in `td`, the inputs, and the parity inputs (`parity.npz`)."""
    req = {
        "keras": str(keras_path.resolve()),
        "onnx": str(td / "raw.onnx"),
        "result": str(td / "result.json"),
        "inputs": _input_specs(contract),
        "classes": contract.num_classes,
        "opset": opset,
        "parity_clips": parity_clips or RANDOM_PARITY_CLIPS,
        "parity_source": "seeded random inputs",
        "frames_name": contract.input_name,
    }
    feed = None
    if data is not None:
        feed, source = held_out_inputs(
            data, contract, keras_path, pose_dir, parity_clips or DATA_PARITY_CLIPS, log
        )
    elif contract.uses_keypoints and contract.keypoint_features != "pose-xyzv":
        feed, source = random_inputs(contract, req["inputs"], req["parity_clips"])
    if feed is not None:
        np.savez(td / "parity.npz", **feed)
        req.update(parity_npz=str(td / "parity.npz"), parity_source=source)
    return req


def _final_models(model, m16, parts, contract: ModelContract, res: dict, onnx) -> dict:
    """File name → finished ONNX model (contract embedded, outputs named)."""
    _finish(model, contract, onnx)
    files = {"model.onnx": model}
    if m16 is not None:
        c16 = contract.with_producer(onnx_fp16="onnxruntime.transformers.float16 keep_io_types")
        _finish(m16, c16, onnx)
        m16.producer_name = "edgeaction (tf2onnx, float16)"
        files["model_fp16.onnx"] = m16
    if parts is not None:
        files.update(_finish_split(*parts, contract, res["features"], onnx))
    return files


def _write_all(out_dir: Path, files: dict, contract: ModelContract, onnx) -> tuple[dict, dict]:
    """Write the models, contract.json and checksums.json; `(sha256, bytes)` by file name.

    Everything is checked: only now does anything land in DIR. Every file is written
    to a hidden `.partial` temp file first; `checksums.json` (the sha256 of each ONNX
    file, checked at load) lands before the renames, so a kill between two renames
    leaves old files that no longer match it: refused at load, never run mixed.
    """
    targets = [out_dir / name for name in files] + [out_dir / CONTRACT_FILE]
    with atomic_paths(targets) as tmps:
        for name, m in files.items():
            onnx.save(m, str(tmps[out_dir / name]))
        tmps[out_dir / CONTRACT_FILE].write_text(contract.to_json() + "\n", encoding="utf-8")
        sums = {name: sha256_file(tmps[out_dir / name]) for name in files}
        sizes = {name: tmps[out_dir / name].stat().st_size for name in files}
        write_checksums(out_dir, sums)
    return sums, sizes


def _report(
    out_dir: Path, opset: int, res: dict, source: str, sums: dict, fp16: bool, split: bool
) -> dict:
    """`export_report.json` up to the checks: files, parity, fp16 and split results."""
    report = {
        "onnx": str(out_dir / "model.onnx"),
        "opset": opset,
        "max_abs_diff": res["max_abs_diff"],
        "top1_agreement": res["top1_agreement"],
        "parity_clips": res["clips"],
        "parity_source": source,
        "sha256": sums,
    }
    if fp16:
        report.update(
            onnx_fp16=str(out_dir / "model_fp16.onnx"),
            fp16_max_abs_diff=res["fp16_max_abs_diff"],
            fp16_top1_agreement=res["fp16_top1_agreement"],
            fp16_kept_float32=res["fp16_kept_float32"],
            fp16_flip_margin=res["fp16_flip_margin"],
            fp16_cpu_float32_ops=res["fp16_cpu_float32_ops"],
        )
    if split:
        report.update(
            encoder=str(out_dir / "encoder.onnx"),
            head=str(out_dir / "head.onnx"),
            features=res["features"],
            split_max_abs_diff=res["split_max_abs_diff"],
            split_top1_agreement=res["split_top1_agreement"],
        )
    return report


def _preflight(out_dir: Path, files: dict) -> dict[str, str]:
    """TensorRT pre-flight of what was written (no GPU needed), per file and TensorRT major.

    The summary is logged and recorded; a blocker does not undo the export (ONNX Runtime
    still runs the model).
    """
    from .check import preflight

    checks = {}
    for name in ("model.onnx", "model_fp16.onnx"):
        if name in files:
            for major in (10, 11):
                r = preflight(out_dir / name, trt_major=major)
                checks[f"{name} trt{major}"] = r.summary()
    return checks


def _run_child(td: Path, keras_path: Path, log) -> dict:
    """Run `_convert` on `td/request.json`, logging its progress lines; its result."""
    from ._convert import PROGRESS

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    with open(td / "stderr.txt", "w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeaction.export._convert", str(td / "request.json")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            for line in proc.stdout:
                if line.startswith(PROGRESS):
                    log(line[len(PROGRESS) :].rstrip())
            rc = proc.wait()
        except BaseException:  # Ctrl-C: do not leave a converter running
            proc.kill()
            proc.wait()
            raise
        err.seek(0)
        stderr = err.read()
    res = json.loads((td / "result.json").read_text()) if (td / "result.json").exists() else {}
    if "error" in res:
        fail(res["error"])
    if rc != 0 or not res.get("ok"):
        tail = stderr.strip().splitlines()[-1:] or [f"exit code {rc}"]
        fail(f"tf2onnx conversion of {keras_path} failed: {tail[0][:300]}")
    return res


def _die_with_parent() -> None:
    """In the converter child: get SIGKILL when the parent dies (even by SIGKILL).

    Without it a killed `edgeaction export` leaves tf2onnx running (many GB) as an orphan.
    """
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _gate(res: dict, fp16: bool, split: bool, log) -> None:
    """Fail (nothing written) when a checked graph drifts; warn on a weak float16 one."""
    if res["max_abs_diff"] > MAX_ABS_DIFF or res["top1_agreement"] < 1.0:
        fail(
            f"ONNX export drifts from Keras: max |diff| {res['max_abs_diff']:.2e} (limit "
            f"{MAX_ABS_DIFF:.0e}), top-1 agreement {res['top1_agreement']:.1%}; nothing written"
        )
    if split and (res["split_max_abs_diff"] > MAX_ABS_DIFF or res["split_top1_agreement"] < 1.0):
        fail(
            f"head(encoder(frames)) drifts from the Keras model: max |diff| "
            f"{res['split_max_abs_diff']:.2e} (limit {MAX_ABS_DIFF:.0e}), top-1 agreement "
            f"{res['split_top1_agreement']:.1%}; nothing written"
        )
    if fp16:
        agree = res["fp16_top1_agreement"]
        margin = res.get("fp16_flip_margin")
        ties = (
            f"; the flipped clips' float32 top-1/top-2 margin is at most {margin:.1e}"
            if margin is not None
            else ""
        )
        if agree < FP16_MIN_AGREEMENT:
            fail(
                f"the float16 model agrees with float32 on only {agree:.1%} of the parity clips "
                f"(limit {FP16_MIN_AGREEMENT:.0%}; max |diff| {res['fp16_max_abs_diff']:.2e}"
                f"{ties}); nothing written; export without --fp16, or build FP16 in TensorRT "
                "and evaluate it there"
            )
        if agree < FP16_GOAL_AGREEMENT:
            log(
                f"warning: the float16 model agrees with float32 on {agree:.1%} of the parity "
                f"clips (goal {FP16_GOAL_AGREEMENT:.1%}{ties}); evaluate model_fp16.onnx "
                "before deploying it"
            )


def _finish(model, contract: ModelContract, onnx) -> None:
    """Rename the output, embed the contract, check the graph and its input shapes."""
    _rename_output(model, contract.output_name)
    _set_metadata(model, {CONTRACT_KEY: contract.to_json(), "edgeaction.version": __version__})
    model.producer_name = "edgeaction (tf2onnx)"
    onnx.checker.check_model(model)
    for inp in model.graph.input:
        dims = _dims(inp)
        if contract.uses_keypoints and inp.name == contract.pose_name:
            contract.check_keypoint_input(dims, what="exported ONNX")
        else:
            contract.check_input(inp.name, dims, what="exported ONNX")


def _finish_split(enc, head, contract: ModelContract, features: int, onnx) -> dict:
    """Name, embed `edgeaction.split` and check the encoder and head; `{file: model}`."""
    c = contract.to_dict()
    want = {
        "encoder": (enc, ENCODER_INPUT, [None, contract.height, contract.width, 3], FEATURES),
        "head": (head, FEATURES, [None, contract.frames, features], contract.output_name),
    }
    files = {}
    for part, (m, inp, shape, out) in want.items():
        _rename_output(m, out)
        meta = {
            "part": part,
            "input": inp,
            "output": out,
            "features": features,
            "frames": contract.frames,
            "contract": c,
        }
        _set_metadata(m, {SPLIT_KEY: json.dumps(meta), "edgeaction.version": __version__})
        m.producer_name = f"edgeaction (tf2onnx, {part})"
        onnx.checker.check_model(m)
        got = [(i.name, _dims(i)) for i in m.graph.input]
        if got != [(inp, shape)]:
            fail(f"the exported {part} has inputs {got}; expected [{inp!r}, {shape}]")
        files[f"{part}.onnx"] = m
    return files


def _dims(value_info) -> list:
    return [d.dim_value if d.dim_value > 0 else None for d in value_info.type.tensor_type.shape.dim]


# ---- held-out parity clips -----------------------------------------------------------------
def _train_settings(keras_path: Path) -> dict:
    """Seed and layout the run was trained with (its metrics.json)."""
    try:
        cfg = json.loads((keras_path.parent / "report" / "metrics.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(cfg, dict):
        return {}
    return {k: cfg[k] for k in ("seed", "layout") if cfg.get(k) is not None}


def _interleave(items: list) -> list:
    """Items ordered label by label in turn, so the first few cover every label."""
    by: dict[str, list] = {}
    for it in items:
        by.setdefault(it.label, []).append(it)
    groups = [by[k] for k in sorted(by)]
    return [g[i] for i in range(max(map(len, groups), default=0)) for g in groups if i < len(g)]


def held_out_inputs(
    data: str | os.PathLike,
    contract: ModelContract,
    keras_path: Path,
    pose_dir: str | os.PathLike | None = None,
    limit: int = DATA_PARITY_CLIPS,
    log=print,
) -> tuple[dict[str, np.ndarray], str]:
    """Normalised held-out clips of `data` for the parity check (runtime reader, no TF).

    Args:
        data: A labelled data set (any layout `datasets.discover` reads).
        contract: The model contract (frames, size, colour, normalisation, inputs).
        keras_path: The run's `model.keras`; its `report/metrics.json` gives the seed
            and layout of the training split.
        pose_dir: Path or None. Keypoint cache of `data` (of the kind the model reads);
            None: keypoints are extracted from the clips with MediaPipe.
        limit: Integer. At most this many clips, spread over the labels.
        log: Callable for the progress line.

    Returns:
        `({input name: float32 array (N, ...)}, "held-out clips from DATA (split)")`.
    """
    from .. import datasets
    from ..preprocess import normalize

    if contract.uses_keypoints and pose_dir is not None:
        from ..keypoints import check_cache

        check_cache(
            pose_dir, contract.keypoint_kind, data, f"model {contract.name}", contract.max_hands
        )
    cfg = _train_settings(keras_path)
    policy = contract.short_clips  # how the run sampled short clips
    ds = datasets.discover(data, layout=cfg.get("layout"), seed=int(cfg.get("seed", 0)))
    split = next((s for s in ("test", "val") if ds.split(s)), None)
    if split is None:
        fail(f"{data} has no test or val clips to check parity on; give a data set with a split")
    clips, poses, bad = [], [], []
    ex = None
    if contract.uses_keypoints and pose_dir is None:
        from ..keypoints import extractor_for

        ex = extractor_for(contract).open()  # MediaPipe before any decoding
    try:
        _held_out(ds, split, contract, pose_dir, ex, policy, limit, clips, poses, bad)
    finally:
        if ex is not None:
            ex.close()
    if not clips:
        first = f"; first: {bad[0][0]}: {bad[0][1]}" if bad else ""
        fail(f"none of the '{split}' clips of {data} could be read for the parity check{first}")
    feed = {}
    if contract.uses_frames:
        feed[contract.input_name] = normalize(np.stack(clips), contract).astype(np.float32)
    if contract.uses_keypoints:
        feed[contract.pose_name] = np.stack(poses).astype(np.float32)
    source = f"held-out clips from {data} ({split})"
    skipped = f", {len(bad)} unreadable skipped" if bad else ""
    log(f"parity inputs: {len(clips)} {source}{skipped}")
    return feed, source


def _held_out(ds, split, contract, pose_dir, ex, policy, limit, clips, poses, bad) -> None:
    """Decode up to `limit` clips of `split` into `clips` / `poses`; unreadable ones → `bad`."""
    from ..clips import load_clips
    from ..keypoints import keypoint_input

    for it in _interleave(ds.split(split)):
        if len(clips) == limit:
            break
        try:
            length, clip, kp = None, None, None
            if contract.uses_frames:
                x, _, b, lengths = load_clips(
                    [it],
                    ds.labels,
                    contract.frames,
                    contract.height,
                    contract.width,
                    contract.colour,
                    policy=policy,
                    progress=False,
                )
                if b:
                    bad.append(b[0])
                    continue
                clip, length = x[0], lengths[0]
            if contract.uses_keypoints:
                kp = keypoint_input(it, ds.root, contract, pose_dir, ex, length, policy)
        except EdgeActionError as e:
            bad.append((str(it.path), str(e)))
            continue
        clips.append(clip)
        poses.append(kp)


def random_inputs(contract, specs: list[dict], n: int) -> tuple[dict[str, np.ndarray], str]:
    """Seeded parity inputs made here (keypoint feature sets other than `pose-xyzv`).

    Frames are uniform in their spec's range, as the converter draws them; the keypoint
    input is `keypoints.features.random_input`.
    """
    from ..keypoints.features import random_input

    rng = np.random.default_rng(0)
    feed = {}
    for spec in specs:
        if contract.uses_keypoints and spec["name"] == contract.pose_name:
            feed[spec["name"]] = random_input(contract, n, rng)
        else:
            size = (n, *spec["shape"][1:])
            feed[spec["name"]] = rng.uniform(*spec["range"], size).astype(np.float32)
    kind, fs = contract.keypoint_kind, contract.keypoint_features
    return feed, f"seeded random inputs (random {kind} keypoints through {fs})"


def _input_specs(contract) -> list[dict]:
    """Name, shape (batch 1) and parity value range of every model input."""
    specs = []
    if contract.uses_frames:
        shape = list(contract.input_shape(1))
        # The range normalised pixels 0..255 span under this contract's normalisation.
        ends = [
            (v * contract.scale - m) / s
            for v in (0.0, 255.0)
            for m, s in zip(contract.mean, contract.std, strict=True)
        ]
        specs.append({"name": contract.input_name, "shape": shape, "range": [min(ends), max(ends)]})
    if contract.uses_keypoints:
        shape = list(contract.keypoint_shape(1))
        specs.append({"name": contract.pose_name, "shape": shape, "range": [0.0, 1.0]})
    return specs


def _rename_output(model, name: str) -> None:
    g = model.graph
    if len(g.output) != 1:
        fail(f"expected one model output, the ONNX graph has {len(g.output)}")
    old = g.output[0].name
    if old == name:
        return
    for node in g.node:
        for i, o in enumerate(node.output):
            if o == old:
                node.output[i] = name
        for i, x in enumerate(node.input):
            if x == old:
                node.input[i] = name
    g.output[0].name = name


def _set_metadata(model, props: dict[str, str]) -> None:
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    for p in keep:
        model.metadata_props.add(key=p.key, value=p.value)
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
