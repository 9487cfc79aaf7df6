#!/usr/bin/env python3
"""Prints one TCP port free on 127.0.0.1, chosen at random below the kernel's
ephemeral range (as net/free_ports.h does, and for the same reason: a port
from that range can be taken by any process's outgoing connection before the
server that was given it binds it, and the e2e tests run in parallel)."""
import random
import socket

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
except (OSError, ValueError):
    lo, hi = 32768, 60999
window = (max(1024, lo - 10000), lo - 1) if lo > 11024 else (hi + 1, min(65535, hi + 10000))
for _ in range(1000):
    port = random.randint(*window)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
