#!/usr/bin/env bash
# What a passkey costs at sign-in next to a password (bench/passkeys.py): password alone, password
# with a passkey as second step, passkey alone; on SQLite and PostgreSQL, and SQL Server when
# MSSQL_URL names an admin login. Fresh databases are created and dropped.
#
#   bench/passkeys.sh
#   MSSQL_URL='mssql://sa:…@127.0.0.1:1433/master?encrypt=false' bench/passkeys.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/patient-auth/target}"
cargo build --release --locked --bin patient-auth --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
name="pa_passkeys_$$"
cp "$CARGO_TARGET_DIR/release/patient-auth" "$work/"
venv="${BENCH_VENV:-$HOME/.cache/patient-auth/bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import cryptography' 2>/dev/null || "$venv/bin/pip" install --quiet cryptography==44.0.0
if [ -n "${MSSQL_URL:-}" ]; then
  "$venv/bin/python" -c 'import pytds' 2>/dev/null || "$venv/bin/pip" install --quiet python-tds==1.17.1
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
engines=("sqlite=sqlite:///$work/passkeys.db"
         "postgres=postgres://postgres@127.0.0.1:5432/$name?sslmode=disable")
if [ -n "${MSSQL_URL:-}" ]; then
  "$python" "$root/bench/mssql_admin.py" "$MSSQL_URL" "CREATE DATABASE $name"
  engines+=("sqlserver=${MSSQL_URL/\/master/\/$name}")
fi
cd "$work"
"$python" "$root/bench/passkeys.py" "$work/patient-auth" "${engines[@]}"
