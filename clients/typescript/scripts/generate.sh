#!/usr/bin/env bash
# Regenerates the TypeScript client from the document the server itself serves: builds and starts
# patient-auth, fetches GET /openapi.json, runs openapi-typescript (pinned in package-lock.json)
# and writes
#   openapi.json        the served document, pretty-printed, so a review shows what changed
#   src/schema.d.ts     the types openapi-fetch checks every call against
# Usage: clients/typescript/scripts/generate.sh [OUT_DIR]   (default: clients/typescript itself;
# check-fresh.sh passes a temporary directory). PATIENT_AUTH_BIN=path skips the build.
set -euo pipefail
client="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$client}" && cd "${1:-$client}" && pwd)"
# shellcheck source=../../../.ci/lib/patient-auth.sh
source "$client/../../.ci/lib/patient-auth.sh"

if [ ! -x "$client/node_modules/.bin/openapi-typescript" ]; then
  npm ci --prefix "$client" --no-audit --no-fund --loglevel=error
fi

work="$(mktemp -d)"
cleanup() { pa_stop; rm -rf "$work"; }
trap cleanup EXIT

pa_build "$work"
pa_start "$work"
mkdir -p "$out/src"
curl -fsS "$pa_base/openapi.json" |
  python3 -c 'import json, sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, ensure_ascii=False); print()' \
    >"$out/openapi.json"
pa_stop

"$client/node_modules/.bin/openapi-typescript" "$out/openapi.json" -o "$out/src/schema.d.ts" --silent
echo "client generated from $pa_base/openapi.json into $out (openapi.json, src/schema.d.ts)"
