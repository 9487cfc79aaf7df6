// HttpServer + HttpClient over real mutual TLS on 127.0.0.1: handshake
// refusals, keep-alive and pipelining, limits, garbage and slow clients.
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/status_macros.h"
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

// A port shared with devices (the factory's enrollment port): pinned RAs,
// and devices with a certificate issued directly by one of this factory's
// CAs. A device of another factory under the same OEM root, or a
// certificate the root issued directly, is refused in the handshake.
TEST(HttpServerTest, DeviceIssuersAdmitOnlyTheirOwnDevices) {
  TestTls tls;
  tls.Issue("server", true);
  const std::string ra_pin = tls.Issue("ra", false);
  // The OEM root with two factory CAs.
  ca::CaSubject subject{.organization = "Example OEM", .factory = "F1", .vendor_id = "FFF1"};
  ca::KeyAndCertificate root = *ca::CreateRoot(subject, ca::KeyType::kP256, ca::testing::NowSeconds());
  auto factory_ca = [&](const std::string& name) {
    ca::CaSubject s = subject;
    s.factory = name;
    ca::KeyAndCertificate out;
    out.key = *ca::GenerateKey(ca::KeyType::kP256);
    auto req = ca::CreateCaRequest(out.key.get(), *ca::BuiltinProfile("issuing-ca"), s);
    out.cert = *ca::SignCaRequest(*ca::RequestPem(req->get()), *ca::BuiltinProfile("issuing-ca"), s, root.cert.get(),
                                  root.key.get(), {"http://127.0.0.1:1/crl.crl", ""}, ca::testing::NowSeconds());
    return out;
  };
  ca::KeyAndCertificate f1 = factory_ca("F1"), f2 = factory_ca("F2");
  tls.Issue("device-f1", false, 0, &f1);
  tls.Issue("device-f2", false, 0, &f2);
  tls.Issue("by-root", false, 0, &root);
  DeviceIssuers devices{{*ca::CertificatePem(f1.cert.get()) + *ca::CertificatePem(root.cert.get())}};
  auto ctx = ServerContext(tls.Identity("server"), {ra_pin}, devices);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  HttpServer server(*ctx, [](const HttpRequest& r) {
    HttpResponse out;
    out.body = r.peer_spki + " " + std::to_string(r.peer_certificate_der.size());
    return out;
  });
  ASSERT_TRUE(server.Start().ok());
  auto ask = [&](const std::string& client) -> Result<HttpClientResponse> {
    // Each client trusts the server's TLS CA; its own chain is sent in full.
    auto c = ClientContext(tls.Identity(client));
    if (!c.ok()) return c.status();
    ASSIGN_OR_RETURN(auto conn, HttpClient::Connect("127.0.0.1", server.port(), *c));
    return conn->Request("GET", "/", "", "");
  };
  auto ra = ask("ra");
  ASSERT_TRUE(ra.ok()) << ra.status();
  EXPECT_TRUE(ra->body.starts_with(ra_pin));
  auto device = ask("device-f1");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_NE(device->body.substr(device->body.find(' ') + 1), "0");  // the handler sees the device's certificate
  EXPECT_FALSE(ask("device-f2").ok()) << "a device of another factory under the same root";
  EXPECT_FALSE(ask("by-root").ok()) << "a certificate the root issued directly";
  EXPECT_FALSE(ServerContext(tls.Identity("server"), {}, devices).ok()) << "RAs must be pinned";
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
