"""Lazy imports of optional heavy dependencies.

`require("onnxruntime", extra="runtime")` imports on first call and turns a missing
module into one `EdgeActionError` line that names the extra to install. Modules of the
runtime (`engine`, `pipelines`) use this for onnxruntime, gi and tensorrt so that
importing them costs nothing and never pulls in TensorFlow.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

from .errors import EdgeActionError, fail

# module -> (pip extra, what to do when it is missing)
_HINTS = {
    "onnxruntime": ("runtime", "pip install 'edgeaction[runtime]'"),
    "cv2": ("runtime", "pip install 'edgeaction[runtime]'"),
    "gi": (
        "runtime",
        "apt-get install python3-gi gir1.2-gstreamer-1.0 and rerun scripts/setup.sh "
        "(a venv needs Debian's gi linked in or `pip install 'pygobject<3.51'`)",
    ),
    "tensorflow": ("train", "pip install 'edgeaction[train]'"),
    "keras": ("train", "pip install 'edgeaction[train]'"),
    "tf2onnx": ("train", "pip install 'edgeaction[train]'"),
    "onnx": ("runtime", "pip install 'edgeaction[runtime]' (or `pip install onnx`)"),
    "tensorboard": ("train", "pip install tensorboard (part of 'edgeaction[train]')"),
    "matplotlib": ("train", "pip install matplotlib (part of 'edgeaction[train]')"),
    "mediapipe": (
        "pose",
        "pip install 'edgeaction[pose]' && pip install --no-deps mediapipe==0.10.21 "
        "(the last release with offline pose models; its pins clash with TensorFlow, "
        "hence --no-deps; bash scripts/setup.sh does both)",
    ),
    "tensorrt": (
        "tensorrt",
        "on a Jetson use JetPack's python3-libnvinfer with a --system-site-packages venv; "
        "elsewhere install TensorRT from NVIDIA, or use --backend onnxruntime",
    ),
}


@contextlib.contextmanager
def native_stderr_hidden() -> Iterator:
    """Send what lands on fd 2 (TensorFlow's, MediaPipe's TFLite and absl lines) to a temp file.

    Yields a text stream on the real stderr for output that must show (a progress bar).
    When the block fails with an unexpected exception (not a user error, not Ctrl-C) the
    hidden text is written to stderr after all; with debug logging (the CLI's `-v`)
    nothing is hidden.
    """
    if logging.getLogger("edgeaction").isEnabledFor(logging.DEBUG):
        yield sys.stderr
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield sys.stderr
        return
    real = os.fdopen(os.dup(saved), "w", buffering=1)
    crashed = False
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield real
        except EdgeActionError:
            raise
        except Exception:
            crashed = True
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            real.close()
            if crashed:
                tmp.seek(0)
                sys.stderr.write(tmp.read().decode("utf-8", "replace"))
                sys.stderr.flush()


def require(name: str) -> ModuleType:
    """Import `name` or fail with one line naming the extra that provides it.

    Args:
        name: String. Dotted module name, e.g. `"onnxruntime"` or `"tf2onnx.convert"`.

    Returns:
        The imported module.
    """
    try:
        if name.split(".")[0] in ("tensorflow", "keras") and "tensorflow" not in sys.modules:
            # TensorFlow's C++ start-up lines (absl, oneDNN notice) ignore
            # TF_CPP_MIN_LOG_LEVEL; keep them off the user's terminal (shown with -v).
            with native_stderr_hidden():
                return importlib.import_module(name)
        return importlib.import_module(name)
    except ImportError as e:
        top = name.split(".")[0]
        extra, how = _HINTS.get(top, (None, f"pip install {top}"))
        what = f"'{top}' is not installed" if isinstance(e, ModuleNotFoundError) else str(e)
        tag = f" (extra '{extra}')" if extra else ""
        fail(f"{what}; it is needed here{tag}: {how}")


def _unwinder_first() -> None:
    """Put libgcc_s' C++ unwinder in the global symbol scope before GStreamer loads.

    Debian's libgstreamer links libunwind, whose `_Unwind_Resume` then wins the global
    symbol lookup for every C++ extension loaded later; the first C++ exception such a
    module throws (pybind11 in matplotlib, TensorFlow, OpenCV) then crashes the process
    (seen: `libunwind.so.8 __libunwind_Unwind_Resume` → SIGSEGV). Promoting libgcc_s to
    RTLD_GLOBAL first keeps the right unwinder. Harmless where libgcc_s is absent.
    """
    import ctypes

    try:
        ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        pass


#: `(Gst, GstVideo)` once `gst()` has loaded and initialised GStreamer.
_GST: tuple | None = None


def gst():
    """Return `(Gst, GstVideo)` with GStreamer initialised once.

    Cached after the first call: `gi.require_version` scans the typelib directories and
    opens the typelibs every time (~60 us), and the decode threads call this for every
    pull and every sample (one more of each per zone).
    """
    global _GST
    if _GST is not None:
        return _GST
    gi = require("gi")
    if "gi.repository.Gst" not in sys.modules:
        _unwinder_first()
    try:
        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import Gst, GstVideo
    except (ValueError, ImportError) as e:
        fail(f"GStreamer's introspection data is missing ({e}): {_HINTS['gi'][1]}")
    if not Gst.is_initialized():
        Gst.init(None)
    _GST = (Gst, GstVideo)
    return _GST
