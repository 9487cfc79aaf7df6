#!/usr/bin/env bash
# bench/run_audit_bench.sh [BUILD_DIR] — the audit figures of the README, with
# `openssl speed -multi 2 ed25519` in the same run:
#   1. `mirrorca audit verify` of a 1,000,000-event HQ store (factory copy,
#      HQ's log with revocations and cosignatures, the projection) against
#      the machine's 2-core Ed25519 verify rate (target >= 80 %);
#   2. `mirrorca audit index` of a 10,000,000-event history, then
#      `mirrorca audit replay --at` for random (serial, instant) pairs and
#      batches, each a whole process (target < 1 s), and one linear replay
#      (--no-index) for comparison.
# Histories are built once by bench/audit_history in $MIRRORCA_BENCH_DIR/audit
# (default /tmp/mirrorca-bench/audit; about 9 GB for both) and reused.
# MIRRORCA_AUDIT_VERIFY_EVENTS / MIRRORCA_AUDIT_REPLAY_EVENTS change the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
ninja -C "$build" cli/mirrorca bench/audit_history bench/audit_bench >/dev/null
mirrorca="$build/cli/mirrorca"
dir="${MIRRORCA_BENCH_DIR:-/tmp/mirrorca-bench}/audit"
verify_events="${MIRRORCA_AUDIT_VERIFY_EVENTS:-1000000}"
replay_events="${MIRRORCA_AUDIT_REPLAY_EVENTS:-10000000}"
mkdir -p "$dir"
history() {  # history NAME EVENTS [--projection]
  if [[ ! -f "$dir/$1.json" ]]; then
    rm -rf "${dir:?}/$1"
    echo "building the $2-event history $dir/$1 (once) ..."
    "$build/bench/audit_history" --data "$dir/$1" --events "$2" "${@:3}" >"$dir/$1.json"
  fi
}
history "verify-$verify_events" "$verify_events" --projection
history "replay-$replay_events" "$replay_events"

echo "== openssl speed -multi 2 ed25519 =="
openssl speed -seconds 5 -multi 2 ed25519 2>/dev/null | tee "$dir/openssl.txt" | tail -1
verify_rate=$(awk '/Ed25519/ {print $NF}' "$dir/openssl.txt" | tail -1)

echo "== mirrorca audit verify ($verify_events events) =="
"$mirrorca" audit verify --data "$dir/verify-$verify_events" 2>/dev/null | tee "$dir/verify.json"

echo "== mirrorca audit index ($replay_events events) =="
"$mirrorca" audit index --data "$dir/replay-$replay_events" 2>/dev/null | tee -a "$dir/index.jsonl"

echo "== mirrorca audit replay --at, one process each =="
python3 - "$mirrorca" "$dir/replay-$replay_events" "$dir/replay-$replay_events.json" <<'PY' | tee "$dir/replay.txt"
import hashlib, json, random, subprocess, sys, time, calendar
mirrorca, data, meta = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
def t(s): return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
lo, hi = t(meta["from"]), t(meta["to"])
rng = random.Random(6)
def serial(i):
    b = bytearray(hashlib.sha256(f"serial-{i}".encode()).digest()[:16])
    b[0] = (b[0] & 0x7F) | 0x01
    return b.hex()
def run(args):
    start = time.perf_counter()
    out = subprocess.run([mirrorca, "audit", "replay", "--data", data] + args, capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0: sys.exit(f"replay failed: {out.stdout} {out.stderr}")
    return took, json.loads(out.stdout)
def at(x): return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(x))
serial_times, states = [], {}
queries = [(serial(rng.randrange(meta["issued"])), at(rng.randrange(lo, hi + 1))) for _ in range(40)]
queries += [(s["serial"], s["at"]) for s in meta["samples"][:20]]
for s, when in queries:
    took, j = run(["--serial", s, "--at", when])
    serial_times.append(took)
    states[j["certificate"]["state"]] = states.get(j["certificate"]["state"], 0) + 1
batch_times = []
for _ in range(10):
    took, j = run(["--batch", f"B{rng.randrange(meta['issued'] // 100000)}", "--at", at(rng.randrange(lo, hi + 1))])
    batch_times.append(took)
serial_times.sort(); batch_times.sort()
print(f"serial queries: {len(serial_times)}, states {states}")
print(f"  median {serial_times[len(serial_times)//2]*1000:.0f} ms, max {serial_times[-1]*1000:.0f} ms (target < 1000 ms)")
print(f"batch queries: {len(batch_times)}: median {batch_times[len(batch_times)//2]*1000:.0f} ms, max {batch_times[-1]*1000:.0f} ms")
took, j = run(["--serial", queries[0][0], "--at", meta["to"], "--no-index"])
print(f"one linear replay (--no-index) to the end: {took:.1f} s")
PY

echo "== audit_bench (Google Benchmark, engine::Replay through the index) =="
MIRRORCA_AUDIT_DATA="$dir/replay-$replay_events" "$build/bench/audit_bench" --benchmark_counters_tabular=true

python3 - "$dir/verify.json" "$verify_rate" <<'PY'
import json, sys
v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
rate = float(sys.argv[2])
mine = v["events"] / v["seconds"]
print()
print(f"openssl speed -multi 2 ed25519: {rate:.0f} verifies/s (2 cores)")
print(f"audit verify: {v['events']} events in {v['seconds']:.1f} s = {mine:.0f} events/s = "
      f"{mine / rate * 100:.0f} % of the 2-core verify rate (target >= 80 %); phases {v['phase_seconds']}")
PY
