#!/usr/bin/env bash
# The latency of one GET /auth/me and one login, request after request, on each database engine
# (bench/engines.py). PostgreSQL and SQLite always; SQL Server when MSSQL_URL names an admin login
# (as for the test suite). Fresh databases are created and dropped.
#
#   bench/engines.sh
#   MSSQL_URL='mssql://sa:…@127.0.0.1:1433/master?encrypt=false' bench/engines.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/patient-auth/target}"
cargo build --release --locked --bin patient-auth --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
name="pa_engines_$$"
cp "$CARGO_TARGET_DIR/release/patient-auth" "$work/"
venv="${BENCH_VENV:-$HOME/.cache/patient-auth/bench-venv}"
if [ -n "${MSSQL_URL:-}" ] && [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet python-tds==1.17.1
fi
python="$venv/bin/python"
cleanup() {
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
  if [ -n "${MSSQL_URL:-}" ]; then
    "$python" "$root/bench/mssql_admin.py" "$MSSQL_URL" "IF DB_ID(N'$name') IS NOT NULL DROP DATABASE $name" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $name"
engines=("sqlite=sqlite:///$work/engines.db"
         "postgres=postgres://postgres@127.0.0.1:5432/$name?sslmode=disable")
if [ -n "${MSSQL_URL:-}" ]; then
  "$python" "$root/bench/mssql_admin.py" "$MSSQL_URL" "CREATE DATABASE $name"
  engines+=("sqlserver=${MSSQL_URL/\/master/\/$name}")
fi
cd "$work"
python3 "$root/bench/engines.py" "$work/patient-auth" "${engines[@]}"
