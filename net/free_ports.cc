#include "net/free_ports.h"

#include <asio.hpp>
#include <fstream>
#include <memory>
#include <random>
#include <string>

namespace mirrorca::net {
namespace {

struct PortRange {
  uint32_t first = 0, last = 0;  // inclusive; first > last: empty
};

// The kernel's ephemeral range; Linux's default when it cannot be read.
PortRange EphemeralRange() {
  PortRange r{32768, 60999};
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t lo = 0, hi = 0;
  if (in >> lo >> hi && lo <= hi && hi <= 65535) r = {lo, hi};
  return r;
}

// The widest window of unprivileged ports outside the ephemeral range,
// at most 10,000 ports wide.
PortRange Window(const PortRange& ephemeral) {
  constexpr uint32_t kLowest = 10000, kWidth = 10000;
  const uint32_t below = ephemeral.first > kLowest ? ephemeral.first - kLowest : 0;
  const uint32_t above = ephemeral.last < 65535 ? 65535 - ephemeral.last : 0;
  if (below >= above && below > 0) {
    return {ephemeral.first - std::min(below, kWidth), ephemeral.first - 1};
  }
  if (above > 0) return {ephemeral.last + 1, ephemeral.last + std::min(above, kWidth)};
  return {1, 0};
}

using Acceptor = asio::ip::tcp::acceptor;

// Binds a new acceptor to 127.0.0.1:port (0: the kernel's choice);
// nullptr if the port is taken.
std::unique_ptr<Acceptor> TryBind(asio::io_context& io, uint16_t port, asio::error_code& ec) {
  auto a = std::make_unique<Acceptor>(io);
  const asio::ip::tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  a->open(ep.protocol(), ec);
  if (ec) return nullptr;
  a->bind(ep, ec);
  if (ec) return nullptr;
  return a;
}

}  // namespace

Result<std::vector<uint16_t>> FreeLoopbackPorts(size_t n) {
  asio::io_context io;
  std::vector<std::unique_ptr<Acceptor>> held;  // bound until all are chosen
  std::vector<uint16_t> ports;
  const PortRange window = Window(EphemeralRange());
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; ports.size() < n && window.first <= window.last && attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(
        std::uniform_int_distribution<uint32_t>(window.first, window.last)(rng));
    asio::error_code ec;
    if (auto a = TryBind(io, port, ec)) {
      ports.push_back(port);
      held.push_back(std::move(a));
    }
  }
  while (ports.size() < n) {
    asio::error_code ec;
    auto a = TryBind(io, 0, ec);
    if (!a) return Status::IOError("find a free port: " + ec.message());
    ports.push_back(a->local_endpoint().port());
    held.push_back(std::move(a));
  }
  return ports;
}

}  // namespace mirrorca::net
