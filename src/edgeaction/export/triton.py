"""A Triton Inference Server model repository for an exported model (`export --triton DIR`).

```
DIR/<name>/config.pbtxt     the model configuration, contract embedded as a parameter
DIR/<name>/labels.txt       one label per line, in output order
DIR/<name>/1/model.onnx     the model (`1/model.plan` for a TensorRT engine)
```

```python
write_triton_repo("models/a/model.onnx", ModelContract.load("models/a"), "triton/")
check_triton_config("triton/a", ModelContract.load("models/a"))   # every field
```

No TensorFlow needed. `config.pbtxt` is a `ModelConfig` message built, written and parsed
with Triton's own schema (`triton_schema`: tritonclient's generated `model_config_pb2` and
protobuf's text format), then checked field by field. Field names and forms follow:

- Triton user guide, "Model Configuration" (server repo,
  `docs/user_guide/model_configuration.md`): a minimal configuration gives `name`,
  `platform`, `max_batch_size`, `input` and `output`; `name` must match the model's
  directory; with `max_batch_size >= 1` the `dims` leave out the batch axis; the
  `dynamic_batching { preferred_batch_size: [...] max_queue_delay_microseconds: N }`
  and `instance_group [{ count: 1 kind: KIND_GPU }]` blocks.
- Triton user guide, "Model Repository" (`docs/user_guide/model_repository.md`): the
  `<repo>/<model-name>/config.pbtxt`, labels file and numeric `<version>/` layout, and
  the default file names `model.onnx` (platform `onnxruntime_onnx`) and `model.plan`
  (platform `tensorrt_plan`).
- The `ModelConfig` protobuf (triton-inference-server/common, `protobuf/model_config.proto`):
  `ModelInput`/`ModelOutput` (`name`, `data_type`, `dims`, `label_filename`), `DataType`
  (`TYPE_FP32`, `TYPE_FP16`, `TYPE_UINT8`), `ModelDynamicBatching`,
  `ModelInstanceGroup.Kind` (`KIND_GPU`, `KIND_CPU`; `count`, default 1) and
  `map<string, ModelParameter> parameters` (`ModelParameter.string_value`).

A TensorRT engine's optimisation profile must allow `max_batch_size`; Triton refuses to
load the model otherwise (this module cannot read an engine without TensorRT).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..artefacts import ENGINE, ONNX, kind_of
from ..contract import CONTRACT_FILE, ModelContract, contract_from_onnx
from ..errors import fail, first_line
from ..fsutil import check_writable_dir
from .triton_schema import (  # noqa: F401  (DATA_TYPES, PLATFORMS: part of this API)
    DATA_TYPES,
    DEVICES,
    KINDS,
    LABELS_FILE,
    PLATFORMS,
    VERSION_DIR,
    build_config,
    check_config,
    config_text,
    embedded_contract,
    parse_config,
)

CONFIG_FILE = "config.pbtxt"
DEFAULT_PREFERRED_BATCH = (4, 8)


# ---- model names -----------------------------------------------------------------------
def triton_model_name(name: str) -> str:
    """A Triton model (and directory) name for a contract name.

    Every run of characters outside `A-Z a-z 0-9 _ . -` becomes one `_`, and leading dots
    and dashes go, so the name is one safe path component and URL segment
    (`/v2/models/<name>`).

    Args:
        name: String. The contract's model name.

    Returns:
        The sanitised name; fails when nothing usable (no letter or digit) is left.
    """
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name).strip()).lstrip(".-")
    if not re.search(r"[A-Za-z0-9]", s):
        fail(
            f"model name {name!r} gives no valid Triton model name (it needs a letter or "
            "digit); train with --name or fix `name` in contract.json"
        )
    if len(s) > 200:
        fail(f"model name is {len(s)} characters, Triton model names here allow 200: {s[:40]}...")
    return s


# ---- writing ---------------------------------------------------------------------------
def triton_config(
    contract: ModelContract,
    kind: str = "onnx",
    max_batch_size: int = 8,
    preferred_batch: Sequence[int] | None = None,
    queue_delay_us: int = 2000,
    instances: int = 1,
    device: str = "gpu",
) -> str:
    """The text of `config.pbtxt` for a model with this contract.

    A `ModelConfig` message (`triton_schema.build_config`) in protobuf text format.

    Args:
        contract: `ModelContract` of the model.
        kind: String. `"onnx"` (`onnxruntime_onnx`) or `"tensorrt"` (`tensorrt_plan`).
            Defaults to `"onnx"`.
        max_batch_size: Integer >= 1. Largest batch Triton forms. Defaults to `8`.
        preferred_batch: Sequence of integers or None. `preferred_batch_size` of the dynamic
            batcher, each in `1..max_batch_size`; empty lets Triton choose. Defaults to
            `(4, 8)` without the sizes above `max_batch_size` (or `max_batch_size` alone).
        queue_delay_us: Integer >= 0. `max_queue_delay_microseconds`. Defaults to `2000`.
        instances: Integer >= 1. Model instances (`instance_group.count`). Defaults to `1`.
        device: String. `"gpu"` (`KIND_GPU`) or `"cpu"` (`KIND_CPU`, ONNX only).
            Defaults to `"gpu"`.
    """
    if not isinstance(contract, ModelContract):
        fail(
            f"a ModelContract is needed for the Triton config. Received: {type(contract).__name__}"
        )
    kind = _canon_kind(kind)
    max_batch_size = _int_in("max_batch_size", max_batch_size, 1, 2**31 - 1)
    queue_delay_us = _int_in("queue_delay_us", queue_delay_us, 0, 2**63 - 1)
    instances = _int_in("instances", instances, 1, 1024)
    preferred = _preferred(preferred_batch, max_batch_size)
    if device not in DEVICES:
        fail(f"device must be one of {', '.join(DEVICES)}. Received: {device!r}")
    if kind == "tensorrt" and device == "cpu":
        fail("a TensorRT plan runs on the GPU only; use device='gpu' or the ONNX model for CPU")
    _check_labels(contract)
    conf = build_config(
        contract,
        triton_model_name(contract.name),
        KINDS[kind][0],
        max_batch_size,
        preferred,
        queue_delay_us,
        instances,
        DEVICES[device],
    )
    return config_text(conf)


def _preferred(preferred_batch: Sequence[int] | None, max_batch_size: int) -> list[int]:
    """The sorted `preferred_batch_size` list (the defaults up to `max_batch_size` for None)."""
    if preferred_batch is None:
        return [b for b in DEFAULT_PREFERRED_BATCH if b <= max_batch_size] or [max_batch_size]
    if isinstance(preferred_batch, str | bytes) or not isinstance(preferred_batch, Sequence):
        fail(f"preferred_batch must be a list of integers. Received: {preferred_batch!r}")
    preferred = [_int_in("preferred batch size", b, 1, max_batch_size) for b in preferred_batch]
    if len(set(preferred)) != len(preferred):
        fail(f"preferred batch sizes must be unique. Received: {list(preferred_batch)}")
    return sorted(preferred)


def write_triton_repo(
    model_path: str | os.PathLike,
    contract: ModelContract | None,
    repo_dir: str | os.PathLike,
    max_batch_size: int = 8,
    preferred_batch: Sequence[int] | None = None,
    queue_delay_us: int = 2000,
    instances: int = 1,
    kind: str | None = None,
    device: str = "gpu",
) -> Path:
    """Write (or replace) `repo_dir/<name>/` for Triton Inference Server.

    The model directory is built beside its target (`.<name>.*.partial`), checked as
    Triton would read it (`triton_schema.check_config`: the real `ModelConfig` schema, the
    contract, the labels file and, for ONNX, the model's own inputs and outputs) and only
    then renamed into place, so Triton never sees half of it or a config that fails; an existing `<name>/` model directory is
    replaced as a whole. Writing a TensorRT engine later the same way swaps the ONNX model
    for `1/model.plan`.

    Args:
        model_path: Path of the `.onnx` model or TensorRT engine (`.engine`, `.plan`,
            `.trt`).
        contract: `ModelContract` or None. None reads the contract embedded in the ONNX
            model, or `contract.json` beside an engine.
        repo_dir: Model repository directory (created if needed).
        max_batch_size: Integer >= 1. Largest batch Triton forms. Defaults to `8`.
        preferred_batch: Sequence of integers or None. Preferred dynamic batch sizes.
            Defaults to `(4, 8)` without sizes above `max_batch_size`.
        queue_delay_us: Integer. `max_queue_delay_microseconds`. Defaults to `2000`.
        instances: Integer. Model instances per device. Defaults to `1`.
        kind: String or None. `"onnx"` or `"tensorrt"`; None: from the file extension.
        device: String. `"gpu"` or `"cpu"` (ONNX only). Defaults to `"gpu"`.

    Returns:
        The model directory `repo_dir/<name>`.
    """
    src = Path(model_path)
    if not src.exists():
        fail(f"model not found: {src}; export it first with `edgeaction export`")
    if not src.is_file():
        fail(f"{src} is not a model file; give the .onnx file or a TensorRT engine")
    kind = _model_kind(src, kind)
    if contract is None:
        contract = _contract_for(src, kind)
    text = triton_config(
        contract, kind, max_batch_size, preferred_batch, queue_delay_us, instances, device
    )
    name = triton_model_name(contract.name)
    repo = check_writable_dir(repo_dir, "Triton model repository")
    target = repo / name
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        fail(f"{target} exists and is not a directory; remove it or choose another repository")
    if target.is_dir() and not (target / CONFIG_FILE).is_file():
        fail(
            f"{target} exists and is not a Triton model directory (no {CONFIG_FILE}); "
            "remove it or choose another repository"
        )
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=repo))
        _fill_model_dir(tmp, src, kind, text, contract.labels)
        # what Triton will read, checked before it can replace a model that works
        source = str(target / CONFIG_FILE)
        check_config(parse_config(text, source), contract, name, tmp, KINDS[kind][0], source)
        _swap_in(tmp, target, repo / f".{name}.{uuid.uuid4().hex[:8]}.old")
    except OSError as e:
        fail(f"cannot write the Triton model {target}: {e.strerror or first_line(e)}")
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _fill_model_dir(tmp: Path, src: Path, kind: str, text: str, labels: Sequence[str]) -> None:
    """Write the model file, config and labels into `tmp`, synced, readable by all."""
    model_file = tmp / VERSION_DIR / KINDS[kind][1]
    model_file.parent.mkdir()
    shutil.copyfile(src, model_file)
    (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
    (tmp / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    for f in (model_file, tmp / CONFIG_FILE, tmp / LABELS_FILE):
        _fsync(f)
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a containerised Triton must read it


def _swap_in(tmp: Path, target: Path, old: Path) -> None:
    """Rename `tmp` to `target`; an existing `target` moves to `old` first (back on failure)."""
    if target.is_dir():
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except OSError:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)


def _model_kind(src: Path, kind: str | None) -> str:
    inferred = {ONNX: "onnx", ENGINE: "tensorrt"}.get(kind_of(src))
    if kind is None:
        if inferred is None:
            fail(
                f"cannot tell from its extension whether {src} is ONNX or a TensorRT engine; "
                "give kind='onnx' or kind='tensorrt'"
            )
        return inferred
    kind = _canon_kind(kind)
    if inferred is not None and inferred != kind:
        fail(f"kind={kind!r} does not match the extension of {src} ({inferred}); fix kind")
    return kind


def _canon_kind(kind: str) -> str:
    k = {"onnx": "onnx", "tensorrt": "tensorrt", "engine": "tensorrt", "plan": "tensorrt"}.get(
        str(kind).lower()
    )
    if k is None:
        fail(f"kind must be 'onnx' or 'tensorrt'. Received: kind={kind!r}")
    return k


def _contract_for(src: Path, kind: str) -> ModelContract:
    if kind == "onnx":
        return contract_from_onnx(src)
    return ModelContract.load(src.with_name(CONTRACT_FILE))


def _check_labels(contract: ModelContract) -> None:
    for label in contract.labels:
        if (label + "\n").splitlines() != [label]:
            fail(
                f"label {label!r} holds a line break, so it cannot be one line of "
                f"{LABELS_FILE}; fix the labels in contract.json"
            )


def _int_in(what: str, v: Any, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        fail(f"{what} must be an integer in {lo}..{hi}. Received: {v!r}")
    return v


def _fsync(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- checking --------------------------------------------------------------------------
def check_triton_config(
    path: str | os.PathLike, contract: ModelContract | None = None, kind: str | None = None
) -> Any:
    """Verify a Triton model directory against a model contract, field by field.

    Parses `config.pbtxt` with Triton's own `ModelConfig` schema (protobuf text format,
    `triton_schema.parse_config`: an unknown field, enum value or a quoted number fails as
    it does in Triton), then checks `name` (the sanitised contract name and the directory
    name), `platform` and its model file `1/model.onnx` or `1/model.plan`,
    `max_batch_size`, every input (name, data type, dims without the batch axis; frames,
    then pose), the output (name, `TYPE_FP32`, `[num_classes]`, `label_filename` and that
    file's lines = the labels in order), `dynamic_batching`, `instance_group` and the
    embedded contract (`triton_schema.check_config`); a field edgeaction does not write
    fails. An ONNX model's own inputs and outputs must match the config.

    Args:
        path: The model directory or its `config.pbtxt`.
        contract: `ModelContract` or None. None: the contract embedded in the config.
        kind: String or None. `"onnx"` or `"tensorrt"` to require that platform.

    Returns:
        The parsed `ModelConfig` message.
    """
    cfg, conf = _read_config(Path(path))
    if contract is None:  # the embedded contract is the reference
        contract = embedded_contract(conf, str(cfg))
    name = triton_model_name(contract.name)
    if cfg.parent.name != name:
        fail(f"{cfg}: name {name!r} must match its directory {cfg.parent.name!r}")
    need = KINDS[_canon_kind(kind)][0] if kind is not None else None
    check_config(conf, contract, name, cfg.parent, need, source=str(cfg))
    return conf


def _read_config(p: Path) -> tuple[Path, Any]:
    """`(config.pbtxt path, ModelConfig)` of a model directory or config file."""
    cfg = p / CONFIG_FILE if p.is_dir() else p
    if not cfg.is_file():
        fail(f"no Triton model configuration at {cfg}; write it with `edgeaction export --triton`")
    try:
        text = cfg.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {cfg}: {getattr(e, 'strerror', None) or first_line(e)}")
    return cfg, parse_config(text, source=str(cfg))
