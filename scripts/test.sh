#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then again on PostgreSQL when 127.0.0.1:5432 answers.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export QINGSHOU_FAST_HASHER=1
export DB_CONN_MAX_AGE=0
export QINGSHOU_VAR_DIR="${QINGSHOU_VAR_DIR:-$PWD/var/test}"
mkdir -p "$QINGSHOU_VAR_DIR"

echo "== ruff"
$BIN/ruff check . || exit 1

echo "== pytest on SQLite"
DB=sqlite $BIN/pytest "$@"
rc=$?
[ $rc -ne 0 ] && { echo "SQLite pass failed"; exit $rc; }

if $BIN/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", 5432))
except OSError:
    sys.exit(1)
PY
then
  echo "== pytest on PostgreSQL (127.0.0.1:5432)"
  DB=postgres PGHOST=127.0.0.1 PGUSER="${PGUSER:-postgres}" $BIN/pytest "$@"
  rc=$?
  [ $rc -ne 0 ] && { echo "PostgreSQL pass failed"; exit $rc; }
else
  echo "== PostgreSQL pass SKIPPED: nothing answers on 127.0.0.1:5432"
fi
echo "== all passes green"
