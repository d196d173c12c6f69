"""Where engines built from ONNX models are kept, and when one may be reused.

An engine is only valid for the model, TensorRT version, GPU (compute capability) or DLA
core, precision and optimisation profile it was built with. The cache key covers all of
them, so a cached engine is never loaded where it does not belong (the sidecar check in
`TrtRunner` refuses it anyway, with a one-line reason):

```
~/.cache/edgeaction/engines/<onnx stem>-<key>.engine        (+ .engine.json sidecar)
key = sha256(onnx sha256, TensorRT version, compute capability | DLA core,
             precision, profile min:opt:max)[:16]
```

`EDGEACTION_CACHE_DIR` or `--cache-dir` move it.

An entry is reused only when `cached_engine_problem` finds nothing wrong: its sidecar
is readable and fits (TensorRT, GPU, contract), the ONNX file still has the sha256 the
engine was built from, and the engine file still has its own sha256 (`engine_sha256`).
Anything else (a truncated or altered engine, a missing sidecar after a killed build) is
rebuilt; entries are written by `sidecar.write_engine`, so a kill never leaves one
that passes these checks half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

ENV = "EDGEACTION_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$EDGEACTION_CACHE_DIR`, else `$XDG_CACHE_HOME/edgeaction/engines`, else ~/.cache/…."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgeaction" / "engines"


def cache_key(
    onnx_sha256: str,
    tensorrt: str,
    device: dict[str, Any],
    precision: str,
    profile: tuple[int, int, int],
) -> str:
    """A 16-hex key of everything an engine depends on (see the module docstring)."""
    target = (
        f"dla{device['dla_core']}"
        if device.get("dla_core") is not None
        else f"sm{device.get('compute_capability') or 'unknown'}"
    )
    facts = {
        "onnx": onnx_sha256,
        "tensorrt": str(tensorrt),
        "target": target,
        "precision": precision,
        "profile": [int(x) for x in profile],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def cached_engine_path(
    onnx: str | os.PathLike,
    onnx_sha256: str,
    tensorrt: str,
    device: dict[str, Any],
    precision: str,
    profile: tuple[int, int, int],
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """The engine file for these facts inside the cache directory."""
    key = cache_key(onnx_sha256, tensorrt, device, precision, profile)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / f"{Path(onnx).stem}-{key}.engine"


def cached_engine_problem(
    entry: str | os.PathLike,
    onnx: str | os.PathLike,
    tensorrt: str,
    device: dict[str, Any],
    contract: Any = None,
) -> str | None:
    """Why the cached `entry` must not be reused for `onnx` here, or None to reuse it.

    Needs no TensorRT: it reads files and compares facts, so a corrupt entry is
    detected (and rebuilt by the caller) before TensorRT is asked to read it.

    Args:
        entry: Path of the cached engine file.
        onnx: Path of the ONNX model it should have been built from.
        tensorrt: String. This machine's TensorRT version.
        device: Dict. This machine's `gpu_info()` (plus `dla_core` when building for one).
        contract: ModelContract or None. The contract the caller expects.

    Returns:
        One line (what is wrong) or None.
    """
    from ..errors import EdgeActionError
    from ..fsutil import sha256_file
    from .sidecar import engine_checksum_problem, read_sidecar, sidecar_mismatch, sidecar_path

    entry, onnx = Path(entry), Path(onnx)
    if not entry.is_file():
        return f"{entry.name} is missing"
    if not sidecar_path(entry).exists():
        return f"{entry.name} has no sidecar (an interrupted build?)"
    try:
        side = read_sidecar(entry)
        why = sidecar_mismatch(side, {"tensorrt": tensorrt, "device": device, "contract": contract})
    except EdgeActionError as e:
        return str(e)
    if why:
        return why
    built_from = side.get("onnx") or {}
    source = onnx.with_name(built_from.get("file") or onnx.name)
    try:
        if built_from.get("sha256") != sha256_file(source):
            return f"{source.name} changed since the entry was built"
    except OSError as e:
        return f"cannot read {source.name} ({e.strerror})"
    return engine_checksum_problem(entry, side)
