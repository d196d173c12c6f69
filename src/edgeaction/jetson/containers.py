"""The Dockerfiles `edgeaction jetson service` writes: `Dockerfile.jetson` and `Dockerfile.x86`.

Both are hadolint-clean (`tests/jetson/test_containers.py` runs the real hadolint): RUN
lines with a pipe run under `bash -o pipefail`, the image runs as uid 10001 in `video`
and `render` (GPU nodes and cameras) rather than root, and apt versions are left to the
base image's tag (Ubuntu drops superseded versions from its archive, so an exact pin
would break every build at the next security update).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import PurePosixPath
from typing import Any

#: `c` below is a `service.ServiceConfig` (not imported: the service imports this module).
ServiceConfig = Any

#: Image of JetPack 6 (L4T r36, Ubuntu 22.04, Python 3.10) with TensorRT 10.3 / CUDA 12.6.
JETSON_BASE = "nvcr.io/nvidia/l4t-tensorrt:r10.3.0-runtime"
#: Same image plus DeepStream 7.1 and NVIDIA's GStreamer elements (nvv4l2decoder, ...).
JETSON_DEEPSTREAM_BASE = "nvcr.io/nvidia/deepstream:7.1-samples-multiarch"
#: x86 dGPU: release 24.08 carries TensorRT 10.3 (the Jetson's version), Ubuntu 22.04.
X86_BASE = "nvcr.io/nvidia/tensorrt:24.08-py3"
#: L4T release of the Jetson apt repository (python3-libnvinfer) for JetPack 6.1/6.2.
L4T_RELEASE = "r36.4"

APT_GSTREAMER = (
    "python3-venv python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 "
    "gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav"
)

#: The environment variable holding the `--source` words (unit and images alike).
ENV_VAR = "EDGEACTION_SOURCES"


def _docker_model(c: ServiceConfig) -> tuple[list[str], str]:
    """COPY lines and the in-image model path."""
    p = PurePosixPath(c.target_model)
    rel = p.name
    if p.suffix.lower() in (".engine", ".plan"):
        copies = [
            f"COPY ${{MODEL_DIR}}/{rel} /opt/edgeaction/model/{rel}",
            f"COPY ${{MODEL_DIR}}/{rel}.json /opt/edgeaction/model/{rel}.json",
        ]
        return copies, f"/opt/edgeaction/model/{rel}"
    if p.suffix.lower() == ".onnx":
        return [f"COPY ${{MODEL_DIR}}/{rel} /opt/edgeaction/model/{rel}"], (
            f"/opt/edgeaction/model/{rel}"
        )
    return ["COPY ${MODEL_DIR}/ /opt/edgeaction/model/"], "/opt/edgeaction/model"


def _model_dir_arg(c: ServiceConfig) -> str:
    p = PurePosixPath(c.target_model)
    d = p if not p.suffix else p.parent
    try:
        rel = PurePosixPath(os.path.relpath(str(d)))
    except ValueError:
        rel = PurePosixPath(d.name)
    return str(rel) if not str(rel).startswith("..") else "models"


#: Ubuntu's archive drops superseded package versions, so an exact `pkg=version` pin
#: would make every image unbuildable at the next security update; the base image's
#: tag pins the release instead.
_APT_PIN_NOTE = (
    "# apt versions are not pinned: the base image's tag pins the Ubuntu release\n"
    "# hadolint ignore=DL3008"
)


# long because two Dockerfile templates (jetson, x86) written out as f-strings, read as one file
def render_dockerfile(c: ServiceConfig, target: str) -> str:
    """`Dockerfile.jetson` (`target="jetson"`) or `Dockerfile.x86`."""
    copies, model = _docker_model(c)
    extra = "".join(f" {shlex.quote(a)}" for a in c.run_args)
    shell = (
        'set -f; exec /opt/edgeaction/venv/bin/edgeaction run "$EDGEACTION_MODEL" '
        f'${ENV_VAR} --quiet{extra} "$@"'
    )
    entrypoint = json.dumps(["/bin/sh", "-c", shell, "edgeaction"])
    if target == "jetson":
        head = f"""\
# Dockerfile.jetson - edgeaction on a Jetson (JetPack 6.x: L4T r36, CUDA 12.6, TensorRT 10.3).
# Base: NVIDIA's L4T TensorRT image for JetPack 6 ({JETSON_BASE}, NGC
# nvcr.io/nvidia/l4t-tensorrt; Ubuntu 22.04, Python 3.10). For NVIDIA's hardware decode
# elements (nvv4l2decoder, nvvidconv; `run --platform jetson`) build on DeepStream 7.1:
#   --build-arg BASE={JETSON_DEEPSTREAM_BASE}
# Build on the Jetson, from the edgeaction source tree (the model under MODEL_DIR):
#   docker build -f deploy/Dockerfile.jetson -t {c.name}:jetson --build-arg MODEL_DIR=models/a .
# Run (NVIDIA container runtime; sources from the 0600 env file, never baked in):
#   docker run -d --name {c.name} --runtime nvidia --network host --restart on-failure \\
#     --stop-timeout 30 --env-file deploy/{c.name}.env --device /dev/video0 {c.name}:jetson
# (file sources: mount them at the same path with -v /data:/data:ro)
ARG BASE={JETSON_BASE}
FROM ${{BASE}}
ARG L4T_RELEASE={L4T_RELEASE}
ENV DEBIAN_FRONTEND=noninteractive
# A failed key download in a pipe must fail the build (hadolint DL4006).
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
{_APT_PIN_NOTE}
RUN apt-get update && apt-get install -y --no-install-recommends \\
        {APT_GSTREAMER} \\
        ca-certificates curl gnupg \\
    && rm -rf /var/lib/apt/lists/*
# TensorRT's Python bindings come from NVIDIA's Jetson apt repository (JetPack), never pip.
{_APT_PIN_NOTE}
RUN python3 -c "import tensorrt" 2>/dev/null || ( \\
        curl -fsSL https://repo.download.nvidia.com/jetson/jetson-ota-public.asc \\
            | gpg --dearmor -o /usr/share/keyrings/nvidia-jetson.gpg \\
        && echo "deb [signed-by=/usr/share/keyrings/nvidia-jetson.gpg] https://repo.download.nvidia.com/jetson/common ${{L4T_RELEASE}} main" \\
            > /etc/apt/sources.list.d/nvidia-jetson.list \\
        && apt-get update && apt-get install -y --no-install-recommends python3-libnvinfer \\
        && rm -rf /var/lib/apt/lists/* ) \\
    && python3 -c "import tensorrt; print('TensorRT', tensorrt.__version__)"
"""
    else:
        head = f"""\
# Dockerfile.x86 - edgeaction on an x86 machine with an NVIDIA GPU.
# Base: NVIDIA's TensorRT image {X86_BASE} (NGC nvcr.io/nvidia/tensorrt; release 24.08:
# TensorRT 10.3, the Jetson's version, Ubuntu 22.04, Python 3.10; TensorRT's Python
# bindings are in the image's system Python).
# Build from the edgeaction source tree (the model under MODEL_DIR):
#   docker build -f deploy/Dockerfile.x86 -t {c.name}:x86 --build-arg MODEL_DIR=models/a .
# Run (NVIDIA Container Toolkit; sources from the 0600 env file, never baked in):
#   docker run -d --name {c.name} --gpus all --network host --restart on-failure \\
#     --stop-timeout 30 --env-file deploy/{c.name}.env {c.name}:x86
ARG BASE={X86_BASE}
FROM ${{BASE}}
ENV DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
{_APT_PIN_NOTE}
RUN apt-get update && apt-get install -y --no-install-recommends \\
        {APT_GSTREAMER} \\
    && rm -rf /var/lib/apt/lists/* \\
    && python3 -c "import tensorrt; print('TensorRT', tensorrt.__version__)"
"""
    copy_lines = "\n".join(copies)
    return f"""{head}
# A venv that sees the system's TensorRT and PyGObject (gi): --system-site-packages.
RUN python3 -m venv --system-site-packages /opt/edgeaction/venv
WORKDIR /opt/edgeaction/src
COPY pyproject.toml README.md ./
COPY src ./src
# The runtime and cuda extras only: onnxruntime, onnx, OpenCV, cuda-python 12.x; no TensorFlow.
RUN /opt/edgeaction/venv/bin/pip install --no-cache-dir '.[runtime,cuda,metrics]' \\
    && /opt/edgeaction/venv/bin/python -c "import tensorrt, gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None)"

# The model (an engine must be built on the machine that runs it: build-engine, or
# `run --backend tensorrt` which caches one).
ARG MODEL_DIR={_model_dir_arg(c)}
{copy_lines}
ENV PYTHONUNBUFFERED=1 GST_DEBUG=1 EDGEACTION_MODEL={model}
# Not root: a system user in `video` (Jetson GPU nodes /dev/nvhost-*, /dev/nvmap and the
# cameras /dev/video* belong to it; the NVIDIA runtime and --device pass them in) and
# `render` (dGPU render nodes). Its home keeps the engine cache.
RUN groupadd --system --force render \\
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/edgeaction \\
        --shell /usr/sbin/nologin --groups video,render edgeaction
USER 10001
WORKDIR /var/lib/edgeaction
# Events go to stdout (docker logs). $EDGEACTION_SOURCES (from --env-file) is split at
# whitespace like systemd does; arguments after the image name are appended.
ENTRYPOINT {entrypoint}
"""
