"""What the files edgeaction writes are called, and which kind of model a path holds.

A shared leaf module (it imports only `errors`): every command that takes a model
resolves it here, so a run directory, an export directory, a `.keras`, an `.onnx` and a
TensorRT engine (`.engine`, `.plan` or `.trt`) mean the same thing everywhere.

```python
kind, path = resolve_model("models/a")          # ("onnx", Path("models/a/model.onnx"))
kind, path = resolve_model("a.trt", (ONNX, ENGINE))   # ("tensorrt-engine", Path("a.trt"))
```

| kind              | files                                   | written by                 |
|-------------------|-----------------------------------------|----------------------------|
| `keras`           | `model.keras` (+ `contract.json`)       | `edgeaction train`         |
| `onnx`            | `model.onnx`, `model_fp16.onnx`, `encoder.onnx`, `head.onnx` | `edgeaction export` |
| `tensorrt-engine` | `NAME.engine` / `.plan` / `.trt` + `NAME.engine.json` sidecar | `edgeaction build-engine` |

A directory stands for the model file it holds: `model.keras` (a run) or `model.onnx`
(an export), tried in the order of the kinds the caller accepts.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import fail

#: Model kinds (`resolve_model`'s first value).
KERAS = "keras"
ONNX = "onnx"
ENGINE = "tensorrt-engine"
KINDS = (KERAS, ONNX, ENGINE)

#: File names inside a run or export directory (`checksums.json` is `fsutil`'s).
CONTRACT_JSON = "contract.json"
MODEL_KERAS = "model.keras"
MODEL_ONNX = "model.onnx"
MODEL_FP16_ONNX = "model_fp16.onnx"
ENCODER_ONNX = "encoder.onnx"
HEAD_ONNX = "head.onnx"
#: The stem suffix of a float16 graph (`model_fp16.onnx`, from `export --fp16`).
FP16_STEM = "_fp16"

#: Serialized TensorRT engines (TensorRT itself takes any name; these are the usual ones).
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")
#: Training formats that must be exported before anything but `evaluate` can run them.
TRAINING_SUFFIXES = (".keras", ".h5", ".hdf5", ".pb", ".tflite")

_SUFFIX_KIND = {".keras": KERAS, ".onnx": ONNX, **{s: ENGINE for s in ENGINE_SUFFIXES}}
_DIRECTORY_FILE = {KERAS: MODEL_KERAS, ONNX: MODEL_ONNX}
_NAME = {KERAS: "a Keras model", ONNX: "an ONNX model", ENGINE: "a TensorRT engine"}
_DESCRIBE = {
    KERAS: "a .keras file or run directory from `edgeaction train`",
    ONNX: "an .onnx file or export directory from `edgeaction export`",
    ENGINE: f"a TensorRT engine ({'/'.join(ENGINE_SUFFIXES)}) with its sidecar",
}


def kind_of(path: str | os.PathLike) -> str | None:
    """The kind of model file `path` names by its suffix (`keras`, `onnx`,
    `tensorrt-engine`), or None."""
    return _SUFFIX_KIND.get(Path(path).suffix.lower())


def is_engine(path: str | os.PathLike) -> bool:
    """Whether `path` names a serialized TensorRT engine (`ENGINE_SUFFIXES`)."""
    return kind_of(path) == ENGINE


def engine_sidecar_path(engine: str | os.PathLike) -> Path:
    """The sidecar of an engine: `ENGINE.json` (the engine's file name plus `.json`)."""
    p = Path(engine)
    return p.with_name(p.name + ".json")


def fp16_twin(onnx: str | os.PathLike) -> Path:
    """`model_fp16.onnx` beside `model.onnx` (the name `export --fp16` writes)."""
    p = Path(onnx)
    return p.with_name(f"{p.stem}{FP16_STEM}.onnx")


def is_fp16_onnx(path: str | os.PathLike) -> bool:
    """Whether `path` is named as export's float16 graph (`*_fp16.onnx`)."""
    p = Path(path)
    return p.suffix.lower() == ".onnx" and p.stem.endswith(FP16_STEM)


def split_paths(model: str | os.PathLike) -> tuple[Path, Path]:
    """`(encoder.onnx, head.onnx)` beside `model` (`export --split`); they may not exist."""
    p = Path(model)
    return p.with_name(ENCODER_ONNX), p.with_name(HEAD_ONNX)


def kind_name(kind: str) -> str:
    """`"a TensorRT engine"`, `"an ONNX model"`, `"a Keras model"` for messages."""
    return _NAME.get(kind, kind)


def describe(kinds: tuple[str, ...] = KINDS) -> str:
    """`"a .keras file ..., an .onnx file ... or a TensorRT engine ..."` for messages."""
    words = [_DESCRIBE[k] for k in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def resolve_model(
    path: str | os.PathLike, kinds: tuple[str, ...] = KINDS, any_suffix: bool = False
) -> tuple[str, Path]:
    """The kind of model `path` holds and its file.

    Args:
        path: A model file, or a run / export directory (`model.keras` / `model.onnx`).
        kinds: Tuple of kinds the caller accepts, in order of preference for a
            directory. Defaults to all of `KINDS`.
        any_suffix: Boolean. Take a file with another suffix as the first kind of
            `kinds` (for a caller that checks the content itself). Defaults to `False`.

    Returns:
        `(kind, path)`; anything else fails with one line naming what to give.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        fail(f"model kinds must be among {', '.join(KINDS)}. Received: {list(kinds)}")
    p = Path(path)
    if not p.exists():
        fail(f"model not found: {p}; give {describe(kinds)}")
    if p.is_dir():
        names = [_DIRECTORY_FILE[k] for k in kinds if k in _DIRECTORY_FILE]
        found = next((p / n for n in names if (p / n).is_file()), None)
        if found is None:
            held = " or ".join(names) or "a model file"
            fail(f"{p} is a directory without {held}; give {describe(kinds)}")
        p = found
    kind = kind_of(p)
    if kind in kinds:
        return kind, p
    if any_suffix and kind is None:
        return kinds[0], p
    what = f"is {_NAME[kind]}" if kind else "is not a model file"
    fail(f"{p} {what}; give {describe(kinds)}")
