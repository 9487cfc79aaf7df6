#!/usr/bin/env bash
# End-to-end test of the operator listener (net/operator_endpoint.h,
# cli/operator_hooks.h) on a factory and HQ built by `mirrorca demo`:
#   - [operator] listen in factory.toml and hq.toml: plain HTTP, no client key;
#   - /healthz, /readyz (JSON checks), /metrics (Prometheus text) on each;
#   - the factory's metrics: issuance by batch and outcome, refusals by
#     reason, fsync group sizes, disk free; HQ's: OCSP answers by status and
#     their latency, cache, CRL age per CA, sync lag and cosigned size per
#     factory, divergences, log sizes — checked against what was done;
#   - the public OCSP port answers /healthz and /readyz, never /metrics;
#   - a factory whose disk is below min_free_mb is alive but not ready;
#   - the listener changes nothing (POST refused) and shows no secret.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
metric() {  # url name-with-labels → value
  curl -s "$1/metrics" | awk -v m="$2" 'index($0, m " ") == 1 { print $2 }'
}

"$BIN" demo --dir "$T/d" --devices 3 > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
read -r FP HP < <(python3 "$HERE/free_port.py" 2)
printf '\n[operator]\nlisten = "127.0.0.1:%s"\n' "$FP" >> "$D/factory.toml"
printf '\n[operator]\nlisten = "127.0.0.1:%s"\nmax_sync_age_hours = 1\n' "$HP" >> "$D/hq.toml"
FOP="http://127.0.0.1:$FP"
HOP="http://127.0.0.1:$HP"
start hq "$D/hq.toml" hq.log serving_operator
HQ_PID=${PIDS[-1]}
start factory "$D/factory.toml" factory.log serving_operator
F_PID=${PIDS[-1]}

# --- Health and readiness, without any client key.
[[ "$(curl -s "$FOP/healthz")" == ok ]] || fail "factory /healthz"
[[ "$(curl -s "$HOP/healthz")" == ok ]] || fail "HQ /healthz"
code=$(curl -s -o "$T/fready.json" -w '%{http_code}' "$FOP/readyz")
[[ $code == 200 ]] || fail "factory not ready ($code): $(cat "$T/fready.json")"
python3 - "$T/fready.json" <<'PY' || fail "factory /readyz: $(cat "$T/fready.json")"
import json, sys
r = json.load(open(sys.argv[1]))
names = {c["name"]: c for c in r["checks"]}
assert r["ready"] and set(names) == {"log-writable", "keys-loaded", "clock", "hq-log-known"}, r
assert "MiB free" in names["log-writable"]["detail"], r
PY
code=$(curl -s -o "$T/hready.json" -w '%{http_code}' "$HOP/readyz")
[[ $code == 200 ]] || fail "HQ not ready ($code): $(cat "$T/hready.json")"
grep -q '"factory-sync-age"' "$T/hready.json" || fail "HQ /readyz lacks the sync age: $(cat "$T/hready.json")"
echo "ok: /healthz and /readyz on both nodes, without a client key"

# --- Work, then metrics that say what was done.
mkdir -p "$T/csr"
for i in 1 2; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=op$i" \
    -out "$T/csr/OP-000$i.csr" 2>/dev/null
done
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csr" --out "$T/certs" > /dev/null || fail "enroll"
openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj "/CN=weak" -out "$T/weak.csr" 2>/dev/null
mkdir -p "$T/weak" && cp "$T/weak.csr" "$T/weak/OP-0009.csr"
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/weak" --out "$T/certs" > /dev/null 2>&1 || true
issued_b1=$(metric "$FOP" 'mirrorca_batch_certificates{batch="B1",outcome="issued"}')
[[ "$issued_b1" == 5 ]] || fail "B1 issued per the factory's metrics: '$issued_b1' (want 3 from the demo + 2)"
[[ "$(metric "$FOP" 'mirrorca_certificates_issued_total')" == 2 ]] || fail "issued since start"
[[ "$(metric "$FOP" 'mirrorca_issuance_rejected_total{reason="key-not-allowed"}')" == 1 ]] \
  || fail "the RSA-1024 refusal is not counted: $(curl -s "$FOP/metrics" | grep rejected_total)"
[[ "$(metric "$FOP" 'mirrorca_log_commit_group_events_count')" -ge 2 ]] || fail "fsync groups not counted"
[[ "$(metric "$FOP" 'mirrorca_disk_free_bytes')" -gt 0 ]] || fail "disk free"
"$BIN" sync --config "$D/factory.toml" > "$T/sync.json" || fail "sync: $(cat "$T/sync.json")"
size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["factory_size"])' "$T/sync.json")
origin=$(curl -s "$HOP/metrics" | sed -n 's/^mirrorca_sync_cosigned_size{factory="\([^"]*\)"}.*/\1/p' | head -1)
[[ -n "$origin" ]] || fail "no per-factory sync metrics at HQ"
[[ "$(metric "$HOP" "mirrorca_sync_cosigned_size{factory=\"$origin\"}")" == "$size" ]] \
  || fail "HQ's cosigned size is not the factory's $size"
lag=$(metric "$HOP" "mirrorca_sync_lag_seconds{factory=\"$origin\"}")
[[ -n "$lag" && "$lag" -le 5 ]] || fail "sync lag '$lag' just after a sync"
VA=$(awk '/^\[validation\]/{v=1} v && /^listen/{gsub(/"/,"",$3); print $3; exit}' "$D/hq.toml")
before=$(metric "$HOP" 'mirrorca_ocsp_responses_total{status="good"}')
for i in 1 2 3; do
  openssl ocsp -issuer "$D/factory/ca/ca.pem" -cert "$T/certs/OP-0001.pem" -url "http://$VA/ocsp" \
    -CAfile "$D/hq/root/ca.pem" > "$T/ocsp.txt" 2>&1 || fail "openssl ocsp: $(cat "$T/ocsp.txt")"
done
grep -q ": good" "$T/ocsp.txt" || fail "OCSP: $(cat "$T/ocsp.txt")"
after=$(metric "$HOP" 'mirrorca_ocsp_responses_total{status="good"}')
[[ $((after - before)) -eq 3 ]] || fail "OCSP good answers counted $before → $after, want +3"
[[ "$(metric "$HOP" 'mirrorca_ocsp_response_seconds_count')" -ge 3 ]] || fail "OCSP latency histogram"
curl -s "$HOP/metrics" > "$T/hq.prom"
for m in 'mirrorca_crl_age_seconds{ca="factory-f1"}' 'mirrorca_ocsp_cache_bytes' 'mirrorca_sync_divergences_total' \
         'mirrorca_log_size{log="' 'mirrorca_disk_free_bytes' 'mirrorca_ocsp_response_seconds_bucket{le="0.005"}'; do
  grep -qF "$m" "$T/hq.prom" || fail "HQ /metrics lacks $m"
done
grep -qiE "PRIVATE KEY|pin-value|pin-source" "$T/hq.prom" "$T/fready.json" && fail "a secret on the operator listener"
echo "ok: the factory's and HQ's metrics count what was done (issuance by batch/outcome, refusals, OCSP, sync, CRL age)"

# --- The public port answers health, not metrics; the operator port changes nothing.
[[ "$(curl -s "http://$VA/healthz")" == ok ]] || fail "the public port's /healthz"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$VA/readyz")" == 200 ]] || fail "the public port's /readyz"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$VA/metrics")" == 404 ]] || fail "metrics on the public port"
[[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "$HOP/readyz")" == 413 ]] || fail "a POST body accepted"
[[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$HOP/metrics")" == 405 ]] || fail "DELETE accepted"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$HOP/v1/revoke")" == 404 ]] || fail "an admin path on the operator port"
echo "ok: the public port answers /healthz and /readyz only; the operator port refuses anything but GET"

# --- Structured logs: one JSON line per request outcome, never a secret.
python3 - "$T/factory.log" "$T/hq.log" <<'PY' || fail "structured logs: $(tail -3 "$T/factory.log")"
import json, sys
def lines(path):
    out = []
    for l in open(path, errors="replace"):
        l = l.strip()
        if l.startswith("{") and '"event"' in l:
            out.append(json.loads(l))
    return out
f, h = lines(sys.argv[1]), lines(sys.argv[2])
enroll = [l for l in f if l["event"] == "http" and l.get("server") == "enroll"]
assert len(enroll) >= 2 and all(l["level"] == "info" and "status" in l and "ms" in l and "client_key" in l for l in enroll), enroll[:3]
assert any(l["event"] == "sync-session" for l in h), "no sync-session line at HQ"
assert not any(l.get("server") == "validation" for l in h), "OCSP requests logged at info"
for path in sys.argv[1:]:
    text = open(path, errors="replace").read()
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text and "CERTIFICATE REQUEST" not in text, path
PY
echo "ok: one JSON line per enrollment request (info), sync sessions logged, OCSP only at debug, no key or certificate in any log"

# --- A factory whose disk is below its floor: alive, not ready.
kill -TERM "$F_PID"; wait "$F_PID" 2>/dev/null || true
sed -i 's/^\[factory\]$/[factory]\nmin_free_mb = 1048576/' "$D/factory.toml"
"$BIN" factory serve --config "$D/factory.toml" --log-level warn > "$T/factory2.log" 2>&1 &
PIDS+=($!)
wait_for "$T/factory2.log" serving_operator
[[ "$(curl -s "$FOP/healthz")" == ok ]] || fail "/healthz of the full factory"
code=$(curl -s -o "$T/full.json" -w '%{http_code}' "$FOP/readyz")
[[ $code == 503 ]] || fail "a factory below min_free_mb is ready ($code): $(cat "$T/full.json")"
grep -q '"name":"log-writable","ok":false' "$T/full.json" || fail "the failing check: $(cat "$T/full.json")"
curl -s "$FOP/healthz" > /dev/null
grep -q '"level":"info"' "$T/factory2.log" && fail "--log-level warn still logs info: $(grep -m1 '"level":"info"' "$T/factory2.log")"
echo "ok: below min_free_mb the factory is alive (/healthz) and not ready (/readyz 503, log-writable)"
echo "PASS"
