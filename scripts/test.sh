#!/bin/sh
# The test suite (run by `npm test` after scripts/setup.sh test): type-check, then vitest.
set -eu
cd "$(dirname "$0")/.."
echo "[test] tsc" >&2
tsc -p tsconfig.json
echo "[test] vitest" >&2
exec vitest run "$@"
