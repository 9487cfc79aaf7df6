#!/usr/bin/env python3
"""Prints N (default 1) distinct TCP ports free on 127.0.0.1, space-separated,
chosen at random below the kernel's ephemeral range (as net/free_ports.h
does, and for the same reason: a port from that range can be taken by any
process's outgoing connection before the server that was given it binds it,
and the e2e tests run in parallel)."""
import random
import socket
import sys

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
except (OSError, ValueError):
    lo, hi = 32768, 60999
window = (max(1024, lo - 10000), lo - 1) if lo > 11024 else (hi + 1, min(65535, hi + 10000))
want = int(sys.argv[1]) if len(sys.argv) > 1 else 1
ports = []
for _ in range(1000 * want):
    if len(ports) == want:
        break
    port = random.randint(*window)
    if port in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    ports.append(port)
while len(ports) < want:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ports.append(s.getsockname()[1])
    s.close()
print(" ".join(str(p) for p in ports))
