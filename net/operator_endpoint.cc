#include "net/access_log.h"
#include "net/operator_endpoint.h"

#include <nlohmann/json.hpp>

#include "base/status_macros.h"

namespace mirrorca::net {

bool IsHealthPath(const std::string& path) { return path == "/healthz" || path == "/readyz"; }

HttpResponse HandleOperator(const OperatorHooks& hooks, const HttpRequest& request) {
  HttpResponse out;
  out.headers.emplace_back("Cache-Control", "no-store");
  if (request.path != "/healthz" && request.path != "/readyz" && request.path != "/metrics") {
    out.status = 404;
    out.body = "not found: /healthz, /readyz, /metrics\n";
    return out;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    out.status = 405;
    out.headers.emplace_back("Allow", "GET, HEAD");
    out.body = "method not allowed\n";
    return out;
  }
  if (request.path == "/healthz") {
    out.body = "ok\n";
    return out;
  }
  if (request.path == "/readyz") {
    std::vector<ReadinessCheck> checks;
    if (hooks.readiness) checks = hooks.readiness();
    bool ready = true;
    nlohmann::json list = nlohmann::json::array();
    for (const ReadinessCheck& c : checks) {
      ready = ready && c.ok;
      list.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    }
    out.status = ready ? 200 : 503;
    out.content_type = "application/json";
    out.body = nlohmann::json{{"ready", ready}, {"checks", list}}.dump() + "\n";
    return out;
  }
  PrometheusText m;
  if (hooks.metrics) hooks.metrics(m);
  out.content_type = "text/plain; version=0.0.4";
  out.body = m.Render();
  return out;
}

Result<std::unique_ptr<OperatorEndpoint>> OperatorEndpoint::Start(const std::string& address, uint16_t port,
                                                                  OperatorHooks hooks) {
  std::unique_ptr<OperatorEndpoint> e(new OperatorEndpoint());
  e->hooks_ = std::make_shared<OperatorHooks>(std::move(hooks));
  HttpServerOptions o;
  o.address = address;
  o.port = port;
  o.io_threads = 1;
  o.worker_threads = 2;
  o.max_body_bytes = 0;
  o.max_connections = 64;
  o.max_connections_per_source = 8;
  o.request_timeout = std::chrono::milliseconds(5000);
  o.idle_timeout = std::chrono::milliseconds(30000);
  std::shared_ptr<OperatorHooks> h = e->hooks_;
  e->server_ = std::make_unique<HttpServer>(
      nullptr, WithAccessLog("operator", logging::Level::kDebug, [h](const HttpRequest& r) { return HandleOperator(*h, r); }),
      o);
  RETURN_IF_ERROR(e->server_->Start().WithContext("operator listener " + address + ":" + std::to_string(port)));
  return e;
}

OperatorEndpoint::~OperatorEndpoint() {
  if (server_) server_->Stop();
}

}  // namespace mirrorca::net
