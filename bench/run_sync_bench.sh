#!/usr/bin/env bash
# bench/run_sync_bench.sh [BUILD_DIR] [EVENTS] — the replication figures of
# the README, end to end with the real binary on loopback mTLS:
#   - `openssl speed ed25519` in the same run (the 2-core verify ceiling);
#   - EVENTS (default 1,000,000) factory events synced to a fresh HQ, every
#     signature verified: events/s and the ratio to 2 x openssl verify;
#   - wire bytes per event vs the stored size of an event;
#   - HQ resident memory sampled during the sync (flat = streaming);
#   - an idle sync (nothing new): the job's duration and the process's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
events="${2:-1000000}"
ninja -C "$build" cli/mirrorca >/dev/null
BIN="$PWD/$build/cli/mirrorca"
T="$(mktemp -d)"
HQ_PID=""
trap '[[ -n "$HQ_PID" ]] && kill "$HQ_PID" 2>/dev/null; rm -rf "$T"' EXIT

echo "== openssl speed ed25519 (1 core) =="
openssl speed -seconds 5 ed25519 2>/dev/null | tee "$T/openssl.txt" | tail -2
verify="$(awk '/Ed25519/ {print $NF}' "$T/openssl.txt")"

"$BIN" pki quickstart --dir "$T/site" > /dev/null
echo "== $events factory events =="
"$BIN" log append-test --data "$T/site/factory/data" --count "$events" --batch 1000 --threads 2
# Stored size of an event: mean of the first 10,000 signed events.
stored="$("$BIN" log export --data "$T/site/factory/data" --from 0 --to 10000 | python3 -c '
import sys, json, base64
sizes = [len(base64.b64decode(json.loads(l)["signed_event"])) for l in sys.stdin]
print(sum(sizes) / len(sizes))')"

"$BIN" hq serve --config "$T/site/hq.toml" > "$T/hq.log" 2>&1 &
HQ_PID=$!
for _ in $(seq 100); do grep -q serving_sync "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
# Sample HQ's RSS every second while the sync runs.
( while kill -0 "$HQ_PID" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$HQ_PID/status" 2>/dev/null; sleep 1
  done > "$T/rss.txt" ) &
SAMPLER=$!
echo "== sync =="
"$BIN" sync --config "$T/site/factory.toml" --deadline 3600 | tee "$T/sync.json"
echo "== idle sync =="
start_ns=$(date +%s%N)
"$BIN" sync --config "$T/site/factory.toml" | tee "$T/idle.json"
idle_wall_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$HQ_PID/status")"
kill "$HQ_PID"; wait "$HQ_PID" 2>/dev/null || true; HQ_PID=""
kill "$SAMPLER" 2>/dev/null || true
python3 - "$T/sync.json" "$T/idle.json" "$T/rss.txt" "$verify" "$stored" "$events" "$hwm" "$idle_wall_ms" <<'PY'
import json, sys
sync = json.load(open(sys.argv[1]))
idle = json.load(open(sys.argv[2]))
rss = [int(x) / 1024 for x in open(sys.argv[3]).read().split()]
verify, stored, n = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
hwm, idle_wall = int(sys.argv[7]) / 1024, int(sys.argv[8])
secs = sync["duration_ms"] / 1000
rate = sync["events_sent"] / secs
wire = sync["bytes_sent"] / n
print()
print(f"openssl speed ed25519 verify: {verify:.0f}/s per core, 2 cores {2 * verify:.0f}/s")
print(f"sync of {n} events: {secs:.1f} s = {rate:.0f} events/s, every signature verified "
      f"= {rate / (2 * verify) * 100:.0f} % of 2 x openssl verify (goal >= 80 %; target >= 25000/s)")
print(f"wire bytes per event: {wire:.1f} vs {stored:.1f} stored = {wire / stored:.2f} x (target <= 1.1)")
q = [rss[int(len(rss) * f)] for f in (0.1, 0.25, 0.5, 0.75, 0.95)] if rss else []
print("HQ RSS during the sync (10/25/50/75/95 %): " + " / ".join(f"{x:.0f}" for x in q) +
      f" MiB; peak {hwm:.0f} MiB")
print(f"idle sync: job {idle['duration_ms']} ms, process wall {idle_wall} ms (target < 200 ms); "
      f"events sent {idle['events_sent']}")
PY
