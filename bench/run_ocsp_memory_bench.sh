#!/usr/bin/env bash
# bench/run_ocsp_memory_bench.sh [BUILD_DIR] [REQUESTS] [CACHE_MB]
# OCSP memory under a flood: REQUESTS (default 1,000,000) distinct requests,
# a quarter padded with 60 KB, then a 90 %-hot mix; prints RSS before and
# after, the cache's bytes (bounded by CACHE_MB, default 256) and the mix's
# hit rate (bench/ocsp_memory_bench.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
[[ -x "$build/bench/ocsp_memory_bench" ]] || ninja -C "$build" bench/ocsp_memory_bench >/dev/null
"$build/bench/ocsp_memory_bench" --requests "${2:-1000000}" --cache-mb "${3:-256}"
