"""The float16 ONNX graph a strongly typed TensorRT (10.12+, 11.x) builds FP16 from.

TensorRT 11.x has no FP16 builder flag and 10.12+ deprecates it: the network is created
`STRONGLY_TYPED` and takes its precision from the ONNX graph (FACTS). `fp16_source`
picks that graph for `build_engine`:

1. `model_fp16.onnx` beside a whole model, from `edgeaction export --fp16` (checked on
   held-out clips at export, sha256 verified here);
2. otherwise a conversion made on the fly with the export's own converter
   (`onnx_fp16.to_fp16`: float32 inputs and outputs, sensitive ops kept float32)
   into a temporary directory, compared with the float32 graph under ONNX Runtime on
   seeded inputs before TensorRT sees it. Split parts (`encoder.onnx`, `head.onnx`)
   always take this path: export writes no float16 parts.

```python
with tempfile.TemporaryDirectory() as td:
    graph, facts = fp16_source(Path("models/a/model.onnx"), None, contract, Path(td))
    facts   # {"graph": "converted on the fly ...", "max_abs_diff": 3e-4, "top1_agreement": 1.0}
```

The comparison runs on ONNX Runtime's CPU execution provider, which has no float16
kernels for Conv/MatMul/LSTM (it runs them in float32), so its figures are a lower bound
on TensorRT's FP16 error; `edgeaction compare MODEL.onnx ENGINE --data DIR` measures the
engine itself on real clips.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._lazy import require
from ..artefacts import ENCODER_ONNX, fp16_twin, is_fp16_onnx
from ..contract import ModelContract, SplitPart, split_part_from_onnx
from ..errors import fail, first_line
from ..fsutil import verify_checksum

#: Seeded inputs the on-the-fly conversion is compared on (clips, or frames / windows).
CHECK_CLIPS = 8
#: Below this top-1 agreement with the float32 graph a warning is logged (export's gate).
MIN_AGREEMENT = 0.98
CONVERTER = "onnxruntime.transformers.float16 (keep_io_types, edgeaction block list)"


def exported_fp16(onnx: Path) -> Path | None:
    """`model_fp16.onnx` beside `model.onnx` (or `onnx` itself if it is one), or None."""
    if is_fp16_onnx(onnx):
        return onnx
    cand = fp16_twin(onnx)
    return cand if cand.exists() else None


def fp16_source(
    onnx: Path,
    part: SplitPart | None,
    contract: ModelContract,
    workdir: Path,
    log=print,
) -> tuple[Path, dict[str, Any]]:
    """The float16 graph to build an FP16 engine of `onnx` from, and what it is.

    Args:
        onnx: Path of the float32 model (whole model or split part).
        part: SplitPart or None. Set when `onnx` is `encoder.onnx` / `head.onnx`.
        contract: ModelContract. The whole model's contract.
        workdir: Path. Where a converted graph is written (the caller removes it).
        log: Callable taking one string.

    Returns:
        `(path, facts)`: the graph to parse, and a dict for the engine's sidecar
        (`graph`: how it was made; for a conversion also `max_abs_diff`,
        `top1_agreement` (whole model and head) and `check_inputs`).
    """
    if part is None:
        given = exported_fp16(onnx)
        if given is not None:
            verify_checksum(given)
            return given, {"graph": f"{given.name} from edgeaction export --fp16"}
    onnx_mod = require("onnx")
    from ..onnx_fp16 import to_fp16

    log(f"no float16 graph of {onnx.name}: converting it for TensorRT's strongly typed FP16")
    try:
        m16, kept = to_fp16(onnx_mod.load(str(onnx)))
    except Exception as e:  # the converter raises whatever onnx/ORT raise
        fail(
            f"cannot convert {onnx.name} to float16 ({first_line(e)}); run "
            "`edgeaction export --fp16` or build with --no-fp16"
        )
    out = workdir / fp16_twin(onnx).name
    onnx_mod.save(m16, str(out))
    feed, what = check_inputs(onnx, part, contract)
    figures = compare_graphs(onnx, out, feed, probs=part is None or part.part == "head")
    facts: dict[str, Any] = {
        "graph": f"{onnx.name} converted on the fly by {CONVERTER}",
        "kept_float32": kept,
        **figures,
        "check_inputs": what,
    }
    line = (
        f"float16 vs float32 under ONNX Runtime on {what}: max |diff| {figures['max_abs_diff']:.1e}"
    )
    agree = figures.get("top1_agreement")
    if agree is not None:
        line += f", top-1 agreement {agree:.1%}"
    else:  # features: how large the error is against the features themselves
        line += f" ({figures['max_rel_diff']:.1e} of the largest feature)"
    log(line)
    if agree is not None and agree < MIN_AGREEMENT:
        log(
            f"WARNING: the float16 graph of {onnx.name} agrees with float32 on only "
            f"{agree:.1%} of {what}; check the engine with `edgeaction compare "
            f"{onnx.name} ENGINE --data DIR`, or build with --no-fp16"
        )
    return out, facts


def check_inputs(
    onnx: Path, part: SplitPart | None, contract: ModelContract, n: int = CHECK_CLIPS
) -> tuple[dict[str, np.ndarray], str]:
    """Seeded inputs for `onnx` in the ranges it sees at run time, and their description.

    A whole model gets `n` random uint8 clips normalised as `preprocess.normalize` does
    (and, for a keypoint input, `keypoints.features.random_input`: uniform
    landmarks for `pose-xyzv`, random raw keypoints of the kind through the contract's
    feature set otherwise); an encoder gets the frames of those clips;
    a head gets the features `encoder.onnx` beside it computes from them (float32 ORT).
    """
    from ..preprocess import normalize

    rng = np.random.default_rng(0)
    c = contract
    clips = rng.integers(0, 256, (n, c.frames, c.height, c.width, 3), dtype=np.uint8)
    if part is None:
        feed = {}
        if c.uses_frames:
            feed[c.input_name] = normalize(clips, c)
        if c.uses_keypoints:
            from ..keypoints.features import random_input

            feed[c.pose_name] = random_input(c, n, rng)
        return feed, f"{n} seeded random clips"
    frames = normalize(clips.reshape(1, -1, c.height, c.width, 3), replace(c, layout="NTHWC"))[0]
    if part.part == "encoder":
        return {part.input: frames}, f"{len(frames)} seeded random frames"
    enc_path = onnx.with_name(ENCODER_ONNX)
    enc = split_part_from_onnx(enc_path) if enc_path.exists() else None
    if enc is None:
        fail(f"{onnx.name} has no {ENCODER_ONNX} beside it; re-export with `--split`")
    feats = _ort(enc_path).run([enc.output], {enc.input: frames})[0]
    feats = feats.reshape(n, c.frames, -1).astype(np.float32)
    return {part.input: feats}, f"encoder features of {n} seeded random clips"


def compare_graphs(
    fp32: str | os.PathLike, fp16: str | os.PathLike, feed: dict, probs: bool
) -> dict[str, float]:
    """How the first outputs of two graphs differ on `feed`.

    Returns:
        `max_abs_diff`; with `probs`, `top1_agreement` (share of rows whose argmax
        agrees), else `max_rel_diff` (max |diff| over the largest |float32 value|).
    """
    a = _ort(fp32).run(None, feed)[0].astype(np.float64)
    try:
        b = _ort(fp16).run(None, feed)[0].astype(np.float64)
    except Exception as e:  # onnxruntime raises its own exception types
        fail(
            f"the float16 graph of {Path(fp32).name} does not run ({first_line(e)}); "
            "run `edgeaction export --fp16` or build with --no-fp16"
        )
    diff = float(np.max(np.abs(a - b)))
    if probs:
        return {
            "max_abs_diff": diff,
            "top1_agreement": float(np.mean(a.argmax(-1) == b.argmax(-1))),
        }
    return {"max_abs_diff": diff, "max_rel_diff": diff / max(float(np.max(np.abs(a))), 1e-12)}


def _ort(path):
    ort = require("onnxruntime")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
