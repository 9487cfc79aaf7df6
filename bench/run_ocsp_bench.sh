#!/usr/bin/env bash
# bench/run_ocsp_bench.sh [BUILD_DIR] [CERTS] [SECONDS] — OCSP throughput and
# latency of `mirrorca hq serve` against `openssl ocsp -index` and
# `cfssl ocspserve` (Debian golang-cfssl), in the same run, on the same
# CERTS (default 10,000) device certificates with 10 % revoked (one
# `revoke --serial-file`), every answer signed ahead of time before the
# measurement (the time and CPU that took is reported, and HQ's RSS):
#   - mirrorca: wrk, keep-alive, a Lua script rotating over every
#     certificate's request body (POST: requests spread uniformly over the
#     whole fleet), and the p99 latency;
#   - openssl ocsp -index: ab (wrk's probe connection wedges it), one body;
#   - cfssl ocspserve: wrk with the same rotating bodies, responses pre-signed
#     by Python `cryptography` with the same delegated responder key.
# Installs wrk and apache2-utils when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
certs="${2:-10000}"
secs="${3:-10}"
for tool in wrk:wrk ab:apache2-utils cfssl:golang-cfssl; do
  command -v "${tool%%:*}" >/dev/null || apt-get install -y -qq "${tool#*:}" >/dev/null
done
ninja -C "$build" cli/mirrorca >/dev/null
BIN="$PWD/$build/cli/mirrorca"
T="$(mktemp -d)"
PIDS=()
# Every server started here stops with the script, whatever way it ends:
# its children first (a wrapper's), then itself; SIGKILL what outlives 2 s.
cleanup() {
  set +e  # nothing here may end the cleanup early (pkill finds no child: status 1)
  for p in "${PIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 20); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do pkill -KILL -P "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT INT TERM
D="$T/d"

echo "== $certs certificates (mirrorca demo), 10 % revoked =="
"$BIN" demo --dir "$D" --devices "$certs" > "$T/demo.txt"
# The VA's I/O threads (default 2, as in hq.toml); wrk shares the two cores.
sed -i "s/^\[validation\]/[validation]\nio_threads = ${MIRRORCA_VA_THREADS:-2}/" "$D/hq.toml"
printf '\n[operator]\nlisten = "127.0.0.1:0"\n' >> "$D/hq.toml"
serve_t0=$(date +%s%N)
"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1200); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
VA="$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
OP="$(sed -n 's/.*"serving_operator":"\([^"]*\)".*/\1/p' "$T/hq.log")"
metric() { curl -s "$OP/metrics" | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'; }
# Requests (SHA-1 CertIDs, no nonce), the openssl index, cfssl's responses.
python3 - "$D" "$T" <<'PY'
import sys, glob, datetime, base64
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
d, t = sys.argv[1], sys.argv[2]
issuer = x509.load_pem_x509_certificate(open(f"{d}/factory/ca/ca.pem", "rb").read())
rcert = x509.load_pem_x509_certificate(open(f"{d}/hq/factories/F1/ca/ocsp-responder.pem", "rb").read())
rkey = serialization.load_pem_private_key(open(f"{d}/hq/factories/F1/ca/ocsp-responder.key", "rb").read(), None)
now = datetime.datetime.utcnow()
with open(f"{t}/requests.hex", "w") as req, open(f"{t}/index.txt", "w") as idx, \
     open(f"{t}/cfssl.responses", "w") as resp, open(f"{t}/revoke.txt", "w") as rev:
    for n, path in enumerate(sorted(glob.glob(f"{d}/certs/*.pem"))):
        cert = x509.load_pem_x509_certificate(open(path, "rb").read())
        revoked = n % 10 == 4  # 10 %
        if revoked: rev.write(format(cert.serial_number, "x") + "\n")
        der = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build() \
            .public_bytes(serialization.Encoding.DER)
        req.write(der.hex() + "\n")
        exp = cert.not_valid_after.strftime("%y%m%d%H%M%SZ")
        serial = format(cert.serial_number, "X")
        if len(serial) % 2: serial = "0" + serial
        subj = cert.subject.rfc4514_string().replace(",", "/")
        if revoked:
            idx.write(f"R\t{exp}\t{now.strftime('%y%m%d%H%M%SZ')},keyCompromise\t{serial}\tunknown\t/{subj}\n")
            b = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=issuer, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.REVOKED,
                this_update=now, next_update=now + datetime.timedelta(hours=4),
                revocation_time=now, revocation_reason=x509.ReasonFlags.key_compromise)
        else:
            idx.write(f"V\t{exp}\t\t{serial}\tunknown\t/{subj}\n")
            b = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=issuer, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now, next_update=now + datetime.timedelta(hours=4),
                revocation_time=None, revocation_reason=None)
        r = b.responder_id(ocsp.OCSPResponderEncoding.HASH, rcert).certificates([rcert]) \
            .sign(rkey, hashes.SHA256())
        resp.write(base64.b64encode(r.public_bytes(serialization.Encoding.DER)).decode() + "\n")
    open(f"{t}/one.der", "wb").write(der)
PY
"$BIN" revoke --config "$D/hq.toml" --reason keyCompromise --serial-file "$T/revoke.txt" > "$T/revoke.json"
echo "revoked $(wc -l < "$T/revoke.txt") with one revoke --serial-file"
# Every answer signed ahead before measuring: wait for the pre-signer.
hq_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/${PIDS[0]}/stat"; }
sleep 1.5  # a maintenance tick after the revocation
until [[ "$(metric mirrorca_ocsp_presign_caught_up)" == 1 ]]; do sleep 0.5; done
presign_s=$(( ($(date +%s%N) - serve_t0) / 1000000 ))
echo "answers signed ahead: $(metric mirrorca_ocsp_presigned_answers) stored (the demo's hq serve signed most), caught up ${presign_s} ms after hq serve started; $(metric 'mirrorca_ocsp_signatures_total{when="ahead"}') signed by this process in $(hq_cpu) s of HQ CPU"
echo "presign $presign_s $(hq_cpu)" > "$T/presign"
cat > "$T/rotate.lua" <<LUA
local bodies = {}
local n = 0
function init(args)
  for line in io.lines("$T/requests.hex") do
    n = n + 1
    bodies[n] = (line:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
  end
end
local i = 0
function request()
  i = i % n + 1
  return wrk.format("POST", "/ocsp", {["Content-Type"] = "application/ocsp-request"}, bodies[i])
end
LUA
sed "s#/ocsp\", {#/\", {#" "$T/rotate.lua" > "$T/rotate_root.lua"

run_wrk() {  # name url script
  wrk -t2 -c32 -d"${secs}s" --latency -s "$3" "$2" > "$T/$1.wrk" 2>&1 || { cat "$T/$1.wrk"; return 1; }
  local rps p99
  rps="$(awk '/Requests\/sec/ {print $2}' "$T/$1.wrk")"
  p99="$(awk '$1 == "99%" {print $2}' "$T/$1.wrk")"
  echo "$1: $rps req/s, p99 $p99"
  echo "$1 $rps $p99" >> "$T/results"
}
echo "== mirrorca (wrk, rotating bodies) =="
on_demand_before="$(metric 'mirrorca_ocsp_signatures_total{when="on-demand"}')"
run_wrk mirrorca "http://$VA" "$T/rotate.lua"
rss_mib=$(( $(awk '/VmRSS/ {print $2}' "/proc/${PIDS[0]}/status") / 1024 ))
on_demand_after="$(metric 'mirrorca_ocsp_signatures_total{when="on-demand"}')"
echo "mirrorca: HQ RSS ${rss_mib} MiB; signatures while serving: $(( ${on_demand_after%.*} - ${on_demand_before%.*} ))"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true

echo "== openssl ocsp -index (ab, one body) =="
OPORT=$((20000 + RANDOM % 20000))
openssl ocsp -index "$T/index.txt" -port "$OPORT" -rsigner "$D/hq/factories/F1/ca/ocsp-responder.pem" \
  -rkey "$D/hq/factories/F1/ca/ocsp-responder.key" -CA "$D/factory/ca/ca.pem" -nmin 240 \
  > "$T/openssl.log" 2>&1 &
PIDS+=($!)
sleep 2
ab -q -k -n 100000 -t "$secs" -c 32 -p "$T/one.der" -T application/ocsp-request \
  "http://127.0.0.1:$OPORT/" > "$T/ab.txt" 2>&1 || true
rps="$(awk '/Requests per second/ {print $4}' "$T/ab.txt")"
p99="$(awk '$1 == "99%" {print $2 "ms"}' "$T/ab.txt")"
echo "openssl: $rps req/s, p99 $p99"
echo "openssl $rps $p99" >> "$T/results"

echo "== cfssl ocspserve (wrk, rotating bodies) =="
CPORT=$((20000 + RANDOM % 20000))
cfssl ocspserve -port "$CPORT" -address 127.0.0.1 -responses "$T/cfssl.responses" > "$T/cfssl.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do grep -q "Now listening" "$T/cfssl.log" && break; sleep 0.1; done
run_wrk cfssl "http://127.0.0.1:$CPORT" "$T/rotate_root.lua"

python3 - "$T/results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p99 = (line.split() + ["", ""])[:3]
    rows[name] = (float(rps or 0), p99)
m = rows.get("mirrorca", (0, ""))
best = max((v[0], k) for k, v in rows.items() if k != "mirrorca")
print()
for k, (rps, p99) in rows.items():
    print(f"{k:10s} {rps:10.0f} req/s   p99 {p99}")
print(f"mirrorca / best peer ({best[1]}): {m[0] / best[0]:.2f} x (goal >= 5 x, p99 < 5 ms)")
PY
