#!/usr/bin/env bash
# The whole benchmark (issue #7) in one command: installs what is needed, then prints one table.
# Extra arguments go to the runner, e.g.  bench/run.sh --scale tiny   or   bench/run.sh --json results.json
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/ensure-postgres.sh
exec .venv/bin/python -m bench "$@"
