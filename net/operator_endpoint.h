// OperatorEndpoint: the listener an operator (or a Prometheus scraper, a
// load balancer, systemd) reaches without an RA, sync or admin key —
// `[operator] listen` in factory.toml, hq.toml and va.toml. Plain HTTP on a
// management address; it reads state, never changes it, and nothing it
// serves is secret (no key, no PIN, no device data beyond counts).
//
//   GET /healthz  200 "ok": the process answers.
//   GET /readyz   200 or 503 with {"ready": bool, "checks": [{"name", "ok", "detail"}]}:
//                 ready when every check the node registers passes.
//   GET /metrics  Prometheus text (base/prometheus_text.h).
//
// The node supplies both callbacks; they run on the server's worker
// threads, possibly concurrently.
//
// Thread-safety: Start/Stop from one thread.
#ifndef MIRRORCA_NET_OPERATOR_ENDPOINT_H_
#define MIRRORCA_NET_OPERATOR_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/prometheus_text.h"
#include "base/result.h"
#include "net/http_server.h"

namespace mirrorca::net {

struct ReadinessCheck {
  std::string name;  // e.g. "log-writable"
  bool ok = false;
  std::string detail;
};

struct OperatorHooks {
  std::function<void(PrometheusText&)> metrics;
  std::function<std::vector<ReadinessCheck>()> readiness;
};

// HandleOperator answers one request to the endpoint (404 elsewhere, 405
// for a method other than GET or HEAD).
HttpResponse HandleOperator(const OperatorHooks& hooks, const HttpRequest& request);

// HealthPaths: whether `path` is /healthz or /readyz (public servers answer
// them too, for load balancers; /metrics only on the operator listener).
bool IsHealthPath(const std::string& path);

class OperatorEndpoint {
 public:
  // Start listens on address:port (0: a free port) with small limits: 64
  // connections, 8 per source, 5 s per request.
  static Result<std::unique_ptr<OperatorEndpoint>> Start(const std::string& address, uint16_t port,
                                                         OperatorHooks hooks);
  ~OperatorEndpoint();
  uint16_t port() const { return server_->port(); }

 private:
  OperatorEndpoint() = default;
  std::shared_ptr<OperatorHooks> hooks_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_OPERATOR_ENDPOINT_H_
