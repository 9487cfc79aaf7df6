#include "cli/admin_api.h"

#include <nlohmann/json.hpp>

#include "base/utc_time.h"

namespace mirrorca::cli {
namespace {

net::HttpResponse Json(int status, const nlohmann::json& body) {
  net::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

net::HttpResponse Problem(int status, const std::string& code, const std::string& detail) {
  net::HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = nlohmann::json{{"type", "https://mirrorca.dev/problems/" + code},
                          {"title", code},
                          {"status", status},
                          {"detail", detail}}
               .dump();
  return r;
}

// Answer turns a {"ok": ...} reply of the shared handlers into HTTP.
net::HttpResponse Answer(const std::string& reply) {
  nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded()) return Problem(500, "internal-error", "unreadable reply");
  if (j.value("ok", false)) return Json(200, j);
  const std::string error = j.value("error", "refused");
  const int status = error.rfind("NOT_FOUND", 0) == 0 ? 404
                     : error.rfind("FAILED_PRECONDITION", 0) == 0 ? 409
                                                                 : 400;
  return Problem(status, status == 404 ? "not-found" : status == 409 ? "conflict" : "refused", error);
}

}  // namespace

net::HttpResponse HandleAdmin(HqNode& n, const net::HttpRequest& q) {
  const std::string who = "admin:" + q.peer_spki.substr(0, 16);
  if (q.path == "/v1/batches") {
    if (q.method != "GET") return Problem(405, "method-not-allowed", "GET /v1/batches");
    nlohmann::json req = nlohmann::json::object();
    if (q.query.rfind("batch=", 0) == 0) req["batch"] = q.query.substr(6);
    return Answer(LedgerJson(n, req));
  }
  if (q.path != "/v1/revoke" && q.path != "/v1/crl") return Problem(404, "not-found", q.path);
  if (q.method != "POST") return Problem(405, "method-not-allowed", "POST " + q.path);
  nlohmann::json body = nlohmann::json::parse(q.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Problem(400, "malformed", "a JSON object is expected");
  try {
    if (q.path == "/v1/crl") {
      nlohmann::json req = {{"ca", body.value("ca", "")}, {"delta", body.value("delta", false)}};
      return Answer(CrlJson(n, req));
    }
    nlohmann::json req = {{"reason", body.value("reason", "unspecified")},
                          {"hold", body.value("hold", false)},
                          {"release", body.value("release", false)},
                          {"requested_by", who}};
    if (body.contains("serial")) req["serial"] = body.at("serial").get<std::string>();
    if (body.contains("batch")) req["batch"] = body.at("batch").get<std::string>();
    if (req.contains("serial") == req.contains("batch")) {
      return Problem(400, "malformed", "give exactly one of serial and batch");
    }
    for (auto [field, key] : {std::pair{"time", "time_us"}, {"invalidity_date", "invalidity_us"}}) {
      if (!body.contains(field)) continue;
      Result<int64_t> us = ParseUtcTime(body.at(field).get<std::string>());
      if (!us.ok()) return Problem(400, "malformed", std::string(field) + " must be YYYY-MM-DDTHH:MM:SSZ");
      req[key] = *us;
    }
    return Answer(RevokeJson(n, req));
  } catch (const nlohmann::json::exception& e) {
    return Problem(400, "malformed", e.what());
  }
}

}  // namespace mirrorca::cli
