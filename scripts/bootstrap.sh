#!/usr/bin/env bash
# Creates .venv and installs the pinned project into it. Idempotent: skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "lexoffice-airflow needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python)
  echo "==> creating virtualenv .venv with $("$PY" --version)"
  "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.lexoffice-installed"
WANT=$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(b"".join(open(f, "rb").read() for f in sys.argv[1:])).hexdigest())' \
  requirements.txt requirements-dev.txt constraints.txt pyproject.toml)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "==> .venv is up to date"
else
  echo "==> installing pinned requirements (first run takes about two minutes)"
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
  echo "==> installing the lexoffice provider (editable, plugins/lexoffice)"
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  echo "$WANT" > "$STAMP"
fi
