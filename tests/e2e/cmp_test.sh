#!/usr/bin/env bash
# End-to-end test of CMP (RFC 9483 over RFC 6712 HTTP, docs/enrollment_protocols.md)
# with `openssl cmp` (Debian's OpenSSL, unmodified) as the client, over the
# factory's mutual-TLS enrollment port (the RA's TLS certificate):
#   - ir under signature protection (the RA's certificate), ir under MAC
#     protection (the batch's shared secret), p10cr, genm for the CA
#     certificates;
#   - refused, each with a PKIFailureInfo a client can act on: an rr
#     (revocation belongs to HQ), a wrong MAC, a request outside the
#     profile, a key already certified, the batch's quota spent;
#   - kur: the device renews with its current certificate (HQ's re-issue
#     authorization), once; not with a certificate of another CA;
#   - each issued certificate verifies with `openssl verify` against the
#     chain, is in the factory's log (audit verify --certificate), and after
#     a sync HQ answers `good` for it with `openssl ocsp`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$BIN" demo --dir "$T/d" --devices 3 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
cd "$D"
# A batch for this test: 6 certificates, device CMP-0001 allowed a second
# one (its key update), and the line's MAC secret (0600).
"$BIN" batch authorize --config hq.toml --batch CMP1 --quota 6 --reissue CMP-0001 --deliver > "$T/authorize.json" \
  || fail "batch authorize: $(cat "$T/authorize.json")"
mkdir -p cmp-secrets
( umask 077 && echo "line-1 bootstrap secret" > cmp-secrets/CMP1.secret )
sed -i 's|^tls_ca = "factory/tls/ca.pem".*|&\ncmp_secrets_dir = "cmp-secrets"|' factory.toml
start factory factory.toml factory.log serving
PORT="$(sed -n 's/.*"serving":"https:\/\/127.0.0.1:\([0-9]*\)".*/\1/p' "$T/factory.log")"
TLS=(-server "127.0.0.1:$PORT" -path .well-known/cmp/p/CMP1 -tls_used -tls_cert ra/ra-line1.pem
     -tls_key ra/ra-line1.key -tls_trusted ra/ca.pem)
SIG=(-cert ra/ra-line1.pem -key ra/ra-line1.key -srvcert factory/tls/factory-enroll.pem)
MAC=(-secret "pass:line-1 bootstrap secret" -ref line-1)
newkey() { openssl ecparam -genkey -name prime256v1 -noout -out "$T/$1.key" 2>/dev/null; }
CHAIN="$T/chain.pem"
cat factory/ca/ca.pem > "$CHAIN"
verify() {  # cert
  openssl verify -CAfile hq/root/ca.pem -untrusted "$CHAIN" "$1" > "$T/verify.txt" 2>&1 \
    || fail "openssl verify $1: $(cat "$T/verify.txt")"
}
cmp_ok() {  # name args... : must issue $T/name.pem
  openssl cmp "${@:2}" -certout "$T/$1.pem" > "$T/$1.cmp" 2>&1 || fail "openssl cmp ($1): $(tail -3 "$T/$1.cmp")"
  [[ -s "$T/$1.pem" ]] || fail "no certificate saved for $1"
  verify "$T/$1.pem"
}
cmp_refused() {  # name pattern args... : the server must refuse it, saying pattern
  if openssl cmp "${@:3}" -certout "$T/$1.pem" > "$T/$1.cmp" 2>&1; then fail "$1 was not refused: $(tail -3 "$T/$1.cmp")"; fi
  grep -q "cannot set up CMP context" "$T/$1.cmp" && fail "$1: the client refused its own options: $(tail -3 "$T/$1.cmp")"
  grep -q "$2" "$T/$1.cmp" || fail "$1 refused without '$2': $(tail -3 "$T/$1.cmp")"
  [[ ! -s "$T/$1.pem" ]] || fail "$1: a certificate was saved"
}

newkey sig
cmp_ok sig -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/sig.key" -subject "/serialNumber=CMP-0001"
openssl x509 -in "$T/sig.pem" -noout -subject | grep -q "serialNumber = CMP-0001" || fail "subject of the ir certificate"
grep -q "received PKICONF" "$T/sig.cmp" || fail "no certConf/pkiConf exchange"
echo "ok: ir under signature protection (certConf, pkiConf)"

newkey mac
cmp_ok mac -cmd ir "${TLS[@]}" "${MAC[@]}" -newkey "$T/mac.key" -subject "/serialNumber=CMP-0002"
echo "ok: ir under MAC protection with the batch secret"

newkey p10
openssl req -new -key "$T/p10.key" -subj "/serialNumber=CMP-0003" -out "$T/p10.csr" 2>/dev/null
cmp_ok p10 -cmd p10cr "${TLS[@]}" "${SIG[@]}" -csr "$T/p10.csr"
echo "ok: p10cr"

openssl cmp -cmd genm "${TLS[@]}" "${SIG[@]}" -infotype caCerts > "$T/genm.cmp" 2>&1 || fail "genm: $(tail -3 "$T/genm.cmp")"
grep -q "ITAV of type: id-it-caCerts" "$T/genm.cmp" || fail "genm without caCerts: $(tail -3 "$T/genm.cmp")"
echo "ok: genm answers id-it-caCerts"

SIZE_BEFORE="$(curl -s --cacert ra/ca.pem --cert ra/ra-line1.pem --key ra/ra-line1.key "https://127.0.0.1:$PORT/v1/batches/CMP1")"
cmp_refused rr "notAuthorized" -cmd rr "${TLS[@]}" "${SIG[@]}" -oldcert "$T/sig.pem"
grep -q "revocation belongs to HQ" "$T/rr.cmp" || fail "the rr refusal does not say why"
echo "ok: rr refused (notAuthorized: revocation belongs to HQ)"

newkey wrong
cmp_refused wrongmac "error validating protection" -cmd ir "${TLS[@]}" -secret pass:not-the-secret -ref line-1 -newkey "$T/wrong.key" \
  -subject "/serialNumber=CMP-0004"
echo "ok: a wrong MAC is refused"

newkey bad
cmp_refused profile "badCertTemplate" -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/bad.key" -subject "/serialNumber=.BAD-0001"
echo "ok: a device serial outside the profile is refused (badCertTemplate)"

cmp_refused dupkey "duplicateCertReq" -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/p10.key" -subject "/serialNumber=CMP-0005"
echo "ok: a key already certified is refused (duplicateCertReq)"

# kur: the device renews with its current certificate; once (HQ's re-issue
# authorization), and only a certificate of this factory.
newkey kur
cmp_ok kur -cmd kur "${TLS[@]}" -cert "$T/sig.pem" -key "$T/sig.key" -srvcert factory/tls/factory-enroll.pem \
  -newkey "$T/kur.key"
openssl x509 -in "$T/kur.pem" -noout -subject | grep -q "serialNumber = CMP-0001" || fail "kur certificate subject"
[[ "$(openssl x509 -in "$T/kur.pem" -noout -serial)" != "$(openssl x509 -in "$T/sig.pem" -noout -serial)" ]] \
  || fail "kur returned the old certificate"
newkey kur2
cmp_refused kur-again "duplicateCertReq" -cmd kur "${TLS[@]}" -cert "$T/kur.pem" -key "$T/kur.key" \
  -srvcert factory/tls/factory-enroll.pem -newkey "$T/kur2.key"
cmp_refused kur-foreign "no suitable sender cert" -cmd kur "${TLS[@]}" -cert ra/ra-line1.pem -key ra/ra-line1.key \
  -srvcert factory/tls/factory-enroll.pem -newkey "$T/kur2.key"
echo "ok: kur renews CMP-0001 once; a second time, or with a certificate not of this CA, is refused"

newkey q4
cmp_ok q4 -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/q4.key" -subject "/serialNumber=CMP-0006"
newkey q5
cmp_ok q5 -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/q5.key" -subject "/serialNumber=CMP-0007"
newkey q6
cmp_refused quota "notAuthorized" -cmd ir "${TLS[@]}" "${SIG[@]}" -newkey "$T/q6.key" -subject "/serialNumber=CMP-0008"
grep -q "quota-exhausted\|batch-closed" "$T/quota.cmp" || fail "the quota refusal does not say why: $(tail -2 "$T/quota.cmp")"
echo "ok: the batch's quota is enforced"

# Every refusal is an issuanceRejected event: the batch counts them.
curl -s --cacert ra/ca.pem --cert ra/ra-line1.pem --key ra/ra-line1.key "https://127.0.0.1:$PORT/v1/batches/CMP1" > "$T/batch.json"
python3 - "$T/batch.json" <<'PY' || fail "batch counts: $(cat "$T/batch.json")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["issued"] == 6, b
assert b["rejected"] >= 7, b   # rr, wrong MAC, profile, duplicate key, 2 kur, quota
PY
echo "ok: 6 issued, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rejected"])' "$T/batch.json") refusals recorded"

# In the factory's log, then at HQ after a sync, with OCSP good.
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
CERTS=("$T/sig.pem" "$T/mac.pem" "$T/p10.pem" "$T/kur.pem" "$T/q4.pem" "$T/q5.pem")
logged_then_good "${CERTS[@]}"
echo "ok: HQ answers good for every CMP certificate after the sync"
echo "PASS"
