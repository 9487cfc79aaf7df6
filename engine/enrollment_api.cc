#include "engine/enrollment_api.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "engine/bulk_answer.h"

namespace mirrorca::engine {
namespace {

using nlohmann::json;

constexpr size_t kMaxCsrBytes = 16 * 1024;

ApiResponse Json(int status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = j.dump();
  return r;
}

// QueryParam returns the (percent-decoded, '+' as space) value of `name` in
// `query`; nullopt when absent or badly escaped.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string raw(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    std::replace(raw.begin(), raw.end(), '+', ' ');
    Result<std::string> out = PercentDecode(raw);
    if (!out.ok()) return std::nullopt;
    return std::move(*out);
  }
  return std::nullopt;
}

std::string_view ErrorCode(const EnrollResult& r) { return RejectionCode(r.reason); }

}  // namespace

int HttpStatusOf(EnrollError e) {
  switch (e) {
    case EnrollError::kNone: return 200;
    case EnrollError::kBadRequest: return 400;
    case EnrollError::kForbidden: return 403;
    case EnrollError::kNotFound: return 404;
    case EnrollError::kConflict: return 409;
    case EnrollError::kQuotaExhausted: return 429;
    case EnrollError::kUnavailable: return 503;
  }
  return 500;
}

namespace {

// ParseJson parses a bounded JSON body without exceptions escaping.
std::optional<json> ParseJson(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<std::string> StringField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

ApiResponse EnrollmentApi::Problem(int status, std::string_view code, std::string_view title,
                                   std::string_view detail) {
  ApiResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json{{"type", "https://mirrorca.dev/problems/" + std::string(code)},
                {"title", title},
                {"status", status},
                {"detail", detail},
                {"code", code}}
               .dump();
  return r;
}

ApiResponse ErrorResponse(const EnrollResult& r) {
  const int status = HttpStatusOf(r.error);
  return EnrollmentApi::Problem(status, ErrorCode(r), "certificate request refused", r.detail);
}

ApiResponse EnrollmentApi::Handle(const ApiRequest& r) {
  std::string_view path = r.path;
  if (path == "/metrics" && r.method == "GET") {
    ApiResponse out;
    out.content_type = "text/plain; version=0.0.4";
    PrometheusText m;
    ca_->WriteMetrics(m);
    out.body = m.Render();
    return out;
  }
  if (path == "/v1/ca" && r.method == "GET") {
    ApiResponse out;
    out.content_type = "application/pem-certificate-chain";
    out.body = ca_->issuing_ca().chain_pem();
    return out;
  }
  constexpr std::string_view kBatches = "/v1/batches/";
  if (path.starts_with(kBatches)) {
    std::string_view rest = path.substr(kBatches.size());
    size_t slash = rest.find('/');
    // The batch id is percent-decoded as the query string is (B%31 is B1).
    Result<std::string> batch_id = PercentDecode(rest.substr(0, slash));
    if (!batch_id.ok()) {
      return Problem(400, "bad-request", "the batch id in the path is badly escaped", std::string(path));
    }
    std::string batch = std::move(*batch_id);
    std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (batch.empty()) return Problem(404, "not-found", "no such resource", std::string(path));
    if (action.empty() && r.method == "GET") return BatchStatus(batch);
    if (r.method == "POST" && action == "enroll") return Enroll(r, batch);
    if (r.method == "POST" && action == "enroll-bulk") return EnrollBulk(r, batch);
    if (r.method == "POST" && action == "keygen") return Keygen(r, batch);
    if (action == "enroll" || action == "enroll-bulk" || action == "keygen" || action.empty()) {
      ApiResponse out = Problem(405, "method-not-allowed", "method not allowed", r.method);
      out.headers.emplace_back("Allow", action.empty() ? "GET" : "POST");
      return out;
    }
  }
  return Problem(404, "not-found", "no such resource", std::string(path));
}

ApiResponse EnrollmentApi::Enroll(const ApiRequest& r, const std::string& batch) {
  EnrollRequest req;
  req.batch_id = batch;
  req.ra_id = r.ra_id;
  if (!r.body.empty() && r.body.front() == '{') {
    std::optional<json> j = ParseJson(r.body);
    if (!j || !j->is_object()) return Problem(400, "bad-json", "malformed JSON", "body");
    std::optional<std::string> serial = StringField(*j, "device_serial");
    std::optional<std::string> csr = StringField(*j, "csr");
    if (!serial || !csr) {
      return Problem(400, "bad-request", "missing field", "need device_serial and csr strings");
    }
    req.device_serial = std::move(*serial);
    req.csr = std::move(*csr);
  } else {
    std::optional<std::string> serial = QueryParam(r.query, "device_serial");
    if (!serial) {
      return Problem(400, "bad-request", "missing device_serial",
                     "give ?device_serial= with a CSR body, or a JSON body");
    }
    req.device_serial = std::move(*serial);
    req.csr = r.body;
  }
  if (req.csr.size() > kMaxCsrBytes) {
    return Problem(413, "too-large", "CSR too large", "at most 16 KiB");
  }
  EnrollResult result = ca_->Enroll(req);
  if (!result.ok()) return ErrorResponse(result);
  ApiResponse out;
  out.content_type = "application/pem-certificate-chain";
  out.body = std::move(result.chain_pem);
  out.headers.emplace_back("X-Mirrorca-Serial", result.serial_hex);
  out.headers.emplace_back("X-Mirrorca-Log-Seq", std::to_string(result.log_seq));
  return out;
}

ApiResponse EnrollmentApi::EnrollBulk(const ApiRequest& r, const std::string& batch) {
  std::optional<json> j = ParseJson(r.body);
  if (!j || !j->is_array()) {
    return Problem(400, "bad-json", "malformed JSON", "expected an array of {device_serial, csr}");
  }
  if (j->size() > FactoryCa::kMaxBulk) {
    return Problem(413, "too-many-items", "too many items",
                   "at most " + std::to_string(FactoryCa::kMaxBulk) + " items per request");
  }
  std::vector<EnrollRequest> reqs;
  reqs.reserve(j->size());
  for (size_t i = 0; i < j->size(); ++i) {
    const json& item = (*j)[i];
    std::optional<std::string> serial, csr;
    if (item.is_object()) {
      serial = StringField(item, "device_serial");
      csr = StringField(item, "csr");
    }
    if (!serial || !csr) {
      return Problem(400, "bad-request", "malformed item",
                     "item " + std::to_string(i) + " needs device_serial and csr strings");
    }
    if (csr->size() > kMaxCsrBytes) {
      return Problem(413, "too-large", "CSR too large", "item " + std::to_string(i));
    }
    reqs.push_back(EnrollRequest{batch, std::move(*serial), std::move(*csr), r.ra_id});
  }
  std::vector<EnrollResult> results = ca_->EnrollBulk(reqs);
  ApiResponse out;
  out.content_type = "application/json";
  out.body = BulkAnswerJson(results);
  return out;
}

ApiResponse EnrollmentApi::Keygen(const ApiRequest& r, const std::string& batch) {
  std::optional<json> j = ParseJson(r.body);
  if (!j || !j->is_object()) return Problem(400, "bad-json", "malformed JSON", "body");
  std::optional<std::string> serial = StringField(*j, "device_serial");
  std::optional<std::string> password = StringField(*j, "password");
  if (!serial || !password) {
    return Problem(400, "bad-request", "missing field", "need device_serial and password strings");
  }
  EnrollResult res = ca_->Keygen(KeygenRequest{batch, *serial, *password, r.ra_id});
  if (!res.ok()) return ErrorResponse(res);
  return Json(200, json{{"device_serial", res.device_serial},
                        {"serial", res.serial_hex},
                        {"log_seq", res.log_seq},
                        {"private_key", res.private_key_pem},
                        {"certificate_chain", res.chain_pem}});
}

ApiResponse EnrollmentApi::BatchStatus(const std::string& batch) {
  std::optional<BatchCounts> b = ca_->Batch(batch);
  if (!b) return Problem(404, "unknown-batch", "unknown batch", batch);
  return Json(200, json{{"batch_id", b->terms->batch_id},
                        {"profile", b->terms->profile},
                        {"product", b->terms->product},
                        {"authorized", b->terms->quota},
                        {"issued", b->issued},
                        {"rejected", b->rejected},
                        {"in_flight", b->reserved},
                        {"closed", b->closed},
                        {"not_before_us", b->terms->not_before},
                        {"not_after_us", b->terms->not_after}});
}

}  // namespace mirrorca::engine
