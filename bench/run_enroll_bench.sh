#!/usr/bin/env bash
# Enrollment benchmark: mirrorca's end-to-end load driver (REST bulk and single,
# EST simpleenroll and CMP p10cr, each at peak and at half of it) and `cfssl serve`
# on the same CSRs in the same run (installs golang-cfssl if missing), then a
# summary against the cryptographic floor from `openssl speed` in the same run:
# per certificate one P-256 verify (the CSR), one P-256 sign (the certificate)
# and one Ed25519 sign (the log event), on every core. Two shares are printed:
# the bulk rate against the floor's rate on all cores (the load driver shares
# them), and the floor's cost against the server's own CPU per certificate
# (the driver's CPU is measured per thread and left out).
# Usage: bench/run_enroll_bench.sh [BUILD_DIR] [CERTS]
# The load driver's JSON is kept in $OUT (default /tmp/enroll_load.json).
set -euo pipefail
BUILD="${1:-build}"
CERTS="${2:-20000}"
OUT="${OUT:-/tmp/enroll_load.json}"
if ! command -v cfssl > /dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends golang-cfssl > /dev/null
fi
[[ -x "$BUILD/bench/enroll_load" ]] || { meson configure "$BUILD" -Dbenchmarks=true && ninja -C "$BUILD" bench/enroll_load; }
# openssl speed runs before and after the load (this VM's speed drifts by tens
# of per cent within minutes); the floor uses the mean of the two rates.
SPEED=$(openssl speed -seconds 1 ecdsap256 ed25519 2>/dev/null | tail -4)
echo "$SPEED"
"$BUILD/bench/enroll_load" --certs "$CERTS" --connections 4 --bulk 250 --latency-seconds 5 | tee "$OUT"
SPEED_AFTER=$(openssl speed -seconds 1 ecdsap256 ed25519 2>/dev/null | tail -4)
echo "$SPEED_AFTER"
SPEED="$SPEED
$SPEED_AFTER" CORES=$(nproc) python3 - "$OUT" <<'PY'
import json, os, re, sys
j = json.load(open(sys.argv[1]))
seen = {}
for line in os.environ["SPEED"].splitlines():
    m = re.search(r"\((nistp256|Ed25519)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        seen.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
rates = {k: (sum(s for s, _ in v) / len(v), sum(x for _, x in v) / len(v)) for k, v in seen.items()}
cores = int(os.environ["CORES"])
us = 1e6 / rates["nistp256"][1] + 1e6 / rates["nistp256"][0] + 1e6 / rates["Ed25519"][0]
floor = cores * 1e6 / us
bulk = j["peak"]["certificates_per_second"]
print(f"crypto floor: {us:.0f} us of one core per certificate = {floor:,.0f} certificates/s on {cores} cores")
server_us = j['peak']['cpu']['server_us_per_certificate']
print(f"REST bulk: {bulk:,.0f}/s = {100 * bulk / floor:.0f} % of the floor's rate; "
      f"server {server_us:.0f} us/certificate = {100 * us / server_us:.0f} % cryptography, "
      f"driver {j['peak']['cpu']['driver_us_per_certificate']:.0f} us/certificate")
if j.get("cfssl"):
    c = j["cfssl"]
    print(f"cfssl serve: {c['certificates_per_second']:,.0f}/s ({c['server_us_per_certificate']:.0f} us/certificate); "
          f"mirrorca / cfssl = {bulk / c['certificates_per_second']:.2f}")
s, h = j["single_enroll_peak"], j["single_enroll_at_half_peak"]
print(f"REST single: peak {s['certificates_per_second']:,.0f}/s (server {s['cpu']['server_us_per_certificate']:.0f} us/certificate); "
      f"at half of it p50 {h['p50_ms']:.1f} ms, p99 {h['p99_ms']:.1f} ms"
      + (f" (server {h['cpu']['server_us_per_certificate']:.0f} us/certificate, {h['cpu']['server_cores_busy']:.2f} cores busy)"
         if h.get("cpu") else ""))
c = h.get("log_commits", {})
if c.get("commits"):
    print(f"  its durable commits: {c['commits']:,} (fsyncs), mean {c['mean_ms']:.2f} ms, "
          f"{100 * c['share_over_1ms']:.1f} % over 1 ms, {100 * c['share_over_2_5ms']:.2f} % over 2.5 ms; "
          f"client threads woke late by {h['driver_wake_late_p99_ms']:.2f} ms at p99 "
          f"(max {h['driver_wake_late_max_ms']:.1f} ms); hypervisor steal {h['steal_seconds']:.2f} s")
hp = h.get("host_probe")
if hp:
    d, cap = hp["durable_writes_3KiB_server_idle"], hp["cpu_capacity"]
    print(f"  the disk alone, server idle: a 3 KiB write + fdatasync took p50 {d['p50_ms']:.2f}, p99 {d['p99_ms']:.2f}, "
          f"max {d['max_ms']:.1f} ms; {d['over_5ms']} of {d['samples']:,} over 5 ms")
    if cap.get("measured"):
        near = hp["over_5ms_near"]
        print(f"  the host during the phase: {cap['slowed_10ms_windows']} windows of 10 ms with every CPU under 75 % "
              f"speed, {cap['woke_over_1ms_late']} real-time wake-ups over 1 ms late; the log had "
              f"{hp['log_commits_over_2_5ms']} commits over 2.5 ms")
        print(f"  requests over 5 ms: {hp['requests_over_5ms']}, of which {near['any']} shared their time with one of "
              f"those (CPUs slowed {near['cpus_slowed']}, CPU taken {near['cpu_taken']}, slow commit {near['slow_commit']}); "
              f"p99 of the {hp['requests_away_from_all']:,} requests away from all of them: {hp['p99_ms_away_from_all']:.1f} ms")
    else:
        print(f"  the host during the phase: not measured ({cap['why']})")
PY
