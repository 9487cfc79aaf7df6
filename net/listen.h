// Listen: opens, binds and starts listening on a TCP acceptor — the one
// place where servers (HTTP, replication) turn "address:port" into a
// listening socket, with SO_REUSEADDR and the system's backlog.
//
// Thread-safety: call before the acceptor is shared.
#ifndef MIRRORCA_NET_LISTEN_H_
#define MIRRORCA_NET_LISTEN_H_

#include <asio.hpp>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace mirrorca::net {

// Listen binds `acceptor` to address:port (port 0 picks a free one) and
// returns the bound port. InvalidArgument for an unparsable address,
// Unavailable when the port cannot be bound.
Result<uint16_t> Listen(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                        uint16_t port);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_LISTEN_H_
