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
