#!/usr/bin/env bash
# End-to-end test of one HQ with three factories, every piece made by the
# onboarding commands (no hand-written config), with real clients:
#   - `pki init-root`, then `hq serve` runs while F1, F2 and F3 are onboarded
#     (`factory-init`, `certify-factory`, `factory-join`, `add-ra`): the
#     running HQ takes each one without a restart;
#   - each factory issues in its own batch B1 (three batches of that name),
#     syncs, and the ledger keeps F1/B1, F2/B1 and F3/B1 apart;
#   - revocations per factory (a serial of F1, the whole batch F2/B1);
#     `openssl ocsp` and `openssl verify -crl_check` for a device of each;
#   - a request naming two issuers gets "unauthorized"; each issuer's own
#     answers stay correct;
#   - unseen serials: F1 (strict) answers "revoked" for a device issued after
#     its last sync, F3 (unseen_serials = "unknown") answers "unknown";
#   - F2 is removed: its next sync is refused, what it issued stays answered;
#   - each factory's store holds only the HQ events addressed to it (its
#     delivery log): F2 never receives F1's batch terms; `audit verify` at HQ
#     checks every delivery log against HQ's log byte for byte.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log; do [[ -f "$l" ]] && { echo "--- $l"; tail -5 "$l"; }; done; exit 1; }
read -r SYNC_PORT VA_PORT ADMIN_PORT P1 P2 P3 <<< "$(python3 "$HERE/free_port.py" 6)"
VA="http://127.0.0.1:$VA_PORT"
HQ="$T/hq"
ROOT="$HQ/root/ca.pem"

wait_for() {  # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never said '$2'"
}

# --- HQ: root, log, TLS, hq.toml with no factory; it starts serving at once.
"$BIN" pki init-root --dir "$HQ" --sync-listen "127.0.0.1:$SYNC_PORT" --va-listen "127.0.0.1:$VA_PORT" \
  --admin-listen "127.0.0.1:$ADMIN_PORT" > "$T/init-root.json" || fail "pki init-root"
grep -q '^\[\[factory\]\]' "$HQ/hq.toml" && fail "init-root wrote a factory"
"$BIN" hq serve --config "$HQ/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
wait_for "$T/hq.log" serving_validation
echo "ok: hq serve runs with no factory"

# --- Three factories, onboarded by commands while HQ runs.
onboard() {  # NAME PORT [certify options...]
  local name="$1" port="$2"; shift 2
  local f="$T/$name"
  "$BIN" pki factory-init --dir "$f" --name "$name" --enroll-listen "127.0.0.1:$port" > "$T/$name-init.json" \
    || fail "factory-init $name"
  # Only public halves leave the factory.
  grep -q "PRIVATE KEY" "$f/$name.req" && fail "the request of $name holds a private key"
  "$BIN" pki certify-factory --root "$HQ" --request "$f/$name.req" --out "$T/$name.grant" "$@" \
    > "$T/$name-certify.json" || fail "certify-factory $name: $(cat "$T/$name-certify.json")"
  grep -q '"registered_by_running_hq":true' "$T/$name-certify.json" \
    || fail "the running HQ did not take $name: $(cat "$T/$name-certify.json")"
  grep -q "PRIVATE KEY" "$T/$name.grant" && fail "the grant of $name holds a clear private key"
  [[ "$(stat -c %a "$T/$name.grant")" == "600" ]] || fail "grant mode"
  "$BIN" pki factory-join --dir "$f" "$T/$name.grant" > /dev/null || fail "factory-join $name"
  [[ -e "$f/transport.key" ]] && fail "$name kept its transport key"
  [[ "$(stat -c %a "$f/ca/ca.key")" == "600" ]] || fail "$name CA key mode"
  "$BIN" pki add-ra --config "$f/factory.toml" --id ra-line1 --out "$T/$name-ra" > /dev/null || fail "add-ra $name"
}
onboard F1 "$P1"
onboard F2 "$P2" --profile iec62443
onboard F3 "$P3" --unseen-serials unknown
# The factory key fingerprint HQ recorded is the key the factory now holds.
for n in F1 F2 F3; do
  fp="$(openssl pkey -in "$T/$n/ca/ca.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)"
  grep -q "\"ca_key_fingerprint\":\"$fp\"" "$T/$n-certify.json" || fail "$n key fingerprint"
done
# A second certify of F2's request is refused and changes nothing.
cp "$HQ/hq.toml" "$T/hq.toml.before"
"$BIN" pki certify-factory --root "$HQ" --request "$T/F2/F2.req" --out "$T/again.grant" > "$T/again.json" 2>&1 \
  && fail "certified F2 twice"
cmp -s "$HQ/hq.toml" "$T/hq.toml.before" || fail "a refused certify changed hq.toml"
# A grant for F2 does not join F3.
"$BIN" pki factory-join --dir "$T/F3" "$T/F2.grant" --config "$T/wrong.toml" > "$T/wrong.json" 2>&1 \
  && fail "F3 joined with F2's grant"
echo "ok: three factories onboarded by commands while HQ ran"

for n in F1 F2 F3; do
  "$BIN" batch authorize --config "$HQ/hq.toml" --factory "$n" --batch B1 --quota 10 > "$T/$n-auth.json" \
    || fail "authorize $n/B1: $(cat "$T/$n-auth.json")"
  grep -q '"ok":true' "$T/$n-auth.json" || fail "authorize $n/B1: $(cat "$T/$n-auth.json")"
  "$BIN" factory serve --config "$T/$n/factory.toml" > "$T/$n.log" 2>&1 &
  PIDS+=($!)
done
for n in F1 F2 F3; do
  wait_for "$T/$n.log" serving
  "$BIN" sync --config "$T/$n/factory.toml" --deadline 30 > "$T/$n-sync0.json" || fail "first sync $n: $(cat "$T/$n-sync0.json")"
done

# --- Each factory issues 3 devices in its B1, then syncs.
enroll() {  # NAME PREFIX COUNT
  local n="$1" dir="$T/$1-$2"
  mkdir -p "$dir/csr"
  for i in $(seq "$3"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=x" -out "$dir/csr/$n-$2-$i.csr" 2>/dev/null
  done
  "$BIN" ra enroll --config "$T/$n-ra/ra.toml" --batch B1 --csr-dir "$dir/csr" --out "$T/certs" \
    > "$T/$n-$2-enroll.json" || fail "enroll $n: $(cat "$T/$n-$2-enroll.json")"
}
for n in F1 F2 F3; do enroll "$n" D 3; done
for n in F1 F2 F3; do
  "$BIN" sync --config "$T/$n/factory.toml" --deadline 30 > "$T/$n-sync1.json" || fail "sync $n"
done
"$BIN" batch ledger --config "$HQ/hq.toml" > "$T/ledger.json" || fail "batch ledger"
python3 - "$T/ledger.json" <<'PY' || fail "ledger: $(cat "$T/ledger.json")"
import json, sys
b = json.load(open(sys.argv[1]))["batches"]
got = sorted((x["factory"], x["batch"], x["issued"]) for x in b)
assert got == [("F1", "B1", 3), ("F2", "B1", 3), ("F3", "B1", 3)], got
PY
echo "ok: three batches named B1, kept apart: $(python3 -c 'import json,sys; print([(x["factory"]+"/"+x["batch"], x["issued"]) for x in json.load(open(sys.argv[1]))["batches"]])' "$T/ledger.json")"

# --- Revocations per factory: one serial of F1, the whole of F2/B1.
serial() { openssl x509 -in "$T/certs/$1.pem" -noout -serial | cut -d= -f2; }
"$BIN" revoke --config "$HQ/hq.toml" --serial "$(serial F1-D-1)" --reason keyCompromise > /dev/null || fail "revoke F1-D-1"
"$BIN" revoke --config "$HQ/hq.toml" --batch F2/B1 --reason cessationOfOperation > "$T/rb.json" || fail "revoke F2/B1"
grep -q '"revoked":3' "$T/rb.json" || fail "revoke --batch F2/B1: $(cat "$T/rb.json")"
ocsp() {  # NAME DEVICE EXPECT
  openssl ocsp -issuer "$T/$1/ca/ca.pem" -cert "$T/certs/$2.pem" -url "$VA/ocsp" -CAfile "$ROOT" > "$T/ocsp.out" 2>&1 \
    || fail "openssl ocsp $2: $(cat "$T/ocsp.out")"
  grep -q "Response verify OK" "$T/ocsp.out" || fail "response for $2 not verified: $(cat "$T/ocsp.out")"
  grep -q "$2.pem: $3" "$T/ocsp.out" || fail "$2: expected $3: $(cat "$T/ocsp.out")"
}
ocsp F1 F1-D-1 revoked
ocsp F1 F1-D-2 good
ocsp F2 F2-D-1 revoked
ocsp F3 F3-D-1 good
echo "ok: openssl ocsp per factory (F1 one revoked, F2/B1 all revoked, F3 good)"

crl_verify() {  # NAME DEVICE EXPECT(OK|revoked)
  local ca_name
  ca_name="factory-$(echo "$1" | tr 'A-Z' 'a-z')"
  curl -sS -o "$T/$1.crl.der" "$VA/crl/$ca_name.crl" || fail "GET CRL $ca_name"
  openssl crl -inform DER -in "$T/$1.crl.der" -out "$T/$1.crl.pem" || fail "CRL $ca_name does not parse"
  cat "$ROOT" "$T/$1/ca/ca.pem" > "$T/chain.pem"
  if openssl verify -crl_check -CAfile "$T/chain.pem" -CRLfile "$T/$1.crl.pem" "$T/certs/$2.pem" > "$T/verify.out" 2>&1; then
    [[ "$3" == OK ]] || fail "$2 verified OK against the CRL of $1"
  else
    [[ "$3" == revoked ]] && grep -q "certificate revoked" "$T/verify.out" \
      || fail "$2 against the CRL of $1: $(cat "$T/verify.out")"
  fi
}
# Revocations reach the CRLs within the debounce; publish now to be sure.
"$BIN" crl generate --config "$HQ/hq.toml" --out "$T/all.crl" > /dev/null || fail "crl generate"
crl_verify F1 F1-D-1 revoked
crl_verify F1 F1-D-2 OK
crl_verify F2 F2-D-2 revoked
crl_verify F3 F3-D-2 OK
echo "ok: openssl verify -crl_check per factory"

# --- One request, two issuers: unauthorized (no responder speaks for both).
openssl ocsp -issuer "$T/F1/ca/ca.pem" -cert "$T/certs/F1-D-2.pem" -issuer "$T/F3/ca/ca.pem" -cert "$T/certs/F3-D-2.pem" \
  -url "$VA/ocsp" -CAfile "$ROOT" > "$T/mixed.out" 2>&1 || true
grep -qi "unauthorized" "$T/mixed.out" || fail "mixed-issuer request: $(cat "$T/mixed.out")"
ocsp F3 F3-D-2 good
echo "ok: a mixed-issuer request is refused 'unauthorized'; each issuer alone is answered"

# --- Unseen serials: issued after the last sync.
enroll F1 LATE 1
enroll F3 LATE 1
ocsp F1 F1-LATE-1 revoked    # strict: never issued as far as HQ knows
ocsp F3 F3-LATE-1 unknown    # unseen_serials = "unknown"
"$BIN" sync --config "$T/F3/factory.toml" --deadline 30 > /dev/null || fail "sync F3"
ocsp F3 F3-LATE-1 good
echo "ok: unseen serials — F1 strict 'revoked', F3 'unknown' until its sync, then good"

# --- F2 removed: refused from now on; its past stays answered.
"$BIN" pki remove-factory --config "$HQ/hq.toml" --name F2 --reason "contract ended" > "$T/rm.json" \
  || fail "remove-factory: $(cat "$T/rm.json")"
enroll F2 AFTER 1
set +e
"$BIN" sync --config "$T/F2/factory.toml" --deadline 5 > "$T/F2-sync2.json" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "a removed factory synced: $(cat "$T/F2-sync2.json")"
grep -q "removed" "$T/F2-sync2.json" "$T/hq.log" || fail "the refusal does not say removed: $(cat "$T/F2-sync2.json")"
ocsp F2 F2-D-2 revoked
ocsp F1 F1-D-2 good
"$BIN" batch authorize --config "$HQ/hq.toml" --factory F2 --batch B2 --quota 5 > "$T/auth-removed.json" 2>&1 || true
grep -q '"ok":true' "$T/auth-removed.json" && fail "authorized a batch for a removed factory"
echo "ok: F2 removed — its sync refused, its certificates still answered, no new batch for it"

# --- The whole store still verifies.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
PIDS=()
"$BIN" audit verify --data "$HQ/data" > "$T/audit.json" || fail "audit verify: $(head -c 600 "$T/audit.json")"
grep -q '"deliveries_checked":3' "$T/audit.json" || fail "audit verify did not check the 3 delivery logs: $(head -c 600 "$T/audit.json")"
echo "ok: audit verify of HQ's store, its 3 delivery logs byte-identical to HQ's events"

# --- Every certificate a CA key signs is in a log: HQ's OCSP responder
# certificates (signed with HQ's copies of the factory CA keys) are; one
# signed with such a key outside mirrorca is caught.
"$BIN" audit verify --data "$HQ/data" --certificate "$HQ/factories/F1/ca/ocsp-responder.pem" \
  --certificate "$HQ/factories/F2/ca/ocsp-responder.pem" --certificate "$HQ/factories/F3/ca/ocsp-responder.pem" \
  > "$T/audit-resp.json" || fail "responder certificates not logged: $(head -c 600 "$T/audit-resp.json")"
grep -q '"certificates_logged":3' "$T/audit-resp.json" || fail "$(head -c 600 "$T/audit-resp.json")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=rogue" \
  -out "$T/rogue.csr" 2>/dev/null
openssl x509 -req -in "$T/rogue.csr" -CA "$HQ/factories/F1/ca/ca.pem" -CAkey "$HQ/factories/F1/ca/ca.key" \
  -set_serial 0x0BADC0DE -days 30 -out "$T/rogue.pem" 2>/dev/null || fail "sign a rogue certificate"
if "$BIN" audit verify --data "$HQ/data" --certificate "$T/rogue.pem" > "$T/audit-rogue.json"; then
  fail "a certificate signed outside any log passed the audit"
fi
grep -q "is in no log" "$T/audit-rogue.json" || fail "rogue: $(head -c 600 "$T/audit-rogue.json")"
echo "ok: audit verify --certificate: HQ's 3 responder certificates are logged; a rogue one signed with HQ's copy of F1's key is named"

# --- Each factory received only what HQ addressed to it.
for n in F1 F2 F3; do
  "$BIN" log export --data "$T/$n/data" --log "hq.mirrorca.example/log/to/$n" > "$T/$n-hq.jsonl" \
    || fail "export $n's copy of its delivery log"
  python3 - "$T/$n-hq.jsonl" "factory-$(echo "$n" | tr 'A-Z' 'a-z').mirrorca.example/log" <<'PY' || fail "$n received more than its own: $(cat "$T/$n-hq.jsonl" | cut -c1-300)"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
own = sys.argv[2]
assert events, "nothing delivered"
kinds = set()
for e in events:
    assert e["kind"] == "relayed", e
    # Its own events, and what every factory receives: HQ's cosigner key.
    assert e["about"] == own or (e["about"] == "*" and e["relayed_kind"] == "cosignerKeySet"), (e["about"], own)
    kinds.add(e["relayed_kind"])
assert {"factoryRegistered", "batchAuthorized", "checkpointCosigned", "cosignerKeySet"} <= kinds, kinds
PY
done
# F2's copy names no other factory at all (in any byte of what it holds).
python3 - "$T/F2-hq.jsonl" <<'PY' || fail "F2's store holds F1's or F3's events"
import base64, json, sys
for l in open(sys.argv[1]):
    raw = base64.b64decode(json.loads(l)["signed_event"])
    assert b"factory-f1" not in raw and b"factory-f3" not in raw, l[:200]
PY
echo "ok: each factory holds only HQ's events addressed to it (F2 never received F1's batch terms)"
echo "PASS multi_factory_test"
