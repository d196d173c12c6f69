"""`edgeaction jetson deepstream`: DeepStream 7.1 configs and a pyds app for a model.

```
edgeaction jetson deepstream models/a --out ds/ --streams 2 --sources file:///clips/a.mp4 rtsp://cam
```

writes into `ds/` (each file temp + rename):

```
config_infer.txt       Gst-nvinfer [property]: model, batch, precision, raw tensor output
config_preprocess.txt  Gst-nvdspreprocess: T-frame sequences per stream, normalisation
labels.txt             the contract's labels, one a line, in output order
deepstream_app.py      uridecodebin ×N → nvstreammux → nvdspreprocess → nvinfer → fakesink,
                       printing edgeaction's event JSON lines (needs only DeepStream's pyds)
run.sh                 the command line
README.txt             what each file is, the DeepStream version, how to run it
model_ncthw.onnx       only for an NTHWC model: the model behind a Transpose (see below)
```

Where the key names and forms come from (DeepStream 7.1):

- Gst-nvinfer: `gstnvinfer_property_parser.h/.cpp` (`[property]` keys; `infer-dims` is
  parsed as exactly 3 integers `c;h;w`, so a 5-D clip input cannot be written there and
  is left out: TensorRT takes T/H/W from the ONNX graph, only the batch is dynamic) and
  `NvDsInferContextImpl::parseLabelsFile` (each line of the labels file is split on
  `;`: one output layer's labels per line for classifiers, one label per line for
  detectors; `network-type=100` parses no output, so labels are the app's, one a line).
- Gst-nvdspreprocess and the `deepstream-3d-action-recognition` sample
  (`config_preprocess_3d_custom.txt`, `config_infer_primary_3d_action.txt`).
- `libnvds_custom_sequence_preprocess.so` (the sample's `custom_sequence_preprocess/`):
  the 3-D path fills NCSHW (= our NCTHW) only; the kernel computes
  `y = x * factor[c] - factor[c] * offset[c] = (x - offset[c]) * factor[c]` on 0..255
  pixels, always writing float32; a frame is taken when it is more than `subsample`
  frames after the last one taken (so `subsample=0` takes every frame) and a window is
  emitted every `stride` taken frames.
- pyds (deepstream_python_apps): `GstNvDsPreProcessBatchMeta.roi_vector`, each
  `roi_meta.roi_user_meta_list` holding nvinfer's `NVDSINFER_TENSOR_OUTPUT_META`
  (as the 3-D action sample reads it), `pyds.get_nvds_LayerInfo`, `pyds.get_ptr`.

Our normalisation is `(x * scale - mean[c]) / std[c]`, so `factor[c] = scale / std[c]`
and `offset[c] = mean[c] / scale`; `subsample` is the contract's minus one.

Layouts: the sequence library only builds NCTHW tensors. Our export writes NTHWC
(Keras), so for an NTHWC or NTCHW ONNX model this writes `model_ncthw.onnx`: the same
graph behind one Transpose from an NCTHW input of the same name (its embedded contract
says NCTHW). That needs the `onnx` package (run it where you export). An NTHWC/NTCHW
*engine* cannot be rewritten: give its ONNX model instead and rebuild the engine from
`model_ncthw.onnx` (or let nvinfer build it).
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from .. import options
from ..artefacts import ENGINE, ONNX, resolve_model
from ..contract import ModelContract, contract_from_onnx
from ..errors import fail
from ..fsutil import atomic_write_text, check_writable_dir
from ..options import check_file_value
from .ncthw import write_ncthw

DEEPSTREAM_VERSION = "7.1"
CUSTOM_LIB = "/opt/nvidia/deepstream/deepstream/lib/libnvds_custom_sequence_preprocess.so"
CUSTOM_FUNC = "CustomSequenceTensorPreparation"
WRAPPED_ONNX = "model_ncthw.onnx"
PLACEHOLDER_SOURCE = "file:///opt/nvidia/deepstream/deepstream/samples/streams/sample_walk.mov"
GIE_ID = 1
PREPROCESS_ID = 5
MUX_WIDTH, MUX_HEIGHT = 1280, 720
#: contract colour → nvinfer `model-color-format` / nvdspreprocess `network-color-format`.
COLOR_FORMATS = {"RGB": 0, "BGR": 1}
#: precision → nvinfer `network-mode` (0=FP32, 1=INT8, 2=FP16).
NETWORK_MODES = {"fp32": 0, "fp16": 2}
FILES = (
    "config_infer.txt",
    "config_preprocess.txt",
    "labels.txt",
    "deepstream_app.py",
    "run.sh",
    "README.txt",
)


def preprocess_factors(contract: ModelContract) -> tuple[list[float], list[float]]:
    """Per-channel `channel-scale-factors` and `channel-mean-offsets` for the sequence lib.

    The library computes `(x - offset[c]) * factor[c]` on 0..255 pixels; ours is
    `(x * scale - mean[c]) / std[c]` = `(x - mean[c] / scale) * (scale / std[c])`.

    Args:
        contract: ModelContract. Its `scale`, `mean` and `std`.

    Returns:
        `(factors, offsets)`, 3 floats each, in the contract's channel order.
    """
    factors = [contract.scale / s for s in contract.std]
    offsets = [m / contract.scale for m in contract.mean]
    return factors, offsets


def generate(
    model: str | os.PathLike,
    out: str | os.PathLike,
    engine: str | os.PathLike | None = None,
    batch: int | None = None,
    streams: int = 1,
    precision: str | None = None,
    sources: list[str] | None = None,
    zones: list | None = None,
) -> dict[str, Any]:
    """Write DeepStream configs, labels and a pyds app for `model` into `out`.

    Args:
        model: Path. An `.onnx` model carrying our contract, an export directory holding
            `model.onnx`, or a TensorRT engine (`.engine`/`.plan`) with its sidecar JSON.
        out: Path. Output directory (created).
        engine: Path or None. The engine nvinfer should load (`model-engine-file`);
            None: the engine given as `model`, else the name nvinfer builds itself.
        batch: Integer or None. nvinfer `batch-size` and the preprocess batch; None:
            one per stream without zones plus one per zone.
        streams: Integer. Number of sources (nvstreammux `batch-size`). Defaults to `1`.
        precision: `"fp16"`, `"fp32"` or None (an engine's own, else `"fp16"`).
        sources: List of URIs for `run.sh`, or None for a placeholder.
        zones: List of `options.Roi` or None. Zones per stream (`--roi`), written into
            nvdspreprocess' `roi-params-src-N`; a stream without zones is processed whole.

    Returns:
        Dict: `out`, `files` (names written), `contract`, `batch`, `precision`,
        `onnx` and `engine` (paths as written in `config_infer.txt`, or None),
        `wrapped` (whether `model_ncthw.onnx` was written).
    """
    from ..pipelines.zones import zones_by_stream

    valid = isinstance(streams, int) and streams >= 1  # else _check_arguments says so
    by_stream = zones_by_stream(zones, streams) if valid else []  # bad stream index / name
    if batch is None and by_stream:
        batch = sum(len(z) or 1 for z in by_stream)
    batch = _check_arguments(batch, streams, precision, sources)
    src = _resolve(Path(model))
    contract = src["contract"]
    _check_contract(contract, str(model))
    engine_path, sidecar = _engine_and_sidecar(src, model, engine)
    precision = _precision(precision, sidecar, engine_path)
    if sidecar is not None:
        _check_profile(sidecar, contract, batch, engine_path)
    out_dir = check_writable_dir(out)

    onnx_path, wrapped = src["onnx"], False
    if contract.layout != "NCTHW":
        onnx_path = write_ncthw(src["onnx"], contract, out_dir / WRAPPED_ONNX)
        contract, wrapped = replace(contract, layout="NCTHW"), True

    onnx_ref = _ref(onnx_path, out_dir) if onnx_path is not None else None
    if engine_path is not None:
        engine_ref = _ref(engine_path, out_dir)
    else:  # the name nvinfer gives the engine it builds beside the ONNX model
        engine_ref = f"{onnx_ref}_b{batch}_gpu0_{precision}.engine"
    texts = {
        "labels.txt": "".join(f"{label}\n" for label in contract.labels),
        "config_infer.txt": infer_config(
            contract, onnx_ref, engine_ref, batch, precision, wrapped, engine_path is None
        ),
        "config_preprocess.txt": preprocess_config(contract, batch, streams, by_stream),
        "deepstream_app.py": _checked_app(contract),
        "run.sh": run_script(sources or [], streams),
        "README.txt": readme(contract, batch, precision, streams, wrapped, onnx_ref, engine_ref),
    }
    files = _write_files(out_dir, texts, wrapped)
    return {
        "out": str(out_dir),
        "files": files,
        "contract": contract,
        "batch": batch,
        "precision": precision,
        "onnx": onnx_ref,
        "engine": engine_ref,
        "wrapped": wrapped,
    }


def _check_arguments(
    batch: int | None, streams: int, precision: str | None, sources: list[str] | None
) -> int:
    """Check `generate`'s numbers, precision and URIs; returns the batch (`streams` if None)."""
    if not isinstance(streams, int) or streams < 1:
        fail(f"--streams must be >= 1. Received: {streams!r}")
    if batch is None:
        batch = streams
    if not isinstance(batch, int) or batch < 1:
        fail(f"--batch must be >= 1. Received: {batch!r}")
    for s in sources or []:
        options.check_uri(s, "--sources")
    if sources and len(sources) != streams:
        fail(
            f"--streams {streams} but {len(sources)} --sources; give one URI per stream "
            "(or leave --streams out)"
        )
    if precision is not None and precision not in NETWORK_MODES:
        fail(f"--precision must be fp16 or fp32. Received: {precision!r}")
    return batch


def _engine_and_sidecar(
    src: dict[str, Any], model: str | os.PathLike, engine: str | os.PathLike | None
) -> tuple[Path | None, dict | None]:
    """The engine nvinfer loads (None: it builds one) and its sidecar, checked against MODEL.

    A layout other than NCTHW needs the NCTHW wrapper model, so no given engine can serve.
    """
    contract, sidecar = src["contract"], src["sidecar"]
    if engine is not None and src["engine"] is not None and Path(engine) != src["engine"]:
        fail(f"MODEL {model} is already an engine; drop --engine or give the ONNX model")
    engine_path = Path(engine) if engine is not None else src["engine"]
    if contract.layout != "NCTHW":  # the sequence library fills NCTHW only
        if src["onnx"] is None:
            fail(
                f"{contract.layout} input cannot be built by nvdspreprocess' sequence "
                f"library (NCTHW only) and engine {engine_path.name} cannot be rewritten; "
                "give the model's ONNX file so model_ncthw.onnx is written"
            )
        if engine is not None:
            fail(
                f"--engine {engine} takes {contract.layout} input, nvdspreprocess builds "
                f"NCTHW; drop --engine (nvinfer builds one from {WRAPPED_ONNX})"
            )
        return None, None
    if engine_path is not None and sidecar is None and engine_path.exists():
        from ..engine.sidecar import read_sidecar

        sidecar = read_sidecar(engine_path)
        built = ModelContract.from_dict(sidecar["contract"], source=f"{engine_path.name} sidecar")
        if built != contract:
            fail(
                f"engine {engine_path.name} serves model '{built.name}', not {model} "
                f"('{contract.name}'); give the engine built from this model"
            )
    return engine_path, sidecar


def _precision(precision: str | None, sidecar: dict | None, engine_path: Path | None) -> str:
    """The network mode: the one asked for, else the engine's own, else fp16."""
    built_precision = (sidecar or {}).get("precision")
    if precision is None:
        return built_precision if built_precision in NETWORK_MODES else "fp16"
    if built_precision in NETWORK_MODES and built_precision != precision:
        fail(
            f"engine {engine_path.name} was built {built_precision}, --precision is "
            f"{precision}; drop --precision or rebuild the engine"
        )
    return precision


def _write_files(out_dir: Path, texts: dict[str, str], wrapped: bool) -> list[str]:
    """Write `texts` (name → text) into `out_dir`, shareable; returns the names written."""
    for name, text in texts.items():
        atomic_write_text(out_dir / name, text)
    files = list(FILES) + ([WRAPPED_ONNX] if wrapped else [])
    for name in files:  # temp files are created 0600; these are meant to be shared
        (out_dir / name).chmod(0o755 if name == "run.sh" else 0o644)
    return files


# ---- inputs ------------------------------------------------------------------------------
def _resolve(p: Path) -> dict[str, Any]:
    """`contract`, `onnx` (Path or None), `engine` (Path or None), `sidecar` of MODEL."""
    kind, p = resolve_model(p, (ONNX, ENGINE))
    if kind == ONNX:
        return {"contract": contract_from_onnx(p), "onnx": p, "engine": None, "sidecar": None}
    if kind == ENGINE:
        from ..engine.sidecar import read_sidecar

        side = read_sidecar(p)
        contract = ModelContract.from_dict(side["contract"], source=f"{p.name} sidecar")
        onnx_name = (side.get("onnx") or {}).get("file")
        beside = p.with_name(onnx_name) if onnx_name else None
        onnx = beside if beside is not None and beside.is_file() else None
        return {"contract": contract, "onnx": onnx, "engine": p, "sidecar": side}
    raise AssertionError(kind)  # resolve_model returns only the kinds asked for


def _check_contract(c: ModelContract, what: str) -> None:
    if c.modality != "rgb":
        fail(
            f"DeepStream configs support frame-only models; {what} is a '{c.modality}' model "
            "(MediaPipe keypoints have no DeepStream preprocess): run it with `edgeaction run`"
        )
    if c.dtype != "float32":
        fail(
            f"{what} takes {c.dtype} input; nvdspreprocess' sequence library writes float32 "
            "tensors: give the float32 model.onnx (--precision fp16 still runs FP16 inside)"
        )
    for label in c.labels:
        if (label + "\n").splitlines() != [label]:
            fail(f"label {label!r} holds a line break; fix the labels in contract.json")
    for key in ("name", "input_name", "output_name"):  # written into configs and the app
        check_file_value(getattr(c, key), f"{what}: contract {key}")


def _checked_app(c: ModelContract) -> str:
    """`app_source(c)`, checked with Python's own parser: the contract's names must come
    back unchanged as the app's constants (no quote can end a string early)."""
    import ast

    text = app_source(c)
    try:
        consts = {
            n.targets[0].id: n.value.value
            for n in ast.parse(text).body
            if isinstance(n, ast.Assign)
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Constant)
        }
    except SyntaxError:
        consts = {}
    if consts.get("MODEL") != c.name or consts.get("OUTPUT") != c.output_name:
        fail(f"contract name {c.name!r} cannot be written into deepstream_app.py; rename the model")
    return text


def _check_profile(side: dict, c: ModelContract, batch: int, engine: Path | None) -> None:
    prof = (side.get("profiles") or {}).get(c.input_name)
    try:
        lo, hi = int(prof[0][0]), int(prof[2][0])
    except (TypeError, ValueError, IndexError, KeyError):
        return
    name = engine.name if engine is not None else "the engine"
    if lo > 1 or not lo <= batch <= hi:
        fail(
            f"{name} takes batch {lo}..{hi}, DeepStream sends 1..{batch} sequences "
            f"(--batch {batch}); use --batch <= {hi} or rebuild with "
            f"`edgeaction build-engine MODEL.onnx --batch 1:{batch}:{batch}`"
        )


def _ref(p: Path, out_dir: Path) -> str:
    """How a config names `p`: its name when it lies in `out_dir`, else its absolute path.

    DeepStream resolves relative paths against the config file's directory.
    """
    a = Path(os.path.abspath(p))
    if a.parent == Path(os.path.abspath(out_dir)):
        return a.name
    return str(a)


def _num(x: float) -> str:
    return f"{x:.9g}"


# ---- the files ---------------------------------------------------------------------------
def infer_config(
    c: ModelContract,
    onnx_ref: str | None,
    engine_ref: str,
    batch: int,
    precision: str,
    wrapped: bool,
    auto_engine: bool,
) -> str:
    """The text of `config_infer.txt` (Gst-nvinfer, `[property]` group)."""
    dims = ";".join(str(d) for d in c.input_shape()[1:])
    lines = [
        f"# Gst-nvinfer config for '{c.name}', written by edgeaction for DeepStream "
        f"{DEEPSTREAM_VERSION}.",
        "# Input: the NCTHW float32 tensor nvdspreprocess prepares (config_preprocess.txt);",
        "# output: the raw probability tensor as NVDSINFER_TENSOR_OUTPUT_META, read by",
        "# deepstream_app.py (network-type=100 parses nothing itself).",
        "",
        "[property]",
        "gpu-id=0",
        f"gie-unique-id={GIE_ID}",
        "# 1=primary: full frames (the preprocess ROIs cover whole frames)",
        "process-mode=1",
    ]
    if onnx_ref is not None:
        if wrapped:
            lines.append("# model_ncthw.onnx: the exported NTHWC model behind one Transpose")
        lines.append(f"onnx-file={options.keyfile_value(onnx_ref, 'ONNX model path')}")
    if auto_engine:
        lines.append(
            "# nvinfer builds this engine from onnx-file on the first run (minutes) and reuses it"
        )
    lines += [
        f"model-engine-file={options.keyfile_value(engine_ref, 'engine path')}",
        "labelfile-path=labels.txt",
        f"batch-size={batch}",
        "# 0=FP32, 1=INT8, 2=FP16",
        f"network-mode={NETWORK_MODES[precision]}",
        "# 100=other: no parsing, tensors go to the app (output-tensor-meta=1)",
        "network-type=100",
        "output-tensor-meta=1",
        "tensor-meta-pool-size=8",
        "# the input tensor comes from nvdspreprocess' user meta, not from nvinfer's scaling",
        "input-tensor-from-meta=1",
        "# 0=RGB, 1=BGR (informative here: nvdspreprocess' network-color-format orders channels)",
        f"model-color-format={COLOR_FORMATS[c.colour]}",
        "# 4=no clustering (no detector output)",
        "cluster-mode=4",
        f"# Model input without batch ({c.layout}): {dims}. infer-dims is not written:",
        "# nvinfer parses it as exactly 3 values c;h;w, and the ONNX graph fixes T, H and W.",
        "# net-scale-factor/offsets are not written either: with input-tensor-from-meta=1",
        "# nvinfer does no normalisation; channel-scale-factors/channel-mean-offsets in",
        "# config_preprocess.txt apply the contract's (x*scale - mean)/std.",
        "",
    ]
    return "\n".join(lines)


def preprocess_groups(streams: int, zones: list[list] | None = None) -> list[str]:
    """The `[group-N]` lines of `config_preprocess.txt`: the streams without zones whole
    (`process-on-roi=0`), those with zones (`zones[i]`: `options.Roi`s) by their ROIs in
    `roi-params-src-N=left;top;width;height;...` (one sequence per ROI)."""
    zones = zones or [[] for _ in range(streams)]
    whole = [i for i in range(streams) if not zones[i]]
    zoned = [i for i in range(streams) if zones[i]]
    lines: list[str] = []
    if whole:
        lines += [
            "[group-0]",
            f"src-ids={';'.join(map(str, whole))}",
            "# 0=the whole frame of each source is one sequence",
            "process-on-roi=0",
            "",
        ]
    if zoned:
        lines += [
            f"[group-{1 if whole else 0}]",
            f"src-ids={';'.join(map(str, zoned))}",
            "# 1=each ROI (left;top;width;height in source pixels) is one sequence",
            "process-on-roi=1",
        ]
        for i in zoned:
            names = ", ".join(z.name for z in zones[i])
            lines.append(f"# source {i} zones, in order: {names}")
            boxes = ";".join(f"{z.x};{z.y};{z.w};{z.h}" for z in zones[i])
            lines.append(f"roi-params-src-{i}={boxes}")
        lines.append("")
    return lines


def preprocess_config(
    c: ModelContract, batch: int, streams: int, zones: list[list] | None = None
) -> str:
    """The text of `config_preprocess.txt` (Gst-nvdspreprocess with the sequence lib);
    `zones[i]` (`options.Roi`s) become stream i's `roi-params-src-i`."""
    factors, offsets = preprocess_factors(c)
    shape = ";".join(str(d) for d in c.input_shape(batch))
    return "\n".join(
        [
            f"# Gst-nvdspreprocess config for '{c.name}', written by edgeaction for DeepStream "
            f"{DEEPSTREAM_VERSION}:",
            f"# sequences of {c.frames} frames per stream, as in deepstream-3d-action-recognition.",
            "",
            "[property]",
            "enable=1",
            f"unique-id={PREPROCESS_ID}",
            f"target-unique-ids={GIE_ID}",
            "gpu-id=0",
            "# 1=process whole frames (no objects)",
            "process-on-frame=1",
            "# batch;C;T;H;W (NCTHW: the only order the sequence library fills)",
            f"network-input-shape={shape}",
            "# 0=NCHW, 1=NHWC, 2=CUSTOM (the custom library decides)",
            "network-input-order=2",
            "# 0=RGB, 1=BGR, 2=GRAY",
            f"network-color-format={COLOR_FORMATS[c.colour]}",
            "# 0=FP32 (the sequence library writes float32)",
            "tensor-data-type=0",
            f"tensor-name={c.input_name}",
            f"processing-width={c.width}",
            f"processing-height={c.height}",
            "# 0=NVBUF_MEM_DEFAULT; 0=default compute; 1=bilinear (GStreamer videoscale's default)",
            "scaling-pool-memory-type=0",
            "scaling-pool-compute-hw=0",
            "scaling-filter=1",
            "scaling-buf-pool-size=6",
            "tensor-buf-pool-size=8",
            f"custom-lib-path={CUSTOM_LIB}",
            f"custom-tensor-preparation-function={CUSTOM_FUNC}",
            "",
            "[user-configs]",
            "# The library computes y = (x - offset[c]) * factor[c] on 0..255 pixels; the",
            "# contract's y = (x*scale - mean[c]) / std[c] gives factor = scale/std[c] and",
            f"# offset = mean[c]/scale (scale {_num(c.scale)}, mean "
            f"{';'.join(map(_num, c.mean))}, std {';'.join(map(_num, c.std))}).",
            f"channel-scale-factors={';'.join(map(_num, factors))}",
            f"channel-mean-offsets={';'.join(map(_num, offsets))}",
            "# a window every `stride` taken frames (contract stride)",
            f"stride={c.stride}",
            "# frames skipped between taken ones: contract subsample - 1 (0 = every frame)",
            f"subsample={c.subsample - 1}",
            "",
            *preprocess_groups(streams, zones),
        ]
    )


APP_RESOURCE = "deepstream_app/app.py"


def app_settings(c: ModelContract, top_k: int = 3) -> dict[str, Any]:
    """The values of the app's settings block for the model of `c`."""
    return {
        "MODEL": c.name,
        "OUTPUT": c.output_name,
        "PROBS": bool(c.outputs_probabilities),
        "TOP_K": min(top_k, c.num_classes),
        "MUX_WIDTH": MUX_WIDTH,
        "MUX_HEIGHT": MUX_HEIGHT,
    }


def app_source(c: ModelContract, top_k: int = 3) -> str:
    """The text of `deepstream_app.py` (Python 3.10, pyds, no edgeaction import).

    The app is package data (`edgeaction/jetson/deepstream_app/app.py`, a real module that
    linters and tests read); each `NAME = value` line of its settings block is rewritten
    with the `repr` of this model's value.
    """
    text = resources.files(__package__).joinpath(APP_RESOURCE).read_text(encoding="utf-8")
    todo = app_settings(c, top_k)
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        name = line.split(" = ", 1)[0]
        if name in todo and line.startswith(f"{name} = "):
            lines[i] = f"{name} = {todo.pop(name)!r}\n"
    if todo:  # the packaged app lost a setting: a broken installation, not a user mistake
        raise AssertionError(f"{APP_RESOURCE} has no settings line for {sorted(todo)}")
    return "".join(lines)


def run_script(sources: list[str], streams: int) -> str:
    """The text of `run.sh`: the app with `sources` (placeholders when none)."""
    uris = list(sources) or [PLACEHOLDER_SOURCE] * streams
    note = "" if sources else "# placeholder sources: replace with your file:// or rtsp:// URIs\n"
    args = " ".join(shlex.quote(u) for u in uris)
    return (
        "#!/bin/sh\n"
        f"# Run the edgeaction DeepStream {DEEPSTREAM_VERSION} app; events go to stdout.\n"
        + note
        + 'cd "$(dirname "$0")" || exit 1\n'
        + f"exec python3 deepstream_app.py {args}\n"
    )


def readme(
    c: ModelContract,
    batch: int,
    precision: str,
    streams: int,
    wrapped: bool,
    onnx_ref: str | None,
    engine_ref: str,
) -> str:
    """The text of `README.txt`."""
    lines = [
        f"DeepStream {DEEPSTREAM_VERSION} files for edgeaction model '{c.name}' "
        f"(JetPack 6.x: TensorRT 10.3, CUDA 12.6)",
        "",
        "Run:  ./run.sh    (= python3 deepstream_app.py URI [URI ...])",
        "",
        "config_infer.txt       Gst-nvinfer: model, batch-size "
        f"{batch}, {precision}, raw output tensor",
        "config_preprocess.txt  Gst-nvdspreprocess + libnvds_custom_sequence_preprocess.so:",
        f"                       {c.frames} frames of {c.width}x{c.height} {c.colour} per window, "
        f"stride {c.stride}, subsample {c.subsample}",
        "labels.txt             class labels, one a line, in output order",
        "deepstream_app.py      uridecodebin -> nvstreammux -> nvdspreprocess -> nvinfer ->",
        "                       fakesink; prints one JSON event per window (edgeaction run's",
        "                       fields: stream, source, pts, frame, label, score, top_k, model)",
        f"run.sh                 the command line ({streams} stream(s))",
    ]
    if wrapped:
        lines += [
            f"{WRAPPED_ONNX}       the model with NCTHW input (a Transpose in front of the",
            "                       exported NTHWC graph): the sequence library builds NCTHW only",
        ]
    lines += [
        "",
        f"Model: {onnx_ref or '-'}",
        f"Engine: {engine_ref}"
        + ("  (nvinfer builds it on the first run)" if onnx_ref and "_gpu0_" in engine_ref else ""),
        "",
        "Needs DeepStream 7.1 with its Python bindings (pyds) and the sample library",
        f"{CUSTOM_LIB}",
        "(built from sources/apps/sample_apps/deepstream-3d-action-recognition/custom_sequence_preprocess).",
        "",
    ]
    return "\n".join(lines)


# ---- command line --------------------------------------------------------------------------
EPILOG = """\
MODEL: an .onnx model with its contract, an export directory (model.onnx) or a TensorRT
engine with its sidecar JSON. Writes config_infer.txt, config_preprocess.txt, labels.txt,
deepstream_app.py, run.sh and README.txt into --out (and model_ncthw.onnx for NTHWC
models: nvdspreprocess' sequence library builds NCTHW tensors only).

examples:
  edgeaction jetson deepstream models/a --out ds/
  edgeaction jetson deepstream models/a/model_b8_fp16_sm87.engine --out ds/ --streams 4 --batch 4
  edgeaction jetson deepstream models/a --out ds/ --sources file:///v/a.mp4 rtsp://cam/1
"""


def cmd_deepstream(a: argparse.Namespace) -> int:
    streams = a.streams if a.streams is not None else max(1, len(a.sources or []))
    r = generate(
        a.model,
        a.out,
        engine=a.engine,
        batch=a.batch,
        streams=streams,
        precision=a.precision,
        sources=a.sources,
        zones=a.roi,
    )
    c = r["contract"]
    print(
        f"wrote {', '.join(r['files'])} into {r['out']} for '{c.name}' (DeepStream "
        f"{DEEPSTREAM_VERSION}, batch {r['batch']}, {r['precision']}"
        + (", NCTHW wrapper" if r["wrapped"] else "")
        + f"); run {Path(r['out']) / 'run.sh'}"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `jetson deepstream` on the `edgeaction jetson` sub-parsers."""
    d = sub.add_parser(
        "deepstream",
        help="write DeepStream 7.1 configs (nvdspreprocess + nvinfer) and a pyds app",
        description="Write Gst-nvinfer and Gst-nvdspreprocess configs, labels, a small "
        "pyds app and run.sh for a model, for DeepStream 7.1 on JetPack 6. Needs no GPU.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument(
        "model", type=options.path, help="model.onnx, an export directory or a TensorRT engine"
    )
    d.add_argument("--out", type=options.path, required=True, help="output directory (created)")
    d.add_argument(
        "--engine",
        type=options.path,
        help="engine for model-engine-file (default: nvinfer builds one)",
    )
    d.add_argument(
        "--batch",
        type=options.positive_int,
        help="nvinfer batch-size and sequences per batch (default: streams)",
    )
    d.add_argument(
        "--streams",
        type=options.positive_int,
        help="number of sources (default: --sources count, else 1)",
    )
    d.add_argument(
        "--precision",
        choices=sorted(NETWORK_MODES),
        help="network-mode (default: an engine's own, else fp16)",
    )
    d.add_argument(
        "--sources",
        type=options.uri,
        nargs="+",
        metavar="URI",
        help="source URIs written into run.sh",
    )
    d.add_argument(
        "--roi",
        type=options.roi,
        action="append",
        metavar="STREAM:NAME=X,Y,W,H",
        help="a named zone of stream STREAM in source pixels, as `edgeaction run --roi`: "
        "written into nvdspreprocess' roi-params-src-STREAM; repeat for more",
    )
    d.set_defaults(fn=cmd_deepstream)


__all__ = ["add_parser", "generate", "preprocess_factors"]
