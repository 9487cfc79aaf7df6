#include "net/free_ports.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <fstream>
#include <set>

namespace mirrorca::net {
namespace {

TEST(FreeLoopbackPortsTest, DistinctBindableAndOutsideTheEphemeralRange) {
  auto ports = FreeLoopbackPorts(8);
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  ASSERT_EQ(ports->size(), 8u);
  EXPECT_EQ(std::set<uint16_t>(ports->begin(), ports->end()).size(), 8u);

  uint32_t lo = 32768, hi = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
  asio::io_context io;
  for (uint16_t p : *ports) {
    EXPECT_TRUE(p < lo || p > hi) << p << " is in the ephemeral range " << lo << "-" << hi;
    EXPECT_GE(p, 1024) << "a privileged port";
    asio::ip::tcp::acceptor a(io);
    asio::error_code ec;
    a.open(asio::ip::tcp::v4(), ec);
    a.bind({asio::ip::make_address_v4("127.0.0.1"), p}, ec);
    EXPECT_FALSE(ec) << "port " << p << " was returned free but cannot be bound: " << ec.message();
  }
}

TEST(FreeLoopbackPortsTest, ZeroPortsIsAnEmptyList) {
  auto ports = FreeLoopbackPorts(0);
  ASSERT_TRUE(ports.ok());
  EXPECT_TRUE(ports->empty());
}

}  // namespace
}  // namespace mirrorca::net
