#!/usr/bin/env bash
# End-to-end test of connection floods (docs/enrollment_api.md "Limits"):
# 2,000 idle TCP connections from one source address (127.0.0.2) held open
# against the factory's enrollment port, HQ's sync port and HQ's public
# OCSP port do not stop a legitimate RA, a factory's sync or an OCSP client
# (127.0.0.1) from being served: each port gives one source a quota of
# connections (64 enrollment, 4 sync, 512 public) and an unauthenticated
# TLS connection has 5 s to show a pinned key.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
wait_for "$T/hq.log" serving_sync
"$BIN" factory serve --config "$D/factory.toml" > "$T/factory.log" 2>&1 &
PIDS+=($!)
wait_for "$T/factory.log" serving
port_of() { sed -n "/^\[$1\]/,/^\[/s/^$2 = \"[^:]*:\([0-9]*\)\".*/\1/p" "$3" | head -1; }
ENROLL_PORT="$(port_of enroll listen "$D/factory.toml")"
SYNC_PORT="$(port_of sync listen "$D/hq.toml")"
VA_PORT="$(port_of validation listen "$D/hq.toml")"
[[ -n "$ENROLL_PORT" && -n "$SYNC_PORT" && -n "$VA_PORT" ]] || fail "ports not found in the configs"

# The flood: 2,000 idle connections per port from 127.0.0.2, held until $T/stop exists.
python3 - "$T" "$ENROLL_PORT" "$SYNC_PORT" "$VA_PORT" > "$T/flood.log" 2>&1 <<'PY' &
import os, resource, socket, sys, time
t, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
held = []
for port in ports:
    for _ in range(2000):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            held.append(s)
        except OSError:
            s.close()
print("flooding", len(held), flush=True)
while not os.path.exists(t + "/stop"):
    time.sleep(0.1)
PY
PIDS+=($!)
wait_for "$T/flood.log" flooding
sleep 1  # the servers have accepted what they accept

# Served anyway: an RA enrolls, the factory syncs, an OCSP client is answered.
mkdir -p "$T/csrs"
for i in 1 2 3; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=f$i" \
    -out "$T/csrs/FLOOD-000$i.csr" 2>/dev/null
done
start=$(date +%s%N)
timeout 5 "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csrs" --out "$T/certs" > "$T/enroll.json" \
  || fail "enrollment during the flood: $(cat "$T/enroll.json")"
grep -q '"issued":3' "$T/enroll.json" || fail "enroll: $(cat "$T/enroll.json")"
echo "ok: an RA enrolls during the flood ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
start=$(date +%s%N)
timeout 10 "$BIN" sync --config "$D/factory.toml" --deadline 8 > "$T/sync.json" || fail "sync during the flood: $(cat "$T/sync.json")"
grep -q '"ok":true' "$T/sync.json" || fail "sync: $(cat "$T/sync.json")"
echo "ok: the factory syncs during the flood ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
timeout 20 openssl ocsp -issuer "$D/factory/ca/ca.pem" -cert "$D/certs/DEMO-0001.pem" -url "http://127.0.0.1:$VA_PORT/ocsp" \
  -CAfile "$D/hq/root/ca.pem" > "$T/ocsp.out" 2>&1 || fail "OCSP during the flood: $(cat "$T/ocsp.out")"
grep -q "DEMO-0001.pem: good" "$T/ocsp.out" || fail "OCSP: $(cat "$T/ocsp.out")"
echo "ok: an OCSP client is answered during the flood"
touch "$T/stop"
echo "PASS flood_test"
