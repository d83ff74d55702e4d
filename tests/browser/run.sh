#!/usr/bin/env bash
# The browser test: Playwright drives Debian's Chromium through examples/web against a live
# patient-auth, on these origins:
#   patient-auth     http://127.0.0.1:A  CORS_ORIGINS=B (both names) and localhost:C,
#                                        JWT_EXP_MINUTES=1, no leeway; WEBAUTHN_RP_ID=localhost,
#                                        WEBAUTHN_ORIGIN=http://localhost:B
#   the example      http://127.0.0.1:B  built against A, served by `vite preview`
#                    http://localhost:B  the same server by name, where passkeys work (WebAuthn
#                                        refuses IP-address origins; Chromium resolves localhost
#                                        to 127.0.0.1 itself)
#   the example too  http://127.0.0.1:C  an origin CORS_ORIGINS does not list
#                    http://localhost:C  an origin CORS_ORIGINS lists and WEBAUTHN_ORIGIN does not
#   an SMTP server   127.0.0.1:D         api/tests/support/smtp_sink.py (aiosmtpd): patient-auth's
#                                        SMTP_URL; each message it receives is a .eml file in
#                                        MAIL_DIR, where the recovery specs read the links
#                                        (PUBLIC_APP_URL=B)
# Builds and starts them all, stops them by PID. aiosmtpd comes from the virtualenv the Rust
# suites use ($HOME/.cache/patient-auth/smtp-venv, or SMTP_SINK_PYTHON), made here when missing;
# without it the mail specs are skipped, or with CI=true the run fails. Screenshots, the JSON
# results and failure traces go to ARTIFACTS_DIR (default ~/.cache/patient-auth/artifacts/browser;
# a run replaces the last one's).
# Installs Chromium from Debian when /usr/bin/chromium is missing, and the Node packages from the
# lock files when node_modules is missing. PATIENT_AUTH_BIN=path skips the cargo build.
# Arguments go to `playwright test` (e.g. `tests/browser/run.sh --grep CORS`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../../.ci/lib/patient-auth.sh
source "$repo/.ci/lib/patient-auth.sh"
artifacts="${ARTIFACTS_DIR:-$HOME/.cache/patient-auth/artifacts/browser}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

if [ ! -x "$chromium" ]; then
  log "installing Chromium from Debian"
  apt-get update -qq </dev/null >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null >/dev/null
fi
for package in clients/typescript examples/web tests/browser; do
  if [ ! -d "$repo/$package/node_modules" ]; then
    log "npm ci in $package"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$repo/$package" --no-audit --no-fund --loglevel=error
  fi
done

# A Python with aiosmtpd, or nothing (the reason on stderr).
smtp_python() {
  local venv="$HOME/.cache/patient-auth/smtp-venv" python
  python="${SMTP_SINK_PYTHON:-$venv/bin/python}"
  if "$python" -c 'import aiosmtpd' 2>/dev/null; then
    echo "$python"
    return
  fi
  if [ -n "${SMTP_SINK_PYTHON:-}" ]; then
    echo "SMTP_SINK_PYTHON=$SMTP_SINK_PYTHON has no aiosmtpd" >&2
    return 1
  fi
  log "making $venv (aiosmtpd, for the SMTP server the mail specs read)" >&2
  python3 -m venv "$venv" >&2 && "$venv/bin/python" -m pip install --quiet aiosmtpd==1.4.6 >&2 &&
    "$python" -c 'import aiosmtpd' && echo "$python"
}

work="$(mktemp -d)"
preview_pids=()
smtp_pid=""
cleanup() {
  pa_stop
  if [ -n "$smtp_pid" ]; then
    kill "$smtp_pid" 2>/dev/null || true
    wait "$smtp_pid" 2>/dev/null || true
    exec 3>&-
  fi
  for pid in "${preview_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

app_port="$(pa_free_port)"
other_port="$(pa_free_port)"
[ "$app_port" != "$other_port" ] || other_port="$(pa_free_port)"
app_url="http://127.0.0.1:$app_port"
other_url="http://127.0.0.1:$other_port"
passkey_app_url="http://localhost:$app_port"
passkey_other_url="http://localhost:$other_port"

mail_dir=""
mail_settings=()
if python="$(smtp_python)"; then
  mail_dir="$work/mail"
  smtp_port="$(pa_free_port)"
  log "SMTP server on 127.0.0.1:$smtp_port (mail in $mail_dir)"
  # It stops when its stdin closes: a FIFO this script holds open on fd 3 until it ends.
  mkfifo "$work/smtp-stdin"
  "$python" "$repo/api/tests/support/smtp_sink.py" --port "$smtp_port" --folder "$mail_dir" \
    <"$work/smtp-stdin" >"$work/smtp.log" 2>&1 &
  smtp_pid=$!
  exec 3>"$work/smtp-stdin"
  for _ in $(seq 1 80); do
    if grep -qx READY "$work/smtp.log"; then break; fi
    if ! kill -0 "$smtp_pid" 2>/dev/null; then break; fi
    sleep 0.25
  done
  if ! grep -qx READY "$work/smtp.log"; then
    cat "$work/smtp.log" >&2
    echo "the SMTP server did not start" >&2
    exit 1
  fi
  # The requests of every browser come from 127.0.0.1, so the per-address mail limit is off,
  # like the other limits pa_start turns off.
  mail_settings=(SMTP_URL="smtp://127.0.0.1:$smtp_port?tls=off" PUBLIC_APP_URL="$app_url" PASSWORD_RESET_LIMIT=0)
elif [ "${CI:-}" = "true" ]; then
  echo "no Python with aiosmtpd for the SMTP server the mail specs need (see above)" >&2
  exit 1
else
  echo "SKIPPED: the mail specs (reset, verification) need a Python with aiosmtpd (see above)" >&2
fi

cors_origins="$app_url,$passkey_app_url,$passkey_other_url"
log "patient-auth (CORS_ORIGINS=$cors_origins, WEBAUTHN_ORIGIN=$passkey_app_url)"
pa_build "$work"
# Without an SMTP server, the messages are .eml files in $work/outbox (not ./outbox).
pa_start "$work" CORS_ORIGINS="$cors_origins" JWT_EXP_MINUTES=1 JWT_LEEWAY_SECONDS=0 \
  WEBAUTHN_RP_ID=localhost WEBAUTHN_ORIGIN="$passkey_app_url" \
  MAIL_OUTBOX_DIR="$work/outbox" "${mail_settings[@]}"

log "building examples/web against $pa_base"
PATIENT_AUTH_URL="$pa_base" npm --prefix "$repo/examples/web" run --silent build -- --outDir "$work/web" --emptyOutDir --logLevel warn

serve_example() { # serve_example URL: vite preview of the build on that URL's port
  local port=${1##*:}
  (cd "$repo/examples/web" && exec node node_modules/vite/bin/vite.js preview --outDir "$work/web" \
    --host 127.0.0.1 --port "$port" --strictPort) </dev/null >"$work/preview-$port.log" 2>&1 &
  preview_pids+=($!)
  for _ in $(seq 1 40); do
    if curl -fsS "$1/" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  cat "$work/preview-$port.log" >&2
  echo "the example did not come up on $1" >&2
  return 1
}
log "serving the example on $app_url and $other_url (also $passkey_app_url and $passkey_other_url)"
serve_example "$app_url"
serve_example "$other_url"

log "playwright"
mkdir -p "$artifacts"
# Only what a run writes, in case ARTIFACTS_DIR points somewhere that holds more.
rm -rf "$artifacts/results" "$artifacts/results.json" "$artifacts"/*.png
status=0
(cd "$here" && env API_URL="$pa_base" APP_URL="$app_url" OTHER_APP_URL="$other_url" MAIL_DIR="$mail_dir" \
  PASSKEY_APP_URL="$passkey_app_url" PASSKEY_OTHER_ORIGIN_URL="$passkey_other_url" \
  PATIENT_AUTH_BIN="$work/patient-auth" PATIENT_AUTH_DATABASE_URL="sqlite:///$work/api.db" \
  ARTIFACTS_DIR="$artifacts" CHROMIUM="$chromium" node node_modules/@playwright/test/cli.js test "$@") || status=$?

if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 "panicked" "$work/server.log" >&2
  status=1
fi
python3 - "$artifacts/results.json" <<'PY' || status=1
import json, sys
stats = json.load(open(sys.argv[1]))["stats"]
print(f"\nbrowser tests: {stats['expected']} passed, {stats['unexpected'] + stats['flaky']} failed, "
      f"{stats['skipped']} skipped in {stats['duration'] / 1000:.0f} s")
sys.exit(1 if stats["unexpected"] or stats["flaky"] or not stats["expected"] else 0)
PY
echo "screenshots: $(ls "$artifacts"/*.png 2>/dev/null | tr '\n' ' ')"
exit "$status"
