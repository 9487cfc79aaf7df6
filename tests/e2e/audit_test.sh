#!/usr/bin/env bash
# End-to-end test of `mirrorca audit verify` on the stores `mirrorca demo`
# leaves: HQ's (its log, the factory copy with HQ's cosignatures, the
# certificate-status projection) and the factory's (its log, HQ's copy),
# also while `hq serve` runs; a missing store is an error (exit 2).
# `audit prove` and `audit check-proof` on a demo certificate.
# (A flipped byte naming its seq: audit/audit_verify_test.cc, 100k events.)
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
HQ_PID=""
cleanup() { [[ -n "$HQ_PID" ]] && kill -9 "$HQ_PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
check() {  # data-dir expected-logs
  "$BIN" audit verify --data "$1" > "$T/v.json" || fail "audit verify $1: $(cat "$T/v.json")"
  python3 - "$T/v.json" "$2" "$1" <<'PY' || fail "verdict of $1: $(cat "$T/v.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] is True and len(v["logs"]) == int(sys.argv[2]), v
assert all(l["events"] > 0 for l in v["logs"]), v
if sys.argv[3].endswith("hq/data"):
    assert v["projection"] == "checked" and v["projection_keys"] > 100, v
    factory = [l for l in v["logs"] if l["log"].startswith("factory")][0]
    assert factory["cosignatures"] >= 1, v
PY
}
check "$D/hq/data" 2
check "$D/factory/data" 2
echo "ok: audit verify of HQ's and the factory's stores"

"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
HQ_PID=$!
for _ in $(seq 100); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
check "$D/hq/data" 2
kill -TERM "$HQ_PID"; wait "$HQ_PID" || true; HQ_PID=""
echo "ok: audit verify beside a running hq serve"

# Replay: DEMO-0002 (revoked by the demo, keyCompromise) now, and before anything happened.
S2="$(openssl x509 -in "$D/certs/DEMO-0002.pem" -noout -serial | cut -d= -f2)"
"$BIN" audit replay --data "$D/hq/data" --at "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" --serial "$S2" \
  > "$T/r.json" || fail "audit replay: $(cat "$T/r.json")"
python3 - "$T/r.json" <<'PY' || fail "replay now: $(cat "$T/r.json")"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["certificate"]
assert c["state"] == "revoked" and c["revocation"]["reason"] == 1, r
assert c["issued"]["device_serial"] == "DEMO-0002" and c["issued"]["signed_by"].count("+") == 1, r
assert r["hq_cosigned_sizes"]["factory-f1.mirrorca.example/log"] == 100, r
PY
"$BIN" audit replay --data "$D/hq/data" --at 2020-01-01T00:00:00Z --serial "$S2" | grep -q '"state":"unknown"' \
  || fail "replay before the history"
"$BIN" audit replay --data "$D/hq/data" --at "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" --batch B1 \
  | grep -q '"issued":100' || fail "replay of batch B1"
echo "ok: audit replay (now, before the history, a batch)"

# The replay index: the same answers, from the index.
"$BIN" audit index --data "$D/hq/data" --every 16 > "$T/idx.json" || fail "audit index: $(cat "$T/idx.json")"
grep -q '"ok":true' "$T/idx.json" || fail "audit index: $(cat "$T/idx.json")"
"$BIN" audit replay --data "$D/hq/data" --at "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" --serial "$S2" \
  > "$T/r2.json" || fail "indexed replay: $(cat "$T/r2.json")"
python3 - "$T/r.json" "$T/r2.json" <<'PY' || fail "indexed replay differs: $(cat "$T/r2.json")"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b["replay"]["method"] == "index" and a["replay"]["method"] == "linear", (a["replay"], b["replay"])
assert a["certificate"] == b["certificate"] and a["hq_cosigned_sizes"] == b["hq_cosigned_sizes"], (a, b)
assert a["events_replayed"] == b["events_replayed"], (a, b)
PY
"$BIN" audit replay --data "$D/hq/data" --at 2020-01-01T00:00:00Z --serial "$S2" | grep -q '"state":"unknown"' \
  || fail "indexed replay before the history"
echo "ok: audit index, and the indexed replay answers as the linear one"

# An offline proof that DEMO-0007 was issued: written from HQ's store (the
# factory copy, cosigned by HQ), checked with nothing but keys and the file.
FKEY="$(sed -n 's/^log_key = "\(factory[^"]*\)".*/\1/p' "$D/hq.toml")"
# HQ's cosigner key (its own key, set in HQ's log at init-root).
HKEY="$("$BIN" hq cosigner --config "$D/hq.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cosigner_key"])')"
[[ -n "$FKEY" && -n "$HKEY" ]] || fail "log keys not found in the configs"
S7="$(openssl x509 -in "$D/certs/DEMO-0007.pem" -noout -serial | cut -d= -f2)"
openssl x509 -in "$D/certs/DEMO-0007.pem" -outform DER -out "$T/dev7.der"
"$BIN" audit prove --data "$D/hq/data" --serial "$S7" --out "$T/dev7.tlog-proof" > "$T/p.json" \
  || fail "audit prove: $(cat "$T/p.json")"
head -1 "$T/dev7.tlog-proof" | grep -qx "c2sp.org/tlog-proof@v1" || fail "not a tlog-proof"
"$BIN" audit check-proof "$T/dev7.tlog-proof" --log-key "$FKEY" --cosigner-key "$HKEY" \
  --cert "$D/certs/DEMO-0007.pem" > "$T/c.json" || fail "check-proof: $(cat "$T/c.json")"
grep -q '"cosigned":true' "$T/c.json" || fail "not cosigned: $(cat "$T/c.json")"
"$BIN" audit check-proof "$T/dev7.tlog-proof" --log-key "$FKEY" --cert "$T/dev7.der" > /dev/null \
  || fail "check-proof (DER certificate, no cosigner)"
"$BIN" audit check-proof "$T/dev7.tlog-proof" --log-key "$FKEY" --cosigner-key "$HKEY" \
  --cert "$D/certs/DEMO-0008.pem" > /dev/null && fail "a proof for another certificate accepted"
python3 - "$T/dev7.tlog-proof" "$T/flipped.tlog-proof" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 3] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
set +e
"$BIN" audit check-proof "$T/flipped.tlog-proof" --log-key "$FKEY" --cosigner-key "$HKEY" \
  --cert "$D/certs/DEMO-0007.pem" > "$T/c.json"
rc=$?
set -e
(( rc == 1 )) || fail "a proof with one changed byte: exit $rc: $(cat "$T/c.json")"
# A third party's check, from the docs alone (Python + openssl, no mirrorca code).
HERE="$(cd "$(dirname "$0")" && pwd)"
python3 "$HERE/independent_proof_check.py" "$T/dev7.tlog-proof" "$FKEY" "$HKEY" "$T/dev7.der" > "$T/i.out" \
  || fail "independent proof check: $(cat "$T/i.out")"
python3 "$HERE/independent_proof_check.py" "$T/flipped.tlog-proof" "$FKEY" "$HKEY" "$T/dev7.der" \
  > /dev/null 2>&1 && fail "independent check accepted a changed proof"
echo "ok: audit prove / check-proof (cosigned, offline; a changed byte and another certificate refused; independent check)"

set +e
"$BIN" audit verify --data "$T/nothing" > "$T/v.json" 2>&1
rc=$?
set -e
(( rc == 2 )) || fail "missing store: exit $rc: $(cat "$T/v.json")"
echo "PASS audit e2e"
