#!/bin/sh
# The test suite (run by `npm test` after scripts/setup.sh test): format and lint (Biome, biome.jsonc; `npm run
# lint:fix` applies what it can), type-check (the page's JavaScript too, tsconfig.page.json), then vitest.
set -eu
cd "$(dirname "$0")/.."
echo "[test] biome check" >&2
biome check --error-on-warnings
echo "[test] tsc" >&2
tsc -p tsconfig.json
tsc -p tsconfig.page.json
echo "[test] vitest" >&2
exec vitest run "$@"
