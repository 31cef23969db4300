#!/usr/bin/env bash
# The integration tests start their own throwaway PostgreSQL 15 server; this makes sure its binaries exist.
set -euo pipefail
have_pg() {
  [ -n "${LEXOFFICE_PG_BINDIR:-}" ] && [ -x "${LEXOFFICE_PG_BINDIR}/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return 0
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
if have_pg; then
  echo "==> PostgreSQL server binaries found"
  exit 0
fi
# shellcheck source=lib/os-packages.sh
. "$(dirname "$0")/lib/os-packages.sh"
install_os_packages "PostgreSQL 15" postgresql-15 && have_pg && exit 0
cat >&2 <<'MSG'
PostgreSQL server binaries (initdb, pg_ctl) are missing and could not be installed automatically.
Install PostgreSQL 15 and run again:
  Debian/Ubuntu:  sudo apt-get install postgresql-15
  macOS:          brew install postgresql@15 && export LEXOFFICE_PG_BINDIR="$(brew --prefix postgresql@15)/bin"
MSG
exit 1
