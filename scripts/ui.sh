#!/usr/bin/env bash
# The Lexware Office page on the demo (after ./scripts/demo.sh): sandbox + Airflow api-server, scheduler and
# dag-processor until Ctrl-C; prints the address and the login.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python scripts/run_ui.py "$@"
