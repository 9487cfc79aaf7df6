#!/usr/bin/env bash
# fuzz/run_fuzz.sh TARGET_EXE SEED_DIR SECONDS — runs a libFuzzer target for
# SECONDS from the seed corpus (read-only; new inputs go to a temp dir),
# then prints its executions per second. A crash, leak or timeout fails the
# run and leaves the input in $FUZZ_ARTIFACTS (default: the temp dir, printed).
set -uo pipefail
exe="$1" seeds="$2" secs="$3"
work="$(mktemp -d)"
artifacts="${FUZZ_ARTIFACTS:-$work/artifacts}"
mkdir -p "$work/corpus" "$artifacts"
"$exe" "$work/corpus" "$seeds" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 > "$work/log" 2>&1
rc=$?
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
per_s="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")"
echo "$(basename "$exe"): ${execs:-0} executions, ${per_s:-0}/s, corpus $(ls "$work/corpus" | wc -l) new inputs, exit $rc"
if [[ $rc -ne 0 ]]; then
  tail -40 "$work/log"
  echo "artifacts: $artifacts"
  ls -la "$artifacts"
  exit 1
fi
rm -rf "$work"
