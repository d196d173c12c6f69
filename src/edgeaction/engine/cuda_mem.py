"""Small CUDA helpers for the TensorRT runner: a stream, events, pinned and device buffers.

One interface over two Python bindings of CUDA: cuda-python (wheels,
`pip install "edgeaction[cuda]"`; the default) or pycuda (built from source against the
CUDA toolkit, where that is what the machine has). The environment variable
`EDGEACTION_CUDA` picks one (`cuda-python` or `pycuda`); unset, the first that imports
wins, cuda-python first. `backend_name()` says which, for metrics and benchmark JSON.

cuda-python is `from cuda.bindings import runtime` in 13.x and recent 12.x (12.9 has
both layouts) and `from cuda import cudart` in older 12.x (12.2, the CUDA of JetPack
6.0); calls return `(error, *values)`. Without a driver it imports fine and the first
call reports `cudaErrorInsufficientDriver` (35); 12.2 raises `RuntimeError: Failed to
dlopen libcuda.so.1` instead. pycuda's driver API has no implicit context: the primary
context of device 0 (the one TensorRT's runtime API uses) is pushed on the calling
thread while any stream, event or buffer is alive (see `_PyCuda`). Every failure is one
`EdgeActionError` line, with exit code 2 when there is no usable GPU or driver.

```python
with Stream() as s:
    host = PinnedBuffer((4, 8, 64, 64, 3), np.float32)
    dev = DeviceBuffer(host.nbytes)
    copy_htod(dev, host, host.nbytes, s)
    s.synchronize()
backend_name()  # "cuda-python 13.0.1"
```
"""

from __future__ import annotations

import atexit
import ctypes
import math
import os
import re
import threading
import weakref
from importlib import metadata
from typing import NoReturn

import numpy as np

from ..errors import EdgeActionError, fail, first_line

ENV = "EDGEACTION_CUDA"
CUDA_PYTHON_HOW = (
    'pip install "edgeaction[cuda]" (cuda-python 12.x, which runs on CUDA 12 and newer '
    "drivers; 13.x needs a CUDA 13 driver: never on JetPack 6, match the major version)"
)
PYCUDA_HOW = "pip install pycuda where the CUDA toolkit is installed (it builds against it)"
ONNX_HOW = "run the ONNX model with --backend onnxruntime"
NO_GPU = f"no usable NVIDIA GPU or driver; {ONNX_HOW}"
_NO_DRIVER = (34, 35, 100)  # cudaErrorStubLibrary, InsufficientDriver, NoDevice
# cuda-python 12.2 raises RuntimeError instead: "Failed to dlopen libcuda.so.1" at the
# first call, 'Function "cuInit" not found' at the next ones.
_NO_DRIVER_TEXT = r'libcuda|Function "cu\w+" not found'
_api = None  # the binding in use, chosen on first use
_live: weakref.WeakSet = weakref.WeakSet()  # streams, events and buffers not yet freed


def _backend() -> _CudaPython | _PyCuda:
    global _api
    if _api is None:
        _api = _select(os.environ.get(ENV, "").strip())
    return _api


def _select(choice: str) -> _CudaPython | _PyCuda:
    if choice not in ("", "auto", "cuda-python", "pycuda"):
        fail(
            f"{ENV}={choice!r} is not a CUDA binding; set it to cuda-python or pycuda, "
            "or unset it to use the one installed"
        )
    if choice == "cuda-python":
        api = _CudaPython.load()
    elif choice == "pycuda":
        api = _PyCuda.load()
    else:
        api = _CudaPython.load() or _PyCuda.load()
    if api is None:
        if choice in ("", "auto"):
            fail(
                f"the TensorRT runner needs cuda-python or pycuda: {CUDA_PYTHON_HOW}; "
                f"or {PYCUDA_HOW}",
                exit_code=2,
            )
        how = CUDA_PYTHON_HOW if choice == "cuda-python" else PYCUDA_HOW
        fail(f"{ENV}={choice} but {choice} is not installed: {how}; or unset {ENV}", exit_code=2)
    return api


def backend_name() -> str:
    """The binding in use and its version: `"cuda-python 13.0.1"`, `"pycuda 2026.1"`.

    Chooses the binding (see the module docstring) if nothing has yet; fails with one
    line when there is none.
    """
    return _backend().name


def device_info() -> dict:
    """Name and compute capability of CUDA device 0, through the binding in use.

    Returns:
        `{"name": "Orin", "compute_capability": "8.7"}`, or `None` values with a `note`
        (why) when there is no binding, driver or GPU: never fails.
    """
    try:
        name, cc = _backend().device()
    except EdgeActionError as e:
        return {"name": None, "compute_capability": None, "note": str(e)}
    if isinstance(name, bytes | bytearray):
        name = name.split(b"\0", 1)[0].decode("utf-8", "replace")
    return {"name": str(name), "compute_capability": cc}


def release() -> None:
    """Free every stream, event and buffer still alive; with pycuda, pop its context.

    `TrtRunner.deactivate` frees its own; this is for the rest (a runner never
    deactivated). With pycuda it runs at exit; call it from the thread that made them.
    """
    if isinstance(_api, _PyCuda) and _api._thread not in (None, threading.get_ident()):
        return  # pycuda's context is on another thread; nothing can be freed from here
    for obj in list(_live):
        obj.free()
    if isinstance(_api, _PyCuda):
        _api.release()


def _at_exit() -> None:
    try:
        release()
    except EdgeActionError:
        pass  # nothing left to tell at exit


def _absent(e: ImportError, *names: str) -> bool:
    """True when `e` says a package is not there (not that it is there but broken)."""
    return e.name in names and (
        isinstance(e, ModuleNotFoundError) or "cannot import name" in str(e)
    )


def _broken(e: ImportError) -> NoReturn:
    fail(
        f"cuda-python is installed but cannot be imported ({first_line(e)}); reinstall it "
        f"with its dependencies: {CUDA_PYTHON_HOW}",
        exit_code=2,
    )


def _version(*dists: str) -> str:
    for d in dists:
        try:
            return metadata.version(d)
        except metadata.PackageNotFoundError:
            pass
    return "(version unknown)"


class _CudaPython:
    """cuda-python's runtime API (`cudart`); TensorRT uses the same primary context.

    Args:
        rt: The runtime module (`cuda.bindings.runtime` or `cuda.cudart`).
    """

    def __init__(self, rt):
        self.rt = rt
        self.name = f"cuda-python {_version('cuda-bindings', 'cuda-python')}"

    @classmethod
    def load(cls) -> _CudaPython | None:
        """The binding, None when cuda-python is not installed; fails when it is broken."""
        try:
            from cuda.bindings import runtime as rt  # 13.x, recent 12.x
        except ImportError as e:
            if not _absent(e, "cuda", "cuda.bindings"):
                _broken(e)
            try:
                from cuda import cudart as rt  # older 12.x
            except ImportError as e2:
                if not _absent(e2, "cuda", "cuda.cudart"):
                    _broken(e2)
                return None
        return cls(rt)

    def _call(self, fn, *args, what: str | None = None):
        """`fn(*args)`: its values, or one line on a CUDA error (exit 2: no GPU/driver)."""
        what = what or fn.__name__
        try:
            result = fn(*args)
        except RuntimeError as e:  # 12.2 loading the driver (see _NO_DRIVER_TEXT)
            no_driver = re.search(_NO_DRIVER_TEXT, str(e)) is not None
            fail(
                f"CUDA {what} failed: {first_line(e)}" + (f"; {NO_GPU}" if no_driver else ""),
                exit_code=2 if no_driver else 1,
            )
        rt = self.rt
        err, *values = result if isinstance(result, tuple) else (result,)
        code = int(err)
        if code != int(rt.cudaError_t.cudaSuccess):
            name = rt.cudaGetErrorName(err)[1]
            name = name.decode() if isinstance(name, bytes) else str(name)
            hint = ""
            if code == 35:  # no driver, or one older than this cuda-python's CUDA major
                hint = (
                    f"; no NVIDIA driver, or one too old for {self.name} (its major version "
                    f"must be the driver's: 12.x on JetPack 6); or {ONNX_HOW}"
                )
            elif code in _NO_DRIVER:
                hint = f"; {NO_GPU}"
            fail(f"CUDA {what} failed: {name} ({code}){hint}", exit_code=2 if hint else 1)
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    def device(self) -> tuple[str, str]:
        dev = self._call(self.rt.cudaGetDevice)
        props = self._call(self.rt.cudaGetDeviceProperties, dev)
        return props.name, f"{props.major}.{props.minor}"

    def stream(self):
        return self._call(self.rt.cudaStreamCreate)

    def stream_handle(self, stream) -> int:
        return int(stream)

    def synchronize(self, stream) -> None:
        self._call(self.rt.cudaStreamSynchronize, stream)

    def stream_free(self, stream) -> None:
        self._call(self.rt.cudaStreamDestroy, stream)

    def event(self):
        return self._call(self.rt.cudaEventCreate)

    def record(self, event, stream) -> None:
        self._call(self.rt.cudaEventRecord, event, stream)

    def elapsed_ms(self, start, end) -> float:
        return float(self._call(self.rt.cudaEventElapsedTime, start, end))

    def event_free(self, event) -> None:
        self._call(self.rt.cudaEventDestroy, event)

    def malloc(self, nbytes: int) -> tuple[int, int]:
        ptr = int(self._call(self.rt.cudaMalloc, nbytes))
        return ptr, ptr

    def mem_free(self, mem) -> None:
        self._call(self.rt.cudaFree, mem)

    def pinned(self, nbytes: int) -> tuple[np.ndarray, int]:
        ptr = int(self._call(self.rt.cudaMallocHost, nbytes))
        return np.frombuffer((ctypes.c_byte * nbytes).from_address(ptr), np.uint8), ptr

    def pinned_free(self, pinned) -> None:
        self._call(self.rt.cudaFreeHost, pinned)

    def htod(self, dst: int, host: np.ndarray, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        src, n = host.ctypes.data, host.nbytes
        self._call(self.rt.cudaMemcpyAsync, dst, src, n, kind, stream, what="cudaMemcpyAsync H2D")

    def dtoh(self, host: np.ndarray, src: int, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        dst, n = host.ctypes.data, host.nbytes
        self._call(self.rt.cudaMemcpyAsync, dst, src, n, kind, stream, what="cudaMemcpyAsync D2H")


class _PyCuda:
    """pycuda's driver API, on the primary context of device 0 (TensorRT's context).

    pycuda needs a context on its own per-thread stack. The first stream, event or
    buffer pushes the primary context (`cuda.init()`, `Device(0)`,
    `retain_primary_context()`, `push()`) on the calling thread; freeing the last one
    pops it, so `TrtRunner.deactivate` leaves the thread as it found it. So every call,
    from the first `Stream()` to the last `free()`, must come from the thread that
    activated the runner: another thread fails with one line. What is still alive at exit
    is freed and the context popped by `release()` (registered with `atexit`), since
    pycuda aborts the process when its context stack is not empty at cleanup; a thread
    other than the main one must free its buffers (deactivate its runner) before it ends,
    for the same reason.

    Args:
        cuda: The module `pycuda.driver`.
    """

    def __init__(self, cuda):
        self.cuda = cuda
        self.name = f"pycuda {_version('pycuda')}"
        self._ctx = None  # the retained primary context, kept for the process
        self._users = 0  # streams, events and buffers alive while it is pushed
        self._thread: int | None = None

    @classmethod
    def load(cls) -> _PyCuda | None:
        """The binding, None when pycuda is not installed; fails when it cannot load."""
        try:
            import pycuda.driver as cuda
        except ImportError as e:
            if _absent(e, "pycuda"):
                return None
            if "libcuda" in str(e):
                fail(f"pycuda cannot load the CUDA driver ({first_line(e)}); {NO_GPU}", exit_code=2)
            fail(
                f"pycuda cannot be imported ({first_line(e)}); rebuild it against this "
                f"machine's CUDA toolkit: {PYCUDA_HOW}",
                exit_code=2,
            )
        return cls(cuda)

    def _enter(self) -> None:
        """Push the primary context on this thread for the first user; count users."""
        me = threading.get_ident()
        if self._users and me != self._thread:
            self._wrong_thread()
        if not self._users:
            cuda = self.cuda
            try:
                if self._ctx is None:
                    cuda.init()
                    device = cuda.Device(0)
                    self._ctx = device.retain_primary_context()
                self._ctx.push()
            except cuda.Error as e:
                fail(f"CUDA (pycuda) could not start: {first_line(e)}; {NO_GPU}", exit_code=2)
            self._thread = me
            atexit.unregister(_at_exit)  # once, however many times this runs
            atexit.register(_at_exit)
        self._users += 1

    def _leave(self) -> None:
        """Count one user less; pop the context when none is left."""
        if threading.get_ident() != self._thread:
            self._wrong_thread()
        self._users -= 1
        if not self._users:
            self._pop()

    def _pop(self) -> None:
        self._users, self._thread = 0, None
        self._call(self.cuda.Context.pop)

    def _wrong_thread(self) -> None:
        fail(
            "pycuda: CUDA streams, events and buffers are used on the thread that made "
            f"them (thread {self._thread}, this is {threading.get_ident()}); activate, "
            "run and deactivate a TensorRT runner on one thread"
        )

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self.cuda.Error as e:
            fail(f"CUDA (pycuda): {first_line(e)}")

    def _make(self, fn, *args):
        """`fn(*args)` as one more user of the context."""
        self._enter()
        try:
            return self._call(fn, *args)
        except BaseException:
            self._leave()
            raise

    def _drop(self, free=None) -> None:
        """Free one user's resource (None: pycuda frees it with the object) and leave."""
        try:
            if free is not None:
                self._call(free)
        finally:
            self._leave()

    def device(self) -> tuple[str, str]:
        """Device 0's name and compute capability (needs `init`, no context)."""
        try:
            self.cuda.init()
            device = self.cuda.Device(0)
            major, minor = device.compute_capability()
            return device.name(), f"{major}.{minor}"
        except self.cuda.Error as e:
            fail(f"CUDA (pycuda) found no device: {first_line(e)}; {NO_GPU}", exit_code=2)

    def stream(self):
        return self._make(self.cuda.Stream)

    def stream_handle(self, stream) -> int:
        return int(stream.handle)

    def synchronize(self, stream) -> None:
        self._call(stream.synchronize)

    def stream_free(self, stream) -> None:
        self._drop()  # pycuda destroys a stream with its object

    def event(self):
        return self._make(self.cuda.Event)

    def record(self, event, stream) -> None:
        self._call(event.record, stream)

    def elapsed_ms(self, start, end) -> float:
        return float(self._call(end.time_since, start))

    def event_free(self, event) -> None:
        self._drop()  # pycuda destroys an event with its object

    def malloc(self, nbytes: int):
        mem = self._make(self.cuda.mem_alloc, nbytes)
        return int(mem), mem

    def mem_free(self, mem) -> None:
        self._drop(mem.free)

    def pinned(self, nbytes: int):
        host = self._make(self.cuda.pagelocked_empty, (nbytes,), np.uint8)
        return host, host.base  # the array and its PagelockedHostAllocation

    def pinned_free(self, pinned) -> None:
        self._drop(pinned.free)

    def htod(self, dst: int, host: np.ndarray, stream) -> None:
        self._call(self.cuda.memcpy_htod_async, dst, host, stream)

    def dtoh(self, host: np.ndarray, src: int, stream) -> None:
        self._call(self.cuda.memcpy_dtoh_async, host, src, stream)

    def release(self) -> None:
        """Pop the context if it is still pushed here (users gone without `free`)."""
        if self._users and threading.get_ident() == self._thread:
            self._pop()


class Stream:
    """One CUDA stream; `handle` is the integer TensorRT's `execute_async_v3` takes."""

    def __init__(self):
        self._api = _backend()
        self._s = self._api.stream()
        _live.add(self)

    @property
    def handle(self) -> int:
        return self._api.stream_handle(self._s)

    def synchronize(self) -> None:
        """Wait until all work queued on the stream is done."""
        self._api.synchronize(self._s)

    def free(self) -> None:
        if self._s is not None:
            s, self._s = self._s, None
            _live.discard(self)
            self._api.stream_free(s)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc) -> None:
        self.free()


class Event:
    """A CUDA event for timing work on a stream."""

    def __init__(self):
        self._api = _backend()
        self._e = self._api.event()
        _live.add(self)

    def record(self, stream: Stream) -> None:
        self._api.record(self._e, stream._s)

    def ms_since(self, start: Event) -> float:
        """Milliseconds between `start` and this event (both recorded and complete)."""
        return self._api.elapsed_ms(start._e, self._e)

    def free(self) -> None:
        if self._e is not None:
            e, self._e = self._e, None
            _live.discard(self)
            self._api.event_free(e)


class DeviceBuffer:
    """`nbytes` of device memory; `ptr` is its address.

    Args:
        nbytes: Integer. Size in bytes (at least 1 is allocated).
    """

    def __init__(self, nbytes: int):
        self._api = _backend()
        self.nbytes = int(nbytes)
        self.ptr, self._mem = self._api.malloc(max(1, self.nbytes))
        _live.add(self)

    def free(self) -> None:
        if self._mem is not None:
            mem, self._mem, self.ptr = self._mem, None, 0
            _live.discard(self)
            self._api.mem_free(mem)


class PinnedBuffer:
    """Page-locked host memory for the largest `shape`, with numpy views of smaller ones.

    Args:
        shape: Tuple of integers. The largest shape the buffer must hold.
        dtype: numpy dtype of the elements.
    """

    def __init__(self, shape, dtype):
        self._api = _backend()
        self.dtype = np.dtype(dtype)
        self.nbytes = int(math.prod(shape)) * self.dtype.itemsize
        self._flat, self._mem = self._api.pinned(max(1, self.nbytes))
        self.ptr = self._flat.ctypes.data
        _live.add(self)

    def view(self, shape) -> np.ndarray:
        """A numpy array of `shape` over the start of the buffer (no copy)."""
        n = int(math.prod(shape)) * self.dtype.itemsize
        if n > self.nbytes:
            fail(f"shape {list(shape)} needs {n} bytes, the pinned buffer has {self.nbytes}")
        return self._flat[:n].view(self.dtype).reshape(shape)

    def first_bytes(self, nbytes: int) -> np.ndarray:
        """The first `nbytes` of the buffer as a uint8 array (what a copy moves)."""
        if not 0 <= nbytes <= self.nbytes:
            fail(f"a copy of {nbytes} bytes does not fit the pinned buffer of {self.nbytes}")
        return self._flat[:nbytes]

    def free(self) -> None:
        if self._mem is not None:
            mem, self._mem, self._flat, self.ptr = self._mem, None, None, 0
            _live.discard(self)
            self._api.pinned_free(mem)


def copy_htod(dst: DeviceBuffer, src: PinnedBuffer, nbytes: int, stream: Stream) -> None:
    """Asynchronous host → device copy of the first `nbytes` of `src` on `stream`."""
    if nbytes > dst.nbytes:
        fail(f"a copy of {nbytes} bytes does not fit the device buffer of {dst.nbytes}")
    stream._api.htod(dst.ptr, src.first_bytes(nbytes), stream._s)


def copy_dtoh(dst: PinnedBuffer, src: DeviceBuffer, nbytes: int, stream: Stream) -> None:
    """Asynchronous device → host copy of `nbytes` into the start of `dst` on `stream`."""
    if nbytes > src.nbytes:
        fail(f"a copy of {nbytes} bytes is more than the device buffer's {src.nbytes}")
    stream._api.dtoh(dst.first_bytes(nbytes), src.ptr, stream._s)
