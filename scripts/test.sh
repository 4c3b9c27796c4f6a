#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a developer's: installs what is missing, builds
# the release flavour (g++, -Werror) and the sanitizer flavour (clang ASan+UBSan, libFuzzer targets), and
# runs ctest on both. Ends with ctest's summary; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
status=0
for flavour in release asan; do
  echo "=== build: $flavour"
  "$ROOT/scripts/build.sh" "$flavour"
done
dir_of() { [ "$1" = release ] && echo "$ROOT/build" || echo "$ROOT/build-asan"; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for flavour in asan release; do
  echo "=== ctest: $flavour"
  ctest --test-dir "$(dir_of "$flavour")" --output-on-failure -j "${LITESTREAM_TEST_JOBS:-2}" || status=1
done
exit $status
