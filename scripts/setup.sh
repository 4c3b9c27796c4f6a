#!/usr/bin/env bash
# Installs every build and test dependency on Debian 12 (run as root) and fetches SQLite's amalgamation
# from the npm registry. Idempotent: a second run only checks and returns.
# usage: scripts/setup.sh            (LITESTREAM_SKIP_APT=1 skips apt when you manage packages yourself)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/.deps"
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  g++ clang lld libclang-rt-14-dev cmake ninja-build pkg-config make git xxd curl python3
  liblz4-dev libcurl4-openssl-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev nodejs npm python3-matplotlib
  ceph-mon ceph-osd radosgw awscli age
)

missing_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

if [ -z "${LITESTREAM_SKIP_APT:-}" ]; then
  missing=$(missing_packages)
  # node/npm may come from outside Debian (the image ships its own); accept any working npm.
  if command -v npm >/dev/null 2>&1; then missing=$(echo "$missing" | tr ' ' '\n' | { grep -vxE 'nodejs|npm' || true; } | tr '\n' ' '); fi
  missing=$(echo "$missing" | xargs)
  if [ -n "$missing" ]; then
    echo "setup: installing $missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -1)" ] || $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# SQLite >= 3.51.3: the amalgamation tarball shipped inside npm sqlite3@6.0.1, pinned by sha256
# (CMake checks the same hash again before it extracts the tarball).
SQLITE_TARBALL="$DEPS/sqlite-autoconf-3520000.tar.gz"
SQLITE_SHA256=f6b50b0c103392af32a8be15b2b9d25959de9a00a70c3979128aafeaa5338b3f
if ! echo "$SQLITE_SHA256  $SQLITE_TARBALL" | sha256sum -c --status 2>/dev/null; then
  mkdir -p "$DEPS/npm"
  (cd "$DEPS/npm" && rm -rf package sqlite3-*.tgz && npm pack --silent sqlite3@6.0.1 >/dev/null && tar xzf sqlite3-6.0.1.tgz package/deps/sqlite-autoconf-3520000.tar.gz)
  cp "$DEPS/npm/package/deps/sqlite-autoconf-3520000.tar.gz" "$SQLITE_TARBALL"
  echo "$SQLITE_SHA256  $SQLITE_TARBALL" | sha256sum -c --status || { echo "setup: sqlite tarball sha256 mismatch" >&2; exit 1; }
  rm -rf "$DEPS/npm"
fi
# Reference binaries the interoperability tests run against (npm registry, into .test-tools/).
"$ROOT/scripts/install-reference-tools.sh" >/dev/null
echo "setup: ok"
