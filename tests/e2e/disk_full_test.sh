#!/usr/bin/env bash
# End-to-end test of a full disk under `factory serve` (log/store.h
# min_free_bytes): the factory's store lives on a 24 MiB tmpfs with
# [factory] min_free_mb = 4; another process fills the disk.
#   - enrollment answers 503 with a problem that says "disk full", for every
#     request, and factory serve stays up (RocksDB 7.8 would abort on the
#     write after one that hit ENOSPC: the store refuses before RocksDB writes);
#   - once space is freed it issues again, without a restart;
#   - `log verify` on the full disk reports (read-only open), never aborts;
#   - nothing acknowledged is lost: every certificate issued is in the log.
# Needs a tmpfs mount (root in the container); skipped (77) otherwise.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
PIDS=()
MNT="$T/mnt"
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  umount "$MNT" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log; do [[ -f "$l" ]] && { echo "--- $l"; tail -5 "$l"; }; done; exit 1; }
wait_for() {  # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never said '$2'"
}
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=24m tmpfs "$MNT" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root)"
  exit 77
fi

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
cp -a "$D/factory/data" "$MNT/data"
sed -i -e "s#^data_dir = .*#data_dir = \"$MNT/data\"#" -e "s#^checkpoint_interval = .*#&\nmin_free_mb = 4#" "$D/factory.toml"
grep -q "^min_free_mb = 4" "$D/factory.toml" || fail "test setup: factory.toml"
"$BIN" factory serve --config "$D/factory.toml" > "$T/factory.log" 2>&1 &
FPID=$!
PIDS+=("$FPID")
wait_for "$T/factory.log" serving
csrs() {  # dir prefix count
  mkdir -p "$1"
  for i in $(seq "$3"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=$2$i" \
      -out "$1/$2-000$i.csr" 2>/dev/null
  done
}
csrs "$T/c1" OK 2
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c1" --out "$T/certs" > "$T/e1.json" \
  || fail "enroll before the disk fills: $(cat "$T/e1.json")"

# Another process fills the disk to the last byte.
dd if=/dev/zero of="$MNT/filler" bs=64k > /dev/null 2>&1 || true
[[ "$(df --output=avail "$MNT" | tail -1 | tr -d ' ')" -lt 1024 ]] || fail "the disk is not full: $(df -h "$MNT")"
csrs "$T/c2" FULL 3
for round in 1 2 3; do
  "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c2" --out "$T/certs-full" > "$T/e2.json" \
    && fail "issued on a full disk: $(cat "$T/e2.json")"
  grep -q '"issued":0' "$T/e2.json" || fail "issued on a full disk: $(cat "$T/e2.json")"
  grep -q "disk full" "$T/e2.json" || fail "the refusal does not say why: $(cat "$T/e2.json")"
  sleep 1
  kill -0 "$FPID" 2>/dev/null || fail "factory serve died on a full disk: $(tail -3 "$T/factory.log")"
done
grep -q "Assertion" "$T/factory.log" && fail "RocksDB asserted: $(tail -3 "$T/factory.log")"
echo "ok: on a full disk enrollment answers 503 'disk full' and factory serve stays up"

# Space back: it issues again, no restart.
rm -f "$MNT/filler"
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c2" --out "$T/certs" > "$T/e3.json" \
  || fail "enroll once space is back: $(cat "$T/e3.json")"
grep -q '"issued":3' "$T/e3.json" || fail "enroll once space is back: $(cat "$T/e3.json")"
kill -0 "$FPID" || fail "factory serve is gone"
echo "ok: once space is freed it issues again without a restart"

# log verify on a full disk: it reports, never aborts; every certificate is there.
kill -TERM "$FPID"; wait "$FPID" 2>/dev/null || true
dd if=/dev/zero of="$MNT/filler" bs=64k > /dev/null 2>&1 || true
set +e
"$BIN" log verify --data "$MNT/data" > "$T/verify.out" 2>&1
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "log verify on a full disk: exit $rc: $(cat "$T/verify.out")"
grep -q "^OK" "$T/verify.out" || fail "log verify: $(cat "$T/verify.out")"
rm -f "$MNT/filler"
"$BIN" log export --data "$MNT/data" > "$T/export.jsonl"
issued="$(grep -c '"kind":"certificateIssued"' "$T/export.jsonl")"
[[ "$issued" -eq $((4 + 2 + 3)) ]] || fail "the log holds $issued certificates, not the 9 acknowledged"
echo "ok: log verify on a full disk reports OK; all 9 acknowledged certificates are in the log"
echo "PASS disk_full_test"
