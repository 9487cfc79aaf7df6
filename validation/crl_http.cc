#include "validation/crl_http.h"

#include <algorithm>

#include "validation/ocsp_http.h"

namespace mirrorca::validation {

std::optional<CrlRoute> ParseCrlPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/crl/", kDelta = "-delta.crl", kFull = ".crl";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  std::string_view name = path.substr(kPrefix.size());
  if (name.size() > kDelta.size() && name.ends_with(kDelta)) {
    return CrlRoute{std::string(name.substr(0, name.size() - kDelta.size())), true};
  }
  if (name.ends_with(kFull)) return CrlRoute{std::string(name.substr(0, name.size() - kFull.size())), false};
  return std::nullopt;
}

net::HttpResponse CrlResponse(std::string der, int64_t this_update, int64_t next_update, int64_t now) {
  net::HttpResponse r;
  r.content_type = "application/pkix-crl";
  r.body = std::move(der);
  r.headers = {{"Cache-Control",
                "max-age=" + std::to_string(std::max<int64_t>(0, next_update - now)) + ", public, no-transform"},
               {"Last-Modified", HttpDate(this_update)},
               {"Expires", HttpDate(next_update)}};
  return r;
}

}  // namespace mirrorca::validation
