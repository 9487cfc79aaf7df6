// Fuzz target: EST requests as the factory's enrollment port receives them
// (enrollment/est_server.h), on a real FactoryCa: the first byte chooses
// the operation and the client (the RA, a device whose certificate bytes
// are part of the input, or a device with a certificate of this factory);
// the rest is the body — base64 bodies, PKCS#10 requests, certificates.
// Every request gets an answer: 200 with a body that decodes (base64 of a
// PKCS#7, CsrAttrs or a multipart), or a 4xx/5xx with a reason; nothing
// crashes. The paths and the base64 decoder are fuzzed on the same bytes.
// Seeds: fuzz/corpus/fuzz_est_request (base64 requests `openssl req` wrote).
#include <openssl/pkcs7.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "ca/certificate.h"
#include "ca/keys.h"
#include "engine/test_factory.h"
#include "enrollment/est_codec.h"
#include "enrollment/est_server.h"

namespace {

constexpr const char* kOperations[] = {"cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen"};

struct Server {
  mirrorca::engine::testing::TestFactory f;
  std::unique_ptr<mirrorca::enrollment::EstServer> est;
  std::string device_der;  // a certificate of this factory, for re-enrollment

  Server() {
    using namespace mirrorca;
    engine::BatchTerms terms = f.Terms("B1", 1u << 30);
    terms.allow_reissue = {"DEV-1"};
    f.Authorize(terms);
    est = std::make_unique<enrollment::EstServer>(f.ca.get());
    ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
    engine::EnrollRequest r;
    r.batch_id = "B1";
    r.ra_id = "ra-1";
    r.device_serial = "DEV-1";
    r.csr = ca::testing::MakeCsr(key.get(), "DEV-1");
    engine::EnrollResult issued = f.ca->Enroll(r);
    if (issued.ok()) device_der = *ca::CertificateDer(ca::ParseCertificate(issued.certificate_pem)->get());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca::enrollment;
  static Server s;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)ParseEstPath(bytes);
  (void)DecodeBase64Body(bytes);
  if (size < 2) return 0;
  const std::string op = kOperations[data[0] % 5];
  const int client = (data[0] / 5) % 3;
  EstHttpRequest r;
  r.method = op == "cacerts" || op == "csrattrs" ? "GET" : "POST";
  r.path = std::string(kEstPrefix) + "/B1/" + op;
  r.content_type = "application/pkcs10";
  std::string_view rest = bytes.substr(2);
  if (client == 0) {
    r.client.ra_id = "ra-1";
  } else if (client == 1) {
    const size_t cert_len = std::min<size_t>(rest.size(), size_t{data[1]} * 4);
    r.client.device_certificate_der = std::string(rest.substr(0, cert_len));
    rest.remove_prefix(cert_len);
    if (r.client.device_certificate_der.empty()) r.client.device_certificate_der = "x";
  } else {
    r.client.device_certificate_der = s.device_der;
  }
  r.body = std::string(rest);
  std::optional<EstReply> reply = s.est->Handle(r);
  if (!reply) std::abort();  // every path here is EST's
  if (reply->http_status == 200) {
    if (op == "serverkeygen") {
      if (reply->content_type.rfind("multipart/mixed", 0) != 0) std::abort();
    } else {
      mirrorca::Result<std::string> der = DecodeBase64Body(reply->body);
      if (!der.ok()) std::abort();  // a 200 answer is base64 DER
      if (op != "csrattrs") {
        const auto* p = reinterpret_cast<const unsigned char*>(der->data());
        PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der->size()));
        if (p7 == nullptr) std::abort();  // certs-only PKCS#7
        PKCS7_free(p7);
      }
    }
  } else if (reply->http_status < 400 || reply->http_status > 599 || reply->body.empty()) {
    std::abort();
  }
  ERR_clear_error();
  return 0;
}
