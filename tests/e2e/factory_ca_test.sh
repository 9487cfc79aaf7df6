#!/usr/bin/env bash
# End-to-end test of the factory CA with real clients: quickstart for each
# profile, `mirrorca factory serve`, `mirrorca ra enroll`; certificates
# checked by `openssl verify`, GnuTLS `certtool --verify-chain` and a Python
# `cryptography` profile checker; curl with and without a client
# certificate; quota N+1; garbage HTTP and malformed CSRs (log unchanged
# except rejection events); restart between two halves of a batch; SIGKILL
# mid-enrollment (every certificate the RA received is in the log).
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f "$T/serve.log" ]] && tail -5 "$T/serve.log"; exit 1; }

start_server() {  # $1 = setup dir
  rm -f "$T/serve.log"  # else the wait below may read the previous server's line
  "$BIN" factory serve --config "$1/factory.toml" > "$T/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q serving "$T/serve.log" 2>/dev/null && return 0; sleep 0.05; done
  fail "factory did not start: $(cat "$T/serve.log")"
}
stop_server() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""; }
port_of() { sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$1/factory.toml" | head -1; }
make_csrs() {  # dir count prefix [curve]
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:"${4:-P-256}" -nodes -keyout /dev/null \
      -subj "/CN=ignored by the CA/O=Evil" -out "$1/$3$i.csr" 2>/dev/null
  done
}
curl_ra() {  # dir path [curl args...]
  local d="$1" p="$2"; shift 2
  curl -sS --cacert "$d/ra/ca.pem" --cert "$d/ra/ra-line1.pem" --key "$d/ra/ra-line1.key" \
    "https://127.0.0.1:$(port_of "$d")$p" "$@"
}
metric() { curl_ra "$1" /metrics | sed -n "s/^$2 //p"; }

# --- Every profile: issue, then check with three independent verifiers. ---
for profile in idevid matter iec62443; do
  D="$T/$profile"
  "$BIN" pki quickstart --dir "$D" --profile "$profile" --quota 12 > /dev/null
  for f in "$D"/hq/tls/*.key "$D"/factory/tls/*.key "$D"/ra/*.key "$D"/factory/ca/ca.key "$D"/hq/root/ca.key "$D"/factory/data/log_key.pem; do
    [[ "$(stat -c %a "$f")" == 600 ]] || fail "$f is not 0600"
  done
  make_csrs "$D/csr" 10 "DEV-"
  start_server "$D"
  "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$D/csr" --out "$D/out" > "$T/ra.json" \
    || fail "$profile: ra enroll: $(cat "$T/ra.json")"
  grep -q '"issued":10' "$T/ra.json" || fail "$profile: summary $(cat "$T/ra.json")"
  # Re-running skips the devices already done.
  "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$D/csr" --out "$D/out" > "$T/ra2.json"
  grep -q '"skipped_already_done":10' "$T/ra2.json" || fail "$profile: rerun $(cat "$T/ra2.json")"
  for pem in "$D"/out/*.pem; do
    openssl verify -CAfile "$D/hq/root/ca.pem" -untrusted "$D/factory/ca/ca.pem" "$pem" > /dev/null \
      || fail "$profile: openssl verify $pem"
    cat "$pem" "$D/hq/root/ca.pem" > "$T/fullchain.pem"
    certtool --verify-chain --infile "$T/fullchain.pem" > "$T/certtool.out" 2>&1 \
      || fail "$profile: certtool: $(tail -3 "$T/certtool.out")"
  done
  pyprofile=$profile; [[ $profile == matter ]] && pyprofile=matter-dac
  python3 "$HERE/check_profile.py" "$pyprofile" "$D"/out/*.pem > "$T/py.out" \
    || fail "$profile: profile checker: $(cat "$T/py.out")"
  # The CSR's subject (CN=ignored..., O=Evil) never reaches a certificate.
  openssl x509 -in "$D/out/DEV-1.pem" -noout -subject | grep -q Evil && fail "$profile: CSR subject copied"
  stop_server
done
echo "ok: profiles idevid, matter-dac, iec62443 verified by openssl, certtool and python cryptography"

# --- mTLS: curl without a client certificate is refused at the handshake. ---
D="$T/idevid"
start_server "$D"
if curl -sS --cacert "$D/ra/ca.pem" "https://127.0.0.1:$(port_of "$D")/v1/ca" > /dev/null 2>&1; then
  fail "curl without a client certificate must be refused"
fi
curl_ra "$D" /v1/ca | grep -q "BEGIN CERTIFICATE" || fail "GET /v1/ca with a client certificate"
# A client certificate from another CA is refused too.
if curl -sS --cacert "$D/ra/ca.pem" --cert "$T/matter/ra/ra-line1.pem" --key "$T/matter/ra/ra-line1.key" \
    "https://127.0.0.1:$(port_of "$D")/v1/ca" > /dev/null 2>&1; then
  fail "a client certificate of another CA must be refused"
fi
# TLS 1.2 is refused.
if curl -sS --tlsv1.2 --tls-max 1.2 --cacert "$D/ra/ca.pem" --cert "$D/ra/ra-line1.pem" \
    --key "$D/ra/ra-line1.key" "https://127.0.0.1:$(port_of "$D")/v1/ca" > /dev/null 2>&1; then
  fail "TLS 1.2 must be refused"
fi
echo "ok: curl without / with a foreign client certificate and TLS 1.2 refused"

# --- Quota: batch of 12 with 10 issued; 2 more succeed, the 13th is refused. ---
make_csrs "$T/more" 3 "MORE-"
code=$(curl_ra "$D" "/v1/batches/B1/enroll?device_serial=MORE-1" --data-binary @"$T/more/MORE-1.csr" -o /dev/null -w '%{http_code}')
[[ $code == 200 ]] || fail "enroll 11: $code"
code=$(curl_ra "$D" "/v1/batches/B1/enroll?device_serial=MORE-2" --data-binary @"$T/more/MORE-2.csr" -o /dev/null -w '%{http_code}')
[[ $code == 200 ]] || fail "enroll 12: $code"
curl_ra "$D" "/v1/batches/B1/enroll?device_serial=MORE-3" --data-binary @"$T/more/MORE-3.csr" -o "$T/over.json" -w '%{http_code} %{content_type}' > "$T/over.code"
grep -q "^409 application/problem+json" "$T/over.code" || grep -q "^429 application/problem+json" "$T/over.code" \
  || fail "quota N+1: $(cat "$T/over.code") $(cat "$T/over.json")"
grep -qE '"code":"(quota-exhausted|batch-closed)"' "$T/over.json" || fail "quota N+1 code: $(cat "$T/over.json")"
curl_ra "$D" /v1/batches/B1 | grep -q '"issued":12' || fail "batch counts"
echo "ok: quota 12 -> enrollment 13 refused ($(cut -d' ' -f1 "$T/over.code"))"

# --- Garbage HTTP changes nothing; malformed CSRs add only rejection events. ---
before=$(metric "$D" 'mirrorca_log_size{log="factory-[^"]*"}')
printf 'GARBAGE \x00\x01\x02 NOT HTTP\r\n\r\n' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$(port_of "$D")" \
  -cert "$D/ra/ra-line1.pem" -key "$D/ra/ra-line1.key" -CAfile "$D/ra/ca.pem" 2>/dev/null > "$T/garbage.out" || true
grep -q "400 Bad Request" "$T/garbage.out" || fail "garbage HTTP: $(head -c 300 "$T/garbage.out")"
head -c 70000 /dev/urandom > "$T/big.bin"
code=$(curl_ra "$D" "/v1/batches/B1/enroll?device_serial=X" --data-binary @"$T/big.bin" -o /dev/null -w '%{http_code}')
[[ $code == 413 ]] || fail "oversized CSR: $code"
[[ "$(metric "$D" 'mirrorca_log_size{log="factory-[^"]*"}')" == "$before" ]] || fail "garbage HTTP changed the log"
# A batch with room, for malformed CSRs (each is a rejection event).
stop_server
"$BIN" batch authorize --config "$D/hq.toml" --batch B2 --quota 100 --deliver > /dev/null || fail "batch authorize"
start_server "$D"
before=$(metric "$D" 'mirrorca_log_size{log="factory-[^"]*"}')
echo "not a csr" > "$T/bad1.csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=x -outform DER -out "$T/bad2.der" 2>/dev/null
printf '\x00' | dd of="$T/bad2.der" bs=1 seek=$(( $(stat -c %s "$T/bad2.der") - 3 )) conv=notrunc 2>/dev/null  # break the signature
openssl req -new -newkey ed25519 -nodes -keyout /dev/null -subj /CN=x -out "$T/bad3.csr" 2>/dev/null
i=0
for f in "$T/bad1.csr" "$T/bad2.der" "$T/bad3.csr"; do
  i=$((i+1))
  code=$(curl_ra "$D" "/v1/batches/B2/enroll?device_serial=BAD-$i" --data-binary @"$f" -o "$T/bad.json" -w '%{http_code}')
  [[ $code == 400 || $code == 403 ]] || fail "malformed CSR $f: $code"
done
after=$(metric "$D" 'mirrorca_log_size{log="factory-[^"]*"}')
[[ $((after - before)) == 3 ]] || fail "malformed CSRs: log grew by $((after - before)), want 3 rejection events"
grep -q 'mirrorca_issuance_rejected_total{reason="proof-of-possession"} 1' <(curl_ra "$D" /metrics) || fail "PoP metric"
echo "ok: garbage HTTP left the log unchanged; 3 malformed CSRs = 3 rejection events"

# --- Restart between two halves of a batch: counts and quota carry over. ---
make_csrs "$T/half1" 30 "H1-"
make_csrs "$T/half2" 30 "H2-"
"$BIN" ra enroll --config "$D/ra.toml" --batch B2 --csr-dir "$T/half1" --out "$T/out-half" > /dev/null || fail "half 1"
stop_server
start_server "$D"
curl_ra "$D" /v1/batches/B2 | grep -q '"issued":30' || fail "after restart: $(curl_ra "$D" /v1/batches/B2)"
"$BIN" ra enroll --config "$D/ra.toml" --batch B2 --csr-dir "$T/half2" --out "$T/out-half" > /dev/null || fail "half 2"
curl_ra "$D" /v1/batches/B2 | grep -q '"issued":60' || fail "after half 2"
echo "ok: restart between halves; counts carried over"

# --- SIGKILL mid-enrollment: every certificate the RA received is in the log. ---
make_csrs "$T/kill" 300 "K-"
sed -i 's/^bulk_size = .*/bulk_size = 10/' "$D/ra.toml"
"$BIN" ra enroll --config "$D/ra.toml" --batch B2 --csr-dir "$T/kill" --out "$T/out-kill" > "$T/kill.json" 2>&1 &
RA_PID=$!
sleep 0.3
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
wait "$RA_PID" || true
received=$(ls "$T/out-kill" 2>/dev/null | wc -l)
"$BIN" log verify --data "$D/factory/data" > /dev/null || fail "log does not verify after SIGKILL"
start_server "$D"
issued=$(curl_ra "$D" /v1/batches/B2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["issued"])')
(( issued - 60 >= received )) || fail "RA received $received certificates but the log holds $((issued - 60))"
for pem in $(ls "$T/out-kill" | head -20); do
  serial=$(openssl x509 -in "$T/out-kill/$pem" -noout -serial | cut -d= -f2)
  [[ -n "$serial" ]] || fail "no serial"
done
stop_server
echo "ok: SIGKILL mid-enrollment: RA received $received, log holds $((issued - 60)); log verifies"
echo "PASS factory_ca_test"
