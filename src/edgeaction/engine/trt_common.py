"""What the TensorRT modules share: the import, the version, the GPU, the batch profile.

A leaf of the engine package (it imports no other engine module but `cuda_mem`, lazily),
so `trt`, `trt_build`, `cache` and `split` all import it without importing each other.
"""

from __future__ import annotations

from typing import Any

from ..errors import fail, first_line

#: What to do when TensorRT is missing (same advice as `edgeaction._lazy`).
TRT_HOW = (
    "on a Jetson install JetPack's python3-libnvinfer and use a venv made with "
    "--system-site-packages; elsewhere install TensorRT from NVIDIA, or skip the engine "
    "and run the ONNX model with --backend onnxruntime"
)
#: The batch profile (min, opt, max) when none is given: `build-engine`'s and the engines
#: built on the fly (`TrtRunner` given an `.onnx`, `SplitRunner` on TensorRT).
DEFAULT_BATCH = (1, 4, 8)
GPU_HOW = (
    "build the engine on the target device (Jetson or a machine with an NVIDIA GPU and "
    "driver), or run the ONNX model with --backend onnxruntime"
)


def version_tuple(v: str) -> tuple[int, int]:
    """`"10.3.0.26"` → `(10, 3)`; unparsable parts count as 0."""
    parts = []
    for p in str(v).split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 2:
        parts.append(0)
    return tuple(parts)


def import_tensorrt():
    """Import `tensorrt`, or fail (exit code 2) with one line that says what is missing.

    Returns:
        The `tensorrt` module.
    """
    try:
        import tensorrt as trt
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "tensorrt":
            fail(f"TensorRT's Python package is not installed; {TRT_HOW}", exit_code=2)
        fail(f"TensorRT cannot be imported ({first_line(e)}); {TRT_HOW}", exit_code=2)
    except (ImportError, OSError) as e:
        # The bindings are there but not the libraries (libnvinfer, libnvonnxparser).
        fail(
            f"TensorRT's libraries are missing ({first_line(e)}); {TRT_HOW}",
            exit_code=2,
        )
    return trt


def parse_batch(spec: str | tuple | list) -> tuple[int, int, int]:
    """Batch profile `MIN:OPT:MAX` (or one number N for N:N:N) → `(min, opt, max)`.

    Args:
        spec: String like `"1:4:8"`, or a sequence of 3 integers.
    """
    if isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) == 1:
            parts = parts * 3
        try:
            vals = tuple(int(p) for p in parts)
        except ValueError:
            fail(f"--batch must be MIN:OPT:MAX whole numbers, e.g. 1:4:8. Received: {spec!r}")
    else:
        vals = tuple(spec)
    if (
        len(vals) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
        or not 1 <= vals[0] <= vals[1] <= vals[2]
    ):
        fail(f"--batch must be MIN:OPT:MAX with 1 <= MIN <= OPT <= MAX. Received: {spec!r}")
    return vals


def gpu_info() -> dict[str, Any]:
    """Name and compute capability of CUDA device 0 (cuda-python or pycuda).

    Returns:
        `{"name": str, "compute_capability": "8.7"}`, or `None` values with a `note`
        when no CUDA binding is installed or it reports an error.
    """
    from .cuda_mem import device_info

    return device_info()
