"""`edgeaction doctor`: what this machine can run, and the command that fixes each gap.

Reports the platform (Jetson model with L4T/JetPack, NVIDIA dGPU, or CPU only), the
CUDA/TensorRT/cuDNN/DeepStream versions present, Python and GStreamer, the GStreamer
elements edgeaction uses, which inference backends are ready, and which optional extras
are installed. Informational: exits 0 whatever it finds. Never imports TensorFlow
(extras are checked with `importlib.util.find_spec` and package metadata).

```bash
edgeaction doctor            # aligned table, then "ready: ...; not ready: ..."
edgeaction doctor --json     # one JSON object
```
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .. import __version__, options
from .. import machine as ep

# element -> (what provides it, install on a Jetson, install elsewhere)
_BASE = "sudo apt install gstreamer1.0-plugins-base"
_GOOD = "sudo apt install gstreamer1.0-plugins-good"
_L4T = "sudo apt install nvidia-l4t-gstreamer"
_JETSON_ONLY = "Jetson only (there: sudo apt install nvidia-l4t-gstreamer)"
_DS_JETSON = "sudo apt install deepstream-7.1 (then rm -rf ~/.cache/gstreamer-1.0)"
_DS_DGPU = (
    "install DeepStream 7.1 for dGPU from NVIDIA (deb package, or the "
    "nvcr.io/nvidia/deepstream container)"
)
ELEMENTS: dict[str, tuple[str, str, str]] = {
    "nvv4l2decoder": ("Jetson HW decoder", _L4T, _JETSON_ONLY + "; DeepStream dGPU ships one"),
    "nvvidconv": ("Jetson HW convert/scale", _L4T, _JETSON_ONLY),
    "nvarguscamerasrc": ("Jetson CSI camera", _L4T, _JETSON_ONLY),
    "nvv4l2h264enc": ("Jetson HW encoder", _L4T, _JETSON_ONLY + "; DeepStream dGPU ships one"),
    "nvstreammux": ("DeepStream batching", _DS_JETSON, _DS_DGPU),
    "nvinfer": ("DeepStream TensorRT inference", _DS_JETSON, _DS_DGPU),
    "nvdspreprocess": ("DeepStream preprocessing", _DS_JETSON, _DS_DGPU),
    "x264enc": ("CPU H.264 encoder", "sudo apt install gstreamer1.0-plugins-ugly", ""),
    "avdec_h264": ("CPU H.264 decoder", "sudo apt install gstreamer1.0-libav", ""),
    "h264parse": ("H.264 parser", "sudo apt install gstreamer1.0-plugins-bad", ""),
    "decodebin": ("auto decoder", _BASE, ""),
    "rtspsrc": ("RTSP cameras", _GOOD, ""),
    "v4l2src": ("USB/V4L2 cameras", _GOOD, ""),
    "videotestsrc": ("test:// sources", _BASE, ""),
    "appsink": ("frames into Python", _BASE, ""),
    "appsrc": ("frames out of Python", _BASE, ""),
    "mp4mux": ("--out-video MP4", _GOOD, ""),
}
# Needed by the CPU video path (decode a file, scale, hand frames to Python).
CPU_VIDEO = ("decodebin", "appsink")
DEEPSTREAM = ("nvstreammux", "nvinfer")

# extra -> [(module to find, distributions to ask for a version)]
EXTRAS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "runtime": [
        ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
        ("cv2", ("opencv-python-headless", "opencv-python", "opencv-contrib-python")),
        ("onnx", ("onnx",)),  # the float16 graph TensorRT 10.12+/11 builds FP16 from
    ],
    "train": [
        ("tensorflow", ("tensorflow", "tensorflow-cpu")),
        ("tf2onnx", ("tf2onnx",)),
    ],
    "pose": [("mediapipe", ("mediapipe",))],
    "cuda": [("cuda", ("cuda-python", "cuda-bindings"))],
}
_SHOWN = {"cv2": "opencv", "cuda": "cuda-python"}
_EXTRA_HINT = {
    "runtime": "pip install 'edgeaction[runtime]'",
    "train": "pip install 'edgeaction[train]'",
    "pose": "pip install 'edgeaction[pose]' && pip install --no-deps mediapipe==0.10.21",
    "cuda": "pip install 'edgeaction[cuda]' (cuda-python 12.x), or pycuda built against "
    "the CUDA toolkit",
}


# ---- probing -------------------------------------------------------------------------------
def _platform(root: Path) -> dict[str, Any]:
    j = ep.jetson_info(root)
    if j is not None:
        l4t = j["l4t"] or "unknown"
        jp = j["jetpack"] or "unknown"
        text = f"{j['model'] or 'Jetson (model unknown)'}, L4T {l4t}, JetPack {jp}"
        return {
            "kind": "jetson",
            "summary": text,
            "jetson": j,
            "gpu": None,
            "power": ep.power_mode(root),
        }
    g = ep.nvidia_gpu()
    if g is not None:
        text = f"{g['name']} (driver {g['driver']}, {g['memory']})"
        return {"kind": "dgpu", "summary": text, "jetson": None, "gpu": g, "power": None}
    return {
        "kind": "cpu",
        "summary": "CPU only (no Jetson, no NVIDIA GPU)",
        "jetson": None,
        "gpu": None,
        "power": None,
    }


def _trt_hint(kind: str) -> str:
    if kind == "jetson":
        return (
            "sudo apt install nvidia-jetpack (or python3-libnvinfer); a venv needs "
            "--system-site-packages; never pip-install TensorRT on a Jetson"
        )
    if kind == "dgpu":
        return "pip install tensorrt-cu12 (match the driver's CUDA major)"
    return "needs an NVIDIA GPU (Jetson or dGPU); use --backend onnxruntime here"


def _backends(kind: str, root: Path, ort: dict, trt: dict) -> dict[str, Any]:
    if ort["error"] is None:
        on_cpu = "CPUExecutionProvider" in ort["providers"]
        gpu = [
            p
            for p in ort["providers"]
            if p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
        ]
        ort_b = {
            "ready": on_cpu or bool(gpu),
            "label": "onnxruntime (" + ", ".join(["CPU"] * on_cpu + [p[:-17] for p in gpu]) + ")",
            "version": ort["version"],
            "providers": ort["providers"],
            "reason": None if on_cpu or gpu else "no CPU execution provider",
            "install": None,
        }
    else:
        ort_b = {
            "ready": False,
            "label": "onnxruntime",
            "version": None,
            "providers": [],
            "reason": f"import onnxruntime failed: {ort['error']}",
            "install": _EXTRA_HINT["runtime"],
        }
    if not trt["python"]:
        reason = f"import tensorrt failed: {trt['import_error']}"
    elif kind == "cpu":
        reason = "no NVIDIA GPU (TensorRT imports but cannot build or run engines here)"
    else:
        reason = None
    trt_b = {
        "ready": reason is None,
        "label": "tensorrt" + (f" {trt['version']}" if trt["version"] else ""),
        "version": trt["version"],
        "reason": reason,
        "install": None if reason is None else _trt_hint(kind),
    }
    return {"onnxruntime": ort_b, "tensorrt": trt_b}


def _extras() -> dict[str, Any]:
    out = {}
    for extra, mods in EXTRAS.items():
        pkgs = {}
        for mod, dists in mods:
            pkgs[_SHOWN.get(mod, mod)] = (
                (ep.dist_version(*dists) or "installed") if ep.has_module(mod) else None
            )
        if extra == "cuda" and pkgs["cuda-python"] is None and ep.has_module("pycuda"):
            # the other binding the TensorRT runner takes (engine/cuda_mem.py)
            pkgs = {"pycuda": ep.dist_version("pycuda") or "installed"}
        missing = [m for m, v in pkgs.items() if v is None]
        out[extra] = {
            "installed": not missing,
            "packages": pkgs,
            "missing": missing,
            "install": _EXTRA_HINT[extra] if missing else None,
        }
    return out


def diagnose(root: Path | str = Path("/")) -> dict[str, Any]:
    """Probe the machine (files under `root`) and return everything `doctor` reports.

    Args:
        root: Path. File-system root to probe (a fake Jetson root in tests). Defaults to `/`.

    Returns:
        Dict with `platform`, `versions`, `gstreamer`, `backends`, `extras`, `ready`,
        `not_ready` (name → reason) and `summary` (the final line).
    """
    root = Path(root)
    plat = _platform(root)
    kind = plat["kind"]
    cuda, cudnn, ds = ep.cuda_version(root), ep.cudnn_version(root), ep.deepstream_version(root)
    trt = ep.tensorrt_info(root)
    ort = ep.onnxruntime_info()
    gst = ep.gstreamer_info()
    present = ep.gst_elements(ELEMENTS) if gst["error"] is None else dict.fromkeys(ELEMENTS, False)
    elements = _elements(kind, gst, present)
    backends = _backends(kind, root, ort, trt)
    ready, not_ready, line = _readiness(backends, gst, present, ds)

    def ver(d):
        return d.get("version") if d else None

    return {
        "edgeaction": __version__,
        "root": str(root),
        "platform": plat,
        "versions": {
            "python": ep.python_info()["version"],
            "numpy": ep.numpy_version(),
            "cuda": ver(cuda),
            "tensorrt": trt["version"],
            "cudnn": ver(cudnn),
            "deepstream": ver(ds),
            "gstreamer": gst["version"],
            "onnxruntime": ort["version"],
        },
        "details": {
            "python": ep.python_info(),
            "cuda": cuda,
            "tensorrt": trt,
            "cudnn": cudnn,
            "deepstream": ds,
        },
        "gstreamer": {**gst, "elements": elements},
        "backends": backends,
        "extras": _extras(),
        "ready": ready,
        "not_ready": not_ready,
        "summary": line,
    }


def _elements(kind: str, gst: dict, present: dict[str, bool]) -> dict[str, dict]:
    """Each GStreamer element doctor checks: present, what it is for, how to install it."""
    elements = {}
    for name, (what, on_jetson, elsewhere) in ELEMENTS.items():
        hint = None
        if not present[name]:
            hint = on_jetson if kind == "jetson" or not elsewhere else elsewhere
            if gst["error"] is not None:
                hint = "install GStreamer and PyGObject first (see the gstreamer line)"
        elements[name] = {"present": present[name], "for": what, "install": hint}
    return elements


def _readiness(
    backends: dict, gst: dict, present: dict[str, bool], ds: dict | None
) -> tuple[list[str], dict[str, str], str]:
    """`(ready, not_ready, summary line)` over the backends, GStreamer and DeepStream."""
    ready, not_ready = [], {}
    for b in backends.values():
        if b["ready"]:
            ready.append(b["label"])
        else:
            not_ready[b["label"]] = b["reason"]
    if gst["error"] is not None:
        not_ready["gstreamer"] = gst["error"]
    elif all(present[e] for e in CPU_VIDEO):
        ready.append("gstreamer video (CPU decode)")
    else:
        not_ready["gstreamer video"] = "missing " + ", ".join(
            e for e in CPU_VIDEO if not present[e]
        )
    missing_ds = [e for e in DEEPSTREAM if not present[e]]
    if missing_ds:
        not_ready["deepstream"] = "missing " + ", ".join(missing_ds)
    else:
        ready.append("deepstream" + (f" {ds['version']}" if ds and ds.get("version") else ""))
    line = "ready: " + (", ".join(ready) or "nothing")
    if not_ready:
        line += "; not ready: " + ", ".join(f"{k} ({v})" for k, v in not_ready.items())

    return ready, not_ready, line


# ---- printing ------------------------------------------------------------------------------
def _row(mark: str, name: str, detail: str, width: int = 16) -> str:
    return f"  {mark:<8} {name:<{width}} {detail}".rstrip()


def _hint(cmd: str | None, width: int = 16) -> list[str]:
    return [f"  {'':<8} {'':<{width}} fix: {cmd}"] if cmd else []


def format_report(r: dict[str, Any]) -> str:
    """The human report of `diagnose()`: aligned ok/missing rows, fix commands, summary line."""
    p = r["platform"]
    v = r["versions"]
    d = r["details"]
    kind = p["kind"]
    out = [f"edgeaction {r['edgeaction']} doctor", "", "platform"]
    out.append(_row("ok", kind, p["summary"]))
    if p["jetson"] and p["jetson"]["error"]:
        out.append(_row("unknown", "L4T", p["jetson"]["error"]))
        out += _hint("cat /etc/nv_tegra_release; apt show nvidia-jetpack")
    if p["power"]:
        pw = p["power"]
        mode = pw["mode"] or "unknown (nvpmodel missing or failed)"
        ident = f" (id {pw['id']})" if pw["id"] is not None else ""
        clocks = pw["clocks"] or "unknown (jetson_clocks --show needs root, or is missing)"
        mark = "ok" if pw["mode"] and pw["clocks"] else "unknown"
        out.append(_row(mark, "power", f"{mode}{ident}, clocks {clocks}"))

    out += ["", "software"]
    py = d["python"]
    out.append(_row("ok", "python", f"{v['python']} ({py['executable']})"))
    out.append(_row("ok" if v["numpy"] else "missing", "numpy", v["numpy"] or "-"))
    for key, label in (("cuda", "CUDA"), ("cudnn", "cuDNN"), ("deepstream", "DeepStream")):
        info = d[key]
        if info and info.get("version"):
            out.append(_row("ok", label, f"{info['version']} ({info['source']})"))
        else:
            need = "not needed on CPU" if kind == "cpu" else "missing"
            out.append(_row("-" if kind == "cpu" else "missing", label, need))
            if kind == "jetson":
                pkg = {
                    "cuda": "nvidia-jetpack",
                    "cudnn": "nvidia-jetpack",
                    "deepstream": "deepstream-7.1",
                }
                out += _hint(f"sudo apt install {pkg[key]}")
    trt = d["tensorrt"]
    if trt["version"]:
        where = "python bindings" if trt["python"] else "libraries only, no python bindings"
        out.append(
            _row("ok" if trt["python"] else "partial", "TensorRT", f"{trt['version']} ({where})")
        )
    else:
        out.append(_row("missing", "TensorRT", f"import tensorrt failed: {trt['import_error']}"))
    g = r["gstreamer"]
    out.append(
        _row("ok" if g["version"] else "missing", "GStreamer", g["version"] or g["error"] or "-")
    )
    if g["error"]:
        out += _hint(
            "sudo apt install python3-gi python3-gst-1.0 gstreamer1.0-plugins-base (see scripts/setup.sh)"
        )

    out += ["", "GStreamer elements"]
    for name, e in g["elements"].items():
        out.append(_row("ok" if e["present"] else "missing", name, e["for"]))
        if not e["present"]:
            out += _hint(e["install"])

    out += ["", "backends"]
    for name, b in r["backends"].items():
        if b["ready"]:
            extra = ", ".join(b.get("providers") or []) or (b["version"] or "")
            out.append(_row("ok", name, extra))
        else:
            out.append(_row("missing", name, b["reason"]))
            out += _hint(b["install"])

    out += ["", "extras (pip install 'edgeaction[EXTRA]')"]
    for name, x in r["extras"].items():
        pk = ", ".join(f"{m} {ver or 'missing'}" for m, ver in x["packages"].items())
        out.append(_row("ok" if x["installed"] else "missing", name, pk))
        out += _hint(x["install"])
    out += ["", r["summary"]]
    return "\n".join(out)


# ---- command -------------------------------------------------------------------------------
def cmd_doctor(a) -> int:
    """`edgeaction doctor`: print the report (or JSON); always exit 0."""
    r = diagnose(a.root)
    if a.json:
        print(json.dumps(r, indent=2, default=str))
    else:
        print(format_report(r))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `edgeaction doctor` on the top-level sub-parsers."""
    d = sub.add_parser(
        "doctor",
        help="check this machine: Jetson/GPU, CUDA, TensorRT, GStreamer elements, backends",
        description="Report what this machine can run: platform (Jetson model + L4T/JetPack, "
        "NVIDIA dGPU, or CPU only), CUDA/TensorRT/cuDNN/DeepStream versions, Python and "
        "GStreamer, the GStreamer elements edgeaction uses, the ready backends and the "
        "installed extras, with the command that installs each missing piece. "
        "Informational: exits 0.",
    )
    d.add_argument("--json", action="store_true", help="print one JSON object instead")
    d.add_argument("--root", type=options.pathlib_path, default=Path("/"), help=argparse.SUPPRESS)
    d.set_defaults(fn=cmd_doctor)
