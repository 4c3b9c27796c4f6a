#!/usr/bin/env bash
# Configures and builds one flavour. usage: scripts/build.sh [release|asan] [extra cmake args...]
#   release: g++, RelWithDebInfo, warnings as errors           -> build/
#   asan:    clang (g++ if no clang), ASan+UBSan, libFuzzer     -> build-asan/
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOUR=${1:-release}; shift || true
JOBS=${LITESTREAM_JOBS:-$(nproc)}
case "$FLAVOUR" in
  release) DIR="$ROOT/build"; ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
           export CC=${CC:-gcc} CXX=${CXX:-g++} ;;
  asan)    DIR="$ROOT/build-asan"; ARGS=(-DCMAKE_BUILD_TYPE=Debug -DLITESTREAM_SANITIZE=ON -DLITESTREAM_BENCH=OFF)
           if command -v clang++ >/dev/null; then export CC=clang CXX=clang++; fi ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
[ -f "$DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$DIR" "${GEN[@]}" -DLITESTREAM_WERROR=ON "${ARGS[@]}" "$@" >/dev/null
cmake --build "$DIR" -j "$JOBS"
