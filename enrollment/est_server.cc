#include "enrollment/est_server.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "engine/enrollment_api.h"
#include "enrollment/crmf_template.h"
#include "enrollment/est_codec.h"

namespace mirrorca::enrollment {
namespace {

constexpr std::string_view kOperations =
    "/.well-known/est/<batch>/{cacerts,csrattrs,simpleenroll,simplereenroll,serverkeygen}";

EstReply Text(int status, std::string text) {
  EstReply r;
  r.http_status = status;
  r.body = std::move(text) + "\n";
  return r;
}

EstReply Base64Answer(std::string content_type, std::string_view der) {
  EstReply r;
  r.content_type = std::move(content_type);
  r.headers = {{"Content-Transfer-Encoding", "base64"}, {"Cache-Control", "no-store"}};
  r.body = EncodeBase64Body(der);
  return r;
}

EstReply Refused(const engine::EnrollResult& result) {
  EstReply r = Text(engine::HttpStatusOf(result.error),
                    std::string(engine::RejectionCode(result.reason)) + ": " + result.detail);
  if (result.error == engine::EnrollError::kUnavailable) r.headers.emplace_back("Retry-After", "60");
  return r;
}

Result<std::string> CertsOnlyOf(const std::vector<ca::X509Ptr>& chain) {
  std::vector<X509*> certs;
  for (const ca::X509Ptr& c : chain) certs.push_back(c.get());
  return CertsOnlyDer(certs);
}

// CertsOnlyOfPem: the certs-only PKCS#7 of the certificate in `pem`.
Result<std::string> CertsOnlyOfPem(const std::string& pem) {
  ASSIGN_OR_RETURN(ca::X509Ptr cert, ca::ParseCertificate(pem));
  return CertsOnlyDer({cert.get()});
}

// RequestSubjectSerial: the serialNumber of a PKCS#10 request's subject
// ("" when the request does not parse or names none: FactoryCa refuses it).
std::string RequestSubjectSerial(const std::string& der) {
  Result<ca::X509ReqPtr> req = ca::ParseRequest(der);
  return req.ok() ? SubjectSerial(X509_REQ_get_subject_name(req->get())) : std::string();
}

bool IsPkcs10(const std::string& content_type) {
  return content_type.rfind("application/pkcs10", 0) == 0;
}

}  // namespace

EstServer::EstServer(engine::FactoryCa* ca, EstServerOptions options) : ca_(ca), options_(options) {}

std::optional<EstReply> EstServer::Handle(const EstHttpRequest& r) {
  std::optional<EstPath> path = ParseEstPath(r.path);
  if (!path) return std::nullopt;
  const std::string& op = path->operation;
  const bool get = op == "cacerts" || op == "csrattrs";
  const bool post = op == "simpleenroll" || op == "simplereenroll" || op == "serverkeygen";
  if (!get && !post) return Text(404, "EST is served at " + std::string(kOperations));
  if (path->label.empty() && op != "cacerts") {
    return Text(404, "name the batch: " + std::string(kOperations));
  }
  if (r.method != (get ? "GET" : "POST")) {
    EstReply e = Text(405, op + " takes " + (get ? "GET" : "POST"));
    e.headers.emplace_back("Allow", get ? "GET" : "POST");
    return e;
  }
  const bool ra = !r.client.ra_id.empty();
  const bool device = !ra && !r.client.device_certificate_der.empty();
  if (!ra && !device) return Text(403, "EST needs a TLS client certificate: an RA's, or a device's to re-enroll");
  if (device && post && op != "simplereenroll") {
    return Text(403, "a device certificate may only re-enroll (simplereenroll); " + op + " is an RA's");
  }
  if (ra && op == "simplereenroll") {
    return Text(403,
                "simplereenroll is authenticated by the device's current certificate (RFC 7030 §3.3.2); "
                "an RA re-issues with simpleenroll under HQ's --reissue authorization");
  }
  if (r.body.size() > options_.max_request_bytes) {
    return Text(413, "an EST request of at most " + std::to_string(options_.max_request_bytes) + " bytes");
  }
  if (post && !IsPkcs10(r.content_type)) {
    return Text(415, op + " takes application/pkcs10 (a base64 PKCS#10 request)");
  }
  if (op == "cacerts") return CaCerts(path->label);
  if (op == "csrattrs") return CsrAttrs(path->label);
  if (op == "simpleenroll") return SimpleEnroll(path->label, r);
  if (op == "simplereenroll") return SimpleReenroll(path->label, r);
  return ServerKeygen(path->label, r);
}

EstReply EstServer::CaCerts(const std::string& batch) {
  const ca::IssuingCa* issuer = &ca_->issuing_ca();
  if (!batch.empty()) {
    std::optional<engine::BatchCounts> b = ca_->Batch(batch);
    if (!b || !b->terms) return Text(404, "batch '" + batch + "' is not authorized by HQ for this factory");
    issuer = ca_->IssuingCaFor(b->terms->ca_id);
    if (issuer == nullptr) return Text(500, "batch '" + batch + "' names an issuing CA this factory does not hold");
  }
  Result<std::string> p7 = CertsOnlyOf(issuer->chain());
  if (!p7.ok()) return Text(500, p7.status().message());
  return Base64Answer("application/pkcs7-mime", *p7);
}

EstReply EstServer::CsrAttrs(const std::string& batch) {
  Result<const ca::Profile*> profile = ca_->BatchProfile(batch);
  if (!profile.ok()) {
    return Text(profile.status().code() == StatusCode::kNotFound ? 404 : 500, profile.status().message());
  }
  Result<std::string> der = CsrAttrsDer(**profile);
  if (!der.ok()) return Text(500, der.status().message());
  return Base64Answer("application/csrattrs", *der);
}

EstReply EstServer::Issued(const engine::EnrollResult& result) {
  if (!result.ok()) return Refused(result);
  Result<std::string> p7 = CertsOnlyOfPem(result.certificate_pem);
  if (!p7.ok()) return Text(500, "the issued certificate does not encode: " + p7.status().message());
  EstReply r = Base64Answer("application/pkcs7-mime; smime-type=certs-only", *p7);
  r.headers.emplace_back("X-Mirrorca-Log-Seq", std::to_string(result.log_seq));
  return r;
}

EstReply EstServer::SimpleEnroll(const std::string& batch, const EstHttpRequest& r) {
  engine::EnrollRequest er;
  er.batch_id = batch;
  er.ra_id = r.client.ra_id;
  Result<std::string> der = DecodeBase64Body(r.body);
  if (!der.ok()) return Refused(ca_->RecordRefusal(er, engine::RejectionReason::BAD_CSR, der.status().message()));
  er.device_serial = RequestSubjectSerial(*der);
  er.csr = std::move(*der);
  return Issued(ca_->Enroll(er));
}

EstReply EstServer::SimpleReenroll(const std::string& batch, const EstHttpRequest& r) {
  engine::EnrollRequest er;
  er.batch_id = batch;
  er.by_device = true;
  const auto* p = reinterpret_cast<const unsigned char*>(r.client.device_certificate_der.data());
  ca::X509Ptr current(d2i_X509(nullptr, &p, static_cast<long>(r.client.device_certificate_der.size())));
  ERR_clear_error();
  // The TLS handshake admitted only certificates of this factory's CAs;
  // checked again here, where the renewal is decided.
  if (ca_->IssuerOf(current.get(), engine::FactoryCa::IssuerCheck::kSignature) == nullptr) {
    return Refused(ca_->RecordRefusal(er, engine::RejectionReason::SUBJECT_NOT_ALLOWED,
                                      "EST simplereenroll: the TLS client certificate is not one of this factory's CA"));
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(current.get());
  er.renews_serial = Bytes(ASN1_STRING_get0_data(serial), ASN1_STRING_get0_data(serial) + ASN1_STRING_length(serial));
  er.device_serial = SubjectSerial(X509_get_subject_name(current.get()));
  Result<std::string> der = DecodeBase64Body(r.body);
  if (!der.ok()) return Refused(ca_->RecordRefusal(er, engine::RejectionReason::BAD_CSR, der.status().message()));
  // RFC 7030 §4.2.2: the request names the same subject as the certificate it renews.
  const std::string asked = RequestSubjectSerial(*der);
  if (!asked.empty() && asked != er.device_serial) {
    return Refused(ca_->RecordRefusal(er, engine::RejectionReason::SUBJECT_NOT_ALLOWED,
                                      "EST simplereenroll: the request names device '" + asked +
                                          "', the certificate to renew '" + er.device_serial + "'"));
  }
  er.csr = std::move(*der);
  return Issued(ca_->Enroll(er));
}

EstReply EstServer::ServerKeygen(const std::string& batch, const EstHttpRequest& r) {
  engine::EnrollRequest er;
  er.batch_id = batch;
  er.ra_id = r.client.ra_id;
  Result<std::string> der = DecodeBase64Body(r.body);
  if (!der.ok()) return Refused(ca_->RecordRefusal(er, engine::RejectionReason::BAD_CSR, der.status().message()));
  // The request names the device (its subject's serialNumber) and is signed
  // by whoever asks; its key is not the one certified (RFC 7030 §4.4.1).
  Result<ca::X509ReqPtr> req = ca::ParseRequest(*der);
  if (!req.ok()) return Refused(ca_->RecordRefusal(er, engine::RejectionReason::BAD_CSR, req.status().message()));
  er.device_serial = SubjectSerial(X509_REQ_get_subject_name(req->get()));
  EVP_PKEY* signer = X509_REQ_get0_pubkey(req->get());
  const bool signed_ok = signer != nullptr && X509_REQ_verify(req->get(), signer) == 1;
  ERR_clear_error();
  if (!signed_ok) {
    return Refused(ca_->RecordRefusal(er, engine::RejectionReason::BAD_CSR,
                                      "the serverkeygen request's signature does not verify"));
  }
  engine::KeygenRequest kr;
  kr.batch_id = batch;
  kr.device_serial = er.device_serial;
  kr.ra_id = r.client.ra_id;
  kr.unencrypted_key = true;
  engine::EnrollResult result = ca_->Keygen(kr);
  if (!result.ok()) return Refused(result);
  Result<std::string> p7 = CertsOnlyOfPem(result.certificate_pem);
  if (!p7.ok()) {
    OPENSSL_cleanse(result.private_key_der.data(), result.private_key_der.size());
    return Text(500, "the issued certificate does not encode: " + p7.status().message());
  }
  EstMultipart m = ServerKeygenBody(result.private_key_der, *p7);
  OPENSSL_cleanse(result.private_key_der.data(), result.private_key_der.size());
  EstReply out;
  out.content_type = std::move(m.content_type);
  out.headers = {{"Cache-Control", "no-store"}, {"X-Mirrorca-Log-Seq", std::to_string(result.log_seq)}};
  out.body = std::move(m.body);
  return out;
}

}  // namespace mirrorca::enrollment
