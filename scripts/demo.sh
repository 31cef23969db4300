#!/usr/bin/env bash
# One command after a clone: installs everything, then runs the main job on the embedded default
# (SQLite source and state databases + the local Lexware Office sandbox) and prints the report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python scripts/run_demo.py "$@"
