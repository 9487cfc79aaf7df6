#!/usr/bin/env bash
# End-to-end test of giving a factory a new issuing CA (cli/ca_change.h,
# docs/onboarding.md "A new issuing CA"), with hq serve and factory serve
# running:
#   - factory `pki ca-request` → HQ `pki certify-ca` (the running hq serve
#     registers the new CA and starts serving it) → factory `pki ca-join`;
#   - a batch HQ authorizes after certify-ca names the new CA: before the
#     factory joins it, enrollment in that batch is refused by name; after
#     ca-join and a restart, it issues under the new CA (its own subject,
#     chained to the same root), while the old batch B1 still issues under
#     the old CA;
#   - HQ revokes a certificate of each CA: both CAs' CRLs (openssl verify
#     -crl_check) and OCSP answers (openssl ocsp) are right, also after HQ
#     restarts; audit verify accepts both stores;
#   - the unlucky operator and the attacker: a second pending request, a
#     stale request (naming the replaced CA), a grant for another factory or
#     altered in transit, and a grant joined twice are refused and change
#     nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

"$BIN" demo --dir "$T/d" --devices 4 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
ROOT="$D/hq/root/ca.pem"
OLD_CA="$D/factory/ca/ca.pem"
VA="http://$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
start_hq() {
  "$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
  HQ_PID=$!
  PIDS+=("$HQ_PID")
  wait_for "$T/hq.log" serving_sync
}
start_factory() {
  "$BIN" factory serve --config "$D/factory.toml" > "$T/factory.log" 2>&1 &
  F_PID=$!
  PIDS+=("$F_PID")
  wait_for "$T/factory.log" serving
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
csrs() {  # dir prefix count
  mkdir -p "$1"
  for i in $(seq "$3"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=$2$i" \
      -out "$1/$2-000$i.csr" 2>/dev/null
  done
}
start_hq
start_factory

# --- The ceremony, with both nodes running.
"$BIN" pki ca-request --config "$D/factory.toml" > "$T/req.json" || fail "ca-request: $(cat "$T/req.json")"
REQ="$(json_field "$T/req.json" request)"
cp "$REQ" "$T/first.req"
"$BIN" pki ca-request --config "$D/factory.toml" > "$T/req2.json" 2>&1 && fail "a second request while one is pending"
grep -q "pending" "$T/req2.json" || fail "the second request's refusal does not say why: $(cat "$T/req2.json")"
cp "$D/hq.toml" "$T/hq.toml.before"
"$BIN" pki certify-ca --config "$D/hq.toml" --request "$REQ" --out "$T/grant.json" > "$T/certify.json" \
  || fail "certify-ca: $(cat "$T/certify.json")"
python3 - "$T/certify.json" <<'PY' || fail "certify-ca: $(cat "$T/certify.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ok"] and c["registered_by_running_hq"], c
assert c["ca_name"] == "factory-f1-g2" and c["previous_ca_name"] == "factory-f1", c
PY
[[ "$(stat -c %a "$T/grant.json")" == 600 ]] || fail "the grant (a sealed CA key) is not 0600"
grep -q '^\[\[factory_ca\]\]' "$D/hq.toml" || fail "hq.toml has no [[factory_ca]]"
NEW_MIRROR="$D/hq/factories/F1/ca-g2"
[[ -f "$NEW_MIRROR/ca.pem" && -f "$NEW_MIRROR/ca.key" ]] || fail "HQ's copy of the new CA is missing"
openssl verify -CAfile "$ROOT" "$NEW_MIRROR/ca.pem" > /dev/null || fail "the new CA does not chain to the root"
openssl x509 -in "$NEW_MIRROR/ca.pem" -noout -subject | grep -q "F1 G2" || fail "the new CA has no subject of its own"
echo "ok: ca-request → certify-ca: the root certifies a new CA; the running hq serve registers it"

# --- A batch authorized now is under the new CA: refused by name until the factory joins it.
"$BIN" batch authorize --config "$D/hq.toml" --batch B2 --quota 10 > "$T/auth.json" || fail "authorize B2: $(cat "$T/auth.json")"
"$BIN" sync --config "$D/factory.toml" > "$T/sync.json" || fail "sync: $(cat "$T/sync.json")"
csrs "$T/csrs-early" EARLY 1
"$BIN" ra enroll --config "$D/ra.toml" --batch B2 --csr-dir "$T/csrs-early" --out "$T/certs-early" > "$T/early.json" \
  && fail "the factory issued in a batch of a CA it does not hold"
grep -q "does not hold" "$T/early.json" || fail "the refusal does not name the missing CA: $(cat "$T/early.json")"
echo "ok: before ca-join, a batch of the new CA is refused by name"

# --- Grants that must not be joined.
python3 - "$T/grant.json" "$T/other.json" "$T/altered.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
o = dict(g); o["factory"] = "F9"
json.dump(o, open(sys.argv[2], "w"))
a = json.loads(json.dumps(g))
a["ca"]["key_fingerprint"] = "00" * 32
json.dump(a, open(sys.argv[3], "w"))
PY
cp "$D/factory.toml" "$T/factory.toml.before"
"$BIN" pki ca-join --config "$D/factory.toml" "$T/other.json" > "$T/j1.out" 2>&1 && fail "joined another factory's grant"
grep -q "not 'F1'" "$T/j1.out" || fail "wrong-factory refusal: $(cat "$T/j1.out")"
"$BIN" pki ca-join --config "$D/factory.toml" "$T/altered.json" > "$T/j2.out" 2>&1 && fail "joined an altered grant"
grep -q "fingerprint" "$T/j2.out" || fail "altered-grant refusal: $(cat "$T/j2.out")"
cmp -s "$D/factory.toml" "$T/factory.toml.before" || fail "a refused grant changed factory.toml"
[[ ! -e "$D/ca-g2/ca.pem" ]] || fail "a refused grant left a CA behind"
echo "ok: a grant for another factory or altered in transit is refused and changes nothing"

# --- Join, restart the factory: B2 under the new CA, B1 still under the old one.
"$BIN" pki ca-join --config "$D/factory.toml" "$T/grant.json" > "$T/join.json" || fail "ca-join: $(cat "$T/join.json")"
NEW_CA="$(json_field "$T/join.json" ca_dir)/ca.pem"
cmp -s "$NEW_CA" "$NEW_MIRROR/ca.pem" || fail "the factory's new CA is not HQ's"
[[ ! -e "$D/transport.key" ]] || fail "the transport key outlived the join"
"$BIN" pki ca-join --config "$D/factory.toml" "$T/grant.json" > "$T/j3.out" 2>&1 && fail "a grant joined twice"
"$BIN" pki keys --config "$D/factory.toml" --check > "$T/keys.json" || fail "pki keys: $(cat "$T/keys.json")"
grep -q "previous issuing CA" "$T/keys.json" || fail "pki keys does not list the previous CA: $(cat "$T/keys.json")"
stop "$F_PID"
start_factory
csrs "$T/csrs-new" NEW 3
"$BIN" ra enroll --config "$D/ra.toml" --batch B2 --csr-dir "$T/csrs-new" --out "$T/certs-new" > "$T/new.json" \
  || fail "enroll B2: $(cat "$T/new.json")"
csrs "$T/csrs-old" OLD 2
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csrs-old" --out "$T/certs-old" > "$T/old.json" \
  || fail "enroll B1: $(cat "$T/old.json")"
for c in "$T"/certs-new/*.pem; do
  openssl verify -CAfile "$ROOT" -untrusted "$NEW_CA" "$c" > /dev/null || fail "$c does not chain to the new CA"
  openssl verify -CAfile "$ROOT" -untrusted "$OLD_CA" "$c" > /dev/null 2>&1 && fail "$c verified under the old CA"
done
for c in "$T"/certs-old/*.pem; do
  openssl verify -CAfile "$ROOT" -untrusted "$OLD_CA" "$c" > /dev/null || fail "$c does not chain to the old CA"
done
echo "ok: after ca-join, batch B2 issues under the new CA and batch B1 still under the old one"

# --- HQ: sync, revoke one certificate of each CA; CRLs and OCSP for both.
"$BIN" sync --config "$D/factory.toml" > "$T/sync2.json" || fail "sync: $(cat "$T/sync2.json")"
grep -q '"ok":true' "$T/sync2.json" || fail "sync after the change: $(cat "$T/sync2.json")"
NEW1="$T/certs-new/NEW-0001.pem"; NEW2="$T/certs-new/NEW-0002.pem"
OLD1="$T/certs-old/OLD-0001.pem"; OLD2="$T/certs-old/OLD-0002.pem"
"$BIN" revoke --config "$D/hq.toml" --serial "$(serial_of "$NEW2")" --reason keyCompromise > "$T/r1.json" \
  || fail "revoke under the new CA: $(cat "$T/r1.json")"
"$BIN" revoke --config "$D/hq.toml" --serial "$(serial_of "$OLD2")" --reason superseded > "$T/r2.json" \
  || fail "revoke under the old CA: $(cat "$T/r2.json")"
check_validation() {
  for pair in "factory-f1:$OLD_CA:$OLD1:$OLD2" "factory-f1-g2:$NEW_CA:$NEW1:$NEW2"; do
    IFS=: read -r name issuer good bad <<< "$pair"
    ok=""
    for _ in $(seq 100); do  # the delta CRL is published a few seconds after the revocation
      curl -sf -o "$T/$name.crl" "$VA/crl/$name.crl" \
        && openssl crl -inform DER -in "$T/$name.crl" -out "$T/$name.crl.pem" 2>/dev/null \
        && openssl crl -in "$T/$name.crl.pem" -noout -text | grep -q "$(serial_of "$bad")" && { ok=1; break; }
      "$BIN" crl generate --config "$D/hq.toml" --ca "$name" --out "$T/$name.gen.crl" > /dev/null 2>&1 || true
      sleep 0.1
    done
    [[ -n "$ok" ]] || fail "the CRL of $name never listed $(serial_of "$bad")"
    cat "$ROOT" "$issuer" > "$T/trust.pem"
    openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/$name.crl.pem" "$good" > /dev/null \
      || fail "openssl verify -crl_check $good ($name)"
    openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/$name.crl.pem" "$bad" > "$T/v.out" 2>&1 \
      && fail "$bad passed -crl_check ($name)"
    grep -q "certificate revoked" "$T/v.out" || fail "$(cat "$T/v.out")"
    openssl ocsp -issuer "$issuer" -cert "$good" -cert "$bad" -url "$VA/ocsp" -CAfile "$ROOT" > "$T/ocsp.out" 2>&1 \
      || fail "openssl ocsp ($name): $(cat "$T/ocsp.out")"
    grep -q "Response verify OK" "$T/ocsp.out" || fail "ocsp ($name) not verified: $(cat "$T/ocsp.out")"
    grep -q "$(basename "$good"): good" "$T/ocsp.out" || fail "ocsp ($name) good: $(cat "$T/ocsp.out")"
    grep -q "$(basename "$bad"): revoked" "$T/ocsp.out" || fail "ocsp ($name) revoked: $(cat "$T/ocsp.out")"
  done
}
check_validation
echo "ok: HQ serves both CAs: CRLs (openssl verify -crl_check) and OCSP (openssl ocsp) for each"

# --- A stale request (it names the replaced CA) is refused; hq.toml and HQ's log unchanged.
cp "$D/hq.toml" "$T/hq.toml.joined"
size() { "$BIN" log checkpoint --data "$1" 2>/dev/null | sed -n 2p; }
"$BIN" pki certify-ca --config "$D/hq.toml" --request "$T/first.req" --out "$T/grant2.json" > "$T/stale.out" 2>&1 \
  && fail "certify-ca took a stale request"
grep -q "joined its last grant" "$T/stale.out" || fail "the stale request's refusal: $(cat "$T/stale.out")"
cmp -s "$D/hq.toml" "$T/hq.toml.joined" || fail "a refused request changed hq.toml"
[[ ! -e "$D/hq/factories/F1/ca-g3" ]] || fail "a refused request left a CA at HQ"
echo "ok: a stale request is refused and changes nothing"

# --- HQ restarts and serves both again; audit verify accepts both stores.
stop "$F_PID"
stop "$HQ_PID"
start_hq
check_validation
stop "$HQ_PID"
for data in "$D/hq/data" "$D/factory/data"; do
  "$BIN" audit verify --data "$data" > "$T/v.json" || fail "audit verify $data: $(cat "$T/v.json")"
  grep -q '"ok":true' "$T/v.json" || fail "audit verify $data: $(cat "$T/v.json")"
done
echo "ok: after a restart HQ serves both CAs; audit verify accepts both stores"
echo "PASS ca_change_test"
