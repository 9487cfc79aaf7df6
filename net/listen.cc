#include "net/listen.h"

namespace mirrorca::net {

Result<uint16_t> Listen(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                        uint16_t port) {
  asio::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(address, ec);
  if (ec) return Status::InvalidArgument("listen address '" + address + "': " + ec.message());
  const asio::ip::tcp::endpoint ep(addr, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    asio::error_code ignored;
    acceptor.close(ignored);
    return Status::Unavailable("listen on " + address + ":" + std::to_string(port) + ": " +
                               ec.message());
  }
  const uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return Status::Unavailable("listen on " + address + ": " + ec.message());
  return bound;
}

}  // namespace mirrorca::net
