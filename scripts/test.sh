#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite and, at the same time, on PostgreSQL when 127.0.0.1:5432 answers.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export QINGSHOU_FAST_HASHER=1
export DB_CONN_MAX_AGE=0
export QINGSHOU_VAR_DIR="${QINGSHOU_VAR_DIR:-$PWD/var/test}"
mkdir -p "$QINGSHOU_VAR_DIR"

echo "== ruff"
$BIN/ruff check . || exit 1

pg_up() {
  $BIN/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", 5432))
except OSError:
    sys.exit(1)
PY
}

if ! pg_up; then
  echo "== pytest on SQLite"
  DB=sqlite $BIN/pytest "$@" || { rc=$?; echo "SQLite pass failed"; exit $rc; }
  echo "== PostgreSQL pass SKIPPED: nothing answers on 127.0.0.1:5432"
  echo "== all passes green"
  exit 0
fi

# Both passes at once: each is one process, mostly waiting on a single core, so side by side they take about
# two thirds of the time they take one after the other. The PostgreSQL pass writes to a log, shown when done.
pg_log="$QINGSHOU_VAR_DIR/pytest-postgres.log"
echo "== pytest on SQLite, and on PostgreSQL (127.0.0.1:5432) at the same time (its output follows)"
DB=postgres PGHOST=127.0.0.1 PGUSER="${PGUSER:-postgres}" QINGSHOU_SHOTS="$QINGSHOU_VAR_DIR/shots-postgres" \
  $BIN/pytest "$@" > "$pg_log" 2>&1 &
pg_pid=$!
trap 'kill $pg_pid 2>/dev/null' EXIT
DB=sqlite $BIN/pytest "$@"
sqlite_rc=$?
wait $pg_pid
pg_rc=$?
trap - EXIT
echo "== pytest on PostgreSQL (127.0.0.1:5432)"
cat "$pg_log"
[ $sqlite_rc -ne 0 ] && echo "SQLite pass failed"
[ $pg_rc -ne 0 ] && echo "PostgreSQL pass failed"
[ $sqlite_rc -ne 0 ] && exit $sqlite_rc
[ $pg_rc -ne 0 ] && exit $pg_rc
echo "== all passes green"
