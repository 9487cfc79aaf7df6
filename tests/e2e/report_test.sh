#!/usr/bin/env bash
# End-to-end test of `mirrorca audit report` in a real browser. After
# `mirrorca demo`, the RA asks for more than the batch allows: a device
# certified already (duplicate-device), a CSR that does not parse (bad-csr)
# and twelve new devices where ten are left in the quota (two
# quota-exhausted); a sync carries that to HQ. The report of HQ's store must
# count all of it, flag the anomalies with their events, reconcile batch B1
# (quota 110 = issued 110, past-quota attempts 2, one revoked, one held) —
# and headless Debian Chromium must open report.html without a console
# error or a blocked request, render it (screenshot), and show exactly the
# numbers of report.json (every element with a data-k JSON pointer).
set -euo pipefail
BIN="${MIRRORCA_BIN:-mirrorca}"
T="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v chromium > /dev/null || fail "chromium is not installed (scripts/setup.sh installs it)"

START="$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)"
"$BIN" demo --dir "$T/d" > "$T/demo.txt" 2>&1 || fail "demo: $(tail -5 "$T/demo.txt")"
D="$T/d"

serve() {  # serve ROLE CONFIG READY-WORD
  rm -f "$T/$1.log"
  "$BIN" "$1" serve --config "$2" > "$T/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q "$3" "$T/$1.log" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 serve did not start: $(cat "$T/$1.log")"
}
stop() { kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" || true; unset 'PIDS[-1]'; }

mkdir -p "$T/csr"
for i in $(seq 1 12); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=x" \
    -out "$T/csr/EXTRA-$i.csr" 2>/dev/null
done
cp "$D/csrs/DEMO-0001.csr" "$T/csr/DEMO-0001.csr"
echo "not a CSR" > "$T/csr/GARBAGE-1.csr"
serve factory "$D/factory.toml" serving
"$BIN" ra enroll --config "$D/ra.toml" --batch B1 --csr-dir "$T/csr" --out "$T/out" > "$T/ra.json" 2>&1 || true
stop
serve hq "$D/hq.toml" serving_validation
"$BIN" sync --config "$D/factory.toml" > "$T/sync.json" || fail "sync: $(cat "$T/sync.json")"
stop
END="$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)"

"$BIN" audit report --data "$D/hq/data" --from "$START" --to "$END" --out "$T/report" > "$T/report.out" \
  || fail "audit report: $(cat "$T/report.out")"
[[ -s "$T/report/report.html" && -s "$T/report/report.json" ]] || fail "report files missing"
python3 - "$T/report/report.json" <<'PY' || fail "report.json: $(head -c 3000 "$T/report/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
assert t["issued"] == 110, t
rej = r["rejections_by_reason"]
assert rej.get("quota-exhausted") == 2 and rej.get("duplicate-device") == 1, rej
assert sum(rej.values()) == t["rejected"] and t["rejected"] >= 3, (rej, t)
rev = r["revocations_by_reason"]
assert rev.get("keyCompromise") == 1 and rev.get("certificateHold") == 1, rev
b1 = [b for b in r["batches"] if b["batch"] == "B1"][0]
assert (b1["quota"], b1["issued"], b1["past_quota_attempts"], b1["issued_past_quota"]) == (110, 110, 2, 0), b1
assert (b1["revoked"], b1["on_hold"], b1["reconciliation"], b1["quota_used_percent"]) == (1, 1, "ok", 100), b1
assert r["anomaly_counts"].get("quota-refusal") == 2 and r["anomaly_counts"].get("duplicate-device-attempt") == 1, r["anomaly_counts"]
dup = [a for a in r["anomalies"] if a["kind"] == "duplicate-device-attempt"][0]
assert "DEMO-0001" in dup["detail"] and dup["events"][0]["log"].startswith("factory"), dup
assert len(r["sync_sessions"]) >= 2 and all(s["result"] == "ok" for s in r["sync_sessions"]), r["sync_sessions"]
assert sum(h["issued"] for h in r["issuance_per_hour"]) == 110, r["issuance_per_hour"]
assert {l["log"] for l in r["logs"]} == {"factory-f1.mirrorca.example/log", "hq.mirrorca.example/log"}, r["logs"]
PY
echo "ok: report.json counts the demo, the refusals and the sync; anomalies name their events"

# Headless Chromium: the DOM it renders and a screenshot; its console log.
browse() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$T/chrome" --enable-logging=stderr --v=0 "$@" "file://$T/report/report.html"
}
browse --dump-dom > "$T/dom.html" 2> "$T/chrome-dom.err" || fail "chromium --dump-dom: $(tail -5 "$T/chrome-dom.err")"
browse --window-size=1280,2400 --screenshot="$T/shot.png" > /dev/null 2> "$T/chrome-shot.err" \
  || fail "chromium --screenshot: $(tail -5 "$T/chrome-shot.err")"
if grep -hE 'CONSOLE|Uncaught|Refused to|Failed to load|net::ERR' "$T"/chrome-*.err; then
  fail "the browser reported errors"
fi
python3 - "$T/dom.html" "$T/report/report.json" "$T/shot.png" <<'PY' || fail "browser check"
import json, struct, sys, zlib
from html.parser import HTMLParser
dom, report, shot = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), open(sys.argv[3], "rb").read()

class Collect(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.values = []; self.svgs = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg": self.svgs += 1
        if "data-k" in a: self.stack.append([a["data-k"], ""])
        else: self.stack.append(None)
    def handle_endtag(self, tag):
        top = self.stack.pop() if self.stack else None
        if top: self.values.append(tuple(top))
    def handle_data(self, data):
        for s in self.stack:
            if s: s[1] += data
c = Collect(); c.feed(dom)

def resolve(ptr):
    v = report
    for part in ptr.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        v = v[int(part)] if isinstance(v, list) else v[part]
    return v
checked = 0
for ptr, text in c.values:
    want = resolve(ptr)
    if isinstance(want, bool) or isinstance(want, str):
        ok = text == (want if isinstance(want, str) else json.dumps(want))
    else:
        ok = float(text) == float(want)
    assert ok, f"{ptr}: page shows {text!r}, report.json has {want!r}"
    checked += 1
assert checked >= 40, f"only {checked} numbers on the page"
for ptr in ["/totals/issued", "/totals/rejected", "/rejections_by_reason/quota-exhausted", "/batches/0/issued"]:
    assert any(p == ptr for p, _ in c.values), f"{ptr} is not on the page"
assert c.svgs >= 3, f"{c.svgs} charts"
# The screenshot: a PNG of the requested size, not blank.
assert shot[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", shot[16:24])
assert (w, h) == (1280, 2400), (w, h)
pos, idat = 8, b""
while pos < len(shot):
    n, kind = struct.unpack(">I4s", shot[pos:pos + 8])
    if kind == b"IDAT": idat += shot[pos + 8:pos + 8 + n]
    pos += 12 + n
pixels = zlib.decompress(idat)
assert len(set(pixels[::97])) > 8, "the screenshot is blank"
print(f"ok: {checked} numbers on the page equal report.json; {c.svgs} SVG charts; screenshot {w}x{h}")
PY
echo "ok: headless Chromium rendered report.html without errors; its numbers equal report.json"
