# Shared prologue of the e2e scripts that start nodes: source it after
# `set -euo pipefail`. It gives
#   BIN     the mirrorca binary (MIRRORCA_BIN, else `mirrorca` on PATH)
#   HERE    this folder (free_port.py, …)
#   T       a temp folder, removed at exit with every PID in PIDS (SIGKILL)
#   fail MSG           prints MSG and the tail of every $T/*.log, exits 1
#   wait_for FILE PAT  waits up to 10 s for PAT in FILE, else fails
#   start WHAT CONFIG LOG READY   `mirrorca WHAT serve --config CONFIG` into
#                      $T/LOG, its PID added to PIDS, until LOG says READY
#   logged_then_good CERT...   (in a demo dir, the factory stopped) every CERT
#                      is in the factory's log (audit verify --certificate);
#                      then HQ is started, the factory syncs, and HQ's OCSP
#                      answers `good` for each
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log; do [[ -f "$l" ]] && { echo "--- $l"; tail -5 "$l"; }; done; exit 1; }
wait_for() {  # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never said '$2'"
}
start() {  # what config log ready
  "$BIN" "$1" serve --config "$2" > "$T/$3" 2>&1 &
  PIDS+=($!)
  wait_for "$T/$3" "$4"
}
logged_then_good() {  # cert...
  local args=() c ok
  for c in "$@"; do args+=(--certificate "$c"); done
  "$BIN" audit verify --data factory/data "${args[@]}" > "$T/audit.json" 2>&1 || fail "audit verify: $(cat "$T/audit.json")"
  grep -q "\"certificates_logged\":$#" "$T/audit.json" || fail "not every certificate is in the factory log: $(cat "$T/audit.json")"
  echo "ok: every certificate is in the factory's log"
  start hq hq.toml hq.log serving_validation
  "$BIN" sync --config factory.toml --deadline 30 > "$T/sync.json" 2>&1 || fail "sync: $(cat "$T/sync.json")"
  local va="http://$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' hq.toml)"
  for c in "$@"; do
    ok=0
    for _ in $(seq 40); do
      if openssl ocsp -issuer factory/ca/ca.pem -cert "$c" -url "$va/ocsp" -CAfile hq/root/ca.pem > "$T/ocsp.txt" 2>&1 \
         && grep -q ": good" "$T/ocsp.txt"; then ok=1; break; fi
      sleep 0.25
    done
    (( ok )) || fail "OCSP for $(basename "$c"): $(cat "$T/ocsp.txt")"
  done
}
