#!/usr/bin/env bash
# End-to-end test of the public validation side as its own process, holding
# no CA key ([validation] served_by = "ocsp-serve"):
#   - hq serve keeps signing CRLs (it holds the CA keys) but opens no public port;
#   - `mirrorca ocsp serve --config hq.toml` takes the public port, answers
#     OCSP with the delegated responder keys and serves the CRLs hq serve
#     published — while every CA key file (root, HQ's copy of the factory CA)
#     is moved off the disk (hq serve loaded HQ's at its start), so it cannot
#     have used one;
#   - `openssl ocsp` and `openssl verify -crl_check` accept its answers;
#   - a CRL file altered on disk is not served; 1,000 anonymous requests
#     leave HQ's log unchanged.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
PIDS=()
MOVED=()
cleanup() {
  for f in "${MOVED[@]}"; do mv "$T/keys/$(echo "$f" | tr / _)" "$f" 2>/dev/null || true; done
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
python3 - "$D/hq.toml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("[validation]\n", "[validation]\nserved_by = \"ocsp-serve\"   # the public port is ocsp serve's\n", 1)
open(p, "w").write(s)
PY
VA_LISTEN="$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
VA="http://$VA_LISTEN"

"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
wait_for "$T/hq.log" serving_sync
grep -q '"serving_validation":""' "$T/hq.log" || fail "hq serve opened the public port: $(head -1 "$T/hq.log")"
curl -s -o /dev/null --max-time 2 "$VA/crl/root.crl" && fail "something answers on the public port before ocsp serve"
size_before="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["log_size"])' "$T/hq.log")"
echo "ok: hq serve runs without the public port"

# Every CA key leaves the disk (hq serve holds HQ's in memory): the public
# process cannot use one (a chmod would not stop root).
mkdir -p "$T/keys"
while IFS= read -r k; do mv "$k" "$T/keys/$(echo "$k" | tr / _)"; MOVED+=("$k"); done \
  < <(find "$D" -name ca.key)
# HQ: root, TLS CA, its copy of F1's CA; the factory: its CA, its LAN TLS CA.
(( ${#MOVED[@]} == 5 )) || fail "expected 5 CA keys, found ${#MOVED[@]}"
[[ -z "$(find "$D" -name ca.key)" ]] || fail "a CA key is still on disk"
"$BIN" ocsp serve --config "$D/hq.toml" > "$T/ocsp.log" 2>&1 &
PIDS+=($!)
wait_for "$T/ocsp.log" serving_ocsp
grep -q '"crls":2' "$T/ocsp.log" || fail "ocsp serve does not serve both CAs' CRLs: $(cat "$T/ocsp.log")"

ISSUER="$D/factory/ca/ca.pem"
ROOT="$D/hq/root/ca.pem"
for dev in DEMO-0001:good DEMO-0002:revoked; do
  name="${dev%%:*}" want="${dev##*:}"
  openssl ocsp -issuer "$ISSUER" -cert "$D/certs/$name.pem" -url "$VA/ocsp" -CAfile "$ROOT" > "$T/ocsp-$name.txt" 2>&1 \
    || fail "openssl ocsp $name: $(cat "$T/ocsp-$name.txt")"
  grep -q "$name.pem: $want" "$T/ocsp-$name.txt" || grep -q ": $want" "$T/ocsp-$name.txt" \
    || fail "$name is not $want: $(cat "$T/ocsp-$name.txt")"
  grep -q "Response verify OK" "$T/ocsp-$name.txt" || fail "the OCSP response did not verify: $(cat "$T/ocsp-$name.txt")"
done
curl -sf "$VA/crl/factory-f1.crl" -o "$T/f1.crl" || fail "GET /crl/factory-f1.crl"
curl -sf "$VA/crl/root.crl" -o "$T/root.crl" || fail "GET /crl/root.crl"
openssl crl -inform DER -in "$T/f1.crl" -out "$T/f1.crl.pem"
openssl crl -inform DER -in "$T/root.crl" -out "$T/root.crl.pem"
cat "$ROOT" "$ISSUER" > "$T/chain.pem"
openssl verify -crl_check_all -CAfile "$T/chain.pem" -CRLfile "$T/f1.crl.pem" -CRLfile "$T/root.crl.pem" \
  "$D/certs/DEMO-0001.pem" > /dev/null 2>&1 || fail "openssl verify -crl_check_all: DEMO-0001 should be good"
openssl verify -crl_check_all -CAfile "$T/chain.pem" -CRLfile "$T/f1.crl.pem" -CRLfile "$T/root.crl.pem" \
  "$D/certs/DEMO-0002.pem" > "$T/v2.txt" 2>&1 && fail "DEMO-0002 verified against the served CRL"
grep -q "revoked" "$T/v2.txt" || fail "DEMO-0002: $(cat "$T/v2.txt")"
echo "ok: ocsp serve (no CA key on disk) answers OCSP and serves the published CRLs; openssl accepts them"

# A CRL file altered on disk is not served (signature checked before serving).
CRLFILE="$D/hq/factories/F1/ca/published-full.crl"
cp "$CRLFILE" "$T/crl.bak"
python3 - "$CRLFILE" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-5] ^= 0x01; open(sys.argv[1], "wb").write(b)
PY
code="$(curl -s -o /dev/null -w '%{http_code}' "$VA/crl/factory-f1.crl")"
[[ "$code" == 503 ]] || fail "an altered CRL file was served (HTTP $code)"
cp "$T/crl.bak" "$CRLFILE"
curl -sf "$VA/crl/factory-f1.crl" -o /dev/null || fail "the restored CRL is not served again"
echo "ok: a CRL file altered on disk is refused (503), the restored one served"

# 1,000 anonymous requests: HQ's log does not move.
python3 - "$VA" "$ISSUER" <<'PY' || fail "anonymous requests"
import base64, http.client, os, random, subprocess, sys, tempfile, urllib.parse
va, issuer = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(va)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
reqs = []
with tempfile.TemporaryDirectory() as d:
    for i in range(10):
        out = os.path.join(d, f"r{i}.der")
        subprocess.run(["openssl", "ocsp", "-issuer", issuer, "-serial", "0x%032x" % random.getrandbits(120),
                        "-reqout", out], check=True, capture_output=True)
        reqs.append(open(out, "rb").read())
codes = {}
for i in range(1000):
    if i % 3 == 0:
        conn.request("GET", random.choice(["/crl/factory-f1.crl", "/crl/root.crl", "/crl/nope.crl", "/crl/factory-f1-delta.crl"]))
    else:
        conn.request("POST", "/ocsp", body=random.choice(reqs), headers={"Content-Type": "application/ocsp-request"})
    r = conn.getresponse(); r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
assert set(codes) <= {200, 404, 503}, codes
print(codes)
PY
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
size_after="$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "stopped" in l][-1]["log_size"])' "$T/hq.log")"
[[ "$size_before" == "$size_after" ]] || fail "anonymous requests changed HQ's log: $size_before -> $size_after"
echo "ok: 1,000 anonymous requests to the public process: HQ's log unchanged ($size_after events)"
echo "PASS public_va_test"
