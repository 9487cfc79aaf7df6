// OcspHttp: RFC 6960 Appendix A / RFC 5019 OCSP over HTTP, on top of an
// OcspResponder — POST /ocsp (application/ocsp-request) and
// GET /ocsp/<url-encoded base64> (the path as sent: `//` is never merged),
// with Cache-Control, ETag, Last-Modified and Expires on cacheable answers
// and `no-store` on answers signed for one request (nonce). Shared by the
// VA inside `hq serve` and by `mirrorca ocsp serve`.
//
// Thread-safety: as the responder (concurrent calls are fine).
#ifndef MIRRORCA_VALIDATION_OCSP_HTTP_H_
#define MIRRORCA_VALIDATION_OCSP_HTTP_H_

#include <optional>
#include <string>

#include "net/http_server.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::validation {

// HttpDate formats seconds since the epoch as an IMF-fixdate (RFC 9110).
std::string HttpDate(int64_t seconds);

// HandleOcspHttp answers `request` if its path is /ocsp or under /ocsp/;
// nullopt for any other path. `now` is in seconds.
std::optional<net::HttpResponse> HandleOcspHttp(OcspResponder& responder,
                                                const net::HttpRequest& request, int64_t now);

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_OCSP_HTTP_H_
