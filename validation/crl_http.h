// CRL over HTTP: the routes GET /crl/<name>.crl and /crl/<name>-delta.crl
// and the cacheable answer for a published CRL (Cache-Control until
// nextUpdate, Last-Modified, Expires). Shared by the VA inside `hq serve`
// and by the public `mirrorca ocsp serve` (validation/published_crl_files.h).
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_VALIDATION_CRL_HTTP_H_
#define MIRRORCA_VALIDATION_CRL_HTTP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_server.h"

namespace mirrorca::validation {

struct CrlRoute {
  std::string name;  // the CA's URL name
  bool delta = false;
};

// ParseCrlPath reads a path under /crl/; nullopt when it names no CRL.
std::optional<CrlRoute> ParseCrlPath(std::string_view path);

// CrlResponse is the answer carrying `der`, cacheable until `next_update`
// (seconds, like `this_update` and `now`).
net::HttpResponse CrlResponse(std::string der, int64_t this_update, int64_t next_update, int64_t now);

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_CRL_HTTP_H_
