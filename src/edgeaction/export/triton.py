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

No TensorFlow and no `tritonclient` needed. Field names and forms follow these sources:

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
- Protocol Buffers "Text Format Language Specification" (protobuf.dev): the grammar
  `parse_pbtxt` accepts (a strict subset of it).

A TensorRT engine's optimisation profile must allow `max_batch_size`; Triton refuses to
load the model otherwise (this module cannot read an engine without TensorRT).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..artefacts import ENGINE, ONNX, kind_of
from ..contract import CONTRACT_FILE, CONTRACT_KEY, ModelContract, contract_from_onnx
from ..errors import fail, first_line
from ..fsutil import check_writable_dir
from .pbtxt import PbEnum, parse_pbtxt
from .pbtxt import quote as _quote

CONFIG_FILE = "config.pbtxt"
LABELS_FILE = "labels.txt"
VERSION_DIR = "1"
#: kind → (Triton platform, model file name inside the version directory).
KINDS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "tensorrt": ("tensorrt_plan", "model.plan")}
PLATFORMS = {platform: kind for kind, (platform, _) in KINDS.items()}
#: device → `ModelInstanceGroup.Kind`.
DEVICES = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}
#: contract dtype → Triton `DataType`.
DATA_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "uint8": "TYPE_UINT8"}
DEFAULT_PREFERRED_BATCH = (4, 8)
_TOP_FIELDS = (
    "name",
    "platform",
    "max_batch_size",
    "input",
    "output",
    "dynamic_batching",
    "instance_group",
    "parameters",
)


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
    name = triton_model_name(contract.name)
    platform = KINDS[kind][0]
    inputs = []
    if contract.uses_frames:
        inputs.append(
            _tensor(contract.input_name, DATA_TYPES[contract.dtype], contract.input_shape()[1:])
        )
    if contract.uses_keypoints:
        inputs.append(_tensor(contract.pose_name, "TYPE_FP32", contract.keypoint_shape()[1:]))
    output = _tensor(contract.output_name, "TYPE_FP32", [contract.num_classes], labels=True)
    payload = json.dumps(contract.to_dict(), separators=(",", ":"), ensure_ascii=True)
    batching = ["dynamic_batching {"]
    if preferred:
        batching.append(f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]")
    batching += [f"  max_queue_delay_microseconds: {queue_delay_us}", "}"]
    lines = [
        f"# Triton model configuration written by edgeaction {__version__} from the model's",
        f"# contract ({CONTRACT_KEY} below); labels.txt holds the labels in output order.",
        f"name: {_quote(name)}",
        f"platform: {_quote(platform)}",
        f"max_batch_size: {max_batch_size}",
        "input [",
        *_join_blocks(inputs),
        "]",
        "output [",
        *output,
        "]",
        *batching,
        "instance_group [",
        "  {",
        f"    count: {instances}",
        f"    kind: {DEVICES[device]}",
        "  }",
        "]",
        "parameters {",
        f"  key: {_quote(CONTRACT_KEY)}",
        f"  value {{ string_value: {_quote(payload)} }}",
        "}",
    ]
    return "\n".join(lines) + "\n"


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


def _tensor(tname: str, dtype: str, dims: Sequence[int], labels: bool = False) -> list[str]:
    """The lines of one `input`/`output` entry."""
    lines = [
        "  {",
        f"    name: {_quote(tname)}",
        f"    data_type: {dtype}",
        f"    dims: [ {', '.join(str(int(d)) for d in dims)} ]",
    ]
    if labels:
        lines.append(f"    label_filename: {_quote(LABELS_FILE)}")
    return [*lines, "  }"]


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

    The model directory is built beside its target (`.<name>.*.partial`) and renamed into
    place, so Triton never sees half of it; an existing `<name>/` model directory is
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


def _join_blocks(blocks: list[list[str]]) -> list[str]:
    out: list[str] = []
    for i, block in enumerate(blocks):
        out += block[:-1] + [block[-1] + ("," if i < len(blocks) - 1 else "")]
    return out


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
) -> dict[str, Any]:
    """Verify a Triton model directory against a model contract, field by field.

    Checks `name` (the sanitised contract name and the directory name), `platform` and
    its model file `1/model.onnx` or `1/model.plan`, `max_batch_size`, every input (name,
    data type, dims without the batch axis; frames, then pose), the output (name,
    `TYPE_FP32`, `[num_classes]`, `label_filename` and that file's lines = the labels in
    order), `dynamic_batching`, `instance_group` and the embedded contract; unknown fields
    fail. When `tritonclient` is importable, Google's text-format parser must also accept
    the file as a `ModelConfig`.

    Args:
        path: The model directory or its `config.pbtxt`.
        contract: `ModelContract` or None. None: the contract embedded in the config.
        kind: String or None. `"onnx"` or `"tensorrt"` to require that platform.

    Returns:
        The parsed configuration (`parse_pbtxt`).
    """
    cfg, conf = _read_config(Path(path))
    model_dir = cfg.parent

    def want(ok: bool, what: str) -> None:
        if not ok:
            fail(f"{cfg}: {what}")

    unknown = sorted(set(conf) - set(_TOP_FIELDS))
    want(not unknown, f"unexpected fields {unknown}")
    for f in _TOP_FIELDS:
        want(f in conf, f"missing field '{f}'")
    # the embedded contract first: it is the reference when none was given
    contract = _check_embedded(want, conf, cfg, contract)
    platform, mbs = _check_model_fields(want, conf, contract, model_dir, kind)
    _check_tensors(want, conf, contract, model_dir)
    _check_batching(want, conf, mbs)
    _check_instances(want, conf, platform)
    return conf


def _read_config(p: Path) -> tuple[Path, dict[str, Any]]:
    """`(config.pbtxt path, parsed config)` of a model directory or config file."""
    cfg = p / CONFIG_FILE if p.is_dir() else p
    if not cfg.is_file():
        fail(f"no Triton model configuration at {cfg}; write it with `edgeaction export --triton`")
    try:
        text = cfg.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {cfg}: {getattr(e, 'strerror', None) or first_line(e)}")
    conf = parse_pbtxt(text, source=str(cfg))
    _check_with_protobuf(text, cfg)
    return cfg, conf


def _check_embedded(want, conf: dict, cfg: Path, contract: ModelContract | None) -> ModelContract:
    """The contract parameter: one, a JSON string, equal to `contract` (returned, or itself)."""
    params = _as_list(conf["parameters"])
    entries = [e for e in params if isinstance(e, dict) and e.get("key") == CONTRACT_KEY]
    want(len(entries) == 1, f"needs exactly one parameter '{CONTRACT_KEY}'")
    value = entries[0].get("value")
    want(
        isinstance(value, dict)
        and set(value) == {"string_value"}
        and _is_str(value["string_value"]),
        f"parameter '{CONTRACT_KEY}' must be {{ string_value: \"<contract JSON>\" }}",
    )
    embedded = ModelContract.from_json(value["string_value"], source=f"{cfg} '{CONTRACT_KEY}'")
    if contract is None:
        contract = embedded
    want(embedded == contract, f"embedded contract differs from the contract of {contract.name!r}")
    return contract


def _check_model_fields(
    want, conf: dict, contract: ModelContract, model_dir: Path, kind: str | None
) -> tuple[str, int]:
    """`name`, `platform` (and its model file) and `max_batch_size`: `(platform, mbs)`."""
    name = triton_model_name(contract.name)
    want(_is_str(conf["name"]) and conf["name"] == name, f"name must be {name!r}")
    want(model_dir.name == name, f"name {name!r} must match its directory {model_dir.name!r}")
    platform = conf["platform"]
    want(
        _is_str(platform) and platform in PLATFORMS,
        f"platform must be one of {sorted(PLATFORMS)}. Received: {platform!r}",
    )
    if kind is not None:
        need = KINDS[_canon_kind(kind)][0]
        want(platform == need, f"platform must be {need!r}. Received: {platform!r}")
    model_file = model_dir / VERSION_DIR / KINDS[PLATFORMS[platform]][1]
    want(model_file.is_file(), f"{platform} needs the model file {model_file}")
    mbs = conf["max_batch_size"]
    want(_is_int(mbs) and mbs >= 1, f"max_batch_size must be an integer >= 1. Received: {mbs!r}")
    return platform, mbs


def _check_tensors(want, conf: dict, contract: ModelContract, model_dir: Path) -> None:
    """The inputs (frames, then pose), the output and its labels file."""
    expected_inputs = []
    if contract.uses_frames:
        expected_inputs.append(
            (contract.input_name, DATA_TYPES[contract.dtype], list(contract.input_shape()[1:]))
        )
    if contract.uses_keypoints:
        expected_inputs.append(
            (contract.pose_name, "TYPE_FP32", list(contract.keypoint_shape()[1:]))
        )
    inputs = _as_list(conf["input"])
    want(
        len(inputs) == len(expected_inputs),
        f"needs {len(expected_inputs)} input(s) {list(contract.input_names)}, has {len(inputs)}",
    )
    for got, (iname, dtype, dims) in zip(inputs, expected_inputs, strict=True):
        _check_tensor(want, "input", got, iname, dtype, dims, {"name", "data_type", "dims"})

    outputs = _as_list(conf["output"])
    want(len(outputs) == 1, f"needs exactly one output, has {len(outputs)}")
    keys = {"name", "data_type", "dims", "label_filename"}
    out = outputs[0]
    _check_tensor(
        want, "output", out, contract.output_name, "TYPE_FP32", [contract.num_classes], keys
    )
    want(
        _is_str(out["label_filename"]) and out["label_filename"] == LABELS_FILE,
        f"output label_filename must be {LABELS_FILE!r}",
    )
    try:
        label_text = (model_dir / LABELS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {model_dir / LABELS_FILE}: {getattr(e, 'strerror', None) or e}")
    want(
        label_text == "".join(f"{label}\n" for label in contract.labels),
        f"{LABELS_FILE} must hold the labels {list(contract.labels)} one per line, in order; "
        f"it holds {label_text.splitlines()}",
    )


def _check_batching(want, conf: dict, mbs: int) -> None:
    """`dynamic_batching`: preferred sizes within `1..max_batch_size`, a queue delay >= 0."""
    db = conf["dynamic_batching"]
    want(isinstance(db, dict), "dynamic_batching must be one message")
    unknown = sorted(set(db) - {"preferred_batch_size", "max_queue_delay_microseconds"})
    want(not unknown, f"dynamic_batching has unexpected fields {unknown}")
    pref = _as_list(db.get("preferred_batch_size", []))
    want(
        all(_is_int(b) and 1 <= b <= mbs for b in pref) and len(set(pref)) == len(pref),
        f"preferred_batch_size must be unique integers in 1..{mbs}. Received: {pref}",
    )
    delay = db.get("max_queue_delay_microseconds", 0)
    want(
        _is_int(delay) and delay >= 0,
        f"max_queue_delay_microseconds must be an integer >= 0. Received: {delay!r}",
    )


def _check_instances(want, conf: dict, platform: str) -> None:
    """`instance_group`: count >= 1 and a KIND_GPU/KIND_CPU kind (no CPU for a plan)."""
    groups = _as_list(conf["instance_group"])
    want(len(groups) >= 1, "instance_group needs at least one group")
    for g in groups:
        want(
            isinstance(g, dict) and set(g) <= {"count", "kind"},
            f"instance_group entries hold count and kind only. Received: {g!r}",
        )
        count, gkind = g.get("count", 1), g.get("kind")
        want(_is_int(count) and count >= 1, f"instance count must be >= 1. Received: {count!r}")
        want(
            isinstance(gkind, PbEnum) and gkind in DEVICES.values(),
            f"instance kind must be KIND_GPU or KIND_CPU. Received: {gkind!r}",
        )
        want(
            not (platform == "tensorrt_plan" and gkind == "KIND_CPU"),
            "a tensorrt_plan model cannot have KIND_CPU instances",
        )


def _check_tensor(want, what, got, name, dtype, dims, keys) -> None:
    want(isinstance(got, dict), f"{what} entries must be messages. Received: {got!r}")
    want(
        set(got) == keys, f"{what} {name!r} must have the fields {sorted(keys)}, has {sorted(got)}"
    )
    want(_is_str(got["name"]) and got["name"] == name, f"{what} name must be {name!r}")
    want(
        isinstance(got["data_type"], PbEnum) and got["data_type"] == dtype,
        f"{what} {name!r} data_type must be {dtype}. Received: {got['data_type']!r}",
    )
    got_dims = _as_list(got["dims"])
    want(
        all(_is_int(d) for d in got_dims) and got_dims == dims,
        f"{what} {name!r} dims must be {dims} (no batch axis). Received: {got_dims}",
    )


def _check_with_protobuf(text: str, cfg: Path) -> bool:
    """Google's text-format parser on `ModelConfig`, when tritonclient provides it."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except Exception:  # not installed: the strict parser above is the check
        return False
    try:
        text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as e:
        fail(f"{cfg} is not a valid Triton ModelConfig ({first_line(e)})")
    return True


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and not isinstance(v, PbEnum)
