#!/usr/bin/env bash
# What only a GPU proves, for a session lent a GPU machine (never CI): a thin call of
# `edgeaction selftest` (the TensorRT path's acceptance suite; see `edgeaction selftest
# --help`). From the repository root on that machine:
#
#   bash scripts/device_check.sh          # report under $OUT (or /tmp/device-check)
#
# Needs python3 with numpy, onnx, onnxruntime and a CUDA binding (cuda-bindings /
# cuda-python, or pycuda); TensorRT where installed (without it the tensorrt check and
# those after it fail, the CUDA ones still run). Exit status: selftest's.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/device-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"${PYTHON:-python3}" -m edgeaction.cli selftest --work "$OUT/work" --json "$OUT/selftest.json" \
    2>&1 | tee "$OUT/selftest.log"
exit "${PIPESTATUS[0]}"
