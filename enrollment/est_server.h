// EstServer: Enrollment over Secure Transport (RFC 7030, with RFC 8951's
// clarifications) for the factory CA, at /.well-known/est/<batch>/…, over
// the same vetting, batch quotas and signed events as the REST API and CMP:
//
//   GET  cacerts         the batch's issuing CA chain (certs-only PKCS#7)
//   GET  csrattrs        what the batch's profile requires (CsrAttrs)
//   POST simpleenroll    a PKCS#10 request → the certificate (an RA)
//   POST simplereenroll  a PKCS#10 request → a new certificate for the
//                        device whose current certificate is the TLS client
//                        certificate (RFC 7030 §3.3.2, §4.2.2): it must be
//                        the device's latest from this factory, and HQ must
//                        have authorized its re-issue (`--reissue`, once)
//   POST serverkeygen    a PKCS#10 request naming the device → a key made
//                        by the CA and its certificate (multipart/mixed;
//                        the key unencrypted, protected by TLS: §4.4.2),
//                        the same path as the REST keygen; the key is never
//                        stored or logged
//
// Who may ask: the TLS client is either a pinned RA (its [[ra]] batches
// apply) or a device holding a certificate of this factory's CA, which may
// only re-enroll (and read cacerts and csrattrs). Every refusal of a request
// for a certificate is FactoryCa's issuanceRejected event; the answer is a
// 4xx/5xx with a text/plain line: the reason code and its detail.
//
// Thread-safety: Handle is safe for concurrent use.
#ifndef MIRRORCA_ENROLLMENT_EST_SERVER_H_
#define MIRRORCA_ENROLLMENT_EST_SERVER_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/factory_ca.h"

namespace mirrorca::enrollment {

// EstClient: who the TLS client is.
struct EstClient {
  std::string ra_id;                   // a pinned RA, or ""
  std::string device_certificate_der;  // otherwise: its TLS certificate (a device's)
};

struct EstHttpRequest {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
  EstClient client;
};

struct EstReply {
  int http_status = 200;
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct EstServerOptions {
  size_t max_request_bytes = 64 << 10;
};

class EstServer {
 public:
  EstServer(engine::FactoryCa* ca, EstServerOptions options = {});

  // Handle answers a request under /.well-known/est; nullopt for any other path.
  std::optional<EstReply> Handle(const EstHttpRequest& request);

 private:
  EstReply CaCerts(const std::string& batch);
  EstReply CsrAttrs(const std::string& batch);
  EstReply SimpleEnroll(const std::string& batch, const EstHttpRequest& r);
  EstReply SimpleReenroll(const std::string& batch, const EstHttpRequest& r);
  EstReply ServerKeygen(const std::string& batch, const EstHttpRequest& r);
  // Issued: the certs-only answer for an enrollment's result, or its refusal.
  EstReply Issued(const engine::EnrollResult& result);

  engine::FactoryCa* const ca_;
  const EstServerOptions options_;
};

}  // namespace mirrorca::enrollment

#endif  // MIRRORCA_ENROLLMENT_EST_SERVER_H_
