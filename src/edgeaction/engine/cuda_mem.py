"""Small CUDA helpers over cuda-python for the TensorRT runner: buffers, a stream, events.

cuda-python 12.x exposes `from cuda import cudart`; 13.x (and 12.8+) exposes
`from cuda.bindings import runtime as cudart`. Both return `(error, value...)` tuples;
`check` turns a non-zero error into one `EdgeActionError` line. Without a driver
cuda-python imports fine and the first call reports `cudaErrorInsufficientDriver` (35).

```python
with Stream() as s:
    host = PinnedBuffer((4, 8, 64, 64, 3), np.float32)
    dev = DeviceBuffer(host.nbytes)
    copy_htod(dev, host, s)
    s.synchronize()
```
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

from ..errors import fail

CUDA_PYTHON_HOW = (
    "pip install cuda-python with the major version of the CUDA driver "
    "(12.x on JetPack 6, 13.x with a CUDA 13 driver)"
)
_cudart = None


def cudart():
    """The cuda-python runtime module (13.x layout first, then 12.x), imported once."""
    global _cudart
    if _cudart is None:
        try:
            from cuda.bindings import runtime as rt
        except ImportError:
            try:
                from cuda import cudart as rt
            except ImportError:
                fail(f"the TensorRT runner needs cuda-python: {CUDA_PYTHON_HOW}", exit_code=2)
        _cudart = rt
    return _cudart


def check(result, what: str):
    """Unpack a cuda-python `(error, *values)` tuple; fail with one line on an error.

    Returns:
        None, the one value, or a tuple of values.
    """
    rt = cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != int(rt.cudaError_t.cudaSuccess):
        name = rt.cudaGetErrorName(err)[1]
        name = name.decode() if isinstance(name, bytes) else str(name)
        code = int(err)
        hint = (
            "no usable NVIDIA GPU or driver; run the ONNX model with --backend onnxruntime"
            if code in (35, 100)  # InsufficientDriver, NoDevice
            else "see the CUDA error above"
        )
        fail(
            f"CUDA {what} failed: {name} ({code}); {hint}", exit_code=2 if code in (35, 100) else 1
        )
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


class Stream:
    """One CUDA stream; `handle` is the integer TensorRT's `execute_async_v3` takes."""

    def __init__(self):
        self._s = check(cudart().cudaStreamCreate(), "cudaStreamCreate")

    @property
    def handle(self) -> int:
        return int(self._s)

    @property
    def raw(self):
        return self._s

    def synchronize(self) -> None:
        check(cudart().cudaStreamSynchronize(self._s), "cudaStreamSynchronize")

    def free(self) -> None:
        if self._s is not None:
            check(cudart().cudaStreamDestroy(self._s), "cudaStreamDestroy")
            self._s = None

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc) -> None:
        self.free()


class Event:
    """A CUDA event for timing work on a stream."""

    def __init__(self):
        self._e = check(cudart().cudaEventCreate(), "cudaEventCreate")

    def record(self, stream: Stream) -> None:
        check(cudart().cudaEventRecord(self._e, stream.raw), "cudaEventRecord")

    def ms_since(self, start: Event) -> float:
        """Milliseconds between `start` and this event (both recorded and complete)."""
        return float(
            check(cudart().cudaEventElapsedTime(start._e, self._e), "cudaEventElapsedTime")
        )

    def free(self) -> None:
        if self._e is not None:
            check(cudart().cudaEventDestroy(self._e), "cudaEventDestroy")
            self._e = None


class DeviceBuffer:
    """`nbytes` of device memory; `ptr` is its address."""

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self.ptr = int(check(cudart().cudaMalloc(max(1, self.nbytes)), "cudaMalloc"))

    def free(self) -> None:
        if self.ptr:
            check(cudart().cudaFree(self.ptr), "cudaFree")
            self.ptr = 0


class PinnedBuffer:
    """Page-locked host memory for the largest `shape`, with numpy views of smaller ones.

    Args:
        shape: Tuple of integers. The largest shape the buffer must hold.
        dtype: numpy dtype of the elements.
    """

    def __init__(self, shape, dtype):
        self.dtype = np.dtype(dtype)
        self.nbytes = int(math.prod(shape)) * self.dtype.itemsize
        self.ptr = int(check(cudart().cudaMallocHost(max(1, self.nbytes)), "cudaMallocHost"))
        raw = (ctypes.c_byte * max(1, self.nbytes)).from_address(self.ptr)
        self._flat = np.frombuffer(raw, dtype=np.uint8)

    def view(self, shape) -> np.ndarray:
        """A numpy array of `shape` over the start of the buffer (no copy)."""
        n = int(math.prod(shape)) * self.dtype.itemsize
        if n > self.nbytes:
            fail(f"shape {list(shape)} needs {n} bytes, the pinned buffer has {self.nbytes}")
        return self._flat[:n].view(self.dtype).reshape(shape)

    def free(self) -> None:
        if self.ptr:
            self._flat = None
            check(cudart().cudaFreeHost(self.ptr), "cudaFreeHost")
            self.ptr = 0


def copy_htod(dst: DeviceBuffer, src: PinnedBuffer, nbytes: int, stream: Stream) -> None:
    """Asynchronous host → device copy of `nbytes` on `stream`."""
    rt = cudart()
    kind = rt.cudaMemcpyKind.cudaMemcpyHostToDevice
    check(rt.cudaMemcpyAsync(dst.ptr, src.ptr, nbytes, kind, stream.raw), "cudaMemcpyAsync H2D")


def copy_dtoh(dst: PinnedBuffer, src: DeviceBuffer, nbytes: int, stream: Stream) -> None:
    """Asynchronous device → host copy of `nbytes` on `stream`."""
    rt = cudart()
    kind = rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
    check(rt.cudaMemcpyAsync(dst.ptr, src.ptr, nbytes, kind, stream.raw), "cudaMemcpyAsync D2H")
