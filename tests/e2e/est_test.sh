#!/usr/bin/env bash
# End-to-end test of EST (RFC 7030, docs/enrollment_protocols.md) with curl
# and openssl as the client, exactly as RFC 7030's examples use them, over
# the factory's mutual-TLS enrollment port:
#   - cacerts (certs-only PKCS#7), csrattrs (what the profile requires);
#   - simpleenroll by the RA (its pinned TLS certificate);
#   - simplereenroll by the device itself, with its current certificate as
#     the TLS client certificate (HQ's re-issue authorization, once);
#   - serverkeygen: the CA makes the key (multipart/mixed: PKCS#8 + certificate);
#   - refused: a body that is not base64, a device serial outside the
#     profile, a key already certified, a second re-enrollment, a
#     re-enrollment without HQ's authorization, an RA re-enrolling, a device
#     enrolling another, a client without a certificate, the quota;
#   - each issued certificate verifies with `openssl verify`, is in the
#     factory's log, and after a sync HQ answers `good` for it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$BIN" demo --dir "$T/d" --devices 3 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
cd "$D"
"$BIN" batch authorize --config hq.toml --batch EST1 --quota 6 --reissue EST-0001 --deliver > "$T/authorize.json" \
  || fail "batch authorize: $(cat "$T/authorize.json")"
start factory factory.toml factory.log serving
PORT="$(sed -n 's/.*"serving":"https:\/\/127.0.0.1:\([0-9]*\)".*/\1/p' "$T/factory.log")"
EST="https://127.0.0.1:$PORT/.well-known/est/EST1"
RA=(--cacert ra/ca.pem --cert ra/ra-line1.pem --key ra/ra-line1.key)
CHAIN="$T/chain.pem"
cat factory/ca/ca.pem > "$CHAIN"
newkey() { openssl ecparam -genkey -name prime256v1 -noout -out "$T/$1.key" 2>/dev/null; }
csr() {  # key serial : a base64 DER PKCS#10 request on stdout
  openssl req -new -key "$T/$1.key" -subj "/serialNumber=$2" -outform DER 2>/dev/null | base64
}
# est NAME OP [curl args...]: POSTs $T/NAME.b64 as application/pkcs10; the
# HTTP status in $T/NAME.code, the body in $T/NAME.out.
est() {
  curl -sS -o "$T/$1.out" -w '%{http_code}' -H "Content-Type: application/pkcs10" --data-binary "@$T/$1.b64" \
    "${@:3}" "$EST/$2" > "$T/$1.code" 2> "$T/$1.err" || echo 000 > "$T/$1.code"
}
issued() {  # name : the certs-only answer → $T/name.pem, verified against the chain
  [[ "$(cat "$T/$1.code")" == 200 ]] || fail "$1: HTTP $(cat "$T/$1.code"): $(cat "$T/$1.out" "$T/$1.err")"
  base64 -d < "$T/$1.out" | openssl pkcs7 -inform DER -print_certs -out "$T/$1.pem" 2> "$T/$1.p7err" \
    || fail "$1: not a certs-only PKCS#7: $(cat "$T/$1.p7err")"
  openssl verify -CAfile hq/root/ca.pem -untrusted "$CHAIN" "$T/$1.pem" > "$T/verify.txt" 2>&1 \
    || fail "openssl verify $1: $(cat "$T/verify.txt")"
}
refused() {  # name status words
  [[ "$(cat "$T/$1.code")" == "$2" ]] || fail "$1: HTTP $(cat "$T/$1.code"), expected $2: $(cat "$T/$1.out" "$T/$1.err")"
  grep -q "$3" "$T/$1.out" || fail "$1 refused without '$3': $(cat "$T/$1.out")"
}
refused_count() {
  curl -s "${RA[@]}" "https://127.0.0.1:$PORT/v1/batches/EST1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"])'
}

# cacerts and csrattrs (RFC 7030 §4.1, §4.5), base64 DER as curl receives it.
curl -sS "${RA[@]}" "$EST/cacerts" -D "$T/cacerts.h" -o "$T/cacerts.b64" || fail "cacerts"
grep -qi "content-type: application/pkcs7-mime" "$T/cacerts.h" || fail "cacerts content type: $(cat "$T/cacerts.h")"
base64 -d < "$T/cacerts.b64" | openssl pkcs7 -inform DER -print_certs -out "$T/cacerts.pem" 2>/dev/null \
  || fail "cacerts is not a certs-only PKCS#7"
[[ "$(openssl x509 -in "$T/cacerts.pem" -noout -fingerprint -sha256)" == \
   "$(openssl x509 -in factory/ca/ca.pem -noout -fingerprint -sha256)" ]] || fail "cacerts does not start with the issuing CA"
[[ "$(grep -c 'BEGIN CERTIFICATE' "$T/cacerts.pem")" == 2 ]] || fail "cacerts is not the chain to the root"
echo "ok: cacerts is the batch's issuing CA and its root"
curl -sS "${RA[@]}" "$EST/csrattrs" -o "$T/csrattrs.b64" || fail "csrattrs"
base64 -d < "$T/csrattrs.b64" | openssl asn1parse -inform DER > "$T/csrattrs.txt" 2>&1 || fail "csrattrs is not DER"
for want in serialNumber id-ecPublicKey prime256v1 ecdsa-with-SHA256; do
  grep -q ":$want" "$T/csrattrs.txt" || fail "csrattrs lacks $want: $(cat "$T/csrattrs.txt")"
done
echo "ok: csrattrs names serialNumber, the profile's curves and signature"

# simpleenroll by the RA.
newkey dev1
csr dev1 EST-0001 > "$T/enroll1.b64"
est enroll1 simpleenroll "${RA[@]}"
issued enroll1
openssl x509 -in "$T/enroll1.pem" -noout -subject | grep -q "serialNumber = EST-0001" || fail "simpleenroll subject"
echo "ok: simpleenroll"

# simplereenroll: the device authenticates with its current certificate.
DEV1=(--cacert ra/ca.pem --cert "$T/enroll1.pem" --key "$T/dev1.key")
newkey dev1b
csr dev1b EST-0001 > "$T/reenroll.b64"
cp "$T/reenroll.b64" "$T/ra-reenroll.b64"
est ra-reenroll simplereenroll "${RA[@]}"
refused ra-reenroll 403 "authenticated by the device"
est reenroll simplereenroll "${DEV1[@]}"
issued reenroll
openssl x509 -in "$T/reenroll.pem" -noout -subject | grep -q "serialNumber = EST-0001" || fail "simplereenroll subject"
[[ "$(openssl x509 -in "$T/reenroll.pem" -noout -serial)" != "$(openssl x509 -in "$T/enroll1.pem" -noout -serial)" ]] \
  || fail "simplereenroll returned the old certificate"
[[ "$(openssl x509 -in "$T/reenroll.pem" -noout -pubkey)" == "$(openssl pkey -in "$T/dev1b.key" -pubout)" ]] \
  || fail "simplereenroll certified another key"
echo "ok: simplereenroll by the device's own certificate"
newkey dev1c
csr dev1c EST-0001 > "$T/again.b64"
est again simplereenroll --cacert ra/ca.pem --cert "$T/reenroll.pem" --key "$T/dev1b.key"
refused again 409 "duplicate-device"
echo "ok: a second re-enrollment is refused (HQ's authorization was for one)"

# serverkeygen: the key is made by the CA (RFC 7030 §4.4), multipart/mixed.
newkey any
csr any EST-0003 > "$T/keygen.b64"
curl -sS "${RA[@]}" -H "Content-Type: application/pkcs10" --data-binary "@$T/keygen.b64" "$EST/serverkeygen" \
  -D "$T/keygen.h" -o "$T/keygen.out" || fail "serverkeygen"
grep -qi "content-type: multipart/mixed; boundary=" "$T/keygen.h" || fail "serverkeygen content type: $(cat "$T/keygen.h")"
BOUNDARY="$(sed -n 's/.*boundary=\([^[:space:];]*\).*/\1/Ip' "$T/keygen.h" | tr -d '\r')"
# part N's base64 (after its blank line, up to the next boundary)
part() { awk -v b="--$BOUNDARY" -v n="$1" '{ sub(/\r$/, "") } index($0, b) == 1 { i++; body = 0; next } i == n && body { print } i == n && $0 == "" { body = 1 }' "$T/keygen.out"; }
part 1 | base64 -d | openssl pkey -inform DER -out "$T/keygen.key" 2>/dev/null || fail "serverkeygen: no PKCS#8 key"
part 2 | base64 -d | openssl pkcs7 -inform DER -print_certs -out "$T/keygen.pem" 2>/dev/null || fail "serverkeygen: no certificate"
openssl verify -CAfile hq/root/ca.pem -untrusted "$CHAIN" "$T/keygen.pem" > /dev/null 2>&1 || fail "serverkeygen certificate"
[[ "$(openssl x509 -in "$T/keygen.pem" -noout -pubkey)" == "$(openssl pkey -in "$T/keygen.key" -pubout)" ]] \
  || fail "the serverkeygen key does not match its certificate"
openssl x509 -in "$T/keygen.pem" -noout -subject | grep -q "serialNumber = EST-0003" || fail "serverkeygen subject"
! grep -q "$(part 1 | head -1)" "$T/factory.log" || fail "the generated key is in the factory's log"
echo "ok: serverkeygen returns a key the CA made and its certificate; the key is not logged"

# Refusals, each recorded.
R0="$(refused_count)"
echo "this is not base64 *" > "$T/garbage.b64"
est garbage simpleenroll "${RA[@]}"
refused garbage 400 "bad-csr"
newkey bad
csr bad .BAD-0001 > "$T/profile.b64"
est profile simpleenroll "${RA[@]}"
refused profile 400 "subject-not-allowed"
csr dev1 EST-0009 > "$T/dupkey.b64"
est dupkey simpleenroll "${RA[@]}"
refused dupkey 409 "duplicate-key"
newkey dev4
csr dev4 EST-0004 > "$T/enroll4.b64"
est enroll4 simpleenroll "${RA[@]}"
issued enroll4
newkey dev4b
csr dev4b EST-0004 > "$T/noauth.b64"
est noauth simplereenroll --cacert ra/ca.pem --cert "$T/enroll4.pem" --key "$T/dev4.key"
refused noauth 409 "re-issue authorization"
newkey dev5
csr dev5 EST-0005 > "$T/byDevice.b64"
est byDevice simpleenroll --cacert ra/ca.pem --cert "$T/enroll4.pem" --key "$T/dev4.key"
refused byDevice 403 "may only re-enroll"
(( $(refused_count) == R0 + 4 )) || fail "refusals recorded: $(refused_count), expected $((R0 + 4))"
est nocert simpleenroll --cacert ra/ca.pem
[[ "$(cat "$T/nocert.code")" == 000 ]] || fail "a client without a certificate got HTTP $(cat "$T/nocert.code")"
echo "ok: refusals (not base64, outside the profile, duplicate key, no re-issue authorization) recorded; a device cannot enroll others; no certificate, no TLS"
cp "$T/byDevice.b64" "$T/enroll5.b64"
est enroll5 simpleenroll "${RA[@]}"
issued enroll5
newkey dev6
csr dev6 EST-0006 > "$T/enroll6.b64"
est enroll6 simpleenroll "${RA[@]}"
issued enroll6
newkey dev7
csr dev7 EST-0007 > "$T/quota.b64"
est quota simpleenroll "${RA[@]}"
[[ "$(cat "$T/quota.code")" == 409 || "$(cat "$T/quota.code")" == 429 ]] || fail "quota: HTTP $(cat "$T/quota.code")"
grep -q "quota-exhausted\|batch-closed" "$T/quota.out" || fail "the quota refusal does not say why: $(cat "$T/quota.out")"
echo "ok: the batch's quota is enforced"

# In the factory's log, then at HQ after a sync, with OCSP good.
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
CERTS=("$T/enroll1.pem" "$T/reenroll.pem" "$T/keygen.pem" "$T/enroll4.pem" "$T/enroll5.pem" "$T/enroll6.pem")
logged_then_good "${CERTS[@]}"
echo "ok: HQ answers good for every EST certificate after the sync"

# HQ revokes EST-0004; the next sync tells the factory, which then refuses
# to renew that certificate (even in a batch with room and HQ's re-issue
# authorization for the device).
SERIAL4="$(openssl x509 -in "$T/enroll4.pem" -noout -serial | cut -d= -f2)"
"$BIN" revoke --config hq.toml --serial "$SERIAL4" --reason keyCompromise > "$T/revoke.json" 2>&1 \
  || fail "revoke: $(cat "$T/revoke.json")"
"$BIN" batch authorize --config hq.toml --batch EST2 --quota 2 --reissue EST-0004 > "$T/authorize2.json" \
  || fail "batch authorize EST2: $(cat "$T/authorize2.json")"
"$BIN" sync --config factory.toml --deadline 30 > "$T/sync2.json" 2>&1 || fail "sync: $(cat "$T/sync2.json")"
start factory factory.toml factory2.log serving
PORT="$(sed -n 's/.*"serving":"https:\/\/127.0.0.1:\([0-9]*\)".*/\1/p' "$T/factory2.log")"
EST="https://127.0.0.1:$PORT/.well-known/est/EST2"
csr dev4b EST-0004 > "$T/revoked.b64"
est revoked simplereenroll --cacert ra/ca.pem --cert "$T/enroll4.pem" --key "$T/dev4.key"
refused revoked 403 "certificate-revoked"
echo "ok: a certificate HQ revoked cannot renew itself once the factory has synced"
echo "PASS"
