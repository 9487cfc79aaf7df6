#!/usr/bin/env bash
# scripts/test.sh [BUILD_DIR] — configure, build and run the whole test suite
# (unit, integration, crash and e2e tests). This is the README's test command
# and what CI runs.
#
#   (default)                              g++ (c++), release, benchmarks built too
#   MIRRORCA_SANITIZE=address,undefined    clang -O1 -g with those sanitizers,
#                                          no benchmarks (g++ with MIRRORCA_CXX=g++)
#
# Every compile goes through ccache when it is installed, keyed so that a build
# of the same commit in another folder (a session's checkout, CI's clone) warms
# this one: paths under the checkout are made relative (base_dir) and the build
# directory is not part of the key (hash_dir=false; debug info then names the
# folder of the build that filled the cache). A cold cache only costs time.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"

if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD"
  export CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-10G}"
  ccache_prefix="ccache "
else
  ccache_prefix=""
fi

opts=()
if [[ -n "${MIRRORCA_SANITIZE:-}" ]]; then
  # clang: a sanitizer build in a fifth of g++'s time, and the compiler the
  # libFuzzer targets need. -O1 keeps stack traces exact and the tests fast.
  cxx="${MIRRORCA_CXX:-$(command -v clang++ >/dev/null && echo clang++ || echo g++)}"
  cc="${cxx/clang++/clang}"; cc="${cc/g++/gcc}"
  export CXX="${ccache_prefix}${cxx}" CC="${ccache_prefix}${cc}"
  opts+=(-Db_sanitize="${MIRRORCA_SANITIZE}" -Db_lundef=false -Dbuildtype=debugoptimized
         -Doptimization=1 -Dbenchmarks=false)
  # With clang, the libFuzzer targets too: each runs 20 s as a test (suite fuzz).
  [[ "$cxx" == *clang++* ]] && opts+=(-Dfuzz=true)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  # Meson's own choice of compiler (c++, with ccache in front), so that a
  # plain `meson setup build && ninja -C build` warms this build's cache too.
  if [[ -n "${MIRRORCA_CXX:-}" ]]; then export CXX="${ccache_prefix}${MIRRORCA_CXX}"; fi
  opts+=(-Dbenchmarks=true)
fi

if [[ -d "$build" ]]; then
  meson setup --reconfigure "$build" "${opts[@]}" >/dev/null
else
  meson setup "$build" "${opts[@]}" >/dev/null
fi
# Phase durations go to $build/phase-times (".ci/run" prints them).
t0=$SECONDS
ninja -C "$build"
echo "build $((SECONDS - t0))" > "$build/phase-times"
t0=$SECONDS
rc=0
meson test -C "$build" --print-errorlogs --num-processes "${MIRRORCA_TEST_JOBS:-2}" || rc=$?
echo "tests $((SECONDS - t0))" >> "$build/phase-times"
exit "$rc"
