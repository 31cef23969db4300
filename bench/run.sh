#!/usr/bin/env bash
# The whole benchmark in one command: installs what is needed, starts a PostgreSQL server with PostgreSQL's
# own defaults (fsync on, as a production state database runs), then prints one table.
# Extra arguments go to the runner, e.g.  bench/run.sh --scale tiny   or   bench/run.sh --only staging
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/ensure-postgres.sh
bindir="${LEXOFFICE_PG_BINDIR:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")}"
base="$(mktemp -d /tmp/lexoffice-bench-pg.XXXXXX)"
run_as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$base"; run_as=(runuser -u postgres --); fi
port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${run_as[@]}" "$bindir/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$base/data" -w -l "$base/server.log" \
  -o "-h 127.0.0.1 -p $port -k $base -c max_connections=200" start >/dev/null
trap '"${run_as[@]}" "$bindir/pg_ctl" -D "$base/data" -m fast stop >/dev/null; rm -rf "$base"' EXIT
.venv/bin/python -m bench --postgres-url "postgresql+psycopg://postgres@127.0.0.1:$port/postgres" "$@"
