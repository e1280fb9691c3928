#!/bin/sh
# octobridge set-up: everything `npm start` / `npm test` need on a fresh Debian 12 host,
# idempotent (each step checks first and does nothing when already done).
#
#   sh scripts/setup.sh start   # apt build/runtime packages, Node 24, npm ci, mediasoup worker
#   sh scripts/setup.sh test    # the same plus the test peers (Chromium, Firefox ESR)
#   sh scripts/setup.sh bench   # the same as test plus Janus (the torture harness's --janus)
#
# Only the npm registry and Debian's apt archive are used. Nothing from GitHub or PyPI.
set -eu
PROFILE="${1:-start}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- apt packages
# Build + runtime of the mediasoup worker (docs/worker.md), then per-profile peers.
APT_BUILD="build-essential pkg-config ninja-build python3 libuv1-dev libssl-dev libsrtp2-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler"
APT_BACKPORTS="meson"                       # mediasoup 3.27 needs meson >= 1.1; bookworm has 1.0.1
# wireguard-tools, wireguard-go, iputils-ping: the WireGuard tests (test/e2e/wireguard.test.ts; no kernel module here)
# tcpdump: the underlay capture of test/e2e/relay-wireguard.test.ts (only WireGuard crosses between bridges)
APT_TEST="chromium firefox-esr fonts-liberation prosody lua-sec lua-event lua-unbound wireguard-tools wireguard-go iputils-ping tcpdump"
APT_BENCH="janus"                           # Janus VideoRoom, side by side in `npm run torture -- --janus`
[ "${OCTOBRIDGE_WORKER_TESTS:-0}" = "1" ] && APT_BACKPORTS="$APT_BACKPORTS catch2"

missing=""
want="$APT_BUILD"
[ "$PROFILE" = "test" ] && want="$want $APT_TEST"
[ "$PROFILE" = "bench" ] && want="$want $APT_TEST $APT_BENCH"
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
missing_bpo=""
for p in $APT_BACKPORTS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_bpo="$missing_bpo $p"
done
if [ -z "$missing_bpo" ] && command -v meson >/dev/null 2>&1; then
  # an old meson (bookworm's 1.0.1) counts as missing
  meson_ok=$(meson --version | awk -F. '{ print ($1 > 1 || ($1 == 1 && $2 >= 1)) ? "yes" : "no" }')
  [ "$meson_ok" = "yes" ] || missing_bpo="$missing_bpo meson"
fi

if [ -n "$missing$missing_bpo" ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      die "missing Debian packages:$missing$missing_bpo (from bookworm-backports:$missing_bpo). Run as root: apt-get install -y$missing && apt-get install -y -t bookworm-backports$missing_bpo"
    fi
  fi
  if [ -n "$missing_bpo" ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # same archive URI as the existing bookworm entry
    uri=$(grep -rhs -A3 "^Types: deb" /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2; exit }')
    [ -n "$uri" ] || uri=$(awk '/^deb .* bookworm /{ print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$uri" ] || uri="http://deb.debian.org/debian"
    log "adding bookworm-backports ($uri)"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
      | $SUDO tee /etc/apt/sources.list.d/octobridge-backports.sources >/dev/null
  fi
  log "apt-get install:$missing (backports:$missing_bpo)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null || die "apt-get update failed"
  if [ -n "$missing" ]; then
    $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null || die "apt-get install failed for:$missing"
  fi
  if [ -n "$missing_bpo" ]; then
    $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports $missing_bpo >/dev/null \
      || die "apt-get install -t bookworm-backports failed for:$missing_bpo"
  fi
fi

# ---------------------------------------------------------------- Node 24
# mediasoup 3.27 declares node >= 22 and Node 20 is end-of-life. When the host's node is
# older than the pinned major, install the pinned Node from the npm registry (the
# node-linux-<arch> package carries the official binary) into .node/.
NODE_WANT="$(cat .node-version)"
NODE_MAJOR="${NODE_WANT%%.*}"
host_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$host_major" -lt "$NODE_MAJOR" ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "no node-linux package for $(uname -m)" ;;
  esac
  if [ "$(.node/bin/node --version 2>/dev/null)" != "v$NODE_WANT" ]; then
    log "installing Node $NODE_WANT (node-linux-$arch from the npm registry) into .node/"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_WANT" >/dev/null) || die "npm pack node-linux-$arch@$NODE_WANT failed"
    rm -rf .node && mkdir -p .node
    tar xzf "$tmp"/node-linux-*.tgz -C .node --strip-components=1
    rm -rf "$tmp"
    [ "$(.node/bin/node --version)" = "v$NODE_WANT" ] || die "installed Node does not run"
  fi
  PATH="$ROOT/.node/bin:$PATH"; export PATH
fi

# ---------------------------------------------------------------- npm ci
# .npmrc sets ignore-scripts=true: no dependency install script runs, so mediasoup's
# postinstall (a GitHub download, then a pip build) never starts. MEDIASOUP_WORKER_BIN is
# set as well, which makes that postinstall skip itself should anything run it.
lock_sum=$( (cat package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ "$(cat node_modules/.octobridge-ci 2>/dev/null || true)" != "$lock_sum" ]; then
  log "npm ci"
  MEDIASOUP_WORKER_BIN="$ROOT/native/out/mediasoup-worker" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    || die "npm ci failed"
  echo "$lock_sum" > node_modules/.octobridge-ci
fi

# ---------------------------------------------------------------- mediasoup worker
sh native/build.sh
