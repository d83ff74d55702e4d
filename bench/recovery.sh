#!/usr/bin/env bash
# Whether a password-reset request tells, by its time, if the address has an account
# (bench/recovery.py): known vs unknown addresses, with and without the padding, on SQLite and
# PostgreSQL, and SQL Server when MSSQL_URL names an admin login. Fresh databases are created and
# dropped; mail goes to a scratch outbox folder.
#
#   bench/recovery.sh
#   MSSQL_URL='mssql://sa:…@127.0.0.1:1433/master?encrypt=false' bench/recovery.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/patient-auth/target}"
cargo build --release --locked --bin patient-auth --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
name="pa_recovery_$$"
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
engines=("sqlite=sqlite:///$work/recovery.db"
         "postgres=postgres://postgres@127.0.0.1:5432/$name?sslmode=disable")
if [ -n "${MSSQL_URL:-}" ]; then
  "$python" "$root/bench/mssql_admin.py" "$MSSQL_URL" "CREATE DATABASE $name"
  engines+=("sqlserver=${MSSQL_URL/\/master/\/$name}")
fi
cd "$work"
python3 "$root/bench/recovery.py" "$work/patient-auth" "${engines[@]}"
