// FreeLoopbackPorts: distinct TCP ports free on 127.0.0.1 now, for a setup
// that writes ports into configuration files for servers started later
// (`pki quickstart`, tests).
//
// The ports are chosen at random below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), never from it: a port the kernel hands out
// for bind(0) is also one it hands out to outgoing connections, so between
// the choice and the server's bind another process's connect() could take
// it. Outside that range only another listener can, and random choice makes
// two concurrent setups pick the same port about once in a million runs.
//
// Thread-safety: safe to call from any thread.
#ifndef MIRRORCA_NET_FREE_PORTS_H_
#define MIRRORCA_NET_FREE_PORTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/result.h"

namespace mirrorca::net {

// n distinct ports, each bindable on 127.0.0.1 at the time of the call
// (all are held bound until every one is chosen). Falls back to the
// kernel's choice (bind to port 0) if no window outside the ephemeral
// range exists. IOError when sockets cannot be made at all.
[[nodiscard]] Result<std::vector<uint16_t>> FreeLoopbackPorts(size_t n);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_FREE_PORTS_H_
