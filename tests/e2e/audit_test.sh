#!/usr/bin/env bash
# End-to-end test of `mirrorca audit verify` on the stores `mirrorca demo`
# leaves: HQ's (its log, the factory copy with HQ's cosignatures, the
# certificate-status projection) and the factory's (its log, HQ's copy),
# also while `hq serve` runs; a missing store is an error (exit 2).
# (A flipped byte naming its seq: engine/audit_verify_test.cc, 100k events.)
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
HQ_PID=""
cleanup() { [[ -n "$HQ_PID" ]] && kill -9 "$HQ_PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
check() {  # data-dir expected-logs
  "$BIN" audit verify --data "$1" > "$T/v.json" || fail "audit verify $1: $(cat "$T/v.json")"
  python3 - "$T/v.json" "$2" "$1" <<'PY' || fail "verdict of $1: $(cat "$T/v.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] is True and len(v["logs"]) == int(sys.argv[2]), v
assert all(l["events"] > 0 for l in v["logs"]), v
if sys.argv[3].endswith("hq/data"):
    assert v["projection"] == "checked" and v["projection_keys"] > 100, v
    factory = [l for l in v["logs"] if l["log"].startswith("factory")][0]
    assert factory["cosignatures"] >= 1, v
PY
}
check "$D/hq/data" 2
check "$D/factory/data" 2
echo "ok: audit verify of HQ's and the factory's stores"

"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
HQ_PID=$!
for _ in $(seq 100); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
check "$D/hq/data" 2
kill -TERM "$HQ_PID"; wait "$HQ_PID" || true; HQ_PID=""
echo "ok: audit verify beside a running hq serve"

set +e
"$BIN" audit verify --data "$T/nothing" > "$T/v.json" 2>&1
rc=$?
set -e
(( rc == 2 )) || fail "missing store: exit $rc: $(cat "$T/v.json")"
echo "PASS audit e2e"
