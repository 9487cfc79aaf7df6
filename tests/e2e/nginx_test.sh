#!/usr/bin/env bash
# End-to-end test of deploy/nginx/mirrorca-va.conf as shipped (only ports
# and paths replaced): nginx caching in front of `hq serve` and two
# `mirrorca ocsp serve` processes (RocksDB secondaries of HQ's store).
# `openssl ocsp` through nginx (POST and RFC 5019 GET, verified), a second
# identical request served from nginx's cache, nonce requests never cached,
# CRLs through the cache; OCSP still answered with one responder stopped.
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
CONF="${MIRRORCA_NGINX_CONF:-$(dirname "$0")/../../deploy/nginx/mirrorca-va.conf}"
command -v nginx >/dev/null || { echo "SKIP: nginx not installed (scripts/setup.sh installs nginx-light)"; exit 77; }
T="$(mktemp -d)"
PIDS=()
cleanup() {
  [[ -f "$T/nginx.pid" ]] && kill "$(cat "$T/nginx.pid")" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f "$T/error.log" ]] && tail -5 "$T/error.log"; exit 1; }
free_port() { python3 "$(dirname "$0")/free_port.py"; }

"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"
"$BIN" hq serve --config "$D/hq.toml" > "$T/hq.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q serving_validation "$T/hq.log" 2>/dev/null && break; sleep 0.05; done
HQ_VA="$(sed -n '/^\[validation\]/,/^\[/s/^listen = "\(.*\)"/\1/p' "$D/hq.toml")"
R1="$(free_port)"; R2="$(free_port)"; NP="$(free_port)"
for port in "$R1" "$R2"; do
  "$BIN" ocsp serve --config "$D/hq.toml" --listen "127.0.0.1:$port" > "$T/ocsp-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q serving_ocsp "$T/ocsp-$port.log" 2>/dev/null && break; sleep 0.05; done
  grep -q serving_ocsp "$T/ocsp-$port.log" || fail "ocsp serve: $(cat "$T/ocsp-$port.log")"
done

# The shipped file, with this run's ports and a cache in the temp dir.
mkdir -p "$T/cache" "$T/tmp"
sed -e "s#127.0.0.1:8091#127.0.0.1:$R1#; s#127.0.0.1:8092#127.0.0.1:$R2#; s#127.0.0.1:8080#$HQ_VA#g" \
    -e "s#listen 80;#listen 127.0.0.1:$NP;#; s#/var/cache/nginx/mirrorca-va#$T/cache#" \
    "$CONF" > "$T/mirrorca-va.conf"
grep -q "$R1" "$T/mirrorca-va.conf" && grep -q "$NP" "$T/mirrorca-va.conf" || fail "could not render the config"
cat > "$T/nginx.conf" <<NGINX
user root root;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $T/tmp/body;
  proxy_temp_path $T/tmp/proxy;
  fastcgi_temp_path $T/tmp/fastcgi;
  uwsgi_temp_path $T/tmp/uwsgi;
  scgi_temp_path $T/tmp/scgi;
  include $T/mirrorca-va.conf;
}
NGINX
nginx -t -c "$T/nginx.conf" -p "$T" > "$T/t.out" 2>&1 || fail "nginx -t: $(cat "$T/t.out")"
nginx -c "$T/nginx.conf" -p "$T" || fail "nginx did not start"
for _ in $(seq 50); do [[ -f "$T/nginx.pid" ]] && break; sleep 0.1; done
URL="http://127.0.0.1:$NP"
ISSUER="$D/factory/ca/ca.pem"
ROOT="$D/hq/root/ca.pem"

# openssl ocsp through nginx: verified answers.
openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-0010.pem" -url "$URL/ocsp" -CAfile "$ROOT" -no_nonce \
  > "$T/o.out" 2>&1 || fail "openssl ocsp via nginx: $(cat "$T/o.out")"
grep -q "Response verify OK" "$T/o.out" && grep -q "DEMO-0010.pem: good" "$T/o.out" || fail "$(cat "$T/o.out")"
openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-0002.pem" -url "$URL/ocsp" -CAfile "$ROOT" \
  > "$T/o.out" 2>&1 || fail "openssl ocsp (nonce) via nginx: $(cat "$T/o.out")"
grep -q "Response verify OK" "$T/o.out" && grep -q ": revoked" "$T/o.out" || fail "$(cat "$T/o.out")"
grep -q "WARNING: no nonce" "$T/o.out" && fail "nonce lost through nginx"

# The same POST twice: the second from nginx's cache.
openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-0011.pem" -no_nonce -reqout "$T/req.der" > /dev/null 2>&1
post() { curl -sS -D "$T/h.txt" -o "$T/resp.der" -H "Content-Type: application/ocsp-request" \
  --data-binary @"$1" "$URL/ocsp"; tr -d '\r' < "$T/h.txt" | sed -n 's/^X-Cache-Status: //Ip'; }
[[ "$(post "$T/req.der")" == "MISS" ]] || fail "first POST not a miss: $(cat "$T/h.txt")"
[[ "$(post "$T/req.der")" == "HIT" ]] || fail "second POST not from the cache: $(cat "$T/h.txt")"
openssl ocsp -respin "$T/resp.der" -issuer "$ISSUER" -cert "$D/certs/DEMO-0011.pem" -CAfile "$ROOT" \
  > "$T/o.out" 2>&1 && grep -q "DEMO-0011.pem: good" "$T/o.out" || fail "cached answer: $(cat "$T/o.out")"
grep -qi "^Cache-Control: max-age=" "$T/h.txt" || fail "no max-age: $(cat "$T/h.txt")"
# RFC 5019 GET twice.
B64="$(base64 -w0 "$T/req.der" | sed 's#+#%2B#g; s#=#%3D#g')"
get() { curl -sS -D "$T/h.txt" -o "$T/resp.der" "$URL/ocsp/$B64"; tr -d '\r' < "$T/h.txt" | sed -n 's/^X-Cache-Status: //Ip'; }
[[ "$(get)" == "MISS" ]] || fail "first GET: $(cat "$T/h.txt")"
[[ "$(get)" == "HIT" ]] || fail "second GET not from the cache: $(cat "$T/h.txt")"
# A nonce request is never served from the cache.
openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-0011.pem" -reqout "$T/nreq.der" > /dev/null 2>&1
post "$T/nreq.der" > /dev/null
[[ "$(post "$T/nreq.der")" != "HIT" ]] || fail "a nonce answer was cached"
grep -qi "^Cache-Control: no-store" "$T/h.txt" || fail "nonce answer cacheable: $(cat "$T/h.txt")"
# CRLs through the cache.
curl -sS -o "$T/crl.der" "$URL/crl/factory-f1.crl"
openssl crl -inform DER -in "$T/crl.der" -noout -verify -CAfile "$ISSUER" 2>&1 | grep -q "verify OK" \
  || fail "CRL via nginx"
# One responder stopped: answers continue.
kill -TERM "${PIDS[1]}"
for n in 20 21 22 23 24 25; do  # round robin reaches the stopped one: nginx moves on
  openssl ocsp -issuer "$ISSUER" -cert "$D/certs/DEMO-00$n.pem" -url "$URL/ocsp" -CAfile "$ROOT" \
    > "$T/o.out" 2>&1 && grep -q "DEMO-00$n.pem: good" "$T/o.out" || fail "one responder down: $(cat "$T/o.out")"
done
echo "PASS nginx e2e (deploy/nginx/mirrorca-va.conf: POST and GET cached, nonce not, CRL, failover)"
