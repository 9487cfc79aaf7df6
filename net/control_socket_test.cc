#include "net/control_socket.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace mirrorca::net {
namespace {

TEST(ControlSocketTest, AnswersEachRequestAndJoinsFinishedConnections) {
  char tmpl[] = "/tmp/mirrorca-control-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/control.sock";
  auto server = ControlServer::Start(path, [](const std::string& request, const ControlServer::Reply& reply) {
    reply("{\"echo\":\"" + request + "\"}");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  for (int i = 0; i < 200; ++i) {
    std::vector<std::string> lines;
    Status s = ControlRequest(path, "r" + std::to_string(i), [&](const std::string& l) { lines.push_back(l); });
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "{\"echo\":\"r" + std::to_string(i) + "\"}");
  }
  // Each new connection joins the finished ones: a few are left, not 200.
  EXPECT_LE((*server)->TEST_Connections(), 10u);
  (*server)->Stop();
  EXPECT_EQ((*server)->TEST_Connections(), 0u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace mirrorca::net
