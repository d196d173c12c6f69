"""The engine sidecar: what a serialized TensorRT engine is only valid for.

Beside every engine `build_engine` writes `ENGINE.json` (`artefacts.engine_sidecar_path`,
e.g. `model_b8_fp16_sm87.engine.json`): TensorRT version, GPU (name, compute capability)
or DLA core, precision, profiles, the ONNX file's sha256, the contract (and the split
part), plus the engine file's own sha256 (`engine_sha256`). This module is the one place
that writes it (`write_engine`, atomically with the engine), reads it (`read_sidecar`),
checks the engine's bytes against it (`engine_checksum_problem`) and says why an engine
cannot run here (`sidecar_mismatch`). Needs no TensorRT.

```python
side = read_sidecar("models/a/model_b8_fp16_sm87.engine")
sidecar_mismatch(side, {"tensorrt": "10.3.0", "device": gpu_info()})   # None: it fits
```
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..artefacts import engine_sidecar_path
from ..contract import ModelContract, SplitPart
from ..errors import fail

#: The sidecar of an engine (`ENGINE.json`).
sidecar_path = engine_sidecar_path
_REBUILD = "rebuild with `edgeaction build-engine`"


def read_sidecar(engine: str | os.PathLike) -> dict[str, Any]:
    """The sidecar dict of `engine`, or a one-line failure naming the fix."""
    p = sidecar_path(engine)
    if not p.exists():
        fail(
            f"{Path(engine).name} has no sidecar {p.name} (contract, TensorRT version, GPU); "
            "rebuild the engine with `edgeaction build-engine MODEL.onnx`"
        )
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        fail(f"cannot read the engine sidecar {p}: {e}; {_REBUILD}")
    if not isinstance(d, dict) or "contract" not in d or "tensorrt" not in d:
        fail(f"{p} is not an engine sidecar; {_REBUILD}")
    return d


def sidecar_contract(side: dict[str, Any], engine: str | os.PathLike) -> ModelContract:
    """The contract a sidecar records for `engine`."""
    return ModelContract.from_dict(side["contract"], source=f"{Path(engine).name} sidecar")


def sidecar_part(side: dict[str, Any], engine: str | os.PathLike) -> SplitPart | None:
    """The split part (encoder or head) a sidecar records, or None for a whole model."""
    if side.get("split_part") is None:
        return None
    return SplitPart.from_json(
        json.dumps(side["split_part"]), source=f"{Path(engine).name} sidecar"
    )


def write_engine(
    out: str | os.PathLike, plan: bytes | bytearray | memoryview, meta: dict[str, Any]
) -> Path:
    """Write a serialized engine and its sidecar so that no kill leaves a usable half.

    The one writer of engine files (`build_engine`, hence `edgeaction build-engine` and
    the engine cache). Order: the plan goes to a hidden `.partial` file and is fsynced;
    the old sidecar is removed; the plan is renamed onto `out`; the sidecar, with the
    plan's sha256 (`engine_sha256`), is written atomically last. A kill at any point
    leaves `out` absent, old, or new without a matching sidecar, and `TrtRunner` (and
    the cache, which rebuilds) refuses an engine whose sidecar is missing or whose
    sha256 differs. Takes plain bytes, so it is testable without TensorRT.

    Args:
        out: Engine path; the sidecar is `sidecar_path(out)`.
        plan: The serialized engine (`IHostMemory` through `memoryview`, or bytes).
        meta: Dict. Sidecar facts (contract, TensorRT version, device, ...); `engine`
            and `engine_sha256` are added.

    Returns:
        The engine path.
    """
    from ..fsutil import atomic_path, atomic_write_text

    out = Path(out)
    view = memoryview(plan).cast("B")
    digest = hashlib.sha256(view).hexdigest()
    side = sidecar_path(out)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            f.write(view)
        # The old sidecar must not vouch for the new plan (or a half of it).
        side.unlink(missing_ok=True)
    doc = {"engine": out.name, "engine_sha256": digest, **meta}
    atomic_write_text(side, json.dumps(doc, indent=2) + "\n")
    return out


def plan_checksum_problem(name: str, plan: bytes, sidecar: dict[str, Any]) -> str | None:
    """Why the bytes `plan` of engine `name` differ from its sidecar's sha256, or None."""
    want = sidecar.get("engine_sha256")
    if want and hashlib.sha256(plan).hexdigest() != str(want).lower():
        return (
            f"{name} does not match the sha256 in {sidecar_path(name).name} (altered or "
            "truncated since it was built)"
        )
    return None


def engine_checksum_problem(engine: str | os.PathLike, sidecar: dict[str, Any]) -> str | None:
    """Why `engine` does not match the sha256 its sidecar records, or None.

    Sidecars from before `engine_sha256` existed are not checked (None).

    Args:
        engine: Path of the engine file.
        sidecar: Dict. Its sidecar (`read_sidecar`).
    """
    from ..fsutil import sha256_file

    want = sidecar.get("engine_sha256")
    if not want:
        return None
    p = Path(engine)
    try:
        got = sha256_file(p)
    except OSError as e:
        return f"{p.name} cannot be read ({e.strerror})"
    if got != str(want).lower():
        return (
            f"{p.name} does not match the sha256 in {sidecar_path(p).name} (altered or "
            "truncated since it was built)"
        )
    return None


def sidecar_mismatch(built: dict[str, Any], here: dict[str, Any]) -> str | None:
    """Why an engine built as `built` (its sidecar) cannot run `here`, or None.

    Pure function over two dicts, so it is testable without TensorRT.

    Args:
        built: Dict. The sidecar: `tensorrt` (version string), `device` (`name`,
            `compute_capability`, optional `dla_core`) and `contract` (dict).
        here: Dict. The same keys for this machine and the caller: `tensorrt`,
            `device`, and optionally `contract` (the contract the caller expects).

    Returns:
        One line (what differs, both values) or None when the engine fits.
    """
    why = []
    if str(built.get("tensorrt")) != str(here.get("tensorrt")):
        why.append(f"TensorRT {built.get('tensorrt')} (here {here.get('tensorrt')})")
    bd, hd = built.get("device") or {}, here.get("device") or {}
    for key, label in (("compute_capability", "compute capability"), ("name", "GPU")):
        b, h = bd.get(key), hd.get(key)
        if b and h and b != h:
            why.append(f"{label} {b} (here {h})")
    if "contract" in here and here["contract"] is not None:
        b = ModelContract.from_dict(built.get("contract"), source="engine sidecar contract")
        h = here["contract"]
        h = h if isinstance(h, ModelContract) else ModelContract.from_dict(h)
        if b != h:
            why.append(f"model '{b.name}' (expected '{h.name}' with another contract)")
    if not why:
        return None
    return "the engine was built for " + ", ".join(why)
