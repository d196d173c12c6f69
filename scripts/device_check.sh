#!/usr/bin/env bash
# What only a GPU proves, in one short run, for a session that is lent a GPU machine
# (never CI). From the repository root on that machine:
#
#   bash scripts/device_check.sh          # logs under $OUT (or /tmp/device-check)
#
# 1. cuda_mem on the real GPU (`-m cuda`): pinned/device buffers, one stream, H2D/D2H
#    round trip, partial copies, CUDA-event timings, device name and compute capability.
# 2. Where `import tensorrt` works (not on a machine without TensorRT): the `gpu`-marked
#    tests (build-engine, TrtRunner, the conformance suite, split-part engines, cache).
#
# Needs python3 with numpy, pytest and a CUDA binding (cuda-bindings / cuda-python, or
# pycuda); nothing is installed. Exit status: that of the CUDA tests.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/device-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"

{
    nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
    "$PY" - <<'EOF'
import platform
from importlib import metadata
print("python", platform.python_version())
for d in ("numpy", "pytest", "cuda-bindings", "cuda-python", "pycuda", "tensorrt", "onnxruntime"):
    try:
        print(d, metadata.version(d))
    except metadata.PackageNotFoundError:
        print(d, "-")
EOF
} 2>&1 | tee "$OUT/versions.txt"

"$PY" -m pytest -p no:cacheprovider -m cuda tests/engine/test_cuda_mem.py -q -s -rs 2>&1 \
    | tee "$OUT/cuda_mem.log"
rc=${PIPESTATUS[0]}

if "$PY" -c "import tensorrt" 2>/dev/null; then
    "$PY" -m pytest -p no:cacheprovider -m gpu tests/engine -q -s -rs 2>&1 | tee "$OUT/tensorrt.log"
    rc=$((rc || PIPESTATUS[0]))
else
    echo "no TensorRT here: the gpu-marked tests need it (build-engine, TrtRunner)" \
        | tee "$OUT/tensorrt.log"
fi
exit "$rc"
