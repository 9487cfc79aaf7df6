#!/usr/bin/env bash
# End-to-end test of HQ's validation authority with real clients: the main
# job `mirrorca demo` (which itself checks OCSP with `openssl ocsp`), then
# against `mirrorca hq serve`: `openssl ocsp` (good, revoked, hold and
# release, never issued, unknown issuer, nonce, POST) and an RFC 5019 GET
# with curl, GnuTLS `ocsptool`, garbage → malformedRequest, `openssl verify
# -crl_check` with the full CRL and with a delta (-use_deltas), and CRL
# numbers that keep growing across a restart.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
HQ_PID=""
OCSP_PID=""
cleanup() {
  [[ -n "$HQ_PID" ]] && kill -9 "$HQ_PID" 2>/dev/null || true
  [[ -n "$OCSP_PID" ]] && kill -9 "$OCSP_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- The main job. ---
start=$(date +%s)
"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -20 "$T/demo.txt")"
(( $(date +%s) - start < 60 )) || fail "demo took more than a minute"
grep -q "DEMO-0001.pem: good" "$T/demo.txt" || fail "demo: no good answer"
grep -q "0x5EEDC0FFEE0000000000000000000001: revoked" "$T/demo.txt" || fail "demo: never-issued"
echo "ok: mirrorca demo ($(( $(date +%s) - start )) s)"

D="$T/d"
start_hq() {
  rm -f "$T/hq.log"
  "$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
  HQ_PID=$!
  for _ in $(seq 100); do grep -q serving_validation "$T/hq.log" 2>/dev/null && return 0; sleep 0.05; done
  fail "hq did not start: $(cat "$T/hq.log")"
}
stop_hq() { kill -TERM "$HQ_PID"; wait "$HQ_PID" || true; HQ_PID=""; }
start_hq
VA="http://$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
ISSUER="$D/factory/ca/ca.pem"
ROOT="$D/hq/root/ca.pem"
ocsp() {  # expected-substring openssl-ocsp-args...
  local expect="$1"; shift
  openssl ocsp -issuer "$ISSUER" -url "$VA/ocsp" -CAfile "$ROOT" "$@" > "$T/ocsp.out" 2>&1 \
    || fail "openssl ocsp $*: $(cat "$T/ocsp.out")"
  grep -q "Response verify OK" "$T/ocsp.out" || fail "response not verified: $(cat "$T/ocsp.out")"
  grep -q "$expect" "$T/ocsp.out" || fail "expected '$expect': $(cat "$T/ocsp.out")"
}
ocsp ": good" -cert "$D/certs/DEMO-0010.pem"                     # with a nonce (openssl's default)
grep -q "WARNING: no nonce" "$T/ocsp.out" && fail "nonce not echoed"
ocsp ": good" -no_nonce -sha256 -cert "$D/certs/DEMO-0010.pem"   # SHA-256 CertID, pre-signed
ocsp "Reason: keyCompromise" -cert "$D/certs/DEMO-0002.pem"
ocsp ": revoked" -serial 0x0102030405060708090A0B0C0D0E0F10       # never issued
# Several CertIDs in one request.
ocsp "DEMO-0011.pem: good" -cert "$D/certs/DEMO-0011.pem" -cert "$D/certs/DEMO-0002.pem"
grep -q "DEMO-0002.pem: revoked" "$T/ocsp.out" || fail "multi CertID: $(cat "$T/ocsp.out")"
# Hold, then release: revoked (certificateHold), then good again.
S12="$(openssl x509 -in "$D/certs/DEMO-0012.pem" -noout -serial | cut -d= -f2)"
"$BIN" revoke --config "$D/hq.toml" --serial "$S12" --hold > /dev/null || fail "hold"
ocsp "Reason: certificateHold" -cert "$D/certs/DEMO-0012.pem"
"$BIN" revoke --config "$D/hq.toml" --serial "$S12" --release > /dev/null || fail "release"
ocsp ": good" -cert "$D/certs/DEMO-0012.pem"
# Refusals: a serial no log issued; releasing what is not on hold.
"$BIN" revoke --config "$D/hq.toml" --serial 0102030405 --reason keyCompromise > "$T/r.json" \
  && fail "revoked a never-issued serial"
grep -q "never issued" "$T/r.json" || fail "$(cat "$T/r.json")"
S10="$(openssl x509 -in "$D/certs/DEMO-0010.pem" -noout -serial | cut -d= -f2)"
"$BIN" revoke --config "$D/hq.toml" --serial "$S10" --release > "$T/r.json" && fail "released a good cert"
# A recall of part of a batch from a serial file (relative path; the running node reads it):
# one unknown serial refuses the list, then the list revokes each, and OCSP says so within 2 s.
SR1="$(openssl x509 -in "$D/certs/DEMO-0017.pem" -noout -serial | cut -d= -f2)"
SR2="$(openssl x509 -in "$D/certs/DEMO-0018.pem" -noout -serial | cut -d= -f2)"
printf '# recall\n%s\n0102030405\n' "$SR1" > "$T/recall-bad.txt"
(cd "$T" && "$BIN" revoke --config "$D/hq.toml" --serial-file recall-bad.txt --reason superseded > "$T/r.json") \
  && fail "a list with a never-issued serial was revoked"
ocsp ": good" -cert "$D/certs/DEMO-0017.pem"
printf '# recall\nserial=%s\n%s\n' "$SR1" "$SR2" > "$T/recall.txt"
start_ms=$(date +%s%3N)
(cd "$T" && "$BIN" revoke --config "$D/hq.toml" --serial-file recall.txt --reason superseded > "$T/r.json") \
  || fail "serial file: $(cat "$T/r.json")"
grep -q '"revoked":2' "$T/r.json" || fail "serial file: $(cat "$T/r.json")"
ocsp "Reason: superseded" -cert "$D/certs/DEMO-0018.pem"
ocsp "Reason: superseded" -cert "$D/certs/DEMO-0017.pem"
elapsed=$(( $(date +%s%3N) - start_ms ))
[[ $elapsed -lt 2000 ]] || fail "the recall took $elapsed ms to reach OCSP"
# Unknown issuer: a certificate of another CA (the TLS CA).
openssl ocsp -issuer "$D/ra/ca.pem" -cert "$D/ra/ra-line1.pem" -url "$VA/ocsp" -CAfile "$ROOT" \
  -VAfile "$D/hq/factories/F1/ca/ocsp-responder.pem" > "$T/ocsp.out" 2>&1 || true
grep -q "ra-line1.pem: unknown" "$T/ocsp.out" || fail "unknown issuer: $(cat "$T/ocsp.out")"
# RFC 5019 GET (base64, URL-encoded) with curl; caching headers.
openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-0002.pem" -no_nonce -reqout "$T/req.der" \
  -url "$VA/ocsp" > /dev/null 2>&1 || true
enc="$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')"
curl -sS -D "$T/headers" -o "$T/resp.der" "$VA/ocsp/$enc"
grep -qi "^cache-control: max-age=" "$T/headers" || fail "no Cache-Control: $(cat "$T/headers")"
grep -qi "^etag:" "$T/headers" && grep -qi "^last-modified:" "$T/headers" && grep -qi "^expires:" "$T/headers" \
  || fail "caching headers: $(cat "$T/headers")"
openssl ocsp -respin "$T/resp.der" -issuer "$ISSUER" -cert "$D/certs/DEMO-0002.pem" -CAfile "$ROOT" \
  > "$T/get.out" 2>&1 || fail "GET response: $(cat "$T/get.out")"
grep -q "DEMO-0002.pem: revoked" "$T/get.out" || fail "GET: $(cat "$T/get.out")"
# Garbage: malformedRequest.
curl -sS -o "$T/bad.der" --data-binary "garbage" -H "Content-Type: application/ocsp-request" "$VA/ocsp"
openssl ocsp -respin "$T/bad.der" -resp_text > "$T/bad.out" 2>&1 || true
grep -qi "malformedrequest" "$T/bad.out" || fail "garbage not malformedRequest: $(cat "$T/bad.out")"
# GnuTLS ocsptool (trusting the issuing CA, which signed the delegated responder).
ocsptool --ask="$VA/ocsp" --load-issuer="$ISSUER" --load-cert="$D/certs/DEMO-0002.pem" \
  --load-trust="$ISSUER" > "$T/gnutls.out" 2>&1 || true
grep -q "Certificate Status: revoked" "$T/gnutls.out" || fail "ocsptool: $(cat "$T/gnutls.out")"
grep -q "Verifying OCSP Response: Success" "$T/gnutls.out" || fail "ocsptool verify: $(cat "$T/gnutls.out")"
echo "ok: openssl ocsp, curl GET, ocsptool"

# --- CRLs: full and delta with openssl verify; numbers across a restart. ---
cat "$ROOT" "$ISSUER" > "$T/trust.pem"
curl -sS -o "$T/full.der" "$VA/crl/factory-f1.crl"
openssl crl -inform DER -in "$T/full.der" -out "$T/full.pem"
openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/full.pem" "$D/certs/DEMO-0010.pem" > /dev/null \
  || fail "good certificate rejected with the CRL"
openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/full.pem" "$D/certs/DEMO-0002.pem" \
  > "$T/v.out" 2>&1 && fail "revoked certificate accepted"
grep -q "certificate revoked" "$T/v.out" || fail "$(cat "$T/v.out")"
n1="$(openssl crl -in "$T/full.pem" -noout -crlnumber | cut -d= -f2)"
# -crl_check_all: the whole chain, with the root's CRL (the issuing CA's
# distribution point), signed by the root.
curl -sS -o "$T/root.der" "$VA/crl/root.crl"
openssl crl -inform DER -in "$T/root.der" -out "$T/root.pem"
openssl crl -in "$T/root.pem" -noout -verify -CAfile "$ROOT" 2>&1 | grep -q "verify OK" || fail "root CRL signature"
cat "$T/full.pem" "$T/root.pem" > "$T/all.pem"
openssl verify -crl_check_all -CAfile "$T/trust.pem" -CRLfile "$T/all.pem" "$D/certs/DEMO-0010.pem" > /dev/null \
  || fail "good certificate rejected with -crl_check_all"
openssl verify -crl_check_all -CAfile "$T/trust.pem" -CRLfile "$T/all.pem" "$D/certs/DEMO-0002.pem" \
  > "$T/v.out" 2>&1 && fail "revoked certificate accepted (-crl_check_all)"
grep -q "certificate revoked" "$T/v.out" || fail "$(cat "$T/v.out")"
openssl verify -crl_check_all -CAfile "$T/trust.pem" -CRLfile "$T/full.pem" "$D/certs/DEMO-0010.pem" \
  > "$T/v.out" 2>&1 && fail "-crl_check_all passed without the root's CRL"
# A revocation after the latest full CRL travels in the delta CRL.
S13="$(openssl x509 -in "$D/certs/DEMO-0013.pem" -noout -serial | cut -d= -f2)"
"$BIN" crl generate --config "$D/hq.toml" --ca factory-f1 --out "$T/base.der" > /dev/null || fail "crl generate"
"$BIN" revoke --config "$D/hq.toml" --serial "$S13" --reason superseded > /dev/null || fail "revoke 13"
"$BIN" crl generate --config "$D/hq.toml" --ca factory-f1 --out "$T/delta.der" --delta > "$T/delta.json" || fail "delta"
openssl crl -inform DER -in "$T/base.der" -out "$T/base.pem"
openssl crl -inform DER -in "$T/delta.der" -out "$T/delta.pem"
openssl crl -in "$T/delta.pem" -noout -text | grep -q "Delta CRL Indicator" || fail "no delta indicator"
openssl crl -in "$T/delta.pem" -noout -text | grep -q "$S13" || fail "delta lacks the revocation"
openssl crl -in "$T/base.pem" -noout -text | grep -q "$S13" && fail "the base already had it"
cat "$T/base.pem" "$T/delta.pem" > "$T/crls.pem"
openssl verify -crl_check -use_deltas -CAfile "$T/trust.pem" -CRLfile "$T/crls.pem" "$D/certs/DEMO-0013.pem" \
  > "$T/v.out" 2>&1 && fail "revoked (delta) certificate accepted"
grep -q "certificate revoked" "$T/v.out" || fail "$(cat "$T/v.out")"
openssl verify -crl_check -use_deltas -CAfile "$T/trust.pem" -CRLfile "$T/crls.pem" "$D/certs/DEMO-0010.pem" \
  > /dev/null || fail "good certificate rejected with base + delta"
cat "$T/crls.pem" "$T/root.pem" > "$T/crls_all.pem"
openssl verify -crl_check_all -use_deltas -CAfile "$T/trust.pem" -CRLfile "$T/crls_all.pem" \
  "$D/certs/DEMO-0013.pem" > "$T/v.out" 2>&1 && fail "revoked (delta) accepted (-crl_check_all)"
grep -q "certificate revoked" "$T/v.out" || fail "$(cat "$T/v.out")"
openssl verify -crl_check_all -use_deltas -CAfile "$T/trust.pem" -CRLfile "$T/crls_all.pem" \
  "$D/certs/DEMO-0010.pem" > /dev/null || fail "good certificate rejected (-crl_check_all, deltas)"
n2="$(openssl crl -in "$T/delta.pem" -noout -crlnumber | cut -d= -f2)"
stop_hq
"$BIN" crl generate --config "$D/hq.toml" --ca factory-f1 --out "$T/after.der" > /dev/null || fail "crl generate (stopped)"
openssl crl -inform DER -in "$T/after.der" -out "$T/after.pem"
n3="$(openssl crl -in "$T/after.pem" -noout -crlnumber | cut -d= -f2)"
start_hq
curl -sS -o "$T/served.der" "$VA/crl/factory-f1.crl"
n4="$(openssl crl -inform DER -in "$T/served.der" -noout -crlnumber | cut -d= -f2)"
# After the restart HQ serves the CRL it published before (no new signature).
(( n1 < n2 && n2 < n3 && n3 == n4 )) \
  || fail "CRL numbers across restarts: $n1 $n2 $n3 $n4 (want n1 < n2 < n3 = n4)"
stop_hq
echo "ok: CRLs full + delta (openssl verify -crl_check / -crl_check_all [-use_deltas]); numbers $n1 < $n2 < $n3, and $n4 served after a restart (no new signature)"

# --- `ocsp serve`: a responder process on HQ's store as a RocksDB secondary. ---
start_hq
OCSP_PID=""
rm -f "$T/ocsp.log"
"$BIN" ocsp serve --config "$D/hq.toml" --listen 127.0.0.1:0 > "$T/ocsp.log" 2>&1 &
OCSP_PID=$!
for _ in $(seq 100); do grep -q serving_ocsp "$T/ocsp.log" 2>/dev/null && break; sleep 0.05; done
grep -q serving_ocsp "$T/ocsp.log" || fail "ocsp serve did not start: $(cat "$T/ocsp.log")"
REPLICA="http://$(sed -n 's/.*"serving_ocsp":"\([^"]*\)".*/\1/p' "$T/ocsp.log")"
VA_MAIN="$VA"; VA="$REPLICA"
ocsp ": good" -no_nonce -cert "$D/certs/DEMO-0014.pem"
ocsp ": good" -cert "$D/certs/DEMO-0014.pem"                     # nonce: signed on demand
ocsp ": revoked" -serial 0x0102030405060708090A0B0C0D0E0F10       # never issued
S14="$(openssl x509 -in "$D/certs/DEMO-0014.pem" -noout -serial | cut -d= -f2)"
"$BIN" revoke --config "$D/hq.toml" --serial "$S14" --reason keyCompromise > /dev/null || fail "revoke 14"
seen=""
for _ in $(seq 50); do  # within seconds (the replica follows HQ every second)
  openssl ocsp -issuer "$ISSUER" -url "$VA/ocsp" -CAfile "$ROOT" -no_nonce -cert "$D/certs/DEMO-0014.pem" \
    > "$T/ocsp.out" 2>&1 && grep -q "Reason: keyCompromise" "$T/ocsp.out" && { seen=1; break; }
  sleep 0.1
done
[[ -n "$seen" ]] || fail "the replica did not see the revocation within 5 s: $(cat "$T/ocsp.out")"
# The replica serves the CRLs hq serve published (checked against the CA before serving).
curl -sf "$VA/crl/factory-f1.crl" -o "$T/replica.crl" || fail "the replica does not serve the published CRL"
openssl crl -inform DER -in "$T/replica.crl" -CAfile "$ISSUER" -noout 2>&1 | grep -q "verify OK" \
  || fail "the replica's CRL does not verify under the issuing CA"
kill -TERM "$OCSP_PID"; wait "$OCSP_PID" || true
VA="$VA_MAIN"
# The admin API (mutual TLS, its own pinned key): revoke, then OCSP says so;
# the RA's and the sync peer's keys are refused at the handshake.
ADMIN="$(sed -n 's/.*"serving_admin":"\([^"]*\)".*/\1/p' "$T/hq.log")"
[[ -n "$ADMIN" ]] || fail "no admin API: $(cat "$T/hq.log")"
admin() {  # key-name path [json]
  curl -sS --cacert "$D/hq/tls/ca.pem" --cert "$D/hq/tls/$1.pem" --key "$D/hq/tls/$1.key" \
    -w '\n%{http_code}' ${3:+-d "$3"} "https://$ADMIN$2"
}
S15="$(openssl x509 -in "$D/certs/DEMO-0015.pem" -noout -serial | cut -d= -f2)"
admin hq-admin /v1/revoke "{\"serial\":\"$S15\",\"reason\":\"cessationOfOperation\"}" > "$T/a.out" \
  || fail "admin revoke: $(cat "$T/a.out")"
tail -1 "$T/a.out" | grep -q 200 || fail "admin revoke: $(cat "$T/a.out")"
ocsp "Reason: cessationOfOperation" -cert "$D/certs/DEMO-0015.pem"
admin hq-admin /v1/revoke '{"serial":"0102030405","reason":"keyCompromise"}' > "$T/a.out" || true
tail -1 "$T/a.out" | grep -q 404 || fail "admin: unknown serial not refused: $(cat "$T/a.out")"
admin hq-admin /v1/revoke 'not json' > "$T/a.out" || true
tail -1 "$T/a.out" | grep -q 400 || fail "admin: garbage not refused: $(cat "$T/a.out")"
for other in ra-line1 factory-sync; do
  admin "$other" /v1/batches > "$T/a.out" 2>&1 && fail "admin API accepted the $other key: $(cat "$T/a.out")"
done
admin hq-admin /v1/crl '{"ca":"factory-f1","delta":true}' > "$T/a.out" || fail "admin crl"
tail -1 "$T/a.out" | grep -q 200 || fail "admin crl: $(cat "$T/a.out")"
# The batch ledger: what the logs say about B1.
"$BIN" batch ledger --config "$D/hq.toml" --batch B1 > "$T/ledger.json" || fail "batch ledger"
python3 - "$T/ledger.json" <<'PY' || fail "ledger: $(cat "$T/ledger.json")"
import json, sys
b = json.load(open(sys.argv[1]))["batches"][0]
assert b["batch"] == "B1" and b["factory"] == "F1" and b["issued"] == 100 and b["authorized"] == 110, b
assert b["revoked"] == 6 and b["on_hold"] == 1, b   # 0002 (demo), 0017 + 0018 (serial file), 0013, 0014, 0015; the demo's hold (0012 released)
PY
# Batches are scoped by factory: F1/B1 is the same batch; another factory's
# name is refused, naming the factories HQ knows.
"$BIN" batch ledger --config "$D/hq.toml" --batch F1/B1 | grep -q '"issued":100' || fail "batch ledger F1/B1"
"$BIN" batch ledger --config "$D/hq.toml" --factory F1 | grep -q '"batch":"B1"' || fail "batch ledger --factory F1"
if "$BIN" batch ledger --config "$D/hq.toml" --batch F2/B1 > "$T/f2.json" 2>&1; then fail "ledger of an unknown factory: $(cat "$T/f2.json")"; fi
grep -q "no factory 'F2'" "$T/f2.json" || fail "unknown factory: $(cat "$T/f2.json")"
# A batch authorized while hq serve runs: the running node appends it (its
# store is locked to others) and the ledger shows it at once; --deliver,
# which needs HQ's store itself, is refused with the reason.
"$BIN" batch authorize --config "$D/hq.toml" --batch B7 --quota 7 > "$T/auth.json" || fail "batch authorize beside hq serve: $(cat "$T/auth.json")"
grep -q '"ok":true' "$T/auth.json" || fail "batch authorize: $(cat "$T/auth.json")"
"$BIN" batch ledger --config "$D/hq.toml" --batch B7 > "$T/ledger7.json" || fail "batch ledger B7: $(cat "$T/ledger7.json")"
python3 - "$T/ledger7.json" <<'PY' || fail "ledger B7: $(cat "$T/ledger7.json")"
import json, sys
b = json.load(open(sys.argv[1]))["batches"][0]
assert b["batch"] == "B7" and b["authorized"] == 7 and b["issued"] == 0, b
PY
"$BIN" batch authorize --config "$D/hq.toml" --batch B8 --quota 8 --deliver > "$T/auth8.out" 2>&1 \
  && fail "batch authorize --deliver beside hq serve succeeded"
grep -q "hq serve stopped" "$T/auth8.out" || fail "batch authorize --deliver: $(cat "$T/auth8.out")"
stop_hq
echo "ok: ocsp serve (RocksDB secondary) follows a revocation within seconds; admin API (mTLS, pinned); batch ledger; batch authorize through the running node"

# --- The public side never makes a CA key sign: after a restart, 1,000
# anonymous CRL and OCSP requests (GET and POST, known and unknown CAs,
# random serials, nonces) leave HQ's log as it was.
start_hq
sleep 1.5   # past the first maintenance tick: nothing is due on a quiet node
size_before="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["log_size"])' "$T/hq.log")"
python3 - "$VA" "$ISSUER" <<'PY' || fail "anonymous requests"
import base64, http.client, os, random, subprocess, sys, tempfile, urllib.parse
va, issuer = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(va)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
reqs = []
with tempfile.TemporaryDirectory() as d:
    for i in range(20):   # 20 distinct OCSP requests (random serials; half with a nonce)
        out = os.path.join(d, f"r{i}.der")
        args = ["openssl", "ocsp", "-issuer", issuer, "-serial", "0x%032x" % random.getrandbits(120), "-reqout", out]
        if i % 2: args.append("-no_nonce")
        subprocess.run(args, check=True, capture_output=True)
        reqs.append(open(out, "rb").read())
codes = {}
for i in range(1000):
    k = i % 5
    if k == 0:
        path = random.choice(["/crl/factory-f1.crl", "/crl/factory-f1-delta.crl", "/crl/root.crl", "/crl/nope.crl"])
        conn.request("GET", path)
    elif k in (1, 2):
        conn.request("GET", "/ocsp/" + urllib.parse.quote(base64.b64encode(random.choice(reqs)).decode(), safe=""))
    else:
        conn.request("POST", "/ocsp", body=random.choice(reqs), headers={"Content-Type": "application/ocsp-request"})
    r = conn.getresponse(); r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
assert set(codes) <= {200, 404}, codes
print(codes)
PY
stop_hq
size_after="$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "stopped" in l][-1]["log_size"])' "$T/hq.log")"
[[ "$size_before" == "$size_after" ]] || fail "anonymous requests changed HQ's log: $size_before -> $size_after"
echo "ok: 1,000 anonymous CRL and OCSP requests after a restart: HQ's log unchanged ($size_after events), no CA key signed"
echo "PASS va e2e"
