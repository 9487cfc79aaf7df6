#!/usr/bin/env bash
# bench/run_key_custody_bench.sh [BUILD_DIR] [CERTS] — keys in files against
# keys in SoftHSM2 tokens, in the same run:
#   1. key_custody_bench (Google Benchmark): Ed25519 log signatures, P-256 CA
#      signatures, certificate issuance, durable log appends — file and token;
#   2. enroll_load end to end (mTLS enrollment, CSR vetting, issuance, durable
#      issuance events) with a quickstart whose every key is a file, then one
#      whose every key is in a token.
# SoftHSM2 is software: the difference measures our per-call overhead.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
CERTS="${2:-20000}"
ninja -C "$BUILD" bench/key_custody_bench bench/enroll_load >/dev/null
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tokens"
echo "directories.tokendir = $T/tokens" > "$T/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm2.conf"
softhsm2-util --init-token --free --label bench-ca --pin 123456 --so-pin 654321 >/dev/null
softhsm2-util --init-token --free --label bench-log --pin 123456 --so-pin 654321 >/dev/null
printf 123456 > "$T/pin"; chmod 600 "$T/pin"
export MIRRORCA_BENCH_TOKEN_CA="pkcs11:token=bench-ca?pin-source=file:$T/pin"
export MIRRORCA_BENCH_TOKEN_LOG="pkcs11:token=bench-log?pin-source=file:$T/pin"

echo "== key_custody_bench (file vs SoftHSM2 token) =="
"$BUILD/bench/key_custody_bench" --benchmark_out="$T/bench.json" --benchmark_out_format=json
python3 - "$T/bench.json" <<'PY'
import json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    name = b["name"].split("/")[0]
    rows.setdefault(name, {})[b.get("label", "")] = b["items_per_second"]
print()
print(f"{'':26} {'file keys':>12} {'token keys':>12} {'token/file':>10}")
for name, r in rows.items():
    f, t = r.get("file", 0), r.get("token", 0)
    print(f"{name:26} {f:12.0f} {t:12.0f} {t / f if f else 0:10.2f}")
PY

echo
echo "== enroll_load end to end, $CERTS certificates (file keys, then token keys) =="
"$BUILD/bench/enroll_load" --certs "$CERTS" --connections 4 --bulk 250 --latency-seconds 3 --no-cfssl \
  > "$T/file.json"
"$BUILD/bench/enroll_load" --certs "$CERTS" --connections 4 --bulk 250 --latency-seconds 3 --no-cfssl \
  --key "$MIRRORCA_BENCH_TOKEN_CA" --log-key "$MIRRORCA_BENCH_TOKEN_LOG" > "$T/token.json"
python3 - "$T/file.json" "$T/token.json" <<'PY'
import json, sys
f, t = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("peak certificates/s", lambda j: j["peak"]["certificates_per_second"]),
        ("single enroll p50 ms", lambda j: j["single_enroll_at_half_peak"]["p50_ms"]),
        ("single enroll p99 ms", lambda j: j["single_enroll_at_half_peak"]["p99_ms"])]
print(f"{'':22} {'file keys':>10} {'token keys':>10} {'token/file':>10}")
for label, get in rows:
    a, b = get(f), get(t)
    print(f"{label:22} {a:10.1f} {b:10.1f} {b / a if a else 0:10.2f}")
PY
