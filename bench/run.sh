#!/usr/bin/env bash
# Benchmarks side by side with the published Litestream v0.3.13 and the published Litestream VFS 0.5.17.
#
#   bench/run.sh            full run (N=5 interleaved rounds, 1 GiB database), ~30-40 min on 2 cores;
#                           writes bench/results/latest.json, bench/results/*.png and BENCHMARKS.md
#   bench/run.sh --quick    N=1, small sizes, < 3 min; writes into <build>/bench-quick/ (CI runs this)
#
# Options (passed to bench/bench.py): --rounds N, --out DIR, --work DIR, --keep, --only SCENARIO[,..]
# Own options: --no-build (use the binaries already in the build dir), --build-dir DIR (default build/).
# It builds the release flavour (scripts/build.sh release) and installs the reference binaries
# (scripts/install-reference-tools.sh) unless --no-build is given. See bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR="$ROOT/build"
NO_BUILD=""
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) NO_BUILD=1 ;;
    --build-dir) BUILD_DIR=$(cd "$2" && pwd); shift ;;
    *) PASS+=("$1") ;;
  esac
  shift
done

if [ -z "$NO_BUILD" ]; then
  "$ROOT/scripts/install-reference-tools.sh" >/dev/null
  export LITESTREAM_JOBS=${LITESTREAM_JOBS:-2}
  if ! "$ROOT/scripts/build.sh" release >"/tmp/litestream-bench-build.$$.log" 2>&1; then
    # The whole tree may not build while someone is mid-change; the benchmark needs only three targets.
    echo "bench: full release build failed (see /tmp/litestream-bench-build.$$.log); building only what the benchmark needs" >&2
    cmake --build "$BUILD_DIR" -j "$LITESTREAM_JOBS" --target litestream sqlite3_shell bench_loadgen litestream_vfs_extension >&2 ||
      cmake --build "$BUILD_DIR" -j "$LITESTREAM_JOBS" --target litestream sqlite3_shell bench_loadgen >&2
  fi
fi
for b in litestream bench-loadgen; do
  [ -x "$BUILD_DIR/bin/$b" ] || { echo "bench: $BUILD_DIR/bin/$b is missing (build it, or drop --no-build)" >&2; exit 1; }
done

# Plots need matplotlib (Debian's python3-matplotlib, installed by scripts/setup.sh): prefer the system
# interpreter that has it; without it the tables are still written and the plots are skipped.
PY=python3
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import matplotlib' 2>/dev/null; then PY=$cand; break; fi
done
exec "$PY" "$ROOT/bench/bench.py" --root "$ROOT" --build-dir "$BUILD_DIR" "${PASS[@]+"${PASS[@]}"}"
