#!/usr/bin/env bash
# End-to-end test of log key rotation (docs/event_log_format.md, "Key rotation"):
#   - the demo's factory issues and syncs; then `mirrorca log rotate-key`
#     rotates the factory's log key between two syncs (a logKeyRotated event
#     signed by the old key names the new one);
#   - HQ's cosigner key rotates too (`hq rotate-cosigner`): the factory learns
#     the new key from its delivery log and accepts only its cosignature;
#   - the factory issues again (events signed by the new key) and syncs: HQ
#     follows the chain of keys from the key it pinned at registration;
#   - `audit verify` of HQ's and the factory's stores, `audit check-proof` of
#     a proof made before the rotation and of proofs made after it (which
#     carry the rotation beside them), and tests/e2e/independent_verifier.py
#     (no mirrorca code) accept the rotated log;
#   - the unlucky operator: the old key restored from a backup is refused by
#     name (it was rotated out), and a proof without its rotation file fails.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log; do [[ -f "$l" ]] && { echo "--- $l"; tail -5 "$l"; }; done; exit 1; }
wait_for() {  # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never said '$2'"
}

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
FKEY="$(sed -n 's/^log_key = "\(factory[^"]*\)".*/\1/p' "$D/hq.toml")"
# HQ's cosigner key (its own key, set in HQ's log at init-root).
HKEY="$("$BIN" hq cosigner --config "$D/hq.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cosigner_key"])')"
[[ -n "$FKEY" && -n "$HKEY" ]] || fail "log keys not found in the configs"
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# --- A proof made before the rotation.
"$BIN" audit prove --data "$D/hq/data" --serial "$(serial_of "$D/certs/DEMO-0001.pem")" --out "$T/before.proof" \
  > "$T/p0.json" || fail "audit prove before: $(cat "$T/p0.json")"
[[ -e "$T/before.proof.keys" ]] && fail "a proof before any rotation came with a key rotations file"

# --- Rotate the factory's log key (the node is stopped).
cp "$D/factory/data/log_key.pem" "$T/old_log_key.pem"
"$BIN" log rotate-key --data "$D/factory/data" --reason "annual rotation" > "$T/rotate.json" \
  || fail "rotate-key: $(cat "$T/rotate.json")"
NEWKEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["new_key"])' "$T/rotate.json")"
[[ "$NEWKEY" != "$FKEY" && "$NEWKEY" == factory-f1.mirrorca.example/log+* ]] || fail "new key: $NEWKEY"
"$BIN" log keys --data "$D/factory/data" | python3 -c '
import json, sys
k = json.load(sys.stdin)["keys"]
assert len(k) == 2 and k[0]["from_seq"] == 0 and k[1]["key"] == sys.argv[1], k' "$NEWKEY" || fail "log keys"
cmp -s "$T/old_log_key.pem" "$D/factory/data/log_key.pem" && fail "the old key file is still in place"
"$BIN" log verify --data "$D/factory/data" | grep -q "^OK" || fail "log verify after the rotation"
echo "ok: log rotate-key: a logKeyRotated event signed by the old key; the new key signs from then on"

# --- HQ's cosigner key rotates too (HQ is stopped): a cosignerKeySet event in
# HQ's log, signed by HQ's log key, relayed to every factory at its next sync.
"$BIN" hq rotate-cosigner --config "$D/hq.toml" --reason "annual rotation" > "$T/cosigner.json" \
  || fail "rotate-cosigner: $(cat "$T/cosigner.json")"
NEWHKEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cosigner_key"])' "$T/cosigner.json")"
[[ "$NEWHKEY" != "$HKEY" && "$NEWHKEY" == hq.mirrorca.example/log/cosigner+* ]] || fail "new cosigner key: $NEWHKEY"
"$BIN" hq cosigner --config "$D/hq.toml" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["cosigner_key"] == sys.argv[1] and len(c["history"]) == 2, c' "$NEWHKEY" || fail "hq cosigner"
echo "ok: hq rotate-cosigner: the new cosigner key is set in HQ's log"

# HQ's log key also signs every factory's delivery log: its rotation is refused (not yet supported).
"$BIN" log rotate-key --data "$D/hq/data" > "$T/hq-rotate.out" 2>&1 && fail "HQ's log key was rotated"
grep -q "delivery log" "$T/hq-rotate.out" || fail "HQ's refusal does not say why: $(cat "$T/hq-rotate.out")"
"$BIN" log keys --data "$D/hq/data" | python3 -c 'import json,sys; assert len(json.load(sys.stdin)["keys"]) == 1' \
  || fail "the refused HQ rotation left a trace"

# --- The unlucky operator restores the old key: refused by name.
cp "$D/factory/data/log_key.pem" "$T/new_log_key.pem"
cp "$T/old_log_key.pem" "$D/factory/data/log_key.pem"
"$BIN" factory serve --config "$D/factory.toml" > "$T/old-key.log" 2>&1 && fail "factory serve ran with a rotated-out key"
grep -q "rotated out" "$T/old-key.log" || fail "the old key was not refused by name: $(cat "$T/old-key.log")"
cp "$T/new_log_key.pem" "$D/factory/data/log_key.pem"
echo "ok: a rotated-out key restored from a backup is refused by name"

# --- Issue again and sync: HQ follows the chain of keys.
"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
wait_for "$T/hq.log" serving_sync
"$BIN" factory serve --config "$D/factory.toml" > "$T/factory.log" 2>&1 &
PIDS+=($!)
wait_for "$T/factory.log" serving
mkdir -p "$T/csrs"
for i in 1 2 3; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=rot$i" \
    -out "$T/csrs/ROT-000$i.csr" 2>/dev/null
done
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csrs" --out "$T/certs" > "$T/enroll.json" \
  || fail "enroll after the rotation: $(cat "$T/enroll.json")"
grep -q '"issued":3' "$T/enroll.json" || fail "enroll: $(cat "$T/enroll.json")"
"$BIN" sync --config "$D/factory.toml" > "$T/sync.json" || fail "sync after the rotation: $(cat "$T/sync.json")"
grep -q '"ok":true' "$T/sync.json" || fail "sync: $(cat "$T/sync.json")"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
"$BIN" log keys --data "$D/hq/data" --log factory-f1.mirrorca.example/log | grep -q "$NEWKEY" \
  || fail "HQ's copy does not know the new key"
grep -q '"ok":true' "$T/sync.json" || fail "the factory did not accept the new cosigner's cosignature"
echo "ok: issuance signed by the new key; the sync after both rotations is accepted and cosigned by the new cosigner"

# --- audit verify, both stores.
for data in "$D/hq/data" "$D/factory/data"; do
  "$BIN" audit verify --data "$data" > "$T/v.json" || fail "audit verify $data: $(cat "$T/v.json")"
  grep -q '"ok":true' "$T/v.json" || fail "audit verify $data: $(cat "$T/v.json")"
done
echo "ok: audit verify accepts HQ's and the factory's stores across the rotation"

# --- Proofs: before (unchanged file), and after (old and new certificates), with the rotation beside them.
"$BIN" audit check-proof "$T/before.proof" --log-key "$FKEY" --cosigner-key "$HKEY" --cert "$D/certs/DEMO-0001.pem" \
  > "$T/c0.json" || fail "check-proof of the proof made before the rotation: $(cat "$T/c0.json")"
"$BIN" audit check-proof "$T/before.proof" --log-key "$FKEY" --cosigner-key "$NEWHKEY" --cert "$D/certs/DEMO-0001.pem" \
  > /dev/null && fail "a cosignature by the old cosigner verified with the new key"
NEWCERT="$(ls "$T/certs"/ROT-0001*.pem | head -1)"
for cert in "$D/certs/DEMO-0002.pem" "$NEWCERT"; do
  "$BIN" audit prove --data "$D/hq/data" --serial "$(serial_of "$cert")" --out "$T/after.proof" > "$T/p1.json" \
    || fail "audit prove after: $(cat "$T/p1.json")"
  grep -q '"key_rotations":1' "$T/p1.json" || fail "the proof does not carry the rotation: $(cat "$T/p1.json")"
  "$BIN" audit check-proof "$T/after.proof" --log-key "$FKEY" --cosigner-key "$NEWHKEY" --cert "$cert" > "$T/c1.json" \
    || fail "check-proof after the rotation ($cert): $(cat "$T/c1.json")"
  grep -q '"cosigned":true' "$T/c1.json" || fail "not cosigned by the new cosigner: $(cat "$T/c1.json")"
  "$BIN" audit check-proof "$T/after.proof" --log-key "$FKEY" --cosigner-key "$HKEY" --cert "$cert" > /dev/null \
    && fail "a proof cosigned after the rotation verified with the old cosigner key"
  grep -q '"key_rotations":1' "$T/c1.json" || fail "check-proof did not follow the rotation: $(cat "$T/c1.json")"
done
mv "$T/after.proof.keys" "$T/elsewhere.keys"
"$BIN" audit check-proof "$T/after.proof" --log-key "$FKEY" --cert "$NEWCERT" > "$T/c2.json" \
  && fail "a proof signed by the new key checked without its rotation"
"$BIN" audit check-proof "$T/after.proof" --log-key "$NEWKEY" --cert "$NEWCERT" > "$T/c3.json" \
  || fail "check-proof pinning the new key: $(cat "$T/c3.json")"
echo "ok: audit check-proof: proofs from before and after the rotation (the rotation travels in PROOF.keys)"

# --- The independent verifier (docs only, no mirrorca code) follows the chain of keys.
F="$D/factory/data"
"$BIN" log export --data "$F" > "$T/export.jsonl"
SIZE="$(wc -l < "$T/export.jsonl")"
"$BIN" log checkpoint --data "$F" > "$T/cp.txt"
"$BIN" log prove --data "$F" --index 1 --size "$SIZE" > "$T/proof.json"
# The consistency check from the same checkpoint (m = n) keeps the test to one signed size.
"$BIN" log consistency --data "$F" --from "$SIZE" --to "$SIZE" > "$T/cons.json" || fail "log consistency"
python3 - "$T/export.jsonl" <<'PY' || fail "no rotation event in the export"
import json, sys
kinds = [json.loads(l).get("kind") for l in open(sys.argv[1])]
assert "logKeyRotated" in kinds, kinds
PY
python3 "$HERE/independent_verifier.py" "$T/export.jsonl" "$T/cp.txt" "$FKEY" "$T/proof.json" \
  "$T/cons.json" "$T/cp.txt" > "$T/iv.out" 2>&1 || fail "independent verifier: $(cat "$T/iv.out")"
grep -q "1 key rotations" "$T/iv.out" || fail "the independent verifier did not follow the rotation: $(cat "$T/iv.out")"
# It refuses the log when pinned to a stranger's key.
python3 "$HERE/independent_verifier.py" "$T/export.jsonl" "$T/cp.txt" "$NEWKEY" "$T/proof.json" \
  "$T/cons.json" "$T/cp.txt" > /dev/null 2>&1 && fail "the independent verifier accepted the log pinned to the new key from seq 0"
echo "ok: tests/e2e/independent_verifier.py (no mirrorca code) follows the chain of keys"
echo "PASS rotation_test"
