#!/bin/sh
# Build mediasoup-worker for the pinned mediasoup (package.json) from the npm tarball's
# worker/ sources (installed by npm ci at node_modules/mediasoup) and Debian packages.
# See docs/worker.md for the shims and the anchored source patches (worker: patches/; npm packages:
# node-patches/).
#
#   sh native/build.sh            # build if the worker is missing or out of date
#   sh native/build.sh --force    # rebuild
#   sh native/build.sh --tests    # also build the worker's C++ unit tests (needs catch2
#                                 # from bookworm-backports), run them, print the summary
#
# Output: native/out/mediasoup-worker (the bridge's default workerBin), also copied to
# node_modules/mediasoup/worker/out/Release/ where mediasoup's own default lookup finds it.
set -eu
NATIVE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$NATIVE")"
FORCE=0; TESTS=0
for a in "$@"; do
  case "$a" in --force) FORCE=1 ;; --tests) TESTS=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done

log() { printf '[native] %s\n' "$*" >&2; }
die() { printf '[native] ERROR: %s\n' "$*" >&2; exit 1; }

MS_PKG="$ROOT/node_modules/mediasoup"
[ -f "$MS_PKG/package.json" ] || die "node_modules/mediasoup is missing: run npm ci first (sh scripts/setup.sh does)"
MS_VERSION=$(sed -n 's/^[[:space:]]*"version": "\([^"]*\)".*/\1/p' "$MS_PKG/package.json" | head -n1)
OUT="$NATIVE/out"
BIN="$OUT/mediasoup-worker"
MS_DEFAULT_BIN="$MS_PKG/worker/out/Release/mediasoup-worker"

# Inputs that define the binary: mediasoup version + everything under native/ that the build reads.
stamp=$( (echo "$MS_VERSION"; cat "$NATIVE/build.sh"; find "$NATIVE/patches" "$NATIVE/subprojects" "$NATIVE/unordered_dense" -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -d' ' -f1)

install_default_bin() {
  mkdir -p "$(dirname "$MS_DEFAULT_BIN")"
  cmp -s "$BIN" "$MS_DEFAULT_BIN" 2>/dev/null || cp "$BIN" "$MS_DEFAULT_BIN"
}

# npm packages get their own anchored patches, in place in node_modules
# (native/node-patches/<package, / written +>/*.patch, -p1 from the package root), in name order. npm ci
# restores the pristine files, so this runs every time. What is applied is recorded in the package
# (.octobridge-node-patches: name and checksum, one a line; npm ci removes it with the package), so
# patches that touch neighbouring lines are each applied once. A package patched before the record
# existed is recognised patch by patch (a clean reverse); one in any other state must be reinstalled.
for dir in "$NATIVE"/node-patches/*/; do
  [ -d "$dir" ] || continue
  pkg=$(basename "$dir" | tr '+' '/')
  target="$ROOT/node_modules/$pkg"
  record="$target/.octobridge-node-patches"
  legacy=0; [ -f "$record" ] || legacy=1
  [ -f "$target/package.json" ] || die "node-patches/$(basename "$dir"): $pkg is not installed (run npm ci)"
  for p in "$dir"*.patch; do
    [ -e "$p" ] || continue
    name="node-patches/$(basename "$dir")/$(basename "$p")"
    entry="$(basename "$p") $(sha256sum < "$p" | cut -d' ' -f1)"
    if grep -qxF "$entry" "$record" 2>/dev/null; then continue; fi
    if patch -d "$target" -p1 -F0 --dry-run --silent --forward < "$p" >/dev/null 2>&1; then
      patch -d "$target" -p1 -F0 --silent --forward --no-backup-if-mismatch < "$p" || die "patch failed: $name"
      log "applied $name"
    elif [ "$legacy" = 1 ] && patch -d "$target" -p1 -R -F0 --dry-run --silent --force < "$p" >/dev/null 2>&1; then
      : # applied by a build from before the record
    else
      die "patch anchor not found: $name does not apply to the installed $pkg (see docs/worker.md; if an older build patched it: rm -rf node_modules and run the set-up again)"
    fi
    echo "$entry" >> "$record"
  done
done

if [ "$FORCE" = 0 ] && [ "$TESTS" = 0 ] && [ -x "$BIN" ] && [ "$(cat "$OUT/stamp" 2>/dev/null || true)" = "$stamp" ]; then
  install_default_bin
  exit 0
fi

# ---------------------------------------------------------------- tools and libraries
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install Debian package $2"; }
need_cmd meson "meson (from bookworm-backports, >= 1.1)"
need_cmd ninja ninja-build
need_cmd pkg-config pkg-config
need_cmd flatc flatbuffers-compiler
need_cmd c++ build-essential
need_cmd patch patch
meson_ok=$(meson --version | awk -F. '{ print ($1 > 1 || ($1 == 1 && $2 >= 1)) ? "yes" : "no" }')
[ "$meson_ok" = yes ] || die "meson $(meson --version) is too old (>= 1.1 needed): apt-get install -t bookworm-backports meson"
need_pc() { pkg-config --exists "$1" || die "pkg-config module '$1' not found: install Debian package $2"; }
need_pc libuv libuv1-dev
need_pc libssl libssl-dev
need_pc libcrypto libssl-dev
need_pc libsrtp2 libsrtp2-dev
need_pc flatbuffers libflatbuffers-dev
need_pc absl_strings libabsl-dev
need_pc absl_flat_hash_map libabsl-dev
if [ "$TESTS" = 1 ]; then need_pc catch2-with-main "catch2 (from bookworm-backports, >= 3)"; fi

# ---------------------------------------------------------------- fresh source tree
BUILD="$NATIVE/build"
SRC="$BUILD/mediasoup-$MS_VERSION"
log "preparing mediasoup $MS_VERSION worker sources in native/build/"
rm -rf "$SRC"
mkdir -p "$SRC"
cp -R "$MS_PKG/worker" "$SRC/worker"
rm -rf "$SRC/worker/out"

# Anchored source edits: a series, each patch applied with zero fuzz to the tree the ones before it made (a later
# patch may build on an earlier one's lines). Applied to a scratch copy first, so a missing anchor aborts before
# the source tree is touched (never a half-patched tree).
SCRATCH="$BUILD/.patching"
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
cp -R "$SRC/worker" "$SCRATCH/worker"
for p in "$NATIVE"/patches/*.patch; do
  if ! patch -d "$SCRATCH" -p1 -F0 --silent --forward --no-backup-if-mismatch < "$p" >/dev/null 2>&1; then
    rm -rf "$SCRATCH"
    die "patch anchor not found: $(basename "$p") does not apply to mediasoup $MS_VERSION with the patches before it (see docs/worker.md)"
  fi
done
rm -rf "$SRC/worker"
mv "$SCRATCH/worker" "$SRC/worker"
rm -rf "$SCRATCH"

# Subprojects: replace every downloading wrap with a shim over the Debian library.
rm -f "$SRC"/worker/subprojects/*.wrap
rm -rf "$SRC/worker/subprojects/packagefiles"
cp -R "$NATIVE"/subprojects/* "$SRC/worker/subprojects/"
# unordered_dense is header-only and not packaged: a replacement header + a .pc file.
PCDIR="$BUILD/pkgconfig"
mkdir -p "$PCDIR"
printf 'Name: unordered_dense\nDescription: octobridge stand-in for ankerl::unordered_dense\nVersion: 4.8.1\nCflags: -I%s\n' \
  "$NATIVE/unordered_dense/include" > "$PCDIR/unordered_dense.pc"
export PKG_CONFIG_PATH="$PCDIR${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# ---------------------------------------------------------------- configure + compile
JOBS=$(nproc 2>/dev/null || echo 2)
cd "$SRC/worker"
start=$(date +%s)
if [ "$TESTS" = 1 ]; then
  log "configuring (Release + worker unit tests)"
  meson setup --buildtype release -Db_ndebug=true -Dms_build_tests=true --wrap-mode=nodownload \
    out/Test/build >"$BUILD/meson-test.log" 2>&1 || { tail -n 30 "$BUILD/meson-test.log" >&2; die "meson setup failed (log: native/build/meson-test.log)"; }
  ninja -C out/Test/build -j"$JOBS" mediasoup-worker-test >"$BUILD/ninja-test.log" 2>&1 \
    || { tail -n 40 "$BUILD/ninja-test.log" >&2; die "test build failed (log: native/build/ninja-test.log)"; }
  log "running mediasoup-worker-test"
  ./out/Test/build/mediasoup-worker-test --invisibles --colour-mode=none | tail -n 4 || true
  exit 0
fi
log "configuring (Release, -O3, libwebrtc BWE)"
meson setup --prefix "$PWD/out/Release" --bindir "" --libdir "" --buildtype release -Db_ndebug=true \
  --wrap-mode=nodownload out/Release/build >"$BUILD/meson.log" 2>&1 \
  || { tail -n 30 "$BUILD/meson.log" >&2; die "meson setup failed (log: native/build/meson.log)"; }
log "compiling with $JOBS jobs (about 2.5 min on 2 cores)"
ninja -C out/Release/build -j"$JOBS" mediasoup-worker >"$BUILD/ninja.log" 2>&1 \
  || { grep -m5 -B2 -A8 "error:" "$BUILD/ninja.log" >&2 || tail -n 40 "$BUILD/ninja.log" >&2; die "compile failed (log: native/build/ninja.log)"; }
mkdir -p "$OUT"
cp out/Release/build/mediasoup-worker "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$stamp" > "$OUT/stamp"
install_default_bin
log "built $BIN in $(( $(date +%s) - start )) s ($(wc -c < "$BIN") bytes)"
