// HttpServer + HttpClient over real mutual TLS on 127.0.0.1: handshake
// refusals, keep-alive and pipelining, limits, garbage and slow clients.
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/http_client.h"
#include "net/test_tls.h"

namespace mirrorca::net {
namespace {

using testing::TestTls;

struct Fixture {
  TestTls tls;
  std::string client_pin;
  std::unique_ptr<HttpServer> server;

  explicit Fixture(HttpServerOptions options = {}) {
    tls.Issue("server", true);
    client_pin = tls.Issue("client", false);
    auto ctx = ServerContext(tls.Identity("server"), {client_pin});
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    server = std::make_unique<HttpServer>(
        *ctx,
        [](const HttpRequest& r) {
          HttpResponse out;
          out.body = r.method + " " + r.path + " ?" + r.query + " " + std::to_string(r.body.size()) +
                     " " + r.peer_spki;
          return out;
        },
        options);
    EXPECT_TRUE(server->Start().ok());
  }

  Result<std::unique_ptr<HttpClient>> Connect(const std::string& client = "client") {
    auto ctx = ClientContext(client.empty() ? TlsIdentity{"", "", tls.Path("ca.pem")}
                                            : tls.Identity(client));
    if (!ctx.ok()) return ctx.status();
    return HttpClient::Connect("127.0.0.1", server->port(), *ctx);
  }
};

TEST(HttpServerTest, MutualTlsRequestsWithKeepAlive) {
  Fixture f;
  auto c = f.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < 3; ++i) {
    auto r = (*c)->Request("POST", "/v1/x?a=1", "text/plain", "hello");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /v1/x ?a=1 5 " + f.client_pin);
  }
  EXPECT_EQ(f.server->connections_accepted(), 1u);
}

TEST(HttpServerTest, PipelinedRequestsAnswerInOrder) {
  Fixture f;
  auto c = f.Connect();
  ASSERT_TRUE(c.ok());
  std::string two = "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE((*c)->Send(two).ok());
  auto a = (*c)->ReadResponse();
  auto b = (*c)->ReadResponse();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->body.starts_with("GET /one"));
  EXPECT_TRUE(b->body.starts_with("GET /two"));
}

TEST(HttpServerTest, HandshakeRefusesMissingUnknownUnpinnedAndExpiredClients) {
  Fixture f;
  // Another CA's client.
  TestTls other;
  other.Issue("client", false);
  // Same CA, but a key that is not pinned; and an expired one.
  f.tls.Issue("unpinned", false);
  f.tls.Issue("expired", false, ca::testing::NowSeconds() - 900LL * 86400);
  auto expect_refused = [&](Result<std::unique_ptr<HttpClient>> c, const char* what) {
    if (!c.ok()) return;  // refused during the handshake
    // TLS 1.3: the server's verdict on the client certificate arrives after
    // the client's handshake completes; the first request must fail.
    auto r = (*c)->Request("GET", "/", "", "");
    EXPECT_FALSE(r.ok()) << what;
  };
  expect_refused(f.Connect(""), "no client certificate");
  auto foreign_ctx = ClientContext(
      TlsIdentity{other.Path("client.pem"), other.Path("client.pem.key"), f.tls.Path("ca.pem")});
  ASSERT_TRUE(foreign_ctx.ok());
  expect_refused(HttpClient::Connect("127.0.0.1", f.server->port(), *foreign_ctx), "foreign CA");
  expect_refused(f.Connect("unpinned"), "unpinned key");
  expect_refused(f.Connect("expired"), "expired certificate");
  // The server still serves the legitimate client.
  auto ok = f.Connect();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)->Request("GET", "/", "", "").ok());
}

TEST(HttpServerTest, GarbageAndOversizedRequestsGetProblemsAndAClose) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  o.max_body_bytes = 4096;
  Fixture f(o);
  struct Case {
    std::string bytes;
    int status;
  };
  std::vector<Case> cases = {
      {"\x16\x03\x01 garbage garbage\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" +
           std::string(0x2000, 'b') + "\r\n0\r\n\r\n",
       413},
  };
  for (const Case& c : cases) {
    auto client = f.Connect();
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Send(c.bytes).ok());
    auto r = (*client)->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, c.status) << c.bytes.substr(0, 60);
    EXPECT_EQ(r->headers["content-type"], "application/problem+json");
    EXPECT_EQ(r->headers["connection"], "close");
  }
}

TEST(HttpServerTest, SilentClientsDoNotStallOthersAndAreDropped) {
  HttpServerOptions o;
  o.handshake_timeout = std::chrono::milliseconds(300);
  o.idle_timeout = std::chrono::milliseconds(300);
  Fixture f(o);
  // Raw TCP connections that never speak TLS.
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> silent;
  for (int i = 0; i < 20; ++i) {
    silent.emplace_back(io);
    silent.back().connect({asio::ip::make_address("127.0.0.1"), f.server->port()});
  }
  auto c = f.Connect();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Request("GET", "/", "", "").ok());
  // After the handshake deadline the server closes them: a read sees EOF.
  for (auto& s : silent) {
    char b;
    asio::error_code ec;
    s.read_some(asio::buffer(&b, 1), ec);
    EXPECT_TRUE(ec) << "connection should be closed";
  }
}

// A request whose body never fully arrives (Content-Length longer than what
// is sent) is answered 408 at the request deadline, then closed — not
// dropped silently; so is one whose headers stop half way.
TEST(HttpServerTest, AnUnfinishedRequestGets408AtItsDeadline) {
  HttpServerOptions o;
  o.request_timeout = std::chrono::milliseconds(500);
  Fixture f(o);
  for (const std::string& partial : {std::string("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly 20 bytes here.."),
                                    std::string("GET /x HTTP/1.1\r\nHost: x\r\nX-Half: ")}) {
    auto client = f.Connect();
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Send(partial).ok());
    const auto start = std::chrono::steady_clock::now();
    auto r = (*client)->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 408);
    EXPECT_EQ(r->headers["content-type"], "application/problem+json");
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_NE(r->body.find("request-timeout"), std::string::npos) << r->body;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
}

}  // namespace
}  // namespace mirrorca::net
