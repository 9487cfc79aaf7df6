#!/usr/bin/env python3
"""perf_shares: where one role of a process spends its CPU, from `perf script`.

Reads `perf script` output (a recording with call graphs, e.g.
`perf record -e cpu-clock --call-graph dwarf,16384 -F 150`), puts each
sample in one role by the frames on its stack (the first rule that matches
wins), and prints for the chosen role the inclusive share of the functions
that appear most often in its stacks.

Usage: perf script -i perf.data | scripts/perf_shares.py [--role server] [--top 40] [--callers FUNCTION]
Roles (matched on demangled frame names):
  setup   the load driver making CSRs before the run (MakeCsrs)
  server  the CA, its HTTP server, the log, RocksDB
  driver  the load driver's client threads (HttpClient, main's lambdas)
  other   everything else (thread starts, the kernel outside any of these)
"""
import argparse
import collections
import re
import sys

ROLES = [
    ("setup", re.compile(r"MakeCsrs")),
    ("server", re.compile(r"HttpServer|mirrorca::engine::|mirrorca::log::|rocksdb::")),
    ("driver", re.compile(r"HttpClient|main::\{lambda|ClosedLoop|Paced|OSSL_CMP_exec")),
]


def samples(stream):
    frames, header = [], None
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if header is not None:
                yield header, frames
            frames, header = [], None
        elif not line.startswith((" ", "\t")):
            header = line
        else:
            parts = line.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else parts[0]
            sym = re.sub(r"\s+\(\S+\)$", "", sym)  # drop the "(/path/lib.so)" suffix
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            frames.append(sym)
    if header is not None:
        yield header, frames


def short(sym):
    sym = re.sub(r"\(.*", "", sym)  # drop argument lists
    return sym[:110]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", default="server")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--callers", help="for samples in this function, the nearest of our frames that called it")
    args = ap.parse_args()
    by_role = collections.Counter()
    inclusive = collections.Counter()
    for _, frames in samples(sys.stdin):
        role = "other"
        joined = "\n".join(frames)
        for name, rx in ROLES:
            if rx.search(joined):
                role = name
                break
        by_role[role] += 1
        if role != args.role:
            continue
        if args.callers:
            at = next((i for i, f in enumerate(frames) if args.callers in f), None)
            if at is None:
                continue
            caller = next((short(f) for f in frames[at + 1:] if "mirrorca::" in f or "nlohmann" in f), "(none)")
            inclusive[caller] += 1
            continue
        for sym in set(short(f) for f in frames):
            inclusive[sym] += 1
    total = sum(by_role.values())
    print("samples by role: " + ", ".join(f"{r} {n} ({100.0 * n / total:.1f} %)" for r, n in by_role.most_common()))
    n = by_role[args.role] or 1
    print(f"inclusive share of the {args.role}'s {n} samples:")
    for sym, c in inclusive.most_common(args.top):
        print(f"{100.0 * c / n:6.1f} %  {sym}")


if __name__ == "__main__":
    main()
