#!/usr/bin/env bash
# bench/run_multi_factory_bench.sh [BUILD_DIR] [FACTORIES] [EVENTS_PER_FACTORY] —
# the multi-factory scale figure of the README: FACTORIES factories (default
# 20), each registered at one HQ with its own CA and sync key, sync
# EVENTS_PER_FACTORY events each (default 25,000) at the same time over mutual
# TLS on 127.0.0.1; HQ verifies every event and checks it against the trust
# table. Compared with one factory syncing the same total alone, in the same
# run; prints events/s, the ratio (goal >= 0.8), whether every factory's
# cosigned size is right, and the peak resident memory of each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
factories="${2:-20}"
events="${3:-25000}"
ninja -C "$build" bench/multi_factory_sync >/dev/null
echo "== openssl speed ed25519 (1 core): the verify ceiling =="
openssl speed -seconds 3 ed25519 2>/dev/null | tail -1
echo "== $factories factories x $events events, and one factory with all of them =="
"$build/bench/multi_factory_sync" "$factories" "$events"
