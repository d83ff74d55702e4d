#!/usr/bin/env bash
# Fails when the committed client (openapi.json, src/schema.d.ts) no longer matches what the
# current server serves: regenerates into a temporary directory and compares.
set -euo pipefail
client="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

bash "$client/scripts/generate.sh" "$fresh" >/dev/null
stale=0
for file in openapi.json src/schema.d.ts; do
  if ! diff -u "$client/$file" "$fresh/$file" >"$fresh/diff" 2>&1; then
    stale=1
    echo "clients/typescript/$file is stale against the server's /openapi.json:" >&2
    head -n 40 "$fresh/diff" >&2
  fi
done
if [ "$stale" -ne 0 ]; then
  echo >&2
  echo "Regenerate it and commit the result:  clients/typescript/scripts/generate.sh" >&2
  exit 1
fi
echo "clients/typescript is up to date with the served /openapi.json"
