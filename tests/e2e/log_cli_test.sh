#!/usr/bin/env bash
# End-to-end test of the `mirrorca log` CLI: init, append, verify, checkpoint,
# pubkey, export, prove, consistency — checked by an independent verifier
# (tests/e2e/independent_verifier.py, no mirrorca code) and by tampering with
# the store through the CLI's own failure path.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" log init --data "$T/f" --origin factory.example/log | grep -q "initialized log factory.example/log" \
  || fail "init output"
[[ "$(stat -c %a "$T/f/log_key.pem")" == 600 ]] || fail "key file mode"
"$BIN" log init --data "$T/f" --origin again 2>/dev/null && fail "second init must fail"

"$BIN" log append-test --data "$T/f" --count 300 --batch 7 --threads 3 | grep -q "appended 300 events" \
  || fail "append-test"
"$BIN" log checkpoint --data "$T/f" > "$T/old_cp.txt"
head -2 "$T/old_cp.txt" | tail -1 | grep -qx 300 || fail "checkpoint size line"
"$BIN" log append-test --data "$T/f" --count 213 >/dev/null

out="$("$BIN" log verify --data "$T/f")" || fail "verify of a good log: $out"
[[ "$(echo "$out" | wc -l)" == 1 ]] || fail "verify must print one line"
echo "$out" | grep -q "^OK log factory.example/log: 513 events" || fail "verify summary: $out"

"$BIN" log checkpoint --data "$T/f" > "$T/cp.txt"
"$BIN" log pubkey --data "$T/f" > "$T/vkey"
grep -qE '^factory.example/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$' "$T/vkey" || fail "pubkey format"
"$BIN" log export --data "$T/f" > "$T/export.jsonl"
[[ "$(wc -l < "$T/export.jsonl")" == 513 ]] || fail "export line count"
[[ "$("$BIN" log export --data "$T/f" --from 10 --to 20 | wc -l)" == 10 ]] || fail "export range"
"$BIN" log export --data "$T/f" --from 10 --to 11 | grep -q '^{"seq":10,"signed_event":"' || fail "export json"
"$BIN" log prove --data "$T/f" --index 137 --size 500 > "$T/proof.json"
grep -q '^{"leaf_index":137,"tree_size":500,"leaf_hash":"[0-9a-f]\{64\}","hashes":\["' "$T/proof.json" \
  || fail "prove json"
"$BIN" log consistency --data "$T/f" --from 300 --to 513 > "$T/cons.json"
grep -q '^{"first":300,"second":513,"hashes":\["' "$T/cons.json" || fail "consistency json"

python3 "$HERE/independent_verifier.py" "$T/export.jsonl" "$T/cp.txt" "$(cat "$T/vkey")" \
  "$T/proof.json" "$T/cons.json" "$T/old_cp.txt" || fail "independent verifier"

# A proof for a size beyond the log, bad arguments: clear errors, exit 2.
"$BIN" log prove --data "$T/f" --index 5 --size 9999 2>"$T/err" && fail "prove beyond size"
grep -q "OUT_OF_RANGE" "$T/err" || fail "prove error message"
"$BIN" log verify --data "$T/nowhere" 2>/dev/null && fail "verify of a missing store"

# A key file made world-readable is refused.
chmod 644 "$T/f/log_key.pem"
"$BIN" log append-test --data "$T/f" --count 1 2>"$T/err" && fail "loose key mode accepted"
grep -q "PERMISSION_DENIED" "$T/err" || fail "loose key message"
chmod 600 "$T/f/log_key.pem"

# The checkpoint signed before verifies as trusted; a forged one is refused.
"$BIN" log verify --data "$T/f" --trusted-checkpoint "$T/old_cp.txt" >/dev/null || fail "trusted checkpoint"
sed 's/^300$/301/' "$T/old_cp.txt" > "$T/forged_cp.txt"
"$BIN" log verify --data "$T/f" --trusted-checkpoint "$T/forged_cp.txt" >/dev/null && fail "forged checkpoint"

# The README's main job.
"$BIN" demo --log --dir "$T/demo" --events 3000 > "$T/demo.txt" || fail "demo exit status"
grep -q "^    OK log factory.demo/log: 3000 events" "$T/demo.txt" || fail "demo verify line"
grep -q "FAILED log factory.demo/log: seq 1234:" "$T/demo.txt" || fail "demo tamper line"

echo "e2e log CLI: OK"
