#!/usr/bin/env bash
# bench/run_crl_bench.sh [BUILD_DIR] — the CRL figures of the README, in one
# run on the same 1,000,000 revoked serials (MIRRORCA_CRL_REVOKED to change):
#   1. crl_bench --prepare: factory log with the issuances, HQ's log with the
#      revocations, the projection, and index.txt for openssl ca (not timed);
#   2. mirrorca: the VA publishing the full CRL (own process: its peak RSS);
#   3. mirrorca: 1,000 more revocations, then the delta CRL;
#   4. `openssl ca -gencrl` on the same CA and serials (/usr/bin/time -v);
#   5. the builder alone (BM_BuildCrl), for reference.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
ninja -C "$build" bench/crl_bench >/dev/null
export MIRRORCA_BENCH_DIR="${MIRRORCA_BENCH_DIR:-/tmp/mirrorca-bench}"
export MIRRORCA_CRL_REVOKED="${MIRRORCA_CRL_REVOKED:-1000000}"
dir="$MIRRORCA_BENCH_DIR/crl"
out="$(mktemp -d)"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt install time)"; exit 1; }

echo "== prepare: $MIRRORCA_CRL_REVOKED revoked certificates (logs + projection) =="
"$build/bench/crl_bench" --prepare
echo "== mirrorca: full CRL =="
"$build/bench/crl_bench" --benchmark_filter=BM_VaFullCrl --benchmark_out="$out/full.json" \
  --benchmark_out_format=json | grep BM_
echo "== mirrorca: delta CRL after 1,000 revocations =="
"$build/bench/crl_bench" --benchmark_filter=BM_VaDeltaCrl --benchmark_out="$out/delta.json" \
  --benchmark_out_format=json | grep BM_
echo "== openssl ca -gencrl =="
cat > "$dir/openssl.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = $dir/index.txt
crlnumber = $dir/crlnumber
certificate = $dir/ca/ca.pem
private_key = $dir/ca/ca.key
default_md = sha256
default_crl_days = 1
unique_subject = no
CNF
echo 01 > "$dir/crlnumber"
/usr/bin/time -v openssl ca -batch -gencrl -config "$dir/openssl.cnf" -out "$dir/openssl.crl" \
  2> "$out/openssl.time" || { cat "$out/openssl.time"; exit 1; }
openssl crl -in "$dir/openssl.crl" -noout -text | grep -c "Serial Number:" > "$out/openssl.entries"
echo "== builder alone =="
"$build/bench/crl_bench" --benchmark_filter=BM_BuildCrl --benchmark_out="$out/build.json" \
  --benchmark_out_format=json | grep BM_

python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
full = json.load(open(f"{out}/full.json"))["benchmarks"][0]
delta = json.load(open(f"{out}/delta.json"))["benchmarks"][0]
t = open(f"{out}/openssl.time").read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+(?:\.\d+)?)$", t, re.M)
o_s = float(wall.group(1) or 0) * 60 + float(wall.group(2))
o_rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
o_n = int(open(f"{out}/openssl.entries").read())
m_s = full["real_time"] / 1000
print()
print(f"full CRL, {full['entries']:.0f} entries: mirrorca {m_s:.2f} s, peak RSS {full['peak_rss_MiB']:.0f} MiB "
      f"(target <= 3 s, <= 300 MB)")
print(f"openssl ca -gencrl, {o_n} entries: {o_s:.2f} s, peak RSS {o_rss:.0f} MiB  ->  "
      f"mirrorca is {o_s / m_s:.1f}x faster with {o_rss / full['peak_rss_MiB']:.1f}x less memory")
print(f"delta CRL after 1,000 revocations: {delta['real_time']:.1f} ms, {delta['entries']:.0f} entries "
      f"(target < 100 ms)")
PY
