"""`edgeaction export RUN --out DIR`: Keras model → `DIR/model.onnx` + `DIR/contract.json`.

The conversion runs in a child process (tf2onnx peaks at many GB on big graphs; FACTS);
the parent renames the output tensor to the contract's name, embeds the contract in the
ONNX `metadata_props` (`edgeaction.contract`), checks the graph and writes both files
atomically. A parity check (Keras vs ONNX Runtime on seeded clips) guards every export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import __version__
from .._lazy import require
from ..contract import CONTRACT_FILE, CONTRACT_KEY, ModelContract
from ..errors import fail
from ..fsutil import atomic_path, atomic_write_text, check_writable_dir

#: ONNX opset: TensorRT 8.6–11 parse it and tf2onnx 1.17 refuses 19+ (FACTS).
DEFAULT_OPSET = 17
MAX_ABS_DIFF = 1e-4


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
    parity_clips: int = 4,
    log=print,
) -> dict:
    """Export a trained model to ONNX with its contract; returns the export report.

    Args:
        run: Run directory (`model.keras` + `contract.json`) or a `.keras` path with a
            `contract.json` beside it.
        out: Output directory; gets `model.onnx`, `contract.json`, `export_report.json`.
        opset: Integer. ONNX opset, 13..18. Defaults to `17`.
        parity_clips: Integer. Seeded clips for the Keras-vs-ORT parity check.
        log: Callable for progress lines.
    """
    if not 13 <= opset <= 18:
        fail(f"--opset must be in 13..18 (tf2onnx 1.17 refuses 19+). Received: {opset}")
    keras_path, contract = resolve_run(run)
    out_dir = check_writable_dir(out, "export output directory")
    onnx = require("onnx")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="edgeaction-export-") as td:
        td = Path(td)
        req = {
            "keras": str(keras_path.resolve()),
            "onnx": str(td / "raw.onnx"),
            "result": str(td / "result.json"),
            "inputs": _input_specs(contract),
            "classes": contract.num_classes,
            "opset": opset,
            "parity_clips": parity_clips,
        }
        (td / "request.json").write_text(json.dumps(req))
        log(f"converting {keras_path} with tf2onnx (opset {opset}) in a child process ...")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run(
            [sys.executable, "-m", "edgeaction.export._convert", str(td / "request.json")],
            env=env,
            capture_output=True,
            text=True,
        )
        res = json.loads((td / "result.json").read_text()) if (td / "result.json").exists() else {}
        if "error" in res:
            fail(res["error"])
        if proc.returncode != 0 or not res.get("ok"):
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            fail(f"tf2onnx conversion of {keras_path} failed: {tail[0][:300]}")
        if res["max_abs_diff"] > MAX_ABS_DIFF or res["top1_agreement"] < 1.0:
            fail(
                f"ONNX export drifts from Keras: max |diff| {res['max_abs_diff']:.2e} (limit "
                f"{MAX_ABS_DIFF:.0e}), top-1 agreement {res['top1_agreement']:.1%}; nothing written"
            )
        model = onnx.load(str(td / "raw.onnx"))
    contract = contract.with_producer(
        edgeaction=__version__,
        tensorflow=res["tensorflow"],
        keras=res["keras"],
        tf2onnx=res["tf2onnx"],
        onnx_opset=str(opset),
    )
    _rename_output(model, contract.output_name)
    _set_metadata(model, {CONTRACT_KEY: contract.to_json(), "edgeaction.version": __version__})
    model.producer_name = "edgeaction (tf2onnx)"
    onnx.checker.check_model(model)
    for inp in model.graph.input:
        dims = [d.dim_value if d.dim_value > 0 else None for d in inp.type.tensor_type.shape.dim]
        if contract.uses_pose and inp.name == contract.pose_name:
            contract.check_pose_input(dims, what="exported ONNX")
        else:
            contract.check_input(inp.name, dims, what="exported ONNX")
    with atomic_path(out_dir / "model.onnx") as tmp:
        onnx.save(model, str(tmp))
    contract.save(out_dir / CONTRACT_FILE)
    report = {
        "onnx": str(out_dir / "model.onnx"),
        "opset": opset,
        "max_abs_diff": res["max_abs_diff"],
        "top1_agreement": res["top1_agreement"],
        "parity_clips": res["clips"],
        "seconds": round(time.monotonic() - t0, 1),
        "producer": contract.producer,
    }
    atomic_write_text(out_dir / "export_report.json", json.dumps(report, indent=2) + "\n")
    log(
        f"wrote {out_dir / 'model.onnx'} (parity: max |diff| {res['max_abs_diff']:.1e}, "
        f"top-1 {res['top1_agreement']:.0%}, {report['seconds']} s)"
    )
    return report


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
    if contract.uses_pose:
        shape = list(contract.pose_shape(1))
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
