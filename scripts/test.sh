#!/usr/bin/env bash
# scripts/test.sh [BUILD_DIR] — configure, build and run the whole test suite
# (unit, integration, crash and e2e tests). MIRRORCA_SANITIZE=address,undefined
# builds with sanitizers. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
opts=(-Dbenchmarks=true)
if [[ -n "${MIRRORCA_SANITIZE:-}" ]]; then
  opts+=(-Db_sanitize="${MIRRORCA_SANITIZE}" -Db_lundef=false -Dbuildtype=debugoptimized)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
if [[ -d "$build" ]]; then
  meson setup --reconfigure "$build" "${opts[@]}" >/dev/null
else
  meson setup "$build" "${opts[@]}" >/dev/null
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
