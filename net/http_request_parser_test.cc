// HttpRequestParser on its own: requests split anywhere, pipelined ones one
// at a time, and the limits enforced as bytes arrive.
#include "net/http_request_parser.h"

#include <gtest/gtest.h>

namespace mirrorca::net {
namespace {

using State = HttpRequestParser::State;

TEST(HttpRequestParserTest, ARequestSplitByteByByteIsOneRequest) {
  const std::string wire = "POST /v1/batches/B%201/enroll?device_serial=A-1 HTTP/1.1\r\nHost: f\r\nX-Case: V\r\n"
                           "Content-Length: 5\r\n\r\nhello";
  HttpRequestParser p(HttpLimits{});
  for (char c : wire) {
    ASSERT_EQ(p.Feed(std::string_view(&c, 1)), 1u);
  }
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.request().method, "POST");
  EXPECT_EQ(p.request().path, "/v1/batches/B%201/enroll");
  EXPECT_EQ(p.request().query, "device_serial=A-1");
  EXPECT_EQ(p.request().headers["x-case"], "V");
  EXPECT_EQ(p.request().body, "hello");
  EXPECT_TRUE(p.keep_alive());
}

TEST(HttpRequestParserTest, PipelinedRequestsComeOutOneAtATime) {
  std::string wire = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
  HttpRequestParser p(HttpLimits{});
  wire.erase(0, p.Feed(wire));
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.request().path, "/a");
  EXPECT_EQ(p.Feed(wire), 0u) << "nothing is read before Next()";
  p.Next();
  wire.erase(0, p.Feed(wire));
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.request().path, "/b");
  EXPECT_FALSE(p.keep_alive());
  EXPECT_TRUE(wire.empty());
}

TEST(HttpRequestParserTest, LimitsHoldWhileBytesArrive) {
  HttpRequestParser big_body(HttpLimits{.max_header_bytes = 1024, .max_body_bytes = 10});
  big_body.Feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(big_body.state(), State::kError);
  EXPECT_EQ(big_body.error_status(), 413);

  HttpRequestParser chunked(HttpLimits{.max_header_bytes = 1024, .max_body_bytes = 10});
  chunked.Feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n");
  EXPECT_EQ(chunked.state(), State::kError);
  EXPECT_EQ(chunked.error_status(), 413);

  HttpRequestParser headers(HttpLimits{.max_header_bytes = 64, .max_body_bytes = 10});
  headers.Feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n");
  EXPECT_EQ(headers.state(), State::kError);
  EXPECT_EQ(headers.error_status(), 431);

  HttpRequestParser garbage(HttpLimits{});
  static constexpr char kGarbage[] = "GARBAGE \x00\x01 NOT HTTP\r\n\r\n";
  garbage.Feed(std::string(kGarbage, sizeof kGarbage - 1));
  EXPECT_EQ(garbage.state(), State::kError);
  EXPECT_EQ(garbage.error_status(), 400);
}

}  // namespace
}  // namespace mirrorca::net
