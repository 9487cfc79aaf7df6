#!/usr/bin/env bash
# End-to-end test of replication with the real binary: `mirrorca hq serve`,
# `mirrorca sync` (standalone and through a running `factory serve`),
# bundles both ways. HQ is killed with SIGKILL in the middle of importing
# 200,000 events: its copy still verifies, and the next sync resumes where
# it stopped. A wrong TLS identity, a factory identity presenting another
# log, garbage on the port and a damaged bundle are refused and write
# nothing.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
HQ_PID=""
FACTORY_PID=""
cleanup() {
  [[ -n "$HQ_PID" ]] && kill -9 "$HQ_PID" 2>/dev/null || true
  [[ -n "$FACTORY_PID" ]] && kill -9 "$FACTORY_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f "$T/hq.log" ]] && tail -5 "$T/hq.log"; exit 1; }

D="$T/site"
FORIGIN="factory-f1.mirrorca.example/log"
"$BIN" pki quickstart --dir "$D" --quota 1000 > /dev/null
SYNC_PORT="$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$D/hq.toml" | head -1)"

start_hq() {
  rm -f "$T/hq.log"  # else the wait below may read the previous server's line
  "$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
  HQ_PID=$!
  for _ in $(seq 600); do grep -q serving_sync "$T/hq.log" 2>/dev/null && return 0; sleep 0.05; done
  fail "hq did not start: $(cat "$T/hq.log")"
}
stop_hq() { kill -TERM "$HQ_PID"; wait "$HQ_PID" || true; HQ_PID=""; }
# events DATA [--log ORIGIN]: size of a log per `mirrorca log verify` (node stopped).
events() {
  local out
  out="$("$BIN" log verify --data "$@")" || fail "log verify $*: $out"
  sed -n 's/^OK log [^:]*: \([0-9]*\) events.*/\1/p' <<< "$out"
}
field() { sed -n "s/.*\"$2\":\([0-9a-z\"]*\).*/\1/p" <<< "$1"; }

# --- 1. 200,000 factory events; SIGKILL HQ mid-import; resume. ---
"$BIN" log append-test --data "$D/factory/data" --count 200000 --batch 1000 --threads 2 > /dev/null
hq_before="$(events "$D/hq/data")"
start_hq
"$BIN" sync --config "$D/factory.toml" --deadline 3 > "$T/sync1.json" 2>&1 &
SYNC_PID=$!
# Kill HQ once its copy is growing (hq serve refreshes its metrics file
# every second).
copy_metric() { sed -n 's/^mirrorca_sync_copy_size{[^}]*} //p' "$D/hq/data/sync_metrics.prom" 2>/dev/null; }
for _ in $(seq 600); do
  c="$(copy_metric)"
  [[ -n "$c" && "$c" -gt 0 ]] && break
  sleep 0.1
done
kill -9 "$HQ_PID"; wait "$HQ_PID" 2>/dev/null || true; HQ_PID=""
wait "$SYNC_PID" && fail "sync succeeded although HQ was killed: $(cat "$T/sync1.json")"
partial="$(events "$D/hq/data" --log "$FORIGIN")"
[[ "$partial" -gt 0 && "$partial" -lt 200000 ]] || fail "HQ was not killed mid-import (copy $partial)"
# The failed sync says how far it got: the log it had to send, what it streamed.
s1="$(grep '^{' "$T/sync1.json" | tail -1)"
[[ "$(field "$s1" factory_size)" -eq 200000 ]] || fail "the failed sync does not report the factory's size: $s1"
[[ "$(field "$s1" events_sent)" -ge "$partial" ]] || fail "the failed sync reports fewer events sent than HQ stored ($partial): $s1"
echo "HQ killed with $partial of 200000 events imported; its copy verifies"
start_hq
"$BIN" sync --config "$D/factory.toml" > "$T/sync2.json" || fail "resume: $(cat "$T/sync2.json")"
s2="$(cat "$T/sync2.json")"
[[ "$(field "$s2" events_sent)" -eq $((200000 - partial)) ]] || fail "resume did not start at $partial: $s2"
[[ "$(field "$s2" cosigned_size)" -eq 200000 ]] || fail "not cosigned: $s2"
# Idle sync: nothing new, quick.
"$BIN" sync --config "$D/factory.toml" > "$T/sync3.json" || fail "idle: $(cat "$T/sync3.json")"
[[ "$(field "$(cat "$T/sync3.json")" events_sent)" -eq 0 ]] || fail "idle sync sent events"

# --- 2. Refusals that write nothing. ---
stop_hq
hq_size="$(events "$D/hq/data")"
copy_size="$(events "$D/hq/data" --log "$FORIGIN")"
start_hq
# A client certificate HQ does not pin (the RA's): refused (TLS 1.3 reports
# it on the client's first read); the sizes checked below prove nothing was written.
openssl s_client -connect "127.0.0.1:$SYNC_PORT" -tls1_3 -quiet \
  -cert "$D/ra/ra-line1.pem" -key "$D/ra/ra-line1.key" -CAfile "$D/factory/tls/hq-tls-ca.pem" \
  > "$T/sclient.out" 2>&1 <<< "hello" || true
# TLS 1.2 is refused.
if openssl s_client -connect "127.0.0.1:$SYNC_PORT" -tls1_2 -cert "$D/factory/tls/factory-sync.pem" \
    -key "$D/factory/tls/factory-sync.key" -CAfile "$D/factory/tls/hq-tls-ca.pem" < /dev/null > "$T/tls12.out" 2>&1; then
  grep -q "Cipher is (NONE)\|alert" "$T/tls12.out" || fail "TLS 1.2 accepted"
fi
# Garbage bytes on the port.
for _ in 1 2 3; do
  (exec 3<>"/dev/tcp/127.0.0.1/$SYNC_PORT"; head -c 5000 /dev/urandom >&3; sleep 0.1) 2>/dev/null || true
done
# Factory F1's TLS identity presenting another log (a second factory log).
"$BIN" log init --data "$T/f2" --origin factory-f2.mirrorca.example/log > /dev/null
sed "s#^data_dir = \"factory/data\"#data_dir = \"$T/f2\"#" "$D/factory.toml" > "$D/factory-f2.toml"
"$BIN" log append-test --data "$T/f2" --count 10 > /dev/null
set +e
"$BIN" sync --config "$D/factory-f2.toml" --deadline 2 > "$T/sync-f2.json"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "identity mismatch: exit $rc $(cat "$T/sync-f2.json")"
grep -q '"refused":"identity"' "$T/sync-f2.json" || fail "identity mismatch: $(cat "$T/sync-f2.json")"
stop_hq
[[ "$(events "$D/hq/data")" -eq "$hq_size" ]] || fail "HQ log changed by refused sessions"
[[ "$(events "$D/hq/data" --log "$FORIGIN")" -eq "$copy_size" ]] || fail "copy changed"
grep -q '"code":"identity"' "$T/hq.log" || fail "no identity alert: $(cat "$T/hq.log")"
grep -q '"alert":"sync-handshake-failed"' "$T/hq.log" || fail "no alert for garbage: $(cat "$T/hq.log")"

# --- 3. Sync through a running factory serve; continuous mode. ---
start_hq
rm -f "$T/factory.log"
"$BIN" factory serve --config "$D/factory.toml" > "$T/factory.log" 2>&1 &
FACTORY_PID=$!
for _ in $(seq 100); do grep -q serving "$T/factory.log" 2>/dev/null && break; sleep 0.05; done
mkdir -p "$T/csr"
for i in 1 2 3; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj "/CN=x" -out "$T/csr/DEV-$i.csr" 2>/dev/null
done
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csr" --out "$T/out" > /dev/null \
  || fail "ra enroll"
"$BIN" sync --config "$D/factory.toml" > "$T/sync4.json" || fail "delegated sync: $(cat "$T/sync4.json")"
[[ "$(field "$(cat "$T/sync4.json")" events_sent)" -eq 3 ]] || fail "delegated: $(cat "$T/sync4.json")"
# Continuous: a new certificate reaches HQ within a second.
"$BIN" sync --config "$D/factory.toml" --continuous > "$T/cont.json" 2>&1 &
CONT_PID=$!
sleep 0.5
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=x" -out "$T/csr/DEV-4.csr" 2>/dev/null
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csr" --out "$T/out" > /dev/null
t0=$(date +%s%N)
until grep -q "\"cosigned_size\":$((200000 + 4))" "$T/cont.json"; do
  [[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]] || fail "continuous: not shipped in 1 s: $(cat "$T/cont.json")"
  sleep 0.02
done
kill "$CONT_PID"; wait "$CONT_PID" 2>/dev/null || true

# --- 4. Bundles: both directions, idempotent, damaged copy refused. ---
# A relative --out names the caller's folder, not the running node's (/ under systemd).
mkdir -p "$T/here"
(cd "$T/here" && "$BIN" bundle export --config "$D/factory.toml" --out f.bundle > "$T/exp.json") \
  || fail "export: $(cat "$T/exp.json")"
[[ -s "$T/here/f.bundle" ]] || fail "a relative --out did not land in the caller's folder: $(cat "$T/exp.json")"
grep -q "\"file\":\"$T/here/f.bundle\"" "$T/exp.json" || fail "the summary does not name the absolute file: $(cat "$T/exp.json")"
mv "$T/here/f.bundle" "$T/f.bundle"
set +e
"$BIN" bundle export --config "$D/factory.toml" --out "$T/no/such/dir/f.bundle" > "$T/exp-bad.json" 2>&1; rc=$?
"$BIN" bundle import --config "$D/hq.toml" "$T/missing.bundle" > "$T/imp-missing.json" 2>&1; rc2=$?
set -e
[[ $rc -eq 2 ]] || fail "export to a folder that does not exist: exit $rc, not 2: $(cat "$T/exp-bad.json")"
[[ $rc2 -eq 2 ]] || fail "import of a missing file: exit $rc2, not 2: $(cat "$T/imp-missing.json")"
grep -q "no such file" "$T/imp-missing.json" || fail "missing file: $(cat "$T/imp-missing.json")"
"$BIN" bundle import --config "$D/hq.toml" "$T/f.bundle" > "$T/imp1.json" || fail "import: $(cat "$T/imp1.json")"
"$BIN" bundle import --config "$D/hq.toml" "$T/f.bundle" > "$T/imp2.json" || fail "re-import"
grep -q '"events_imported":0' "$T/imp2.json" || fail "second import changed something: $(cat "$T/imp2.json")"
python3 - "$T/f.bundle" "$T/bad.bundle" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[len(d) // 3] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
set +e
"$BIN" bundle import --config "$D/hq.toml" "$T/bad.bundle" > "$T/imp3.json"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "damaged bundle: exit $rc $(cat "$T/imp3.json")"
"$BIN" bundle export --config "$D/hq.toml" --out "$T/hq.bundle" > /dev/null || fail "hq export"
"$BIN" bundle import --config "$D/factory.toml" "$T/hq.bundle" > "$T/imp4.json" || fail "factory import: $(cat "$T/imp4.json")"
kill -TERM "$FACTORY_PID"; wait "$FACTORY_PID" || true; FACTORY_PID=""

# --- 5. factory serve with [sync] continuous = true ships by itself. ---
sed 's/^continuous = false/continuous = true/' "$D/factory.toml" > "$D/factory-cont.toml"
"$BIN" factory serve --config "$D/factory-cont.toml" > "$T/factory2.log" 2>&1 &
FACTORY_PID=$!
for _ in $(seq 100); do grep -q serving "$T/factory2.log" 2>/dev/null && break; sleep 0.05; done
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=x" -out "$T/csr/DEV-5.csr" 2>/dev/null
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csr" --out "$T/out" > /dev/null \
  || fail "ra enroll (continuous)"
# `sync` against a continuous node waits until its session covers the log.
"$BIN" sync --config "$D/factory-cont.toml" > "$T/sync5.json" || fail "continuous node: $(cat "$T/sync5.json")"
grep -q "\"cosigned_size\":$((200000 + 5))" "$T/sync5.json" || fail "continuous node: $(cat "$T/sync5.json")"
kill -TERM "$FACTORY_PID"; wait "$FACTORY_PID" || true; FACTORY_PID=""
stop_hq
events "$D/hq/data" --log "$FORIGIN" > /dev/null
events "$D/factory/data" --log hq.mirrorca.example/log/to/F1 > /dev/null
echo "PASS sync e2e"
