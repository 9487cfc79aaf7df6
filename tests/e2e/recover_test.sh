#!/usr/bin/env bash
# End-to-end test of disaster recovery (replication/log_recovery.h,
# `mirrorca factory recover`, docs/operations.md "Disaster recovery"):
#   1. A factory restored from a backup older than its last sync refuses to
#      serve until recovered; `factory recover` brings its log back from
#      HQ's copy; it continues the same log (HQ accepts the next sync, no
#      anomaly), its batch ledger knows every device HQ knows it certified
#      (re-enrolling one is refused as a duplicate; the batch's count is
#      HQ's), and `audit verify` passes on both stores.
#   2. A factory whose whole data folder is lost but whose log key survives
#      (a token, or a copy of the key file) is recovered into an empty folder
#      with --log-key (the log's registered key from hq.toml).
#   3. Refusals that change nothing: recovering while `factory serve` runs;
#      without the log key; with another log's key file.
#   4. HQ restored from a backup never reuses a CRL number published after
#      the backup.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
csrs() {  # dir prefix first last
  mkdir -p "$1"
  for i in $(seq "$3" "$4"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=$2$i" \
      -out "$1/$2-$(printf %04d "$i").csr" 2>/dev/null
  done
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
crl_number() { openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/crlNumber=0x//'; }

"$BIN" demo --dir "$T/d" --devices 3 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
DATA="$D/factory/data"
LOG_KEY="$(awk '/^\[\[factory\]\]/{f=1} f && /^log_key/{gsub(/"/,"",$3); print $3; exit}' "$D/hq.toml")"
start hq "$D/hq.toml" hq.log serving_sync
HQ_PID=${PIDS[-1]}
start factory "$D/factory.toml" factory.log serving
F_PID=${PIDS[-1]}
csrs "$T/c1" AAA 1 3
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c1" --out "$T/certs" > /dev/null || fail "enroll 1"
"$BIN" sync --config "$D/factory.toml" > /dev/null || fail "sync 1"
"$BIN" backup --config "$D/factory.toml" --out "$T/bk-old" > /dev/null || fail "factory backup"
"$BIN" backup --config "$D/hq.toml" --out "$T/bk-hq" > /dev/null || fail "hq backup"
# After the backups: more devices, synced — HQ holds them, the old backup does not.
csrs "$T/c2" BBB 1 4
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c2" --out "$T/certs" > /dev/null || fail "enroll 2"
"$BIN" sync --config "$D/factory.toml" > "$T/sync2.json" || fail "sync 2"
HQ_HOLDS=$(json "$T/sync2.json" factory_size)
"$BIN" crl generate --config "$D/hq.toml" --out "$T/after-backup.crl" --ca factory-f1 > /dev/null || fail "crl"
CRL_AFTER_BACKUP=$((16#$(crl_number "$T/after-backup.crl")))

# --- 1. Restored from the older backup: waits for a recovery.
stop "$F_PID"
mv "$DATA" "$T/lost"
"$BIN" restore --config "$D/factory.toml" --from "$T/bk-old" > "$T/restore.json" || fail "restore: $(cat "$T/restore.json")"
grep -q '"recovery_needed":true' "$T/restore.json" || fail "restore does not say a recovery is needed: $(cat "$T/restore.json")"
set +e; "$BIN" factory serve --config "$D/factory.toml" > "$T/refused.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] && grep -q "waits for a recovery" "$T/refused.out" || fail "a restored factory served ($rc): $(cat "$T/refused.out")"
set +e; "$BIN" sync --config "$D/factory.toml" > "$T/refused2.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] || fail "a restored factory synced before its recovery"
"$BIN" factory recover --config "$D/factory.toml" > "$T/recover.json" || fail "recover: $(cat "$T/recover.json")"
[[ "$(json "$T/recover.json" log_size)" == "$HQ_HOLDS" ]] || fail "recovered to $(cat "$T/recover.json"), HQ holds $HQ_HOLDS"
[[ "$(json "$T/recover.json" events_received)" -gt 0 ]] || fail "nothing received: $(cat "$T/recover.json")"
echo "ok: restored from an older backup, the factory refuses to serve; factory recover brings its log to HQ's $HQ_HOLDS events"
start factory "$D/factory.toml" factory2.log serving
F_PID=${PIDS[-1]}
# Devices issued after the backup are known: re-enrolling one is refused, and the batch counts match HQ.
mkdir -p "$T/again" && cp "$T/c2/BBB-0002.csr" "$T/again/"
set +e; "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/again" --out "$T/certs2" > "$T/dup.json" 2>&1; set -e
grep -q "duplicate-device" "$T/dup.json" || fail "a device certified after the backup was certified again: $(cat "$T/dup.json")"
csrs "$T/c3" CCC 1 2
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c3" --out "$T/certs" > /dev/null || fail "enroll after recovery"
"$BIN" sync --config "$D/factory.toml" > "$T/sync3.json" || fail "sync after recovery: $(cat "$T/sync3.json")"
grep -q '"ok":true' "$T/sync3.json" || fail "HQ refused the recovered factory: $(cat "$T/sync3.json")"
"$BIN" batch ledger --config "$D/hq.toml" --batch F1/B1 > "$T/ledger.json" || fail "ledger: $(cat "$T/ledger.json")"
grep -q '"issued":12' "$T/ledger.json" || fail "HQ's ledger after recovery (3+3+4+2 issued): $(cat "$T/ledger.json")"
stop "$F_PID"
"$BIN" audit verify --data "$DATA" > "$T/audit-f.txt" 2>&1 || fail "audit verify (factory): $(tail -3 "$T/audit-f.txt")"
echo "ok: the recovered factory refuses a device it certified after the backup, issues new ones, and HQ accepts its sync"

# --- 2. The whole data folder lost; the log key survives.
cp "$DATA/log_key.pem" "$T/kept-key.pem"
rm -rf "$DATA"; mkdir -p "$DATA"; cp -p "$T/kept-key.pem" "$DATA/log_key.pem"
set +e; "$BIN" factory recover --config "$D/factory.toml" > "$T/nokey.out" 2>&1; rc=$?; set -e
[[ $rc -eq 2 ]] && grep -q -- "--log-key" "$T/nokey.out" || fail "recover into an empty folder without --log-key ($rc): $(cat "$T/nokey.out")"
"$BIN" factory recover --config "$D/factory.toml" --log-key "$LOG_KEY" > "$T/recover2.json" || fail "recover 2: $(cat "$T/recover2.json")"
[[ "$(json "$T/recover2.json" held_before)" == 0 && "$(json "$T/recover2.json" log_size)" == "$(json "$T/sync3.json" factory_size)" ]] \
  || fail "recovery into an empty folder: $(cat "$T/recover2.json")"
start factory "$D/factory.toml" factory3.log serving
F_PID=${PIDS[-1]}
set +e; "$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/c3" --out "$T/certs3" > "$T/dup2.json" 2>&1; set -e
grep -q "duplicate-device" "$T/dup2.json" || fail "after a full loss a device was certified twice: $(cat "$T/dup2.json")"
"$BIN" sync --config "$D/factory.toml" > "$T/sync4.json" || fail "sync after full recovery: $(cat "$T/sync4.json")"
echo "ok: a lost data folder is recovered from HQ with the surviving log key; HQ accepts the next sync"

# --- 3. Refusals that change nothing.
set +e; "$BIN" factory recover --config "$D/factory.toml" > "$T/running.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] && grep -q "running" "$T/running.out" || fail "recovered while serving: $(cat "$T/running.out")"
stop "$F_PID"
rm -rf "$T/other" && mkdir -p "$T/other"
"$BIN" log init --data "$T/other" --origin other.example/log > /dev/null 2>&1 || fail "log init"
mv "$DATA" "$T/kept"; mkdir -p "$DATA"
set +e; "$BIN" factory recover --config "$D/factory.toml" --log-key "$LOG_KEY" > "$T/nokeyfile.out" 2>&1; rc=$?; set -e
[[ $rc -eq 2 ]] && grep -q "no log key" "$T/nokeyfile.out" || fail "recovered without a log key ($rc): $(cat "$T/nokeyfile.out")"
cp -p "$T/other/log_key.pem" "$DATA/log_key.pem"
set +e; "$BIN" factory recover --config "$D/factory.toml" --log-key "$LOG_KEY" > "$T/wrongkey.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] || fail "recovered under another log's key"
set +e; "$BIN" factory serve --config "$D/factory.toml" > "$T/wrongkey-serve.out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] || fail "served after a refused recovery"
rm -rf "$DATA"; mv "$T/kept" "$DATA"
echo "ok: refused — while serving, without the log key, under another log's key (the store keeps waiting)"

# --- 4. HQ restored from its backup never reuses a CRL number.
stop "$HQ_PID"
mv "$D/hq/data" "$T/lost-hq"
"$BIN" restore --config "$D/hq.toml" --from "$T/bk-hq" > "$T/restore-hq.json" || fail "hq restore: $(cat "$T/restore-hq.json")"
"$BIN" crl generate --config "$D/hq.toml" --out "$T/restored.crl" --ca factory-f1 > /dev/null || fail "crl after restore"
CRL_RESTORED=$((16#$(crl_number "$T/restored.crl")))
[[ $CRL_RESTORED -gt $CRL_AFTER_BACKUP ]] || fail "CRL number $CRL_RESTORED after the restore reuses one (published $CRL_AFTER_BACKUP)"
echo "ok: HQ restored from its backup publishes CRL $CRL_RESTORED, above $CRL_AFTER_BACKUP published after the backup"
echo "PASS"
