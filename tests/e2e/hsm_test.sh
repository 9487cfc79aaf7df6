#!/usr/bin/env bash
# End-to-end test with every key in PKCS#11 tokens (SoftHSM2): the OEM root,
# HQ's copies of the factory CAs, the factory issuing CAs, the TLS CAs and
# every TLS identity in one token, every log key (Ed25519) in another.
#   - `mirrorca demo --key … --log-key …`: quickstart (two factories) →
#     issuance over mTLS → sync → revocation → CRL checked by `openssl verify
#     -crl_check` and OCSP by `openssl ocsp` (the demo's own checks);
#   - afterwards no private key file exists: every key path holds a pkcs11:
#     reference, and no file anywhere says "PRIVATE KEY";
#   - the PIN (one token's from a 0600 file, the other's from an environment
#     variable) is never in a process's argv (/proc/PID/cmdline, sampled while
#     the demo runs), a config, `pki keys` (the key dump) or a log line;
#   - `pki keys --check` opens every key of every node; a wrong PIN is a clear
#     error that does not repeat it, and `hq serve` refuses to start with it;
#   - the logs the token keys signed verify (`audit verify`, openssl-free
#     independent verifier).
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
SAMPLER=""
cleanup() {
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  pkill -9 -f "$T/demo/" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log "$T"/demo/*.log; do [[ -f "$l" ]] && { echo "--- $l"; tail -5 "$l"; }; done; exit 1; }
for tool in softhsm2-util pkcs11-tool; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs softhsm2 and opensc)"
done

# --- Two tokens: CA and TLS keys, log keys (docs/key_custody.md: never both in one).
CA_PIN="58132134"
LOG_PIN="31415926"
mkdir -p "$T/tokens"
echo "directories.tokendir = $T/tokens" > "$T/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm2.conf"
softhsm2-util --init-token --free --label mirrorca-ca --pin "$CA_PIN" --so-pin 97531864 >/dev/null
softhsm2-util --init-token --free --label mirrorca-log --pin "$LOG_PIN" --so-pin 97531864 >/dev/null
printf '%s\n' "$CA_PIN" > "$T/ca.pin"
chmod 600 "$T/ca.pin"
export MIRRORCA_LOG_PIN="$LOG_PIN"
KEY="pkcs11:token=mirrorca-ca?pin-source=file:$T/ca.pin"
LOG_KEY="pkcs11:token=mirrorca-log?pin-source=env:MIRRORCA_LOG_PIN"

# A PIN file readable by others is refused, and so is a PIN in the URI.
cp "$T/ca.pin" "$T/open.pin"; chmod 644 "$T/open.pin"
if "$BIN" pki init-root --dir "$T/bad" --key "pkcs11:token=mirrorca-ca?pin-source=file:$T/open.pin" \
    --log-key "$LOG_KEY" > "$T/bad.out" 2>&1; then fail "a PIN file readable by others was accepted"; fi
grep -q "$CA_PIN" "$T/bad.out" && fail "an error repeated the PIN"
if "$BIN" pki init-root --dir "$T/bad2" --key "pkcs11:token=mirrorca-ca?pin-value=$CA_PIN" --log-key "$LOG_KEY" \
    > "$T/bad2.out" 2>&1; then fail "pin-value was accepted"; fi
grep -q "$CA_PIN" "$T/bad2.out" && fail "the pin-value refusal repeated the PIN"
# CA keys and log keys in one token: refused (libp11 cannot list that token).
if "$BIN" pki init-root --dir "$T/bad3" --key "$KEY" --log-key "pkcs11:token=mirrorca-ca?pin-source=file:$T/ca.pin" \
    > "$T/bad3.out" 2>&1; then fail "one token for CA and log keys was accepted"; fi
echo "ok: a readable PIN file, pin-value and a shared token are refused without the PIN in the message"

# --- Sample every process's argv while the demo runs.
( set +e
  while true; do
    for f in /proc/[0-9]*/cmdline; do { tr '\0' ' ' < "$f"; } 2>/dev/null; echo; done >> "$T/argv.samples"
    sleep 0.05
  done ) &
SAMPLER=$!

# --- The whole chain with token keys.
"$BIN" demo --dir "$T/demo" --devices 6 --factories 2 --key "$KEY" --log-key "$LOG_KEY" > "$T/demo.log" 2>&1 \
  || fail "demo with token keys: $(tail -20 "$T/demo.log")"
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
grep -q "DEMO-0002.pem: revoked" "$T/demo.log" || fail "the demo's OCSP check did not run"
grep -q "crl_check" "$T/demo.log" || fail "the demo's CRL check did not run"
grep -q "mirrorca" "$T/argv.samples" || fail "the argv sampler saw no mirrorca process"
echo "ok: quickstart → issuance → sync → revocation → CRL and OCSP (openssl) with every key in SoftHSM2"

# --- No private key file on disk; every key path is a reference.
if grep -rl "PRIVATE KEY" "$T/demo" > "$T/pem-keys.txt"; then fail "private key files on disk: $(cat "$T/pem-keys.txt")"; fi
refs=0
while IFS= read -r f; do
  head -c 7 "$f" | grep -q '^pkcs11:' || fail "$f is not a key reference"
  refs=$((refs + 1))
done < <(find "$T/demo" -name '*.key' -o -name 'log_key.pem' -o -name 'cosigner_key.pem')
# HQ: root, TLS CA, 3 TLS, log, cosigner, 2 CA copies, 2 responders (11);
# per factory: log, CA, TLS CA, 2 TLS (5); per RA: 1.
(( refs == 23 )) || fail "$refs key references (expected 23)"
objects=$(pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label mirrorca-log --login --pin "$LOG_PIN" -O 2>/dev/null | grep -c "Private Key Object")
[[ "$objects" == 4 ]] || fail "the log token holds $objects private keys, not 4 (HQ's log and cosigner, two factories)"
echo "ok: no private key file on disk; $refs key paths hold pkcs11: references"

# --- The PIN is nowhere: argv, configs, logs, the key dump.
grep -q -e "$CA_PIN" -e "$LOG_PIN" "$T/argv.samples" && fail "a PIN appeared in a process's argv"
grep -rl -e "$CA_PIN" -e "$LOG_PIN" "$T/demo" > "$T/pin-files.txt" && fail "a PIN is in $(cat "$T/pin-files.txt")"
for cfg in hq.toml factory.toml factory-f2.toml ra.toml ra-f2.toml; do
  "$BIN" pki keys --config "$T/demo/$cfg" --check > "$T/keys-$cfg.json" || fail "pki keys --check $cfg: $(cat "$T/keys-$cfg.json")"
  grep -q '"where":"file"' "$T/keys-$cfg.json" && fail "$cfg uses a key file"
  grep -q -e "$CA_PIN" -e "$LOG_PIN" "$T/keys-$cfg.json" && fail "pki keys printed a PIN"
done
grep -q '"token":"mirrorca-log"' "$T/keys-hq.toml.json" || fail "HQ's log key is not in the log token"
grep -q '"role":"hq cosigner"' "$T/keys-hq.toml.json" || fail "pki keys does not list HQ's cosigner key"
echo "ok: no PIN in argv, configs, logs or the key dump; pki keys --check opens every key of every node"

# --- A wrong PIN: a clear error without it; hq serve does not start.
MIRRORCA_LOG_PIN=11112222 "$BIN" pki keys --config "$T/demo/hq.toml" --check > "$T/wrong.json" 2>&1 && fail "a wrong PIN opened the log key"
grep -q "wrong PIN" "$T/wrong.json" || fail "a wrong PIN was not named: $(cat "$T/wrong.json")"
grep -q "11112222" "$T/wrong.json" && fail "the wrong PIN was repeated"
if MIRRORCA_LOG_PIN=11112222 timeout 20 "$BIN" hq serve --config "$T/demo/hq.toml" > "$T/hq-wrong.log" 2>&1; then
  fail "hq serve ran with a wrong PIN"
fi
grep -q "11112222" "$T/hq-wrong.log" && fail "hq serve logged the wrong PIN"
echo "ok: a wrong PIN is refused by name, never repeated; hq serve does not start"

# --- What the token keys signed verifies.
"$BIN" audit verify --data "$T/demo/hq/data" > "$T/audit.json" || fail "audit verify: $(cat "$T/audit.json")"
grep -q '"ok":true' "$T/audit.json" || fail "audit verify: $(cat "$T/audit.json")"
echo "ok: audit verify accepts the logs and checkpoints signed inside the token"
echo "PASS hsm_test"
