# Sourced, not run: builds and starts `patient-auth` for scripts that need a live server (the
# client generator, the browser test), the way .ci/schemathesis does: a copy of the binary, a
# temporary SQLite file, a free port, rate limits off, stopped by PID. Random secrets each start:
# JWT_SECRET, and MFA_ENCRYPTION_KEY (as production needs one; without it the server derives one
# from the JWT secret and warns). The wrong-code limit per account (MFA_FAILURE_LIMIT, 10) stays
# on: every browser spec uses patients of its own.
#
#   pa_build DIR          cargo build, then copy the binary to DIR/patient-auth; with
#                         PATIENT_AUTH_BIN set, copies that binary instead of building.
#   pa_start DIR [NAME=VALUE...]
#                         starts DIR/patient-auth on DIR/api.db and a free port with the extra
#                         settings given; sets pa_pid and pa_base (http://127.0.0.1:PORT);
#                         the log is DIR/server.log.
#   pa_stop               stops it (call it from the caller's EXIT trap).

pa_pid=""
pa_base=""

pa_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pa_build() {
  local dir=$1 repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ -n "${PATIENT_AUTH_BIN:-}" ]; then
    cp "$PATIENT_AUTH_BIN" "$dir/patient-auth"
    return
  fi
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/patient-auth/target}"
  (cd "$repo" && cargo build --locked --quiet --bin patient-auth)
  # A copy of this build: other checkouts sharing the build cache may rebuild the same path.
  cp "$CARGO_TARGET_DIR/debug/patient-auth" "$dir/patient-auth"
}

pa_start() {
  local dir=$1 port secret mfa_key
  shift
  port="$(pa_free_port)"
  secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')" # 48 characters
  mfa_key="$(python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')"
  pa_base="http://127.0.0.1:$port"
  # The server must not inherit the caller's output, or whoever reads it never sees it end.
  env APP_ENV=development HOST=127.0.0.1 PORT="$port" DATABASE_URL="sqlite:///$dir/api.db" \
    JWT_SECRET="$secret" MFA_ENCRYPTION_KEY="$mfa_key" RATE_LIMIT_PER_MINUTE=0 LOGIN_FAILURE_LIMIT=0 HTTP_WORKERS=2 \
    RUST_LOG=warn "$@" "$dir/patient-auth" </dev/null >"$dir/server.log" 2>&1 &
  pa_pid=$!
  for _ in $(seq 1 60); do
    if curl -fsS "$pa_base/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pa_pid" 2>/dev/null; then
      cat "$dir/server.log" >&2
      echo "patient-auth exited" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "patient-auth did not answer /health on $pa_base" >&2
  return 1
}

pa_stop() {
  if [ -n "$pa_pid" ] && kill -0 "$pa_pid" 2>/dev/null; then
    kill "$pa_pid" 2>/dev/null || true
    wait "$pa_pid" 2>/dev/null || true
  fi
  pa_pid=""
}
