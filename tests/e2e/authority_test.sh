#!/usr/bin/env bash
# End-to-end test of the trust table with the real binaries: after
# `mirrorca demo`, the factory's own key signs events only HQ may say (a
# revocation of one of its devices, a CRL number far ahead) into the
# factory's log. Then:
#   - `mirrorca sync` is refused (exit 3, "authority"), HQ stores nothing of it
#     and alerts; `audit verify` of HQ's store still passes;
#   - the same log carried as a bundle file is refused by `bundle import`;
#   - `openssl ocsp` still answers "good" for the device and the CRL number
#     HQ publishes next is the next one, not the factory's;
#   - `audit verify` of the factory's own store names the seq and the rule.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
HQ_PID=""
cleanup() {
  [[ -n "$HQ_PID" ]] && kill -9 "$HQ_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -20 "$T/demo.txt")"
D="$T/d"
DEV="$D/certs/DEMO-0050.pem"
SERIAL="$(openssl x509 -in "$DEV" -noout -serial | cut -d= -f2)"
CAID="$(openssl x509 -in "$D/factory/ca/ca.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
FSIZE_BEFORE="$("$BIN" log verify --data "$D/factory/data" | sed -n 's/.*: \([0-9]*\) events.*/\1/p')"

# The factory's own key signs what only HQ may say.
"$BIN" log append-test --data "$D/factory/data" --count 1 --kind revocation --ca-id "$CAID" --serial "$SERIAL" > /dev/null \
  || fail "append a crafted revocation"
"$BIN" log append-test --data "$D/factory/data" --count 1 --kind crl-number --ca-id "$CAID" > /dev/null \
  || fail "append a crafted CRL number"
"$BIN" log append-test --data "$D/factory/data" --count 5 > /dev/null  # and ordinary events after them
"$BIN" log verify --data "$D/factory/data" > /dev/null || fail "the crafted events are validly signed"

"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
HQ_PID=$!
for _ in $(seq 100); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
grep -q serving_validation "$T/hq.log" || fail "hq did not start: $(cat "$T/hq.log")"
VA="http://$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
COPY="factory-f1.mirrorca.example/log"
copy_size() { "$BIN" log verify --data "$D/hq/data" --log "$COPY" 2>/dev/null | sed -n 's/.*: \([0-9]*\) events.*/\1/p'; }
COPY_BEFORE="$(copy_size || true)"

# 1. The sync is refused, nothing of it stored.
set +e
"$BIN" sync --config "$D/factory.toml" --deadline 20 > "$T/sync.json" 2>&1
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "sync exit $rc (want 3): $(cat "$T/sync.json")"
grep -q '"refused":"authority"' "$T/sync.json" || fail "sync not refused for authority: $(cat "$T/sync.json")"
grep -q '"code":"authority"' "$T/hq.log" || fail "HQ did not alert: $(cat "$T/hq.log")"
grep -q "kind-not-owned" "$T/hq.log" || fail "the alert does not name the rule: $(cat "$T/hq.log")"
echo "ok: sync refused ($(grep -o '"error":"[^"]*' "$T/sync.json" | head -c 160)…)"

# 2. The same log as a bundle: refused too.
"$BIN" bundle export --config "$D/factory.toml" --out "$T/f.bundle" > /dev/null || fail "bundle export"
set +e
"$BIN" bundle import --config "$D/hq.toml" "$T/f.bundle" > "$T/imp.json" 2>&1
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "bundle import exit $rc (want 3): $(cat "$T/imp.json")"
grep -q "authority" "$T/imp.json" || fail "bundle not refused for authority: $(cat "$T/imp.json")"
echo "ok: bundle import refused"

# 3. Nothing changed at HQ: the copy, OCSP, the next CRL number.
[[ "$(copy_size || true)" == "$COPY_BEFORE" ]] || fail "HQ's copy changed: $COPY_BEFORE -> $(copy_size)"
openssl ocsp -issuer "$D/factory/ca/ca.pem" -cert "$DEV" -url "$VA/ocsp" -CAfile "$D/hq/root/ca.pem" \
  > "$T/ocsp.txt" 2>&1 || fail "openssl ocsp: $(cat "$T/ocsp.txt")"
grep -q "DEMO-0050.pem: good" "$T/ocsp.txt" || fail "OCSP answer changed: $(cat "$T/ocsp.txt")"
"$BIN" crl generate --config "$D/hq.toml" --ca factory-f1 --out "$T/next.crl" > "$T/crl.json" || fail "crl generate"
python3 - "$T/crl.json" <<'PY'
import json, sys
n = json.load(open(sys.argv[1]))["crls"][0]["number"]
assert n < 1000, f"the CRL number followed the factory's claim: {n}"
PY
"$BIN" audit verify --data "$D/hq/data" > "$T/hq-audit.json" || fail "audit verify of HQ: $(cat "$T/hq-audit.json")"
echo "ok: OCSP still good, CRL numbers HQ's own, HQ's store verifies"

# 4. The factory's own store: audit verify names the event and the rule.
set +e
"$BIN" audit verify --data "$D/factory/data" > "$T/f-audit.json" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "audit verify of the factory exit $rc (want 1): $(cat "$T/f-audit.json")"
python3 - "$T/f-audit.json" "$FSIZE_BEFORE" <<'PY'
import json, sys
v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert v["ok"] is False and v["bad_log"] == "factory-f1.mirrorca.example/log", v
assert v["bad_seq"] == int(sys.argv[2]), (v, sys.argv[2])
assert "kind-not-owned" in v["reason"], v
PY
echo "ok: audit verify names seq $FSIZE_BEFORE of the factory log: kind-not-owned"
