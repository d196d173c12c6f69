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
from typing import Any, NamedTuple

from .. import __version__
from ..artefacts import ENGINE, ONNX, kind_of
from ..contract import CONTRACT_FILE, CONTRACT_KEY, ModelContract, contract_from_onnx
from ..errors import fail, first_line
from ..fsutil import check_writable_dir

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
MAX_DEPTH = 32
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
    if preferred_batch is None:
        preferred = [b for b in DEFAULT_PREFERRED_BATCH if b <= max_batch_size] or [max_batch_size]
    else:
        if isinstance(preferred_batch, str | bytes) or not isinstance(preferred_batch, Sequence):
            fail(f"preferred_batch must be a list of integers. Received: {preferred_batch!r}")
        preferred = [_int_in("preferred batch size", b, 1, max_batch_size) for b in preferred_batch]
        if len(set(preferred)) != len(preferred):
            fail(f"preferred batch sizes must be unique. Received: {list(preferred_batch)}")
        preferred.sort()
    if device not in DEVICES:
        fail(f"device must be one of {', '.join(DEVICES)}. Received: {device!r}")
    if kind == "tensorrt" and device == "cpu":
        fail("a TensorRT plan runs on the GPU only; use device='gpu' or the ONNX model for CPU")
    _check_labels(contract)
    name = triton_model_name(contract.name)
    platform = KINDS[kind][0]

    def tensor(tname: str, dtype: str, dims: Sequence[int], labels: bool = False) -> list[str]:
        lines = [
            "  {",
            f"    name: {_quote(tname)}",
            f"    data_type: {dtype}",
            f"    dims: [ {', '.join(str(int(d)) for d in dims)} ]",
        ]
        if labels:
            lines.append(f"    label_filename: {_quote(LABELS_FILE)}")
        return [*lines, "  }"]

    inputs = []
    if contract.uses_frames:
        inputs.append(
            tensor(contract.input_name, DATA_TYPES[contract.dtype], contract.input_shape()[1:])
        )
    if contract.uses_keypoints:
        inputs.append(tensor(contract.pose_name, "TYPE_FP32", contract.keypoint_shape()[1:]))
    output = tensor(contract.output_name, "TYPE_FP32", [contract.num_classes], labels=True)
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
    old = repo / f".{name}.{uuid.uuid4().hex[:8]}.old"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=repo))
        model_file = tmp / VERSION_DIR / KINDS[kind][1]
        model_file.parent.mkdir()
        shutil.copyfile(src, model_file)
        (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
        labels = "".join(f"{label}\n" for label in contract.labels)
        (tmp / LABELS_FILE).write_text(labels, encoding="utf-8")
        for f in (model_file, tmp / CONFIG_FILE, tmp / LABELS_FILE):
            _fsync(f)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a containerised Triton must read it
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
    except OSError as e:
        fail(f"cannot write the Triton model {target}: {e.strerror or first_line(e)}")
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


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


def _quote(s: str) -> str:
    """A text-format string literal; non-ASCII stays UTF-8, control characters are escaped."""
    out = []
    for ch in s:
        if ch in _QUOTE:
            out.append(_QUOTE[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_QUOTE = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _fsync(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- parsing ---------------------------------------------------------------------------
class PbEnum(str):
    """An enum value in parsed text format: a bare identifier such as `TYPE_FP32`.

    Compares equal to its name, but `isinstance(v, PbEnum)` tells `kind: KIND_GPU` from
    `kind: "KIND_GPU"`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"PbEnum({str.__repr__(self)})"


class _Tok(NamedTuple):
    kind: str  # "string", "number", "ident", "punct"
    text: str
    line: int
    col: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*')
  | (?P<number>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}\[\]:,;-])
""",
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def parse_pbtxt(text: str, source: str = "config.pbtxt") -> dict[str, Any]:
    """Parse the protobuf text format subset Triton configurations use, strictly.

    Accepted: `field: scalar`, `field { ... }` / `field: { ... }`, lists
    `field: [a, b]` and `field [ {...}, {...} ]`, strings (`"..."` or `'...'` with C
    escapes, adjacent literals joined), decimal integers and floats with an optional `-`,
    `true`/`false`, enum identifiers (returned as `PbEnum`), `#` comments and optional
    `,`/`;` after a field. Anything else (unbalanced braces or brackets, stray tokens,
    hex/octal numbers, `<...>` blocks, bad escapes, nesting deeper than 32) fails.

    Args:
        text: String. The file's text.
        source: String. Name used in error messages. Defaults to `"config.pbtxt"`.

    Returns:
        A dict per message: a field written once without brackets maps to its value (a
        scalar or dict); a field written as a list or more than once maps to a list.
    """
    if not isinstance(text, str):
        fail(f"{source}: text format must be a str. Received: {type(text).__name__}")
    return _Parser(text, source).parse()


class _Parser:
    def __init__(self, text: str, source: str):
        self.source = source
        self.toks = self._tokenize(text)
        self.i = 0

    # -- tokens
    def _tokenize(self, text: str) -> list[_Tok]:
        toks, pos, line, line_start = [], 0, 1, 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            col = pos - line_start + 1
            if m is None:
                self._fail(line, col, f"unexpected character {text[pos]!r}")
            kind, s = m.lastgroup, m.group()
            if kind == "number" and re.match(r"[A-Za-z_0-9.]", text[m.end() : m.end() + 1]):
                tail = re.match(r"[A-Za-z_0-9.]*", text[m.end() :]).group()
                self._fail(line, col, f"bad number {s + tail!r} (decimal numbers only)")
            if kind not in ("ws", "comment"):
                toks.append(_Tok(kind, s, line, col))
            newlines = s.count("\n")
            if newlines:
                line += newlines
                line_start = pos + s.rindex("\n") + 1
            pos = m.end()
        self.end = (line, len(text) - line_start + 1)
        return toks

    def _fail(self, line: int, col: int, what: str):
        fail(f"{self.source}:{line}:{col}: {what}")

    def _err(self, what: str, tok: _Tok | None = None):
        tok = tok if tok is not None else self.peek()
        line, col = (tok.line, tok.col) if tok is not None else self.end
        found = f"found {tok.text!r}" if tok is not None else "found the end of the text"
        self._fail(line, col, f"{what}, {found}")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, punct: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.text == punct

    def accept(self, punct: str) -> bool:
        if self.at(punct):
            self.i += 1
            return True
        return False

    # -- grammar
    def parse(self) -> dict[str, Any]:
        out = self.message(depth=0, closing=False)
        if self.peek() is not None:
            self._err("unbalanced '}' or stray token")
        return out

    def message(self, depth: int, closing: bool) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            self._err(f"nesting deeper than {MAX_DEPTH}")
        out: dict[str, Any] = {}
        repeated: set[str] = set()
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    self._err("unbalanced '{': missing '}'")
                return out
            if self.at("}"):
                if not closing:
                    self._err("unbalanced '}'")
                self.i += 1
                return out
            if tok.kind != "ident":
                self._err("expected a field name")
            self.i += 1
            name = tok.text
            colon = self.accept(":")
            if self.at("{"):
                self.i += 1
                value, is_list = self.message(depth + 1, closing=True), False
            elif self.at("["):
                self.i += 1
                value, is_list = self.items(depth + 1, scalars=colon, field=name), True
            elif colon:
                value, is_list = self.scalar(), False
            else:
                self._err(f"expected ':' or '{{' after field {name!r}")
            if name in out:
                if name not in repeated:
                    out[name] = [out[name]]
                    repeated.add(name)
                out[name] += value if is_list else [value]
            else:
                out[name] = value
                if is_list:
                    repeated.add(name)
            if not self.accept(","):
                self.accept(";")

    def items(self, depth: int, scalars: bool, field: str) -> list[Any]:
        out: list[Any] = []
        if self.accept("]"):
            return out
        while True:
            if self.accept("{"):
                out.append(self.message(depth, closing=True))
            elif scalars:
                out.append(self.scalar())
            else:
                self._err(f"list of {field!r} without ':' must hold messages {{...}}")
            if self.accept("]"):
                break
            if not self.accept(","):
                self._err("expected ',' or ']' in list")
        if len({isinstance(v, dict) for v in out}) > 1:
            self._err(f"list {field!r} mixes messages and scalars")
        return out

    def scalar(self) -> Any:
        tok = self.peek()
        if tok is None:
            self._err("expected a value")
        if self.accept("-"):
            num = self.peek()
            if num is None or num.kind != "number":
                self._err("expected a number after '-'")
            self.i += 1
            return -self.number(num)
        if tok.kind == "number":
            self.i += 1
            return self.number(tok)
        if tok.kind == "string":
            parts = []
            while (t := self.peek()) is not None and t.kind == "string":
                parts.append(self.unescape(t))
                self.i += 1
            return "".join(parts)
        if tok.kind == "ident":
            self.i += 1
            if tok.text in ("true", "false"):
                return tok.text == "true"
            return PbEnum(tok.text)
        self._err("expected a value")

    def number(self, tok: _Tok) -> int | float:
        s = tok.text
        if re.fullmatch(r"[0-9]+", s):
            if len(s) > 1 and s[0] == "0":
                self._err("octal-looking integer (leading zero)", tok)
            return int(s)
        return float(s)

    def unescape(self, tok: _Tok) -> str:
        body, out, i = tok.text[1:-1], bytearray(), 0
        while i < len(body):
            ch = body[i]
            if ch != "\\":
                out += ch.encode("utf-8")
                i += 1
                continue
            e = body[i + 1]
            if e in _ESCAPES:
                out += _ESCAPES[e].encode()
                i += 2
            elif e in "01234567":
                digits = re.match(r"[0-7]{1,3}", body[i + 1 :]).group()
                if int(digits, 8) > 255:
                    self._err(f"octal escape \\{digits} above \\377", tok)
                out.append(int(digits, 8))
                i += 1 + len(digits)
            elif e in "xX":
                m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2 :])
                if m is None:
                    self._err("\\x escape without hex digits", tok)
                out.append(int(m.group(), 16))
                i += 2 + len(m.group())
            else:
                self._err(f"unknown escape \\{e}", tok)
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            self._err("string is not valid UTF-8", tok)


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
    p = Path(path)
    cfg = p / CONFIG_FILE if p.is_dir() else p
    model_dir = cfg.parent
    if not cfg.is_file():
        fail(f"no Triton model configuration at {cfg}; write it with `edgeaction export --triton`")
    try:
        text = cfg.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {cfg}: {getattr(e, 'strerror', None) or first_line(e)}")
    conf = parse_pbtxt(text, source=str(cfg))
    _check_with_protobuf(text, cfg)

    def want(ok: bool, what: str) -> None:
        if not ok:
            fail(f"{cfg}: {what}")

    unknown = sorted(set(conf) - set(_TOP_FIELDS))
    want(not unknown, f"unexpected fields {unknown}")
    for f in _TOP_FIELDS:
        want(f in conf, f"missing field '{f}'")

    # the embedded contract first: it is the reference when none was given
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
    return conf


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
