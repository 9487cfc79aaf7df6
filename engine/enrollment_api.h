// EnrollmentApi: the factory's REST API (docs/enrollment_api.md) mapped onto
// FactoryCa, independent of any transport: net/ parses HTTP and calls
// Handle with the authenticated RA identity; Handle returns status, headers
// and body. Errors are RFC 9457 application/problem+json with a stable
// "code".
//
//   POST /v1/batches/{id}/enroll        CSR (PEM/DER; ?device_serial=) or
//                                       JSON {device_serial, csr}
//   POST /v1/batches/{id}/enroll-bulk   JSON [{device_serial, csr}] (<= 1000)
//   POST /v1/batches/{id}/keygen        JSON {device_serial, password}
//   GET  /v1/ca                         the CA chain (PEM)
//   GET  /v1/batches/{id}               authorized / issued / rejected counts
//   GET  /metrics                       Prometheus text
//
// Thread-safety: Handle is safe for concurrent use.
#ifndef MIRRORCA_ENGINE_ENROLLMENT_API_H_
#define MIRRORCA_ENGINE_ENROLLMENT_API_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/factory_ca.h"

namespace mirrorca::engine {

struct ApiRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw query string, without '?'
  std::string content_type;
  std::string body;
  std::string ra_id;  // authenticated client identity ("" if none)
};

struct ApiResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class EnrollmentApi {
 public:
  explicit EnrollmentApi(FactoryCa* ca) : ca_(ca) {}

  ApiResponse Handle(const ApiRequest& request);

  // Problem builds an RFC 9457 response.
  static ApiResponse Problem(int status, std::string_view code, std::string_view title,
                             std::string_view detail);

 private:
  ApiResponse Enroll(const ApiRequest& r, const std::string& batch);
  ApiResponse EnrollBulk(const ApiRequest& r, const std::string& batch);
  ApiResponse Keygen(const ApiRequest& r, const std::string& batch);
  ApiResponse BatchStatus(const std::string& batch);
  FactoryCa* const ca_;
};

// ErrorResponse renders a failed EnrollResult as problem+json.
ApiResponse ErrorResponse(const EnrollResult& r);
// HttpStatusOf: the HTTP status of an enrollment outcome (429 for a quota,
// 503 when the log cannot record), the same for every HTTP transport.
int HttpStatusOf(EnrollError e);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_ENROLLMENT_API_H_
