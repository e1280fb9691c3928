#!/bin/sh
# Run a command with octobridge's set-up done and its Node on PATH:
#   sh scripts/run.sh <start|test|bench> <command> [args...]
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROFILE="$1"; shift
sh "$ROOT/scripts/setup.sh" "$PROFILE"
[ -x "$ROOT/.node/bin/node" ] && PATH="$ROOT/.node/bin:$PATH"
PATH="$ROOT/node_modules/.bin:$PATH"
export PATH
exec "$@"
