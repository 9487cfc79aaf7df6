#include "validation/ocsp_http.h"

#include <algorithm>
#include <ctime>

#include "base/encoding.h"
#include "crypto/sha256.h"

namespace mirrorca::validation {
namespace {

net::HttpResponse Text(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

net::HttpResponse Answer(OcspResponder& responder, ByteSpan der, int64_t now) {
  OcspAnswer a = responder.Respond(der);
  net::HttpResponse r;
  r.content_type = "application/ocsp-response";
  r.body = std::move(a.der);
  if (a.successful && !a.has_nonce) {
    const int64_t max_age = std::clamp<int64_t>(
        a.next_update - now, 0, responder.options().http_max_age_seconds);
    if (a.etag.empty()) {  // several CertIDs: not kept, but as cacheable over HTTP
      crypto::Hash h = crypto::Sha256(AsBytes(r.body));
      a.etag = HexEncode(ByteSpan(h.data(), 16));
    }
    r.headers = {{"Cache-Control", "max-age=" + std::to_string(max_age) +
                                       ", public, no-transform, must-revalidate"},
                 {"ETag", "\"" + a.etag + "\""},
                 {"Last-Modified", HttpDate(a.this_update)},
                 {"Expires", HttpDate(a.next_update)}};
  } else {
    r.headers = {{"Cache-Control", "no-store"}};
  }
  return r;
}

}  // namespace

std::string HttpDate(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<net::HttpResponse> HandleOcspHttp(OcspResponder& responder,
                                                const net::HttpRequest& q, int64_t now) {
  if (q.path == "/ocsp" || q.path == "/ocsp/") {
    if (q.method != "POST") return Text(405, "POST an OCSP request, or GET /ocsp/<base64>\n");
    return Answer(responder, AsBytes(q.body), now);
  }
  if (q.path.rfind("/ocsp/", 0) != 0) return std::nullopt;
  if (q.method != "GET") return Text(405, "GET only\n");
  // RFC 5019: base64, then URL-encoded; the path is taken as sent (a
  // base64 '/' may appear as is, and "//" is never merged).
  Result<std::string> b64 = PercentDecode(q.path.substr(6));
  Result<Bytes> der = b64.ok() ? Base64Decode(*b64) : Result<Bytes>(b64.status());
  if (!der.ok()) {
    net::HttpResponse r;
    r.content_type = "application/ocsp-response";
    r.body = MalformedResponse();
    r.headers = {{"Cache-Control", "no-store"}};
    return r;
  }
  return Answer(responder, *der, now);
}

}  // namespace mirrorca::validation
