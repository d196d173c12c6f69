#!/usr/bin/env bash
# One command for a developer (and CI): set everything up with the test tools, lint, test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --test
cd "$ROOT"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/lint-imports  # the import contracts in pyproject.toml
exec .venv/bin/python -m pytest "$@"
