#!/usr/bin/env bash
# bench/run_ocsp_bench.sh [BUILD_DIR] [CERTS] [SECONDS] — OCSP throughput and
# latency of `mirrorca hq serve` against `openssl ocsp -index` and
# `cfssl ocspserve` (Debian golang-cfssl), in the same run, on the same fleet
# of CERTS (default 10,000) device certificates with 10 % revoked (one
# `revoke --serial-file`), every answer signed ahead before the measurement.
#
# The fleet: `mirrorca demo` (10 real devices) sets up HQ and a factory, HQ
# authorizes a batch FLEET of CERTS, and bench/ocsp_fleet appends CERTS
# issuances to the factory's signed log directly (no certificate is built —
# as `crl_bench --prepare` does; real issuance of a million would take an
# hour), then `bundle export` / `bundle import` carry them to HQ (the sync's
# events, on a file), and `hq serve` projects them and signs one answer per
# certificate. Reported: the transfer, the time and HQ CPU until every
# answer is signed ahead, the revocation, HQ's RSS, and the signatures made
# while serving (0 expected).
#   - mirrorca: wrk, keep-alive, a Lua script rotating over every
#     certificate's request body (POST: requests spread uniformly over the
#     whole fleet), and the p99 latency;
#   - openssl ocsp -index: ab (wrk's probe connection wedges it), one body;
#   - cfssl ocspserve: wrk with the same rotating bodies, every response
#     signed ahead (by bench/ocsp_fleet, with the same delegated responder
#     key).
#
# Each server is warmed by one untimed pass of the same load first (its
# figure is printed as the cold pass), then timed: a responder in service
# has run for more than ten seconds.
#
# MIRRORCA_BENCH_PEERS=0 measures mirrorca alone (while tuning it).
# MIRRORCA_BENCH_WORLD=DIR keeps the prepared fleet (HQ, factory, request
# bodies, cfssl's responses, openssl's index) in DIR; a later run with the
# same DIR and CERTS skips the preparation and measures again.
# Installs wrk and apache2-utils when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
certs="${2:-10000}"
secs="${3:-10}"
for tool in wrk:wrk ab:apache2-utils cfssl:golang-cfssl; do
  command -v "${tool%%:*}" >/dev/null || apt-get install -y -qq "${tool#*:}" >/dev/null
done
ninja -C "$build" cli/mirrorca bench/ocsp_fleet >/dev/null
BIN="$PWD/$build/cli/mirrorca"
FLEET="$PWD/$build/bench/ocsp_fleet"
T="$(mktemp -d)"
W="${MIRRORCA_BENCH_WORLD:-$T/world}"
mkdir -p "$W"
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
D="$W/d"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
start_hq() {
  "$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
  PIDS=("$!" "${PIDS[@]}")
  for _ in $(seq 12000); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
  VA="$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
  OP="$(sed -n 's/.*"serving_operator":"\([^"]*\)".*/\1/p' "$T/hq.log")"
}
metric() { curl -s "$OP/metrics" | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'; }
hq_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/${PIDS[0]}/stat"; }
signed_ahead() { local v; v="$(metric 'mirrorca_ocsp_signatures_total{when="ahead"}')"; v="${v%.*}"; echo "${v:-0}"; }
caught_up() {  # at least $1 signed ahead by this process, and nothing left
  until (( $(signed_ahead) >= $1 )) && [[ "$(metric mirrorca_ocsp_presign_caught_up)" == 1 ]]; do sleep 0.25; done
}

echo "== $certs certificates (synthetic fleet), 10 % revoked =="
if [[ -f "$W/ready" && "$(cat "$W/ready")" == "$certs" ]]; then
  echo "the prepared fleet in $W (MIRRORCA_BENCH_WORLD): preparation skipped"
  start_hq
  caught_up 0
else
rm -rf "$D"
"$BIN" demo --dir "$D" --devices 10 > "$T/demo.txt"
"$BIN" batch authorize --config "$D/hq.toml" --batch FLEET --quota "$certs" --deliver > /dev/null
"$FLEET" "$D/factory.toml" FLEET "$certs" "$D/hq/factories/F1/ca/ocsp-responder.pem" \
  "$D/hq/factories/F1/ca/ocsp-responder.key" "$W" > "$W/fleet.json"
echo "fleet: $(cat "$W/fleet.json")"
# The night's transfer, by file (the sync carries the same events; a file
# keeps the pre-signing, measured next, apart from the transfer).
t0=$(now_ms)
"$BIN" bundle export --config "$D/factory.toml" --out "$T/fleet.bundle" --from 10 > /dev/null
t1=$(now_ms)
/usr/bin/time -f "%U %S" -o "$T/import.cpu" "$BIN" bundle import --config "$D/hq.toml" "$T/fleet.bundle" > "$T/import.json"
t2=$(now_ms)
rm -f "$T/fleet.bundle"
echo "transfer of $certs issuances: bundle export $(( t1 - t0 )) ms, import at HQ (every event verified) $(( t2 - t1 )) ms," \
  "$(awk '{printf "%.1f", $1 + $2}' "$T/import.cpu") s CPU"
# The VA's I/O threads (default 2, as in hq.toml); wrk shares the two cores.
# The answers' block cache holds every answer (about 1,020 bytes each with
# the responder certificate, plus RocksDB's own), at least the default 256 MiB.
store_cache_mb=$(( certs * 1100 / 1048576 + 64 ))
(( store_cache_mb < 256 )) && store_cache_mb=256
sed -i "s/^\[validation\]/[validation]\nio_threads = ${MIRRORCA_VA_THREADS:-2}\nocsp_store_cache_mb = $store_cache_mb/" "$D/hq.toml"
printf '\n[operator]\nlisten = "127.0.0.1:0"\n' >> "$D/hq.toml"
t0=$(now_ms)
start_hq
caught_up "$certs"
t1=$(now_ms); cpu1=$(hq_cpu)
echo "pre-signing: hq serve projected the $certs issuances and signed every answer ahead" \
  "$(( t1 - t0 )) ms after it started, in ${cpu1} s of CPU; $(signed_ahead) signed ahead"
echo "presign $certs $(( t1 - t0 )) $cpu1" > "$T/presign"
head -c "$(cat "$W/request_size")" "$W/requests.der" > "$W/one.der"  # ab's one body

t0=$(now_ms)
"$BIN" revoke --config "$D/hq.toml" --reason keyCompromise --serial-file "$W/revoke.txt" > "$T/revoke.json"
t1=$(now_ms)
caught_up "$(( certs + $(wc -l < "$W/revoke.txt") ))"
echo "revoked $(wc -l < "$W/revoke.txt") with one revoke --serial-file in $(( t1 - t0 )) ms" \
  "(their answers re-signed before it returned); HQ CPU $(hq_cpu) s in all"
echo "$certs" > "$W/ready"
fi

# Uniform draws over the whole fleet, each wrk thread from its own seed;
# PACE_MS (if set) spaces each connection's requests (for the p99 at half
# of the peak rate: wrk times a request from its send, not its delay).
cat > "$T/rotate.lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local bodies = {}
local n = 0
local pace = tonumber(os.getenv("PACE_MS") or "0")
function init(args)
  math.randomseed(os.time() * 7919 + id)
  local size = tonumber(io.open("$W/request_size"):read("l"))
  local all = io.open("$W/requests.der", "rb"):read("a")
  for at = 1, #all, size do
    n = n + 1
    bodies[n] = all:sub(at, at + size - 1)
  end
end
function delay()  -- whole milliseconds only: floor or ceil, averaging PACE_MS
  if pace <= 0 then return 0 end
  local whole = math.floor(pace)
  if math.random() < pace - whole then return whole + 1 end
  return whole
end
function request()
  return wrk.format("POST", "/ocsp", {["Content-Type"] = "application/ocsp-request"}, bodies[math.random(n)])
end
LUA
sed "s#/ocsp\", {#/\", {#" "$T/rotate.lua" > "$T/rotate_root.lua"

# Each responder must answer the first certificate "good" before it is timed.
check_good() {  # name url
  openssl ocsp -reqin "$W/one.der" -url "$2" -noverify -resp_text 2>/dev/null | grep -q "Cert Status: good" \
    || { echo "$1 does not answer good for the first certificate" >&2; exit 1; }
}
run_wrk() {  # name url script: one untimed pass (the cold figure), then the timed one
  wrk -t2 -c32 -d"${secs}s" --latency -s "$3" "$2" > "$T/$1.cold" 2>&1 || { cat "$T/$1.cold"; return 1; }
  echo "$1 (cold, untimed): $(awk '/Requests\/sec/ {print $2}' "$T/$1.cold") req/s, p99 $(awk '$1 == "99%" {print $2}' "$T/$1.cold")"
  wrk -t2 -c32 -d"${secs}s" --latency -s "$3" "$2" > "$T/$1.wrk" 2>&1 || { cat "$T/$1.wrk"; return 1; }
  local rps p99
  rps="$(awk '/Requests\/sec/ {print $2}' "$T/$1.wrk")"
  p99="$(awk '$1 == "99%" {print $2}' "$T/$1.wrk")"
  echo "$1: $rps req/s, p99 $p99"
  echo "$1 $rps $p99" >> "$T/results"
}
# Measure a steady HQ: RocksDB's compactions after a million writes, the
# CRLs after the recall, all finished (HQ below a tenth of a core for 2 s).
hq_ticks() { awk '{print $14 + $15}' "/proc/${PIDS[0]}/stat"; }
t0=$(now_ms)
for _ in $(seq 600); do
  a=$(hq_ticks); sleep 2; b=$(hq_ticks)
  (( b - a < 2 * $(getconf CLK_TCK) / 10 )) && break
done
echo "HQ idle $(( $(now_ms) - t0 )) ms after the recall (compactions, CRLs)"
echo "== mirrorca (wrk, rotating bodies) =="
on_demand_before="$(metric 'mirrorca_ocsp_signatures_total{when="on-demand"}')"
check_good mirrorca "http://$VA/ocsp"
run_wrk mirrorca "http://$VA" "$T/rotate.lua"
rss_mib=$(( $(awk '/VmRSS/ {print $2}' "/proc/${PIDS[0]}/status") / 1024 ))
on_demand_after="$(metric 'mirrorca_ocsp_signatures_total{when="on-demand"}')"
echo "mirrorca: HQ RSS ${rss_mib} MiB; signatures while serving: $(( ${on_demand_after%.*} - ${on_demand_before%.*} ))"
# The p99 at about half of the peak: 32 connections, each pacing its requests.
peak="$(awk '$1 == "mirrorca" {print $2}' "$T/results")"
pace="$(python3 -c "print(round(32 * 1000 / ($peak / 2), 3))")"
PACE_MS="$pace" wrk -t2 -c32 -d"${secs}s" --latency -s "$T/rotate.lua" "http://$VA" > "$T/half.wrk" 2>&1
echo "mirrorca at half of peak: $(awk '/Requests\/sec/ {print $2}' "$T/half.wrk") req/s (pacing ${pace} ms a connection), p99 $(awk '$1 == "99%" {print $2}' "$T/half.wrk")"
echo "mirrorca_half $(awk '/Requests\/sec/ {print $2}' "$T/half.wrk") $(awk '$1 == "99%" {print $2}' "$T/half.wrk")" >> "$T/half"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true

if [[ "${MIRRORCA_BENCH_PEERS:-1}" == 0 ]]; then exit 0; fi  # mirrorca alone (profiling)
echo "== openssl ocsp -index (ab, one body) =="
OPORT=$((20000 + RANDOM % 20000))
openssl ocsp -index "$W/index.txt" -port "$OPORT" -rsigner "$D/hq/factories/F1/ca/ocsp-responder.pem" \
  -rkey "$D/hq/factories/F1/ca/ocsp-responder.key" -CA "$D/factory/ca/ca.pem" -nmin 240 \
  > "$T/openssl.log" 2>&1 &
PIDS+=($!)
sleep 2
check_good openssl "http://127.0.0.1:$OPORT/"
ab -q -k -n 100000 -t "$secs" -c 32 -p "$W/one.der" -T application/ocsp-request \
  "http://127.0.0.1:$OPORT/" > "$T/ab.txt" 2>&1 || true
rps="$(awk '/Requests per second/ {print $4}' "$T/ab.txt")"
p99="$(awk '$1 == "99%" {print $2 "ms"}' "$T/ab.txt")"
echo "openssl: $rps req/s, p99 $p99"
echo "openssl $rps $p99" >> "$T/results"

echo "== cfssl ocspserve (wrk, rotating bodies) =="
CPORT=$((20000 + RANDOM % 20000))
cfssl ocspserve -port "$CPORT" -address 127.0.0.1 -responses "$W/cfssl.responses" > "$T/cfssl.log" 2>&1 &
PIDS+=($!)
t0=$(now_ms)
for _ in $(seq 36000); do grep -q "Now listening" "$T/cfssl.log" && break; sleep 0.1; done  # 1M responses: ~15 min
echo "cfssl loaded $certs responses in $(( $(now_ms) - t0 )) ms"
check_good cfssl "http://127.0.0.1:$CPORT/"
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
cat "$T/half" "$T/presign" 2>/dev/null || true
