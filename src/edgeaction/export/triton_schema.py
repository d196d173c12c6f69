"""Triton's own `ModelConfig` message: build, write, parse and check `config.pbtxt`.

```python
conf = build_config(contract, "tiny", "onnxruntime_onnx")     # a ModelConfig message
text = config_text(conf)                                      # protobuf text format
check_config(parse_config(text, "config.pbtxt"), contract, "tiny", model_dir)
```

Triton reads `config.pbtxt` with protobuf's text-format parser into its `ModelConfig`
message (triton-inference-server/common, `protobuf/model_config.proto`). So does this
module: `google.protobuf.text_format.Parse(text, ModelConfig())` refuses what Triton
refuses (an unknown field such as `max_batchsize`, an enum value such as `KIND_TPU` or
`TYPE_FLOAT32`, a quoted integer, a scalar field given twice) and takes what Triton
takes (`< ... >` blocks, `0x8`). The semantic checks on top (names, dims and data types
against the contract, platform against the model file, labels file) read the message's
fields.

Where the message comes from: the generated `model_config_pb2.py` inside the
`tritonclient==2.73.0` wheel (pinned in the `train` extra, which `edgeaction export`
needs anyway), loaded by its path. Not a vendored `model_config.proto` compiled at build
time, because:

- The writer belongs to the export stage. A build-time `protoc` step would run for every
  install of the package, the runtime-only one a Jetson makes included, and put `protoc`
  (or `grpcio-tools`, a native wheel per platform) into the build requirements for a
  file the runtime never reads. A pinned pure-Python wheel costs only the extra that
  uses it (108 kB, plus `python-rapidjson`; its other needs TensorFlow already has).
- The generated module is NVIDIA's own build of the schema Triton 2.73 parses with; a
  vendored copy would need its own update procedure and could drift from it.
- Generated code checks the protobuf runtime it runs on (2.73's was made by protoc
  6.33.5: it needs protobuf >= 6.33.5, < 7, which `constraints.txt` holds). A pin keeps
  that pair fixed; a newer tritonclient may need another protobuf major.

Loading the file by path, not `import tritonclient.grpc`, skips the client package's
`__init__`, which imports grpcio (~19 MB) and the gRPC client for nothing here.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import __version__
from ..contract import CONTRACT_KEY, ModelContract
from ..errors import fail, first_line

#: The wheel whose generated `model_config_pb2` is the schema, and the extra that has it.
TRITONCLIENT = "tritonclient==2.73.0"
EXTRA = "train"
LABELS_FILE = "labels.txt"
VERSION_DIR = "1"
#: kind → (Triton platform, model file name inside the version directory).
KINDS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "tensorrt": ("tensorrt_plan", "model.plan")}
PLATFORMS = {platform: kind for kind, (platform, _) in KINDS.items()}
#: device → `ModelInstanceGroup.Kind`.
DEVICES = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}
#: contract dtype → Triton `DataType`.
DATA_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "uint8": "TYPE_UINT8"}
#: The top-level fields edgeaction writes; a checked config sets no others.
TOP_FIELDS = (
    "name",
    "platform",
    "max_batch_size",
    "input",
    "output",
    "dynamic_batching",
    "instance_group",
    "parameters",
)


# ---- the message class -----------------------------------------------------------------
@functools.cache
def model_config_pb2() -> ModuleType:
    """tritonclient's generated `model_config_pb2` module, loaded by path (no grpcio).

    Fails with one line naming the extra when tritonclient is missing or its generated
    code does not load with the installed protobuf.
    """
    how = f"pip install 'edgeaction[{EXTRA}]' (or `pip install {TRITONCLIENT}`)"
    try:
        spec = importlib.util.find_spec("tritonclient")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        fail(f"Triton configs need Triton's ModelConfig schema from tritonclient; {how}")
    path = Path(next(iter(spec.submodule_search_locations))) / "grpc" / "model_config_pb2.py"
    if not path.is_file():
        fail(f"tritonclient at {path.parent.parent} has no grpc/model_config_pb2.py; {how}")
    try:
        mod_spec = importlib.util.spec_from_file_location("edgeaction_triton_model_config", path)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    except Exception as e:  # VersionError (protobuf too old or too new), ImportError
        fail(f"cannot load Triton's ModelConfig schema from {path} ({first_line(e)}); {how}")
    return module


def model_config() -> Any:
    """An empty `inference.ModelConfig` message."""
    return model_config_pb2().ModelConfig()


# ---- writing ---------------------------------------------------------------------------
def expected_tensors(contract: ModelContract) -> tuple[list[tuple], tuple]:
    """The contract's inputs `[(name, data type, dims)]` and output, dims without batch."""
    inputs = []
    if contract.uses_frames:
        inputs.append(
            (contract.input_name, DATA_TYPES[contract.dtype], list(contract.input_shape()[1:]))
        )
    if contract.uses_keypoints:
        inputs.append((contract.pose_name, "TYPE_FP32", list(contract.keypoint_shape()[1:])))
    return inputs, (contract.output_name, "TYPE_FP32", [contract.num_classes])


def build_config(
    contract: ModelContract,
    name: str,
    platform: str,
    max_batch_size: int = 8,
    preferred_batch: Sequence[int] = (4, 8),
    queue_delay_us: int = 2000,
    instances: int = 1,
    instance_kind: str = "KIND_GPU",
) -> Any:
    """The `ModelConfig` message for a model with this contract.

    Arguments are taken as given (`triton.triton_config` checks them first); enum values
    are Triton's names (`KIND_GPU`, `TYPE_FP32`).

    Args:
        contract: `ModelContract` of the model; embedded as parameter `edgeaction.contract`.
        name: String. The Triton model name (its directory name).
        platform: String. `onnxruntime_onnx` or `tensorrt_plan`.
        max_batch_size: Integer. Defaults to `8`.
        preferred_batch: Sequence of integers. `dynamic_batching.preferred_batch_size`;
            empty lets Triton choose. Defaults to `(4, 8)`.
        queue_delay_us: Integer. `max_queue_delay_microseconds`. Defaults to `2000`.
        instances: Integer. `instance_group.count`. Defaults to `1`.
        instance_kind: String. `instance_group.kind`. Defaults to `"KIND_GPU"`.
    """
    pb2 = model_config_pb2()
    conf = pb2.ModelConfig(name=name, platform=platform, max_batch_size=max_batch_size)
    inputs, (oname, otype, odims) = expected_tensors(contract)
    for iname, dtype, dims in inputs:
        conf.input.add(name=iname, data_type=pb2.DataType.Value(dtype), dims=dims)
    conf.output.add(
        name=oname, data_type=pb2.DataType.Value(otype), dims=odims, label_filename=LABELS_FILE
    )
    conf.dynamic_batching.SetInParent()  # present even when every field is the default
    conf.dynamic_batching.preferred_batch_size.extend(preferred_batch)
    conf.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    conf.instance_group.add(count=instances, kind=pb2.ModelInstanceGroup.Kind.Value(instance_kind))
    payload = json.dumps(contract.to_dict(), separators=(",", ":"), ensure_ascii=True)
    conf.parameters[CONTRACT_KEY].string_value = payload
    return conf


def config_text(conf: Any) -> str:
    """`conf` in protobuf text format, as `config.pbtxt` holds it, under a comment."""
    from google.protobuf import text_format

    body = text_format.MessageToString(conf, as_utf8=True, use_short_repeated_primitives=True)
    return (
        f"# Triton model configuration written by edgeaction {__version__} from the model's\n"
        f"# contract ({CONTRACT_KEY} below); {LABELS_FILE} holds the labels in output order.\n"
        f"{body}"
    )


# ---- reading and checking ----------------------------------------------------------------
def parse_config(text: str, source: str = "config.pbtxt") -> Any:
    """Parse `config.pbtxt` text into a `ModelConfig` the way Triton does.

    Args:
        text: String. The file's text.
        source: String. Name used in error messages. Defaults to `"config.pbtxt"`.

    Returns:
        The `ModelConfig` message; invalid text fails with one line giving the
        position and protobuf's reason (it names the field or the value).
    """
    from google.protobuf import text_format

    conf = model_config()
    try:
        text_format.Parse(text, conf)
    except text_format.ParseError as e:
        why = first_line(e, 300).rstrip(".")
        at = f"{e.GetLine()}:{e.GetColumn()}"
        if e.GetLine() is not None and why.startswith(f"{at} : "):
            why = why[len(at) + 3 :]
        where = f"{source}:{at}" if e.GetLine() is not None else source
        fail(
            f"{where}: not a valid Triton ModelConfig: {why}; fix that field (Triton's "
            "model_config.proto)"
        )
    return conf


def embedded_contract(conf: Any, source: str) -> ModelContract:
    """The contract in parameter `edgeaction.contract` of `conf`."""
    if CONTRACT_KEY not in conf.parameters:
        fail(f"{source}: needs the parameter '{CONTRACT_KEY}'; rewrite it with `export --triton`")
    value = conf.parameters[CONTRACT_KEY].string_value
    return ModelContract.from_json(value, source=f"{source} '{CONTRACT_KEY}'")


def enum_name(conf_field_owner: Any, field: str) -> str:
    """The name of an enum field's value (`TYPE_FP32`), or its number for an unnamed one."""
    fd = conf_field_owner.DESCRIPTOR.fields_by_name[field]
    number = getattr(conf_field_owner, field)
    value = fd.enum_type.values_by_number.get(number)
    return value.name if value is not None else str(number)


def check_config(
    conf: Any,
    contract: ModelContract,
    name: str,
    model_dir: Path,
    platform: str | None = None,
    source: str = "config.pbtxt",
) -> None:
    """Check a parsed `ModelConfig` against the model contract and its model directory.

    Checks the embedded contract (equal to `contract`), `name`, `platform` (one of ours,
    `platform` when given) and its model file `1/model.onnx` or `1/model.plan`,
    `max_batch_size >= 1`, every input (name, data type, dims without the batch axis;
    frames, then pose), the output (also `label_filename` and that file's lines = the
    labels in order), `dynamic_batching` and `instance_group`, and an ONNX model's own
    inputs and outputs (`check_onnx_io`); a top-level field edgeaction does not write
    fails.

    Args:
        conf: `ModelConfig` message (`parse_config`).
        contract: `ModelContract` the model must have.
        name: String. The model name the config must carry.
        model_dir: Path. The model directory (labels file, version directory).
        platform: String or None. The platform required. Defaults to None (either).
        source: String. Name used in error messages. Defaults to `"config.pbtxt"`.
    """

    def want(ok: bool, what: str) -> None:
        if not ok:
            fail(f"{source}: {what}")

    model_file = _check_model_fields(want, conf, contract, name, model_dir, platform, source)
    _check_tensors(want, conf, contract, model_dir)
    if conf.platform == KINDS["onnx"][0]:  # a TensorRT plan cannot be read without TensorRT
        check_onnx_io(conf, model_file, source)
    _check_batching(want, conf)
    _check_instances(want, conf)


def _check_model_fields(want, conf, contract, name, model_dir, platform, source) -> Path:
    """Top-level fields, embedded contract, name, platform and its model file; the file."""
    unknown = sorted(f.name for f, _ in conf.ListFields() if f.name not in TOP_FIELDS)
    want(not unknown, f"unexpected fields {unknown}; edgeaction writes only {list(TOP_FIELDS)}")
    embedded = embedded_contract(conf, source)
    want(embedded == contract, f"embedded contract differs from the contract of {contract.name!r}")
    want(conf.name == name, f"name must be {name!r}. Received: {conf.name!r}")
    got = conf.platform
    want(got in PLATFORMS, f"platform must be one of {sorted(PLATFORMS)}. Received: {got!r}")
    want(platform in (None, got), f"platform must be {platform!r}. Received: {got!r}")
    model_file = model_dir / VERSION_DIR / KINDS[PLATFORMS[got]][1]
    want(model_file.is_file(), f"{got} needs the model file {model_file}")
    mbs = conf.max_batch_size
    want(mbs >= 1, f"max_batch_size must be an integer >= 1. Received: {mbs}")
    return model_file


def _check_tensors(want, conf, contract: ModelContract, model_dir: Path) -> None:
    """Inputs and the output against the contract, and the labels file."""
    inputs, (oname, otype, odims) = expected_tensors(contract)
    want(
        len(conf.input) == len(inputs),
        f"needs {len(inputs)} input(s) {list(contract.input_names)}, has {len(conf.input)}",
    )
    for got, (iname, dtype, dims) in zip(conf.input, inputs, strict=True):
        _check_tensor(want, "input", got, iname, dtype, dims, {"name", "data_type", "dims"})
    want(len(conf.output) == 1, f"needs exactly one output, has {len(conf.output)}")
    out = conf.output[0]
    keys = {"name", "data_type", "dims", "label_filename"}
    _check_tensor(want, "output", out, oname, otype, odims, keys)
    want(
        out.label_filename == LABELS_FILE,
        f"output label_filename must be {LABELS_FILE!r}. Received: {out.label_filename!r}",
    )
    _check_labels_file(want, model_dir / LABELS_FILE, contract)


def _check_batching(want, conf) -> None:
    want(conf.HasField("dynamic_batching"), "missing field 'dynamic_batching'")
    db, mbs = conf.dynamic_batching, conf.max_batch_size
    allowed = ("preferred_batch_size", "max_queue_delay_microseconds")
    unknown = sorted(f.name for f, _ in db.ListFields() if f.name not in allowed)
    want(not unknown, f"dynamic_batching has unexpected fields {unknown}")
    pref = list(db.preferred_batch_size)
    want(
        all(1 <= b <= mbs for b in pref) and len(set(pref)) == len(pref),
        f"preferred_batch_size must be unique integers in 1..{mbs}. Received: {pref}",
    )


def _check_instances(want, conf) -> None:
    want(len(conf.instance_group) >= 1, "instance_group needs at least one group")
    for g in conf.instance_group:
        fields = sorted(f.name for f, _ in g.ListFields())
        want(
            set(fields) <= {"count", "kind"},
            f"instance_group entries hold count and kind only. Received: {fields}",
        )
        # count 0 is an unset count, which Triton takes as 1
        want(g.count >= 0, f"instance count must be >= 1. Received: {g.count}")
        kind = enum_name(g, "kind")
        want(
            kind in DEVICES.values(),
            f"instance kind must be KIND_GPU or KIND_CPU. Received: {kind}",
        )
        want(
            not (conf.platform == "tensorrt_plan" and kind == "KIND_CPU"),
            "a tensorrt_plan model cannot have KIND_CPU instances",
        )


def _check_tensor(want, what, got, name, dtype, dims, keys) -> None:
    fields = {f.name for f, _ in got.ListFields()}
    want(fields <= keys, f"{what} {name!r} may set only {sorted(keys)}, sets {sorted(fields)}")
    want(got.name == name, f"{what} name must be {name!r}. Received: {got.name!r}")
    got_type = enum_name(got, "data_type")
    want(got_type == dtype, f"{what} {name!r} data_type must be {dtype}. Received: {got_type}")
    got_dims = list(got.dims)
    want(
        got_dims == dims,
        f"{what} {name!r} dims must be {dims} (no batch axis). Received: {got_dims}",
    )


def _check_labels_file(want, path: Path, contract: ModelContract) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(
            f"cannot read the labels file {path}: {getattr(e, 'strerror', None) or first_line(e)}; "
            "rewrite the model with `edgeaction export --triton`"
        )
    want(
        text == "".join(f"{label}\n" for label in contract.labels),
        f"{LABELS_FILE} must hold the labels {list(contract.labels)} one per line, in order; "
        f"it holds {text.splitlines()}",
    )


#: ONNX element type name → Triton `DataType` (the ones a contract can give).
_ONNX_TYPES = {"FLOAT": "TYPE_FP32", "FLOAT16": "TYPE_FP16", "UINT8": "TYPE_UINT8"}


def check_onnx_io(conf: Any, model_file: Path, source: str = "config.pbtxt") -> None:
    """Check the config's tensors against the ONNX model's graph inputs and outputs.

    What Triton's ONNX Runtime backend checks on load: the config's inputs are the model's
    inputs and its output one of the model's outputs, with the same data type; with
    `max_batch_size >= 1` the model's first axis is dynamic (a batch) and the config's
    dims are the model's other axes (a dynamic model axis takes any size).

    Args:
        conf: `ModelConfig` message.
        model_file: Path. The `.onnx` model.
        source: String. Name used in error messages. Defaults to `"config.pbtxt"`.
    """
    from .._lazy import require

    onnx = require("onnx")
    try:
        graph = onnx.load(str(model_file), load_external_data=False).graph
    except Exception as e:  # DecodeError, OSError: anything that is not an ONNX model
        fail(f"{model_file} is not a readable ONNX model ({first_line(e, 120)}); export it again")
    inits = {i.name for i in graph.initializer}
    model_inputs = {v.name: v for v in graph.input if v.name not in inits}
    model_outputs = {v.name: v for v in graph.output}
    names = [i.name for i in conf.input]
    want_names = sorted(model_inputs)
    if sorted(names) != want_names:
        fail(
            f"{source}: inputs {names} are not the inputs {want_names} of {model_file}; the "
            "contract does not describe this model: export it again"
        )
    pairs = (("input", conf.input, model_inputs), ("output", conf.output, model_outputs))
    for what, tensors, model in pairs:
        for t in tensors:
            if t.name not in model:
                fail(
                    f"{source}: {what} {t.name!r} is not an {what} of {model_file} (it has "
                    f"{sorted(model)}); the contract does not describe this model"
                )
            _check_onnx_tensor(onnx, conf, what, t, model[t.name], model_file, source)


def _check_onnx_tensor(onnx, conf, what, t, vi, model_file: Path, source: str) -> None:
    tt = vi.type.tensor_type
    onnx_type = onnx.TensorProto.DataType.Name(tt.elem_type)
    got_type = enum_name(t, "data_type")
    if _ONNX_TYPES.get(onnx_type) != got_type:
        fail(
            f"{source}: {what} {t.name!r} is {got_type} but {model_file.name} has {onnx_type}; "
            "fix dtype in contract.json or export the model again"
        )
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
    dims = list(t.dims)
    if conf.max_batch_size >= 1:
        if not shape or shape[0] != -1:
            fail(
                f"{source}: {what} {t.name!r} of {model_file.name} has no dynamic batch axis "
                f"(shape {shape}) but max_batch_size is {conf.max_batch_size}; export with a "
                "dynamic batch"
            )
        shape = shape[1:]
    if len(shape) != len(dims) or any(m not in (-1, c) for m, c in zip(shape, dims, strict=True)):
        fail(
            f"{source}: {what} {t.name!r} dims {dims} do not match {model_file.name}'s "
            f"{shape} (batch axis left out); the contract does not describe this model: fix "
            "contract.json or export the model again"
        )
