#!/usr/bin/env bash
# bench/run_log_bench.sh [BUILD_DIR] — the event-log figures of the README:
# `openssl speed ed25519` and log_bench in the same run, with the ratios the
# issue asks for. MIRRORCA_BENCH_PROOF_SIZE=10000000 for the 10M-event proofs.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
ninja -C "$build" bench/log_bench >/dev/null
out="$(mktemp -d)"
echo "== openssl speed ed25519 (1 core) =="
openssl speed -seconds 5 ed25519 2>/dev/null | tee "$out/openssl.txt" | tail -2
read -r sign verify < <(awk '/Ed25519/ {print $(NF-1), $NF}' "$out/openssl.txt")
echo "== log_bench =="
"$build/bench/log_bench" --benchmark_out="$out/bench.json" --benchmark_out_format=json \
  --benchmark_counters_tabular=true "$@"
python3 - "$out/bench.json" "$sign" "$verify" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
sign, verify = float(sys.argv[2]), float(sys.argv[3])
best_append = max((b["items_per_second"], b["name"]) for b in data["benchmarks"]
                  if b["name"].startswith("BM_DurableAppend/"))
batch = next((b for b in data["benchmarks"] if b["name"].startswith("BM_DurableAppendBatch16")), None)
if batch:
    print(f"batched appends:  {batch['items_per_second']:.0f} events/s (8 threads x 16 events per call) = "
          f"{batch['items_per_second'] / sign:.2f} x openssl 1-core sign rate")
ver = next(b for b in data["benchmarks"] if b["name"].startswith("BM_VerifyLog"))
inc = next(b for b in data["benchmarks"] if b["name"].startswith("BM_InclusionProof"))
con = next(b for b in data["benchmarks"] if b["name"].startswith("BM_ConsistencyProof"))
print()
print(f"openssl speed ed25519: sign {sign:.0f}/s, verify {verify:.0f}/s per core")
print(f"durable appends:  {best_append[0]:.0f} events/s ({best_append[1]}) = "
      f"{best_append[0] / sign:.2f} x openssl 1-core sign rate (target >= 30000 events/s)")
print(f"VerifyLog:        {ver['items_per_second']:.0f} events/s = "
      f"{ver['items_per_second'] / (2 * verify) * 100:.0f} % of 2 x openssl verify (target >= 80 %)")
print(f"inclusion proof:  {inc['real_time']:.1f} us at {inc['log_events']:.0f} events (target < 1000 us)")
print(f"consistency proof: {con['real_time']:.1f} us at {con['log_events']:.0f} events; "
      f"RSS {con['rss_MiB']:.0f} MiB")
PY
