#include "net/access_log.h"

#include <chrono>

namespace mirrorca::net {

HttpHandler WithAccessLog(std::string server, logging::Level level, HttpHandler inner) {
  return [server = std::move(server), level, inner = std::move(inner)](const HttpRequest& r) {
    if (!logging::Enabled(level)) return inner(r);
    const auto start = std::chrono::steady_clock::now();
    HttpResponse out = inner(r);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json line{{"server", server},
                        {"method", r.method.substr(0, 16)},
                        {"path", r.path.substr(0, 96)},
                        {"status", out.status},
                        {"ms", static_cast<double>(static_cast<int64_t>(ms * 1000)) / 1000}};
    if (!r.peer_spki.empty()) line["client_key"] = r.peer_spki.substr(0, 16);
    if (out.status >= 400 && out.content_type == "application/problem+json") {
      nlohmann::json problem = nlohmann::json::parse(out.body, nullptr, false);
      if (problem.is_object() && problem.contains("code") && problem["code"].is_string()) line["problem"] = problem["code"];
    }
    logging::Log(level, "http", line);
    return out;
  };
}

}  // namespace mirrorca::net
