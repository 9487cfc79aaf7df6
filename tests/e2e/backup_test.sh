#!/usr/bin/env bash
# End-to-end test of `mirrorca backup` / `mirrorca restore` (log/node_backup.h):
#   - a backup of the factory and of HQ taken while both serve (through their
#     control sockets: RocksDB checkpoints, key files);
#   - both data folders lost; restored from the backups into empty folders;
#   - the restored nodes serve, issue, sync (HQ accepts the factory's next
#     sync) and `audit verify` passes on both;
#   - refused: a restore over a non-empty folder, a backup whose key file
#     was altered, a backup folder that already exists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
csrs() {  # dir prefix count
  mkdir -p "$1"
  for i in $(seq "$3"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=$2$i" \
      -out "$1/$2-000$i.csr" 2>/dev/null
  done
}

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
start hq "$D/hq.toml" hq.log serving_sync
HQ_PID=${PIDS[-1]}
start factory "$D/factory.toml" factory.log serving
F_PID=${PIDS[-1]}
csrs "$T/c1" ONE 3
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c1" --out "$T/certs" > /dev/null || fail "enroll"
"$BIN" sync --config "$D/factory.toml" > "$T/sync1.json" || fail "sync: $(cat "$T/sync1.json")"

# --- Backups while both serve.
"$BIN" backup --config "$D/factory.toml" --out "$T/bk-factory" > "$T/bf.json" || fail "factory backup: $(cat "$T/bf.json")"
"$BIN" backup --config "$D/hq.toml" --out "$T/bk-hq" > "$T/bh.json" || fail "hq backup: $(cat "$T/bh.json")"
grep -q '"stores":\["store","delivery"\]' "$T/bh.json" || fail "HQ's backup lacks a store: $(cat "$T/bh.json")"
[[ -f "$T/bk-factory/data/log_key.pem" && "$(stat -c %a "$T/bk-factory/data/log_key.pem")" == 600 ]] \
  || fail "the factory's log key is not in its backup (0600)"
"$BIN" backup --config "$D/factory.toml" --out "$T/bk-factory" > "$T/again.out" 2>&1 && fail "a backup over an existing folder"
echo "ok: backups of the factory and HQ taken while both serve"

# --- Disaster: both data folders are lost.
kill -TERM "$F_PID" "$HQ_PID"; wait "$F_PID" "$HQ_PID" 2>/dev/null || true
mv "$D/factory/data" "$T/lost-factory"; mv "$D/hq/data" "$T/lost-hq"
mkdir -p "$D/factory/data" && touch "$D/factory/data/stray"
"$BIN" restore --config "$D/factory.toml" --from "$T/bk-factory" > "$T/r0.out" 2>&1 && fail "restored over a non-empty folder"
rm -rf "$D/factory/data"
cp -a "$T/bk-factory" "$T/bk-bad"
echo "# altered" >> "$T/bk-bad/data/log_key.pem"
set +e; "$BIN" restore --config "$D/factory.toml" --from "$T/bk-bad" > "$T/r1.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] || fail "restored a backup with an altered key file"
grep -q "not the file the backup recorded" "$T/r1.out" || fail "altered backup: $(cat "$T/r1.out")"
rm -rf "$D/factory/data"
"$BIN" restore --config "$D/factory.toml" --from "$T/bk-factory" > "$T/rf.json" || fail "factory restore: $(cat "$T/rf.json")"
"$BIN" restore --config "$D/hq.toml" --from "$T/bk-hq" > "$T/rh.json" || fail "hq restore: $(cat "$T/rh.json")"
echo "ok: restored both from their backups (refusing a non-empty folder and an altered key file)"

# --- The restored nodes serve, issue and sync; the audit passes.
start hq "$D/hq.toml" hq2.log serving_sync
# A restored factory waits for `factory recover` (HQ may hold more than the backup).
grep -q '"recovery_needed":true' "$T/rf.json" || fail "the factory restore does not ask for a recovery: $(cat "$T/rf.json")"
"$BIN" factory recover --config "$D/factory.toml" > "$T/recover.json" || fail "recover: $(cat "$T/recover.json")"
grep -q '"events_received":0' "$T/recover.json" || fail "the backup was current, yet HQ sent events: $(cat "$T/recover.json")"
start factory "$D/factory.toml" factory2.log serving
csrs "$T/c2" TWO 2
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c2" --out "$T/certs" > "$T/e2.json" \
  || fail "enroll after restore: $(cat "$T/e2.json")"
"$BIN" sync --config "$D/factory.toml" > "$T/sync2.json" || fail "sync after restore: $(cat "$T/sync2.json")"
grep -q '"ok":true' "$T/sync2.json" || fail "sync after restore: $(cat "$T/sync2.json")"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
for data in "$D/hq/data" "$D/factory/data"; do
  "$BIN" audit verify --data "$data" > "$T/v.json" || fail "audit verify $data: $(cat "$T/v.json")"
done
echo "ok: the restored nodes issue and sync; audit verify passes on both"
echo "PASS backup_test"
