// Fuzz target: CMP messages as the factory's enrollment port receives them
// (enrollment/cmp_server.h), and CRMF certificate templates
// (enrollment/crmf_template.h, read through an ASN.1 item of our own).
// Every message gets an answer (a CMP message, or a plain 4xx/5xx); a 200
// answer decodes as a PKIMessage; nothing crashes. The seeds are requests
// `openssl cmp -reqout` wrote (ir, cr, p10cr, genm, rr; signature and MAC).
#include <openssl/cmp.h>
#include <openssl/crmf.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "ca/keys.h"
#include "engine/test_factory.h"
#include "enrollment/cmp_server.h"
#include "enrollment/crmf_template.h"

namespace {

struct Server {
  mirrorca::engine::testing::TestFactory f;
  std::unique_ptr<mirrorca::enrollment::CmpServer> cmp;

  Server() {
    using namespace mirrorca;
    f.Authorize(f.Terms("B1", 1u << 30));
    enrollment::CmpServerOptions o;
    ca::IssuingCa tls = ca::testing::MakeTestCa();
    o.protection_cert = ca::UpRef(tls.certificate());
    o.protection_key = ca::UpRef(tls.key());
    o.ra_trust.push_back(ca::UpRef(tls.chain().back().get()));
    o.batch_secret = [](const std::string&) -> std::optional<std::string> { return std::string("seed"); };
    o.max_transactions = 64;
    cmp = std::make_unique<enrollment::CmpServer>(f.ca.get(), std::move(o));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server s;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mirrorca::enrollment::CmpReply r = s.cmp->Handle("B1", bytes, "ra-1");
  if (r.http_status == 200) {
    BIO* bio = BIO_new_mem_buf(r.body.data(), static_cast<int>(r.body.size()));
    OSSL_CMP_MSG* m = d2i_OSSL_CMP_MSG_bio(bio, nullptr);
    BIO_free(bio);
    if (m == nullptr) std::abort();  // a 200 answer is a PKIMessage
    OSSL_CMP_MSG_free(m);
  } else if (r.http_status < 400 || r.http_status > 599 || r.body.empty()) {
    std::abort();
  }
  if (s.cmp->open_transactions() > 64) std::abort();
  // The same bytes as a CertTemplate.
  const unsigned char* p = data;
  OSSL_CRMF_CERTTEMPLATE* t = d2i_OSSL_CRMF_CERTTEMPLATE(nullptr, &p, static_cast<long>(size));
  if (t != nullptr) {
    (void)mirrorca::enrollment::ReadCertTemplate(t);
    OSSL_CRMF_CERTTEMPLATE_free(t);
  }
  ERR_clear_error();
  return 0;
}
