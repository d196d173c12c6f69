"""What this machine is: Jetson (model, L4T, JetPack, power mode), NVIDIA dGPU, or CPU only.

Probes only, with no side effects: files are read, version tools run with a 5 s timeout,
and a missing file or tool gives `None`, never an exception. Every probe of the file
system takes `root` (default `/`) so tests point it at a fake root directory holding
`etc/nv_tegra_release`, `proc/device-tree/model` and friends.

```python
from edgeaction import machine as ep
ep.is_jetson()                  # /etc/nv_tegra_release exists
ep.jetson_info()                # {"model": "NVIDIA Jetson AGX Orin Developer Kit", "l4t": "36.4.0", "jetpack": "6.1", ...}
ep.nvidia_gpu()                 # {"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", ...} or None
ep.summary()                    # what `edgeaction bench` records: {"kind": "cpu", "name": "cpu"}
```

Neutral module: never imports TensorFlow or `edgeaction.jetson`; GStreamer and
onnxruntime are imported only by the probes that report on them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform as _stdlib_platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT_S = 5.0
ROOT = Path("/")

# L4T (Jetson Linux) release → JetPack release, from NVIDIA's JetPack archive
# (developer.nvidia.com/embedded/jetpack-archive). Keys are "major.minor.patch".
L4T_TO_JETPACK = {
    "38.4.0": "7.1",
    "38.2.1": "7.0",
    "38.2.0": "7.0",
    "36.4.4": "6.2.1",
    "36.4.3": "6.2",
    "36.4.0": "6.1",
    "36.3.0": "6.0",
    "36.2.0": "6.0 DP",
    "35.6.1": "5.1.5",
    "35.6.0": "5.1.4",
    "35.5.0": "5.1.3",
    "35.4.1": "5.1.2",
    "35.3.1": "5.1.1",
    "35.2.1": "5.1",
    "35.1.0": "5.0.2",
}
# Fallback by major release when the exact one is not in the table.
_L4T_MAJOR_TO_JETPACK = {"38": "7.x", "36": "6.x", "35": "5.1.x", "34": "5.0.x", "32": "4.x"}

_NV_TEGRA_RE = re.compile(r"#\s*R(\d+)\s*\(release\)\s*,\s*REVISION:\s*(\d+)(?:\.(\d+))?", re.I)


# ---- helpers -------------------------------------------------------------------------------
def _path(root: Path | str, rel: str) -> Path:
    return Path(root) / rel.lstrip("/")


def _read(root: Path | str, rel: str) -> str | None:
    try:
        return _path(root, rel).read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def which(name: str, root: Path | str = ROOT) -> str | None:
    """Find a program on `PATH`, then in `{root}/usr/sbin` and `{root}/usr/bin`.

    Args:
        name: String. Program name, e.g. `"nvpmodel"`.
        root: Path. File-system root to search besides `PATH`. Defaults to `/`.

    Returns:
        The program's path as a string, or `None`.
    """
    found = shutil.which(name)
    if found:
        return found
    for d in ("usr/sbin", "usr/bin", "sbin", "bin"):
        p = _path(root, d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def run_tool(cmd: list[str], timeout: float = TIMEOUT_S) -> tuple[int, str] | None:
    """Run `cmd` with stdin closed; `(exit code, stdout + stderr)` or `None` if it cannot run.

    A command that outlives `timeout` seconds is killed and reported as `None`.
    """
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return p.returncode, ((p.stdout or "") + (p.stderr or "")).strip()


def dist_version(*names: str) -> str | None:
    """Installed version of the first of these distributions found (no import), or `None`."""
    for n in names:
        try:
            return importlib.metadata.version(n)
        except Exception:
            continue
    return None


def has_module(name: str) -> bool:
    """Whether top-level module `name` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dpkg_versions(names, root: Path | str = ROOT) -> dict[str, str]:
    """Versions of installed Debian packages among `names`, read from `{root}/var/lib/dpkg/status`.

    Args:
        names: Iterable of package names, e.g. `["libnvinfer10"]`.
        root: Path. Defaults to `/`.

    Returns:
        Dict of package name → version, for the installed ones only.
    """
    want = set(names)
    text = _read(root, "var/lib/dpkg/status")
    out: dict[str, str] = {}
    if not text or not want:
        return out
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            k, _, v = line.partition(":")
            if k in ("Package", "Status", "Version"):
                fields[k] = v.strip()
        name = fields.get("Package")
        if name in want and "installed" in fields.get("Status", "").split()[-1:]:
            if "Version" in fields:
                out[name] = fields["Version"]
    return out


# ---- Jetson --------------------------------------------------------------------------------
def jetson_model(root: Path | str = ROOT) -> str | None:
    """The board name from `/proc/device-tree/model` (NUL-terminated), or `None`.

    Returns:
        String such as `"NVIDIA Jetson AGX Orin Developer Kit"`, or `None` when absent.
    """
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        text = _read(root, rel)
        if text is not None:
            model = text.replace("\x00", " ").strip()
            return model or None
    return None


def l4t_release(root: Path | str = ROOT) -> str | None:
    """The L4T release from `/etc/nv_tegra_release`, e.g. `"36.4.0"`; `None` if absent or unreadable.

    The file's first line looks like `# R36 (release), REVISION: 4.0, GCID: 37537400,
    BOARD: generic, EABI: aarch64, DATE: ...`: major `36`, revision `4.0` → `36.4.0`.
    """
    text = _read(root, "etc/nv_tegra_release")
    if text is None:
        return None
    m = _NV_TEGRA_RE.search(text)
    if not m:
        return None
    return f"{int(m.group(1))}.{int(m.group(2))}.{int(m.group(3) or 0)}"


def jetpack_for(l4t: str | None) -> str | None:
    """The JetPack release of an L4T release: `"36.4.0"` → `"6.1"`, `"36.4.3"` → `"6.2"`.

    Unknown patch releases map to their series (`"36.9.0"` → `"6.x"`); `None` → `None`.
    """
    if not l4t:
        return None
    parts = (l4t.split(".") + ["0", "0"])[:3]
    key = ".".join(parts)
    if key in L4T_TO_JETPACK:
        return L4T_TO_JETPACK[key]
    return _L4T_MAJOR_TO_JETPACK.get(parts[0])


def is_jetson(root: Path | str = ROOT) -> bool:
    """Whether `root` is a Jetson: `/etc/nv_tegra_release` exists."""
    return _path(root, "etc/nv_tegra_release").is_file()


def jetson_info(root: Path | str = ROOT) -> dict[str, Any] | None:
    """Model, L4T and JetPack of a Jetson, or `None` off a Jetson.

    Returns:
        Dict with `model`, `l4t`, `jetpack` (`None` when unknown), `board`, `release_line`
        (first line of `/etc/nv_tegra_release`) and `error` (why L4T is unknown, or `None`).
    """
    if not is_jetson(root):
        return None
    text = _read(root, "etc/nv_tegra_release") or ""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    l4t = l4t_release(root)
    board = re.search(r"BOARD:\s*([^,\s]+)", text)
    return {
        "model": jetson_model(root),
        "l4t": l4t,
        "jetpack": jetpack_for(l4t),
        "board": board.group(1) if board else None,
        "release_line": first[:200],
        "error": None
        if l4t
        else "unrecognised /etc/nv_tegra_release (expected '# R36 (release), REVISION: 4.0, ...')",
    }


def parse_nvpmodel(text: str) -> dict[str, Any]:
    """Parse `nvpmodel -q`: `"NV Power Mode: MAXN"` then the mode id on its own line.

    Returns:
        Dict with `mode` (name or `None`) and `id` (integer or `None`).
    """
    mode, mode_id = None, None
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        m = re.match(r"NV Power Mode\s*:\s*(.+)$", ln, re.I)
        if m:
            mode = m.group(1).strip()
            for nxt in lines[i + 1 :]:
                if re.fullmatch(r"\d+", nxt):
                    mode_id = int(nxt)
                    break
                if nxt:
                    break
    return {"mode": mode, "id": mode_id}


def parse_clocks(text: str) -> str | None:
    """Clock state from `jetson_clocks --show`: `"on"` (locked at maximum), `"off"`, or `None`.

    `jetson_clocks` pins every online CPU's and the GPU's MinFreq to MaxFreq; so "on"
    means all of those have `MinFreq == MaxFreq`. `None` when no CPU or GPU line parses.
    """
    seen, pinned = 0, True
    for ln in text.splitlines():
        s = ln.strip()
        if not (re.match(r"cpu\d+\s*:", s) or s.startswith("GPU ")):
            continue
        if "Online=0" in s:
            continue
        lo = re.search(r"MinFreq=(\d+)", s)
        hi = re.search(r"MaxFreq=(\d+)", s)
        if not (lo and hi):
            continue
        seen += 1
        pinned = pinned and lo.group(1) == hi.group(1)
    if not seen:
        return None
    return "on" if pinned else "off"


def power_mode(root: Path | str = ROOT) -> dict[str, Any] | None:
    """The Jetson power mode (`nvpmodel -q`) and clocks state (`jetson_clocks --show`).

    Returns:
        `None` off a Jetson; else `{"mode": "MAXN", "id": 0, "clocks": "on"|"off"|None}`
        (`None` values where a tool is missing or fails: `jetson_clocks --show` needs root).
    """
    if not is_jetson(root):
        return None
    out: dict[str, Any] = {"mode": None, "id": None, "clocks": None}
    nvp = which("nvpmodel", root)
    if nvp:
        r = run_tool([nvp, "-q"])
        if r and r[0] == 0:
            out.update(parse_nvpmodel(r[1]))
    jc = which("jetson_clocks", root)
    if jc:
        r = run_tool([jc, "--show"])
        if r and r[0] == 0:
            out["clocks"] = parse_clocks(r[1])
    return out


# ---- NVIDIA dGPU ---------------------------------------------------------------------------
def nvidia_gpu() -> dict[str, Any] | None:
    """The first NVIDIA GPU via `nvidia-smi` (or NVML through `pynvml`), or `None`.

    Returns:
        Dict with `name`, `driver`, `memory` (e.g. `"81559 MiB"`), `count` and `source`.
    """
    smi = shutil.which("nvidia-smi")
    if smi:
        r = run_tool([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
        if r and r[0] == 0 and r[1]:
            rows = [[c.strip() for c in ln.split(",")] for ln in r[1].splitlines() if ln.strip()]
            rows = [x for x in rows if len(x) >= 3]
            if rows:
                name, driver, mem = rows[0][:3]
                return {
                    "name": name,
                    "driver": driver,
                    "memory": mem,
                    "count": len(rows),
                    "source": "nvidia-smi",
                }
    if has_module("pynvml"):
        try:
            import pynvml

            pynvml.nvmlInit()
            try:
                n = pynvml.nvmlDeviceGetCount()
                if n < 1:
                    return None
                h = pynvml.nvmlDeviceGetHandleByIndex(0)
                name = pynvml.nvmlDeviceGetName(h)
                driver = pynvml.nvmlSystemGetDriverVersion()
                mem = pynvml.nvmlDeviceGetMemoryInfo(h).total // (1024 * 1024)
            finally:
                pynvml.nvmlShutdown()
            dec = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
            return {
                "name": dec(name),
                "driver": dec(driver),
                "memory": f"{mem} MiB",
                "count": n,
                "source": "nvml",
            }
        except Exception:
            return None
    return None


# ---- versions ------------------------------------------------------------------------------
def cuda_version(root: Path | str = ROOT) -> dict[str, Any] | None:
    """CUDA toolkit version: `{root}/usr/local/cuda/version.json`, `nvcc --version`, or libcudart.

    Returns:
        `{"version": "12.6.68", "source": ...}` or `None`.
    """
    text = _read(root, "usr/local/cuda/version.json")
    if text:
        try:
            v = json.loads(text).get("cuda", {}).get("version")
            if v:
                return {"version": str(v), "source": "/usr/local/cuda/version.json"}
        except (ValueError, AttributeError):
            pass
    for nvcc in (shutil.which("nvcc"), str(_path(root, "usr/local/cuda/bin/nvcc"))):
        if nvcc and Path(nvcc).is_file():
            r = run_tool([nvcc, "--version"])
            m = re.search(r"release [\d.]+, V([\d.]+)", r[1]) if r and r[0] == 0 else None
            if m:
                return {"version": m.group(1), "source": "nvcc --version"}
    for d in ("usr/local/cuda/lib64", "usr/local/cuda/targets/aarch64-linux/lib"):
        libs = sorted(_path(root, d).glob("libcudart.so.*"), key=lambda p: len(p.name))
        if libs:
            return {"version": libs[-1].name.split(".so.", 1)[1], "source": str(libs[-1])}
    return None


def tensorrt_info(root: Path | str = ROOT, try_import: bool = True) -> dict[str, Any]:
    """TensorRT: the Python bindings (`import tensorrt`, guarded) and the apt packages.

    Returns:
        Dict with `version` (bindings, else libnvinfer package, else `None`), `python`
        (bindings import), `import_error` (first line, or `None`) and `packages`.
    """
    pkgs = dpkg_versions(
        ["libnvinfer10", "libnvinfer8", "python3-libnvinfer", "tensorrt", "libnvinfer-bin"], root
    )
    info: dict[str, Any] = {"version": None, "python": False, "import_error": None}
    if try_import:
        try:
            import tensorrt  # noqa: F401

            info["python"] = True
            info["version"] = getattr(tensorrt, "__version__", None)
        except BaseException as e:  # a broken native library can raise anything
            if isinstance(e, KeyboardInterrupt):
                raise
            msg = str(e).strip().splitlines()
            info["import_error"] = (msg[0] if msg else type(e).__name__)[:200]
    if info["version"] is None:
        for n in ("libnvinfer10", "libnvinfer8", "tensorrt"):
            if n in pkgs:
                info["version"] = pkgs[n].split("-")[0]
                break
    info["packages"] = pkgs
    return info


def cudnn_version(root: Path | str = ROOT) -> dict[str, Any] | None:
    """cuDNN version from its header (`cudnn_version*.h`) or its apt package, or `None`."""
    for d in ("usr/include", "usr/include/aarch64-linux-gnu", "usr/include/x86_64-linux-gnu",
              "usr/local/cuda/include"):  # fmt: skip
        for h in sorted(_path(root, d).glob("cudnn_version*.h")):
            try:
                text = h.read_text(errors="replace")
            except OSError:
                continue
            parts = [re.search(rf"#define CUDNN_{k}\s+(\d+)", text) for k in ("MAJOR", "MINOR")]
            patch = re.search(r"#define CUDNN_PATCHLEVEL\s+(\d+)", text)
            if all(parts):
                v = ".".join(p.group(1) for p in parts) + (f".{patch.group(1)}" if patch else "")
                return {"version": v, "source": "/" + str(h.relative_to(Path(root)))}
    pkgs = dpkg_versions(["libcudnn9-cuda-12", "libcudnn9", "libcudnn8"], root)
    for n, v in pkgs.items():
        return {"version": v.split("-")[0], "source": f"dpkg {n}"}
    return None


def deepstream_version(root: Path | str = ROOT) -> dict[str, Any] | None:
    """DeepStream version from `/opt/nvidia/deepstream/deepstream/version`, or `None`."""
    text = _read(root, "opt/nvidia/deepstream/deepstream/version")
    if text is None:
        return None
    m = re.search(r"(\d+(?:\.\d+)+)", text)
    return {
        "version": m.group(1) if m else None,
        "source": "/opt/nvidia/deepstream/deepstream/version",
    }


def python_info() -> dict[str, Any]:
    """The running Python: version and executable."""
    return {"version": _stdlib_platform.python_version(), "executable": sys.executable}


def numpy_version() -> str | None:
    """numpy's version (metadata only), or `None`."""
    return dist_version("numpy")


def gstreamer_info() -> dict[str, Any]:
    """GStreamer through PyGObject (`Gst.version_string()`).

    Returns:
        Dict with `version` (`"1.22.0"` or `None`), `version_string` and `error`.
    """
    try:
        from ._lazy import gst

        Gst, _ = gst()
        s = Gst.version_string()
    except Exception as e:
        msg = str(e).strip().splitlines()
        return {"version": None, "version_string": None, "error": (msg or [repr(e)])[0][:300]}
    m = re.search(r"(\d+\.\d+(?:\.\d+)*)", s)
    return {"version": m.group(1) if m else s, "version_string": s, "error": None}


def gst_elements(names) -> dict[str, bool]:
    """Which GStreamer element factories exist among `names` (all `False` without GStreamer)."""
    names = list(names)
    try:
        from ._lazy import gst

        Gst, _ = gst()
    except Exception:
        return dict.fromkeys(names, False)
    return {n: Gst.ElementFactory.find(n) is not None for n in names}


def onnxruntime_info() -> dict[str, Any]:
    """onnxruntime: version, available execution providers, or the import error."""
    try:
        import onnxruntime as ort

        return {
            "version": getattr(ort, "__version__", None),
            "providers": list(ort.get_available_providers()),
            "error": None,
        }
    except Exception as e:
        msg = str(e).strip().splitlines()
        return {"version": None, "providers": [], "error": (msg or [repr(e)])[0][:200]}


# ---- one line for reports ------------------------------------------------------------------
def summary(root: Path | str = ROOT, power: bool = True) -> dict[str, Any]:
    """What a benchmark records about the platform.

    Returns:
        Jetson: `{"kind": "jetson", "name": model, "l4t", "jetpack", "power": {...}}`;
        dGPU: `{"kind": "dgpu", "name", "driver", "memory"}`; else `{"kind": "cpu", "name": "cpu"}`.
    """
    j = jetson_info(root)
    if j is not None:
        return {
            "kind": "jetson",
            "name": j["model"] or "Jetson (unknown model)",
            "l4t": j["l4t"],
            "jetpack": j["jetpack"],
            "power": power_mode(root) if power else None,
        }
    g = nvidia_gpu()
    if g is not None:
        return {"kind": "dgpu", "name": g["name"], "driver": g["driver"], "memory": g["memory"]}
    return {"kind": "cpu", "name": "cpu"}


__all__ = [
    "L4T_TO_JETPACK",
    "cuda_version",
    "cudnn_version",
    "deepstream_version",
    "dist_version",
    "dpkg_versions",
    "gst_elements",
    "gstreamer_info",
    "has_module",
    "is_jetson",
    "jetpack_for",
    "jetson_info",
    "jetson_model",
    "l4t_release",
    "numpy_version",
    "nvidia_gpu",
    "onnxruntime_info",
    "parse_clocks",
    "parse_nvpmodel",
    "power_mode",
    "python_info",
    "run_tool",
    "summary",
    "tensorrt_info",
    "which",
]
