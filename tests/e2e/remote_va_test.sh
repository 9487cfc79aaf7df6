#!/usr/bin/env bash
# End-to-end test of a validation authority on another machine
# (va/va_node.h, docs/validation.md "A VA on another machine"):
#   - `pki va-init` makes the VA's OCSP responder key and sync key where it
#     runs; `pki certify-va` (with hq serve running) admits it; `pki va-join`
#     writes va.toml. HQ never holds the responder key: it keeps the CSR and
#     certifies the key under the factory CA, recording that certificate in
#     its log (certificateIssued, profile ocsp-responder);
#   - `mirrorca ocsp serve --config va.toml` follows HQ over the mTLS sync
#     channel (HQ's log and the factory's, verified), projects status itself
#     and answers OCSP that `openssl ocsp` verifies, signed by its own key;
#     a revocation at HQ reaches its answers within seconds; after a restart
#     it answers from its own store while HQ is down;
#   - least privilege: the VA's key cannot sync as a factory, a factory's key
#     cannot follow as a VA, and the VA holds no CA or log key.
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
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
ROOT="$D/hq/root/ca.pem"
ISSUER="$D/factory/ca/ca.pem"
VA_PORT="$(python3 "$HERE/free_port.py")"
"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
HQ_PID=$!
PIDS+=("$HQ_PID")
wait_for "$T/hq.log" serving_sync

# --- The ceremony: keys made at the VA, HQ admits it while running.
V="$T/va"
"$BIN" pki va-init --dir "$V" --name va1 --listen "127.0.0.1:$VA_PORT" > "$T/init.json" \
  || fail "va-init: $(cat "$T/init.json")"
[[ "$(stat -c %a "$V/responder.key")" == 600 ]] || fail "the responder key is not 0600"
"$BIN" pki certify-va --config "$D/hq.toml" --request "$V/va1.req" --out "$T/va1.grant" > "$T/certify.json" \
  || fail "certify-va: $(cat "$T/certify.json")"
grep -q '"taken_by_running_hq":true' "$T/certify.json" || fail "the running HQ did not take the VA: $(cat "$T/certify.json")"
"$BIN" pki va-join --dir "$V" "$T/va1.grant" > "$T/join.json" || fail "va-join: $(cat "$T/join.json")"
RESP_SPKI="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["responder_spki_sha256"])' "$T/certify.json")"
# HQ holds the CSR, never the key; the VA holds no CA or log key.
[[ -z "$(find "$D" -name responder.key)" ]] || fail "a responder key is at HQ"
grep -rl "PRIVATE KEY" "$V" | grep -v -e "/responder.key$" -e "/tls/va-sync.key$" > "$T/keys.txt" \
  && fail "the VA holds other private keys: $(cat "$T/keys.txt")"
echo "ok: va-init → certify-va → va-join; the responder key stays at the VA, HQ keeps its CSR"

# --- The VA follows HQ and answers OCSP with its own key.
VA_OP_PORT="$(python3 "$HERE/free_port.py")"
printf '\n[operator]\nlisten = "127.0.0.1:%s"\n' "$VA_OP_PORT" >> "$V/va.toml"
"$BIN" ocsp serve --config "$V/va.toml" > "$T/va.log" 2>&1 &
VA_PID=$!
PIDS+=("$VA_PID")
wait_for "$T/va.log" serving_ocsp
VA="http://127.0.0.1:$VA_PORT"
ocsp_va() {  # expected-substring cert...
  local expect="$1"; shift
  local args=()
  for c in "$@"; do args+=(-cert "$c"); done
  for _ in $(seq 100); do  # HQ certifies the key at its next maintenance; the VA picks it up at its next follow
    if openssl ocsp -issuer "$ISSUER" "${args[@]}" -url "$VA/ocsp" -CAfile "$ROOT" -respout "$T/resp.der" \
         > "$T/ocsp.out" 2>&1 && grep -q "Response verify OK" "$T/ocsp.out" && grep -q "$expect" "$T/ocsp.out"; then
      return 0
    fi
    sleep 0.1
  done
  fail "VA OCSP never said '$expect': $(cat "$T/ocsp.out")"
}
ocsp_va "DEMO-0001.pem: good" "$D/certs/DEMO-0001.pem" "$D/certs/DEMO-0002.pem"
grep -q "DEMO-0002.pem: revoked" "$T/ocsp.out" || fail "the demo's revocation is not in the VA's answer: $(cat "$T/ocsp.out")"
# Signed by the VA's own key, certified by the factory CA.
openssl ocsp -respin "$T/resp.der" -resp_text -noverify 2>/dev/null \
  | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' > "$T/signer.pem"
signer_spki="$(openssl x509 -in "$T/signer.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
[[ "$signer_spki" == "$RESP_SPKI" ]] || fail "the answer is not signed by the VA's key ($signer_spki)"
openssl verify -CAfile "$ROOT" -untrusted "$ISSUER" -purpose ocsphelper "$T/signer.pem" > /dev/null 2>&1 \
  || openssl verify -CAfile "$ROOT" -untrusted "$ISSUER" "$T/signer.pem" > /dev/null || fail "the responder certificate does not chain"
curl -s -o "$T/va-ready.json" -w '%{http_code}' "http://127.0.0.1:$VA_OP_PORT/readyz" | grep -q 200 \
  || fail "the VA is not ready: $(cat "$T/va-ready.json")"
grep -q '"name":"following-hq","ok":true' "$T/va-ready.json" || fail "VA readiness: $(cat "$T/va-ready.json")"
curl -s "http://127.0.0.1:$VA_OP_PORT/metrics" > "$T/va.prom"
grep -q '^mirrorca_ocsp_responses_total{status="good"} [1-9]' "$T/va.prom" || fail "VA metrics: $(grep ocsp_responses "$T/va.prom")"
grep -q '^mirrorca_va_follow_age_seconds ' "$T/va.prom" || fail "VA follow age missing"
echo "ok: ocsp serve --config va.toml follows HQ and answers OCSP signed by its own key (openssl ocsp verifies); its /readyz and /metrics say so"

# --- A revocation at HQ reaches the VA within seconds.
ocsp_va "DEMO-0004.pem: good" "$D/certs/DEMO-0004.pem"
S4="$(serial_of "$D/certs/DEMO-0004.pem")"
"$BIN" revoke --config "$D/hq.toml" --serial "$S4" --reason keyCompromise > "$T/r.json" || fail "revoke: $(cat "$T/r.json")"
start=$(date +%s%N)
ocsp_va "DEMO-0004.pem: revoked" "$D/certs/DEMO-0004.pem"
echo "ok: a revocation at HQ is in the VA's answers after $(( ($(date +%s%N) - start) / 1000000 )) ms"

# --- Least privilege on the sync port.
mkdir -p "$T/rogue"
# The VA's key posing as the factory.
sed -e "s#^tls_cert = .*factory-sync.pem\"#tls_cert = \"$V/tls/va-sync.pem\"#" \
    -e "s#^tls_key = .*factory-sync.key\"#tls_key = \"$V/tls/va-sync.key\"#" "$D/factory.toml" > "$T/rogue/factory.toml"
sed -i "s#\"factory/#\"$D/factory/#g" "$T/rogue/factory.toml"
grep -q "va-sync.key" "$T/rogue/factory.toml" || fail "test setup: the rogue factory.toml does not use the VA key"
"$BIN" sync --config "$T/rogue/factory.toml" > "$T/rogue1.out" 2>&1 && fail "the VA's key synced as the factory"
grep -q "mirror" "$T/rogue1.out" || fail "the refusal does not say the key is a mirror's: $(cat "$T/rogue1.out")"
# The factory's key posing as a VA.
sed -e "s#^tls_cert = .*va-sync.pem\"#tls_cert = \"$D/factory/tls/factory-sync.pem\"#" \
    -e "s#^tls_key = .*va-sync.key\"#tls_key = \"$D/factory/tls/factory-sync.key\"#" \
    -e "s#^data_dir = .*#data_dir = \"$T/rogue/data\"#" \
    -e "s#^listen = .*#listen = \"127.0.0.1:0\"#" "$V/va.toml" > "$T/rogue/va.toml"
sed -i "s#\"responder.key\"#\"$V/responder.key\"#; s#\"tls/#\"$V/tls/#g" "$T/rogue/va.toml"
"$BIN" ocsp serve --config "$T/rogue/va.toml" > "$T/rogue2.log" 2>&1 &
ROGUE=$!
PIDS+=("$ROGUE")
wait_for "$T/rogue2.log" "not a mirror"
kill "$ROGUE" 2>/dev/null || true
echo "ok: the VA's key cannot sync as a factory; a factory's key cannot follow as a VA"

# --- The VA restarts while HQ is down: it answers from its own store.
kill -TERM "$VA_PID"; wait "$VA_PID" 2>/dev/null || true
kill -TERM "$HQ_PID"; wait "$HQ_PID" 2>/dev/null || true
"$BIN" ocsp serve --config "$V/va.toml" > "$T/va2.log" 2>&1 &
PIDS+=($!)
wait_for "$T/va2.log" serving_ocsp
grep -q '"issuers":1' "$T/va2.log" || fail "the restarted VA does not serve the CA: $(head -3 "$T/va2.log")"
ocsp_va "DEMO-0004.pem: revoked" "$D/certs/DEMO-0004.pem" "$D/certs/DEMO-0001.pem"
grep -q "DEMO-0001.pem: good" "$T/ocsp.out" || fail "$(cat "$T/ocsp.out")"
echo "ok: after a restart, with HQ down, the VA answers from its own copy"

# --- HQ's log records the certificate it issued for the VA's key; the store audits clean.
"$BIN" audit prove --data "$D/hq/data" --serial "$(serial_of "$T/signer.pem")" --out "$T/responder.proof" > "$T/prove.json" \
  || fail "no inclusion proof of the VA's responder certificate in HQ's log: $(cat "$T/prove.json")"
HQKEY="$(sed -n 's/^log_key = "\(hq[^"]*\)".*/\1/p' "$V/va.toml")"
"$BIN" audit check-proof "$T/responder.proof" --log-key "$HQKEY" --cert "$T/signer.pem" > "$T/check.json" \
  || fail "check-proof of the responder certificate: $(cat "$T/check.json")"
"$BIN" audit verify --data "$D/hq/data" > "$T/v.json" || fail "audit verify: $(cat "$T/v.json")"
echo "ok: the VA's responder certificate is an event in HQ's log; audit verify accepts HQ's store"
echo "PASS remote_va_test"
