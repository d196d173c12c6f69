#!/usr/bin/env bash
# One command for a new user: set everything up, then run the whole chain on the CPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/edgeaction" demo "$@"
