#!/usr/bin/env bash
# Starts the local Lexware Office API (sandbox/) for docker-compose: on all interfaces of the container, so
# the workers reach it as http://sandbox:8765, keeping its data in SANDBOX_STATE_URL (a volume) across
# restarts. Health: GET /_admin/health.
set -euo pipefail
cd /opt/airflow
exec python -m sandbox --host 0.0.0.0 --port "${SANDBOX_PORT:-8765}" \
    --state "${SANDBOX_STATE_URL:-sqlite:////opt/airflow/sandbox-data/sandbox.db}"
