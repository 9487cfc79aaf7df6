#!/usr/bin/env bash
# Enrollment benchmark: mirrorca's end-to-end load driver (REST bulk and single,
# EST simpleenroll and CMP p10cr, each at peak and at half of it) and `cfssl serve`
# on the same CSRs in the same run (installs golang-cfssl if missing).
# Usage: bench/run_enroll_bench.sh [BUILD_DIR] [CERTS]
set -euo pipefail
BUILD="${1:-build}"
CERTS="${2:-20000}"
if ! command -v cfssl > /dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends golang-cfssl > /dev/null
fi
[[ -x "$BUILD/bench/enroll_load" ]] || { meson configure "$BUILD" -Dbenchmarks=true && ninja -C "$BUILD" bench/enroll_load; }
openssl speed -seconds 1 ecdsap256 ed25519 2>/dev/null | tail -4
"$BUILD/bench/enroll_load" --certs "$CERTS" --connections 4 --bulk 250 --latency-seconds 5
