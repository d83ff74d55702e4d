#!/usr/bin/env bash
# patient-auth against the Flask original, side by side, in one run on this machine.
#
#   bench/run.sh                 # prints the table and rewrites BENCHMARKS.md
#   BENCH_DURATION=10s bench/run.sh
#
# It builds the release server, makes a virtualenv for the Flask peer (../shared/peers/flask_seed),
# creates two fresh PostgreSQL databases on 127.0.0.1:5432, starts both services on their own
# database with the same data, drives them with wrk, and stops and drops everything it started.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
peer="${FLASK_SEED_DIR:-$root/../shared/peers/flask_seed}"
duration="${BENCH_DURATION:-20s}"
warmup="${BENCH_WARMUP:-5s}"
patients="${BENCH_PATIENTS:-20}"
pg_admin="${BENCH_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/patient-auth/target}"
rust_port=5081
flask_port=5082
cold_port=5083
cores="$(nproc)"
flask_workers=$((2 * cores + 1))
run_id="$$"
rust_db="pa_bench_rust_$run_id"
flask_db="pa_bench_flask_$run_id"
secret="bench-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
pids=()

log() { printf '== %s\n' "$*" >&2; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "$rust_db" "$flask_db"; do
    psql "$pg_admin/postgres" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk; then log "installing wrk"; apt-get install -y -qq wrk >/dev/null; fi
need psql || { echo "psql is needed (PostgreSQL client)" >&2; exit 1; }
[ -f "$peer/serve.sh" ] || { echo "the Flask peer is not at $peer (set FLASK_SEED_DIR)" >&2; exit 1; }

log "building the release server"
(cd "$root" && cargo build --release --locked --bin patient-auth >&2)
(cd "$root" && cargo bench --no-run --locked -p service --bench auth_costs >&2)
binary="$CARGO_TARGET_DIR/release/patient-auth"

log "Flask peer virtualenv"
export FLASK_SEED_VENV="${FLASK_SEED_VENV:-$HOME/.cache/patient-auth/flask-venv}"
if [ ! -x "$FLASK_SEED_VENV/bin/gunicorn" ]; then
  python3 -m venv "$FLASK_SEED_VENV"
  "$FLASK_SEED_VENV/bin/pip" install -q -r "$peer/requirements.txt" >&2
fi

wait_http() { # wait_http URL: until the server answers at all (any status), 30 s at most
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

log "databases $rust_db and $flask_db"
for db in "$rust_db" "$flask_db"; do psql "$pg_admin/postgres" -qXc "CREATE DATABASE $db" >/dev/null; done

# Both services reach PostgreSQL over loopback without TLS (both drivers would otherwise negotiate
# it, as sslmode=prefer does, and spend a third of the box on encrypting loopback traffic).
flask_url="postgresql+psycopg://postgres@127.0.0.1:5432/$flask_db?sslmode=disable"
# The peer creates its tables in every worker at start-up; several workers racing on an empty
# database can crash one, so create them once first.
(cd "$peer" && DATABASE_URL="$flask_url" "$FLASK_SEED_VENV/bin/python" -c 'from app import create_app; create_app()')

log "starting patient-auth ($binary) and Flask (gunicorn, $flask_workers workers)"
# Rate limits off: every request comes from 127.0.0.1, and the Flask peer has none, so with them
# on the login scenarios would measure 429s. Everything else (audit trail included) is as shipped.
DATABASE_URL="$pg_admin/$rust_db?sslmode=disable" JWT_SECRET="$secret" HOST=127.0.0.1 PORT=$rust_port RUST_LOG=warn \
  RATE_LIMIT_PER_MINUTE=0 LOGIN_FAILURE_LIMIT=0 \
  "$binary" >"$work/rust.log" 2>&1 &
rust_pid=$!
pids+=("$rust_pid")
DATABASE_URL="$flask_url" JWT_SECRET="$secret" SECRET_KEY="$secret" \
  HOST=127.0.0.1 PORT=$flask_port WORKERS=$flask_workers "$peer/serve.sh" >"$work/flask.log" 2>&1 &
flask_pid=$!
pids+=("$flask_pid")
wait_http "http://127.0.0.1:$rust_port/health"
wait_http "http://127.0.0.1:$flask_port/auth/me"

log "seeding $patients patients on each, each with a doctor, a caregiver and 5 prescriptions"
seed() { # seed PORT DB TOKENS_FILE
  local port=$1 db=$2 tokens=$3 i body token
  : >"$tokens"
  for i in $(seq 1 "$patients"); do
    body="{\"name\": \"Bench Patient $i\", \"email\": \"bench$i@example.com\", \"password\": \"bench-password-$i\"}"
    token="$(curl -sf --retry 3 --retry-all-errors -X POST "http://127.0.0.1:$port/auth/register" -H 'Content-Type: application/json' -d "$body" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
    echo "$token" >>"$tokens"
  done
  psql "$pg_admin/$db" -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO doctors (full_name, specialty, email, phone, created_at)
  SELECT 'Dr. Sara Hassan ' || patient_id, 'Cardiology', 'dr' || patient_id || '@clinic.example', '+20 2 5555 0101', now() FROM patients;
INSERT INTO caregivers (full_name, relationship, email, phone, created_at)
  SELECT 'Omar Ali ' || patient_id, 'son', 'cg' || patient_id || '@example.com', '+20 10 5555 0102', now() FROM patients;
UPDATE patients p SET
  doctor_id = (SELECT doctor_id FROM doctors d WHERE d.email = 'dr' || p.patient_id || '@clinic.example'),
  caregiver_id = (SELECT caregiver_id FROM caregivers c WHERE c.email = 'cg' || p.patient_id || '@example.com');
INSERT INTO prescriptions (patient_id, doctor_id, medication, dosage, frequency, start_date, notes, created_at)
  SELECT p.patient_id, p.doctor_id, 'Medication ' || g, '500 mg', 'twice daily', DATE '2026-01-01' + g * 7, 'with meals', now()
  FROM patients p, generate_series(1, 5) AS g;
SQL
}
seed $rust_port "$rust_db" "$work/rust.tokens"
seed $flask_port "$flask_db" "$work/flask.tokens"
for i in $(seq 1 "$patients"); do echo "bench$i@example.com bench-password-$i"; done >"$work/accounts"
rust_me_bytes="$(curl -s "http://127.0.0.1:$rust_port/auth/me" -H "Authorization: Bearer $(head -n1 "$work/rust.tokens")" | wc -c)"
flask_me_bytes="$(curl -s "http://127.0.0.1:$flask_port/auth/me" -H "Authorization: Bearer $(head -n1 "$work/flask.tokens")" | wc -c)"

# wrk_stats FILE -> "req/s p50_ms p99_ms errors requests"
wrk_stats() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /requests in/ { requests = $1 }
    /Non-2xx or 3xx responses/ { errors += $NF }
    /Socket errors/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%.1f %.2f %.2f %d %d\n", rps, p50, p99, errors, requests }' "$1"
}

run_wrk() { # run_wrk NAME PORT SCRIPT CONNECTIONS [wrk options]
  local name=$1 port=$2 script=$3 conns=$4
  shift 4
  wrk -t2 -c"$conns" -d"$warmup" "$@" -s "$here/$script" "http://127.0.0.1:$port" >/dev/null
  wrk -t2 -c"$conns" -d"$duration" --latency "$@" -s "$here/$script" "http://127.0.0.1:$port" >"$work/$name.wrk"
  wrk_stats "$work/$name.wrk"
}

log "1. GET /auth/me, 64 connections, $duration"
rust_me=$(TOKENS_FILE="$work/rust.tokens" run_wrk rust_me $rust_port me.lua 64)
flask_me=$(TOKENS_FILE="$work/flask.tokens" run_wrk flask_me $flask_port me.lua 64)

log "2. POST /auth/login, 16 connections, $duration"
# The argon2 limit is measured right before and right after patient-auth's login run: this
# machine's speed drifts by a third between minutes, and a limit taken minutes apart from the
# run it judges measures the drift. All cores verify at once, as they do in the run.
argon2_now() { (cd "$root" && cargo bench --locked -p service --bench auth_costs -- --argon2-only 2>/dev/null); }
argon2_before="$(argon2_now)"
rust_login=$(ACCOUNTS_FILE="$work/accounts" run_wrk rust_login $rust_port login.lua 16 --timeout 30s)
argon2_after="$(argon2_now)"
flask_login=$(ACCOUNTS_FILE="$work/accounts" run_wrk flask_login $flask_port login.lua 16 --timeout 30s)

log "3. GET /auth/me, 64 connections, during a login storm (16 connections)"
storm() { # storm PORT NAME TOKENS: /auth/me measured while logins run
  local port=$1 name=$2 tokens=$3 storm_pid
  ACCOUNTS_FILE="$work/accounts" wrk -t1 -c16 -d"$duration" --timeout 30s -s "$here/login.lua" "http://127.0.0.1:$port" >"$work/$name-storm.wrk" &
  storm_pid=$!
  sleep 1
  TOKENS_FILE="$tokens" wrk -t1 -c64 -d"$duration" --latency -s "$here/me.lua" "http://127.0.0.1:$port" >"$work/$name.wrk"
  wait "$storm_pid"
  wrk_stats "$work/$name.wrk"
}
rust_storm=$(storm $rust_port rust_me_storm "$work/rust.tokens")
flask_storm=$(storm $flask_port flask_me_storm "$work/flask.tokens")

log "4. 1000 logins in a burst (16 at a time): peak resident memory"
seq 1 1000 | xargs -P 16 -I{} sh -c \
  'n=$(( ({} % '"$patients"') + 1 )); curl -s -o /dev/null -X POST http://127.0.0.1:'"$rust_port"'/auth/login -H "Content-Type: application/json" -d "{\"email\": \"bench$n@example.com\", \"password\": \"bench-password-$n\"}"'
rust_rss_kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$rust_pid/status")
flask_rss_kib=0
for pid in $(pgrep -f "gunicorn.*$flask_port" || true); do
  flask_rss_kib=$((flask_rss_kib + $(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
done

log "5. cold start to the first 200 on /health, SQLite, no configuration"
cold_dir="$(mktemp -d -p "$work")"
cold_ms=$(cd "$cold_dir" && python3 - "$binary" "$cold_port" <<'PY'
import os, subprocess, sys, time, urllib.request
binary, port = sys.argv[1], sys.argv[2]
env = {"PATH": os.environ["PATH"], "PORT": port, "RUST_LOG": "warn"}
start = time.monotonic()
server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.002)
    print(f"{(time.monotonic() - start) * 1000:.0f}")
finally:
    server.terminate()
    server.wait()
PY
)

log "6. one argon2id verify (cargo bench -p service --bench auth_costs)"
costs="$(cd "$root" && cargo bench --locked -p service --bench auth_costs 2>/dev/null)"
single_ms() { echo "$1" | sed -n 's/^argon2id verify (m.*: \([0-9.]*\) ms.*/\1/p'; }
all_cores_ms() { echo "$1" | sed -n 's/^argon2id verify on all.*: \([0-9.]*\) ms each.*/\1/p'; }
verify_ms="$(single_ms "$costs")"
verify_before_ms="$(all_cores_ms "$argon2_before")"
verify_after_ms="$(all_cores_ms "$argon2_after")"
run_verify_ms="$(awk -v a="$verify_before_ms" -v b="$verify_after_ms" 'BEGIN { printf "%.1f", (a + b) / 2 }')"
login_limit="$(awk -v c="$cores" -v v="$run_verify_ms" 'BEGIN { printf "%.1f", c * 1000 / v }')"
idle_limit="$(awk -v c="$cores" -v v="$verify_ms" 'BEGIN { printf "%.1f", c * 1000 / v }')"

# ---- report -------------------------------------------------------------------------------------
field() { echo "$1" | awk -v i="$2" '{ print $i }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.1f", a / b }'; }
row() { # row LABEL STATS
  printf '| %s | %s | %s ms | %s ms | %s | %s |\n' "$1" "$(field "$2" 1)" "$(field "$2" 2)" "$(field "$2" 3)" "$(field "$2" 4)" "$(field "$2" 5)"
}
cpu_model="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
report="$work/report.md"
{
  echo "# Benchmarks: patient-auth against the Flask original"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run.sh\` (BENCH_DURATION=$duration, warm-up $warmup per run)."
  echo "Machine: $cores cores ($cpu_model), $(free -g | awk '/^Mem/ { print $2 }') GiB, $(. /etc/os-release && echo "$PRETTY_NAME");"
  echo "PostgreSQL $(psql "$pg_admin/postgres" -AtXc 'SHOW server_version') on 127.0.0.1, $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)."
  echo "wrk, both servers and PostgreSQL share the same cores, so every number is for the whole box."
  echo "Flask: gunicorn, $flask_workers sync workers (2 × cores + 1), passlib bcrypt-12; patient-auth: release build, defaults."
  echo 'Both reach PostgreSQL over loopback with `sslmode=disable` (each driver would otherwise negotiate TLS).'
  echo "Data: $patients patients on each side, each with a doctor, a caregiver and 5 prescriptions;"
  echo "\`/auth/me\` answers $rust_me_bytes bytes (patient-auth) and $flask_me_bytes bytes (Flask); requests rotate over the $patients accounts."
  echo
  echo "| run | req/s | p50 | p99 | errors | requests |"
  echo "|---|---|---|---|---|---|"
  row "1. GET /auth/me, 64 conns — patient-auth" "$rust_me"
  row "1. GET /auth/me, 64 conns — Flask" "$flask_me"
  row "2. POST /auth/login, 16 conns — patient-auth" "$rust_login"
  row "2. POST /auth/login, 16 conns — Flask" "$flask_login"
  row "3. GET /auth/me during a login storm — patient-auth" "$rust_storm"
  row "3. GET /auth/me during a login storm — Flask" "$flask_storm"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| 4. peak RSS after 1000 logins in a burst — patient-auth | $((rust_rss_kib / 1024)) MiB |"
  echo "| 4. peak RSS (sum over gunicorn processes) after run 2 — Flask | $((flask_rss_kib / 1024)) MiB |"
  echo "| 5. cold start to the first 200 on /health, SQLite (new file, migrations included) | $cold_ms ms |"
  echo "| 6. one argon2id verify (m=19456 KiB, t=2, p=1), alone, at the end | $verify_ms ms |"
  echo "| 6. one verify with all $cores cores verifying, just before / just after run 2 | $verify_before_ms / $verify_after_ms ms |"
  echo "| 6. physical login limit during run 2: cores ÷ $run_verify_ms ms (mean of the two) | $login_limit logins/s |"
  echo
  echo "## Against the targets"
  echo
  echo "| target | measured | met |"
  echo "|---|---|---|"
  me_ratio=$(ratio "$(field "$rust_me" 1)" "$(field "$flask_me" 1)")
  p99_ratio=$(ratio "$(field "$flask_me" 3)" "$(field "$rust_me" 3)")
  login_share=$(awk -v r="$(field "$rust_login" 1)" -v l="$login_limit" 'BEGIN { printf "%.0f", 100 * r / l }')
  idle_share=$(awk -v r="$(field "$rust_login" 1)" -v l="$idle_limit" 'BEGIN { printf "%.0f", 100 * r / l }')
  storm_ratio=$(ratio "$(field "$rust_storm" 3)" "$(field "$rust_me" 3)")
  verdict() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo "**no**"; fi; }
  echo "| /auth/me throughput ≥ 20× Flask | ${me_ratio}× | $(verdict "$me_ratio >= 20") |"
  echo "| /auth/me p99 ≤ 1/10 of Flask's | Flask's p99 is ${p99_ratio}× ours | $(verdict "$p99_ratio >= 10") |"
  echo "| /auth/me errors = 0 | $(field "$rust_me" 4) | $(verdict "$(field "$rust_me" 4) == 0") |"
  echo "| login throughput ≥ 90% of the physical limit | ${login_share}% (${idle_share}% of the limit from the verify alone at the end, $idle_limit/s) | $(verdict "$login_share >= 90") |"
  echo "| /auth/me p99 during the login storm ≤ 3× without | ${storm_ratio}× | $(verdict "$storm_ratio <= 3") |"
  echo "| peak RSS in the burst < 200 MiB | $((rust_rss_kib / 1024)) MiB | $(verdict "$rust_rss_kib < 204800") |"
  echo "| cold start on SQLite < 1 s | $cold_ms ms | $(verdict "$cold_ms < 1000") |"
  echo
  echo "## Commands"
  echo
  echo '```sh'
  echo "wrk -t2 -c64 -d$duration --latency -s bench/me.lua     http://127.0.0.1:PORT   # run 1 (after a $warmup warm-up)"
  echo "wrk -t2 -c16 -d$duration --latency --timeout 30s -s bench/login.lua http://127.0.0.1:PORT   # run 2"
  echo "wrk -t1 -c16 -d$duration --timeout 30s -s bench/login.lua … & wrk -t1 -c64 -d$duration --latency -s bench/me.lua …   # run 3"
  echo "seq 1000 | xargs -P 16 … curl -X POST /auth/login …; grep VmHWM /proc/PID/status   # run 4"
  echo "cargo bench -p service --bench auth_costs -- --argon2-only   # run 6, just before and just after run 2"
  echo "cargo bench -p service --bench auth_costs   # run 6 and the other costs, at the end"
  echo '```'
  echo
  echo "Other costs measured by the same command (\`auth_costs\`):"
  echo
  echo '```'
  echo "$costs"
  echo '```'
} >"$report"

cat "$report"
if [ -n "${BENCH_NO_WRITE:-}" ]; then exit 0; fi
{
  cat "$report"
  if [ -f "$here/NOTES.md" ]; then echo; cat "$here/NOTES.md"; fi
} >"$root/BENCHMARKS.md"
log "wrote BENCHMARKS.md"
