// OperatorEndpoint over real plain HTTP on 127.0.0.1: health, readiness
// that follows the node's checks, metrics text, and what it refuses.
#include "net/operator_endpoint.h"

#include <gtest/gtest.h>

#include <atomic>

#include "net/http_client.h"

namespace mirrorca::net {
namespace {

struct Endpoint {
  std::atomic<bool> writable{true};
  std::atomic<int> scrapes{0};
  std::unique_ptr<OperatorEndpoint> server;

  Endpoint() {
    OperatorHooks hooks;
    hooks.metrics = [this](PrometheusText& m) {
      m.Counter("test_scrapes_total", "Scrapes.", ++scrapes);
    };
    hooks.readiness = [this] {
      return std::vector<ReadinessCheck>{{"keys-loaded", true, "2 keys"},
                                         {"log-writable", writable.load(), writable ? "" : "disk full"}};
    };
    auto s = OperatorEndpoint::Start("127.0.0.1", 0, std::move(hooks));
    EXPECT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
  }

  HttpClientResponse Get(const std::string& method, const std::string& path) {
    auto c = HttpClient::Connect("127.0.0.1", server->port(), nullptr);
    EXPECT_TRUE(c.ok()) << c.status();
    auto r = (*c)->Request(method, path, "", "");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpClientResponse{};
  }
};

TEST(OperatorEndpointTest, ReadinessFollowsTheNodesChecks) {
  Endpoint e;
  EXPECT_EQ(e.Get("GET", "/healthz").status, 200);
  HttpClientResponse ready = e.Get("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("\"ready\":true"), std::string::npos) << ready.body;
  e.writable = false;
  HttpClientResponse not_ready = e.Get("GET", "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("disk full"), std::string::npos) << not_ready.body;
  EXPECT_EQ(e.Get("GET", "/healthz").status, 200) << "alive though not ready";
}

TEST(OperatorEndpointTest, MetricsAreRenderedAtEachScrape) {
  Endpoint e;
  HttpClientResponse m = e.Get("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4");
  EXPECT_NE(m.body.find("# TYPE test_scrapes_total counter\ntest_scrapes_total 1\n"), std::string::npos) << m.body;
  EXPECT_NE(e.Get("GET", "/metrics").body.find("test_scrapes_total 2\n"), std::string::npos);
}

TEST(OperatorEndpointTest, RefusesOtherPathsMethodsAndBodies) {
  Endpoint e;
  EXPECT_EQ(e.Get("GET", "/v1/enroll").status, 404);
  EXPECT_EQ(e.Get("DELETE", "/metrics").status, 405);
  auto c = HttpClient::Connect("127.0.0.1", e.server->port(), nullptr);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Request("POST", "/readyz", "application/json", "{\"x\":1}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(e.scrapes.load(), 0);
}

}  // namespace
}  // namespace mirrorca::net
