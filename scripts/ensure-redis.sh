#!/usr/bin/env bash
# The cluster tests (tests/cluster: CeleryExecutor with several workers) start their own throwaway Redis as the
# Celery broker; this makes sure the redis-server binary exists.
set -euo pipefail
have_redis() {
  [ -n "${LEXOFFICE_REDIS_SERVER:-}" ] && [ -x "${LEXOFFICE_REDIS_SERVER}" ] && return 0
  command -v redis-server >/dev/null 2>&1
}
if have_redis; then
  echo "==> Redis server binary found"
  exit 0
fi
# shellcheck source=lib/os-packages.sh
. "$(dirname "$0")/lib/os-packages.sh"
install_os_packages "Redis" redis-server && have_redis && exit 0
cat >&2 <<'MSG'
The Redis server binary (redis-server) is missing and could not be installed automatically.
Install Redis and run again:
  Debian/Ubuntu:  sudo apt-get install redis-server
  macOS:          brew install redis
or set LEXOFFICE_REDIS_SERVER=/path/to/redis-server.
MSG
exit 1
