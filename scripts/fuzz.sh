#!/usr/bin/env bash
# scripts/fuzz.sh TARGET|all [SECONDS] [BUILD_DIR] — builds the libFuzzer
# targets (clang, ASan+UBSan, -Dfuzz=true; docs/fuzzing.md) and runs TARGET
# (or every one) for SECONDS (default 300) from its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?TARGET or all}"
secs="${2:-300}"
build="${3:-build-fuzz}"
if [[ ! -f "$build/build.ninja" ]]; then
  CXX="clang++" CC="clang" meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Doptimization=1 -Dbenchmarks=false -Dfuzz=true > /dev/null
fi
targets=()
if [[ "$target" == all ]]; then
  for f in fuzz/fuzz_*.cc; do targets+=("$(basename "$f" .cc)"); done
else
  targets=("$target")
fi
for t in "${targets[@]}"; do ninja -C "$build" "fuzz/$t" > /dev/null; done
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  FUZZ_ARTIFACTS="${FUZZ_ARTIFACTS:-$PWD/$build/fuzz-artifacts}" \
    bash fuzz/run_fuzz.sh "$build/fuzz/$t" "fuzz/corpus/$t" "$secs"
done
