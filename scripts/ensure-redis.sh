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
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "==> installing Redis from the OS packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Waits for another apt-get (e.g. ensure-postgres.sh in a parallel checkout) instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # --no-install-recommends: no system service is wanted, the tests start their own server.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redis-server >/dev/null
  have_redis && exit 0
fi
cat >&2 <<'MSG'
The Redis server binary (redis-server) is missing and could not be installed automatically.
Install Redis and run again:
  Debian/Ubuntu:  sudo apt-get install redis-server
  macOS:          brew install redis
or set LEXOFFICE_REDIS_SERVER=/path/to/redis-server.
MSG
exit 1
