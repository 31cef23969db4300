#!/usr/bin/env bash
# One command after a clone: installs everything the tests need, then runs the whole suite.
# Extra arguments go to pytest, e.g.  ./scripts/test.sh tests/state -x
# The scale runs (marker "scale": 1,100 tenants through Airflow, 10-30 min) are left out of the default run so
# the suite stays well under CI's 30 minutes; run them with  ./scripts/test.sh -m scale
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/ensure-postgres.sh
./scripts/ensure-redis.sh
./scripts/ensure-chromium.sh
echo "==> running the test suite"
exec .venv/bin/python -m pytest --durations=20 -m "not scale" "$@"
