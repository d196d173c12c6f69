"""Build a TensorRT engine from an exported ONNX model and its contract.

One code path for TensorRT 8.6, 10.x and 11.x (ONNX parser → builder config →
`build_serialized_network`); version branches only where the API differs:

- `EXPLICIT_BATCH` is passed only before 10.0 (it is the only mode since).
- FP16 uses `BuilderFlag.FP16` up to 10.11. From 10.12 weak typing is deprecated and 11.x
  has no precision flags at all: the network is created `STRONGLY_TYPED` and FP16 comes
  from a float16 ONNX graph (`model_fp16.onnx` from `edgeaction export --fp16`).
- A progress monitor (`trt.IProgressMonitor`, 10.0+) where the bindings have one, else a
  line with the elapsed time every 30 s.

The engine is written atomically with its sidecar `ENGINE.json` (`engine.sidecar`), which
records what the engine is only valid for (TensorRT version, GPU or DLA core, precision,
profiles, the ONNX file's sha256, the contract) and the engine's own sha256.

`build_engine` runs named steps: `_check_inputs` (files, contract, options),
`_make_builder`, `_parse_network` (with the float16 source graph of strongly typed
builds), `_make_config`, `_set_device`, `_add_profile`, `_serialize`, `_sidecar_facts`.

```python
engine = build_engine("models/a/model.onnx", batch=(1, 4, 8), timing_cache="trt.cache")
```
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..artefacts import ONNX, resolve_model
from ..errors import fail, first_line
from .sidecar import engine_checksum_problem, sidecar_path, write_engine
from .trt_common import (
    DEFAULT_BATCH,
    GPU_HOW,
    TRT_HOW,
    gpu_info,
    import_tensorrt,
    parse_batch,
    version_tuple,
)

# Also importable from here (their homes are `trt_common` and `sidecar`).
__all__ = [
    "DEFAULT_BATCH",
    "GPU_HOW",
    "TRT_HOW",
    "build_engine",
    "default_engine_path",
    "engine_checksum_problem",
    "gpu_info",
    "import_tensorrt",
    "parse_batch",
    "sidecar_path",
    "version_tuple",
    "write_engine",
]


def default_engine_path(
    onnx: str | os.PathLike, max_batch: int, precision: str, device: dict[str, Any]
) -> Path:
    """`{stem}_b{MAX}_{precision}_{sm87|dla0|gpu}.engine` beside the ONNX model."""
    onnx = Path(onnx)
    cc = (device.get("compute_capability") or "").replace(".", "")
    if device.get("dla_core") is not None:
        tag = f"dla{device['dla_core']}"
    else:
        tag = f"sm{cc}" if cc else "gpu"
    return onnx.with_name(f"{onnx.stem}_b{max_batch}_{precision}_{tag}.engine")


def _check_args(workspace_mib, opt_level, dla_core, gpu_fallback) -> None:
    if workspace_mib is not None and (not isinstance(workspace_mib, int) or workspace_mib < 1):
        fail(f"--workspace must be a whole number of MiB >= 1. Received: {workspace_mib!r}")
    if opt_level is not None and opt_level not in range(6):
        fail(f"--opt-level must be 0..5. Received: {opt_level!r}")
    if dla_core is not None and (not isinstance(dla_core, int) or dla_core < 0):
        fail(f"--dla-core must be a core index >= 0. Received: {dla_core!r}")
    if gpu_fallback and dla_core is None:
        fail("--gpu-fallback only applies with --dla-core N; add --dla-core or drop it")


def build_engine(
    onnx: str | os.PathLike,
    out: str | os.PathLike | None = None,
    fp16: bool = True,
    batch: tuple[int, int, int] | str = DEFAULT_BATCH,
    workspace_mib: int | None = None,
    timing_cache: str | os.PathLike | None = None,
    opt_level: int | None = None,
    dla_core: int | None = None,
    gpu_fallback: bool = False,
    verbose: bool = False,
    layer_info: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Compile an ONNX model into a TensorRT engine with a dynamic-batch profile.

    T/H/W (and the pose input's shape) come from the model's contract; only the batch
    axis gets a `MIN:OPT:MAX` range.

    ```python
    build_engine("models/a/model.onnx", fp16=True, batch=(1, 4, 8))
    ```

    Args:
        onnx: Path of the `.onnx` model from `edgeaction export` (or its directory).
        out: Path or None. Engine file; None puts
            `{stem}_b{MAX}_{precision}_{sm87|dla0}.engine` beside the model.
        fp16: Boolean. FP16 engine (flag up to TensorRT 10.11; from 10.12 the float16
            graph `model_fp16.onnx` beside the model). Defaults to `True`.
        batch: Tuple `(min, opt, max)` or string `"MIN:OPT:MAX"`. Defaults to `(1, 4, 8)`.
        workspace_mib: Integer or None. Workspace memory pool limit in MiB (None:
            TensorRT's default, the device memory).
        timing_cache: Path or None. Timing cache to read (if present) and update
            atomically after the build.
        opt_level: Integer or None. `builder_optimization_level` 0..5 (None: TensorRT's
            default, 3).
        dla_core: Integer or None. Build for this DLA core (Jetson Xavier/Orin).
        gpu_fallback: Boolean. With `dla_core`, run layers DLA cannot run on the GPU.
            Defaults to `False`.
        verbose: Boolean. TensorRT's verbose log and detailed layer info. Defaults to
            `False`.
        layer_info: Path or None. Write the engine inspector's JSON here: every layer
            with its tactic and its inputs' and outputs' formats and precisions (trtexec's
            `--exportLayerInfo`; how to see which layers really run in FP16). Builds with
            detailed profiling verbosity.
        log: Callable taking one string, for progress lines. Defaults to `print`.

    Returns:
        The engine path; its sidecar is `sidecar_path(engine)`.
    """
    onnx, part, contract, profile = _check_inputs(onnx, batch, out, timing_cache, layer_info)
    _check_args(workspace_mib, opt_level, dla_core, gpu_fallback)
    trt = import_tensorrt()
    typed = version_tuple(trt.__version__) >= (10, 12) or not hasattr(trt.BuilderFlag, "FP16")
    builder, logger = _make_builder(trt, verbose)
    network, parser, source, facts = _parse_network(
        trt, builder, logger, onnx, part, contract, fp16, typed, log
    )
    detailed = verbose or layer_info is not None
    config = _make_config(trt, builder, fp16 and not typed, workspace_mib, opt_level, detailed)
    _set_device(trt, builder, config, dla_core, gpu_fallback)
    profiles = _add_profile(builder, network, config, contract, part, profile)
    _timing_cache(config, timing_cache, load=True)
    precision = "fp16" if fp16 else "fp32"
    where = f"batch {':'.join(map(str, profile))}" + _dla_note(dla_core)
    serialized, seconds = _serialize(
        trt, builder, network, config, logger, log, f"{precision} engine", source, where
    )
    del parser  # kept alive until here: the network's weights live in the parser
    device = _target_device(dla_core, gpu_fallback)
    out = Path(out) if out is not None else default_engine_path(onnx, profile[2], precision, device)
    _timing_cache(config, timing_cache, load=False)
    meta = _sidecar_facts(trt, contract, part, device, precision, typed, profiles, facts, seconds)
    write_engine(out, memoryview(serialized), meta)
    if layer_info is not None:
        _write_layer_info(trt, logger, out, Path(layer_info), log)
    log(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB) in {seconds:.0f} s")
    return out


def _check_inputs(onnx, batch, out, timing_cache, layer_info):
    """The ONNX file (checksum verified), its split part or None, its contract, the
    batch profile; the output files are checked writable before TensorRT is imported."""
    from ..contract import contract_from_onnx, split_part_from_onnx
    from ..fsutil import check_writable_file, verify_checksum

    _, onnx = resolve_model(onnx, (ONNX,))
    verify_checksum(onnx)  # never build an engine from a model altered since export
    profile = parse_batch(batch)
    # A split part (encoder.onnx / head.onnx) carries the whole model's contract in its
    # `edgeaction.split` metadata; look for it first (contract.json lies beside it too).
    part = split_part_from_onnx(onnx)
    contract = part.contract if part is not None else contract_from_onnx(onnx)
    for path, what in (
        (out, "engine file"),
        (timing_cache, "timing cache"),
        (layer_info, "layer info file"),
    ):
        if path is not None:
            check_writable_file(path, what)
    return onnx, part, contract, profile


def _make_builder(trt, verbose: bool):
    """A `trt.Builder` and its logger, or a one-line failure (exit 2) when there is no
    usable GPU."""
    logger = _make_logger(trt, verbose)
    try:
        builder = trt.Builder(logger)
    except Exception as e:  # pybind raises TypeError when createInferBuilder gives nullptr
        builder = None
        logger.errors.append(first_line(e))
    if builder is None:
        why = logger.errors[0] if logger.errors else "no CUDA device"
        fail(
            f"TensorRT {trt.__version__} is installed but found no usable NVIDIA GPU ({why}); "
            f"{GPU_HOW}",
            exit_code=2,
        )
    return builder, logger


def _dla_note(dla_core) -> str:
    return f", DLA core {dla_core}" if dla_core is not None else ""


def _parse_network(trt, builder, logger, onnx, part, contract, fp16, typed, log):
    """The parsed network, its parser (which owns the weights), the file parsed, and the
    sidecar facts of the source: `onnx` (file and sha256) and `fp16_graph` (or None).

    Strongly typed networks take their precision from the graph: FP16 needs a float16
    one (export's model_fp16.onnx, or converted now into a directory removed after
    parsing; a failure in between leaves it to TemporaryDirectory's finaliser).
    """
    from ..fsutil import sha256_file
    from .fp16_source import fp16_source

    source, fp16_graph, workdir = onnx, None, None
    if fp16 and typed:
        workdir = tempfile.TemporaryDirectory(prefix="edgeaction-fp16-")
        source, fp16_graph = fp16_source(onnx, part, contract, Path(workdir.name), log)
    converted = workdir is not None and source.parent == Path(workdir.name)
    built_from = onnx if converted else source  # what the cache checks the sha256 of
    facts = {"onnx": {"file": built_from.name, "sha256": sha256_file(built_from)}}
    version = version_tuple(trt.__version__)
    flags = 0
    if version < (10, 0):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    try:
        parsed = parser.parse_from_file(str(source))
    finally:
        if workdir is not None:
            workdir.cleanup()
    if not parsed:
        errs = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        fail(
            f"TensorRT's ONNX parser rejected {source.name}: "
            f"{first_line(Exception(errs[0])) if errs else 'no detail'} "
            f"({len(errs)} error(s)); run `edgeaction check {onnx}` for unsupported ops"
        )
    if fp16_graph is not None:
        facts["fp16_graph"] = fp16_graph
    return network, parser, source, facts


def _make_config(trt, builder, fp16_flag, workspace_mib, opt_level, detailed):
    """The builder config: memory pool, optimisation level, FP16 flag (weakly typed
    builds only), profiling verbosity."""
    config = builder.create_builder_config()
    if workspace_mib is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if opt_level is not None:
        config.builder_optimization_level = int(opt_level)
    if fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    if detailed:
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    return config


def _set_device(trt, builder, config, dla_core, gpu_fallback) -> None:
    """Build for DLA core `dla_core` (with GPU fallback) when given; the GPU otherwise."""
    if dla_core is not None:
        if dla_core >= builder.num_DLA_cores:
            fail(
                f"--dla-core {dla_core}: this device has {builder.num_DLA_cores} DLA core(s); "
                "drop --dla-core to build for the GPU"
            )
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(dla_core)
        if gpu_fallback:
            config.set_flag(trt.BuilderFlag.GPU_FALLBACK)


def _serialize(trt, builder, network, config, logger, log, what, source, where):
    """`build_serialized_network` with progress lines; `(plan, seconds)` or a failure."""
    log(f"building {what} from {source.name} with TensorRT {trt.__version__}, {where}")
    monitor = _attach_progress(trt, config, log)
    t0 = time.perf_counter()
    ticker = None if monitor is not None else _Ticker(log)
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        if ticker is not None:
            ticker.stop()
    seconds = time.perf_counter() - t0
    if serialized is None:
        why = logger.errors[-1] if logger.errors else "see the log with --verbose"
        fail(f"TensorRT could not build an engine from {source.name}: {why}")
    return serialized, seconds


def _timing_cache(config, path, load: bool) -> None:
    """Read the timing cache at `path` into `config` (`load`, if the file exists), or
    write the config's back atomically; nothing when `path` is None."""
    from ..fsutil import atomic_write_bytes

    if path is None:
        return
    path = Path(path)
    if load:
        blob = path.read_bytes() if path.exists() else b""
        config.set_timing_cache(config.create_timing_cache(blob), False)
    else:
        atomic_write_bytes(path, bytes(memoryview(config.get_timing_cache().serialize())))


def _target_device(dla_core, gpu_fallback) -> dict[str, Any]:
    """The sidecar's `device`: this GPU (`gpu_info`), plus the DLA core when building for one."""
    device = gpu_info()
    if dla_core is not None:
        device = {"dla_core": int(dla_core), "gpu_fallback": bool(gpu_fallback), **device}
    return device


def _sidecar_facts(trt, contract, part, device, precision, typed, profiles, facts, seconds):
    """The sidecar dict: what the engine is only valid for (see `engine.sidecar`)."""
    from .. import __version__

    meta = {
        "contract": contract.to_dict(),
        "tensorrt": trt.__version__,
        "device": device,
        "precision": precision,
        "strongly_typed": typed,
        "profiles": profiles,
        # The file whose sha256 the engine cache checks: the float32 model when its
        # float16 graph was converted on the fly (`fp16_graph` says how).
        "onnx": facts["onnx"],
        "build_seconds": round(seconds, 2),
        "edgeaction": __version__,
    }
    if facts.get("fp16_graph") is not None:
        meta["fp16_graph"] = facts["fp16_graph"]
    if part is not None:
        meta["split_part"] = part.to_dict()
    return meta


def _add_profile(builder, network, config, contract, part, batch) -> dict[str, list]:
    """One optimisation profile: batch axis from `batch`, other axes from the contract.

    A split part has one input, shaped by its `SplitPart` (`(N, H, W, 3)` frames for the
    encoder, `(N, T, F)` features for the head).
    """
    bmin, bopt, bmax = batch
    wanted = {}
    if part is not None:
        wanted[part.input] = part.input_shape
    else:
        if contract.uses_frames:
            wanted[contract.input_name] = contract.input_shape
        if contract.uses_keypoints:
            wanted[contract.pose_name] = contract.keypoint_shape
    profile = builder.create_optimization_profile()
    profiles = {}
    names = []
    for i in range(network.num_inputs):
        t = network.get_input(i)
        names.append(t.name)
        if t.name not in wanted:
            fail(
                f"engine input '{t.name}' is not in the contract (inputs {sorted(wanted)}); "
                "re-export the model with `edgeaction export`"
            )
        shape = tuple(t.shape)
        if part is not None:
            part.check_io({t.name: shape}, {part.output: (None, part.output_size)}, "ONNX graph")
        elif t.name == contract.input_name and contract.uses_frames:
            contract.check_input(t.name, shape, what="ONNX graph")
        else:
            contract.check_keypoint_input(shape, what="ONNX graph")
        if shape[0] > 0 and not bmin == bmax == shape[0]:
            fail(
                f"input '{t.name}' has a fixed batch {shape[0]}; use --batch "
                f"{shape[0]}:{shape[0]}:{shape[0]} or re-export with a dynamic batch"
            )
        lo, mid, hi = (wanted[t.name](b) for b in (bmin, bopt, bmax))
        profile.set_shape(t.name, lo, mid, hi)
        profiles[t.name] = [list(lo), list(mid), list(hi)]
    missing = sorted(set(wanted) - set(names))
    if missing:
        fail(f"the ONNX graph lacks contract input(s) {missing}; re-export the model")
    config.add_optimization_profile(profile)
    return profiles


def _write_layer_info(trt, logger, engine_path: Path, dest: Path, log) -> None:
    """The engine inspector's JSON of a built engine, written atomically to `dest`."""
    from ..fsutil import atomic_write_text

    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
    if engine is None:
        fail(f"TensorRT could not read back {engine_path.name} to inspect its layers")
    inspector = engine.create_engine_inspector()
    text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    try:
        layers = json.loads(text).get("Layers", [])
    except ValueError:
        layers = []
    atomic_write_text(dest, text if text.endswith("\n") else text + "\n")
    log(f"wrote {dest} ({len(layers)} layers: precisions and tactics)")


def _make_logger(trt, verbose: bool):
    """A `trt.ILogger` that keeps error lines (for one-line failures) and prints the rest."""

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):
            if severity in (trt.ILogger.ERROR, trt.ILogger.INTERNAL_ERROR):
                self.errors.append(str(msg).strip().splitlines()[0] if str(msg).strip() else "")
                print(f"[TensorRT] {msg}", flush=True)
            elif severity == trt.ILogger.WARNING or verbose:
                print(f"[TensorRT] {msg}", flush=True)

    return _Logger()


def _attach_progress(trt, config, log):
    """Report build phases through `trt.IProgressMonitor` where the bindings have it."""
    if not hasattr(trt, "IProgressMonitor") or not hasattr(config, "progress_monitor"):
        return None

    class _Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self._t0 = time.perf_counter()

        def phase_start(self, phase_name, parent_phase, num_steps):
            if parent_phase is None:
                log(f"  {time.perf_counter() - self._t0:6.0f} s  {phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name, step):
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            pass

    monitor = _Monitor()
    config.progress_monitor = monitor
    return monitor


class _Ticker:
    """Log the elapsed build time every `every` seconds from a daemon thread."""

    def __init__(self, log, every: float = 30.0):
        self._stop = threading.Event()
        self._t0 = time.perf_counter()

        def run():
            while not self._stop.wait(every):
                log(f"  still building… {time.perf_counter() - self._t0:.0f} s")

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
