// Fuzz target: OCSP requests (validation/ocsp_responder.h, ocsp_http.h) as the public
// port receives them — anonymous input. Every answer is a DER OCSPResponse
// (malformedRequest, unauthorized, or a signed one); never a crash, and the
// pre-signed cache stays within its budget.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "ca/serial.h"
#include "ca/test_pki.h"
#include "engine/cert_status.h"
#include "log/store.h"
#include "log/test_util.h"
#include "validation/ocsp_http.h"
#include "validation/ocsp_responder.h"

namespace {

struct Responder {
  mirrorca::log::testing::TempDir dir;
  std::unique_ptr<mirrorca::log::Store> store;
  std::unique_ptr<mirrorca::engine::CertStatus> status;
  std::unique_ptr<mirrorca::validation::OcspResponder> ocsp;

  Responder() {
    using namespace mirrorca;
    store = std::move(*log::Store::Open(dir.path() + "/store", log::StoreOptions{.create_if_missing = true}));
    status = std::move(*engine::CertStatus::Open(store.get()));
    static ca::IssuingCa issuing = ca::testing::MakeTestCa();
    auto key = ca::GenerateKey(ca::KeyType::kP256);
    auto profile = ca::BuiltinProfile("ocsp-responder");
    auto cert = issuing.Issue(*profile, {{"organization", "X"}, {"device_serial", "ocsp"}}, key->get(),
                              *ca::RandomSerial(), ca::testing::NowSeconds());
    std::vector<validation::OcspIssuer> issuers;
    issuers.push_back({"f1", ca::UpRef(issuing.certificate()), std::move(*cert), std::move(*key), false});
    validation::OcspOptions o;
    o.max_cache_bytes = 1 << 20;
    ocsp = std::move(*validation::OcspResponder::Create(std::move(issuers), status.get(), o));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Responder r;
  mirrorca::validation::OcspAnswer a = r.ocsp->Respond(mirrorca::ByteSpan(data, size));
  if (a.der.empty() || r.ocsp->cache_bytes() > (1u << 20)) std::abort();
  // The RFC 5019 GET form: the same bytes as the path (percent-decoding,
  // base64 of any padding and alphabet), and as a POST through HTTP.
  mirrorca::net::HttpRequest get;
  get.method = "GET";
  get.path = "/ocsp/" + std::string(reinterpret_cast<const char*>(data), size);
  std::optional<mirrorca::net::HttpResponse> g = mirrorca::validation::HandleOcspHttp(*r.ocsp, get, 1'700'000'000);
  if (!g || g->status == 0) std::abort();
  mirrorca::net::HttpRequest post;
  post.method = "POST";
  post.path = "/ocsp";
  post.headers["content-type"] = "application/ocsp-request";
  post.body.assign(reinterpret_cast<const char*>(data), size);
  std::optional<mirrorca::net::HttpResponse> p = mirrorca::validation::HandleOcspHttp(*r.ocsp, post, 1'700'000'000);
  if (!p || p->status == 0) std::abort();
  return 0;
}
