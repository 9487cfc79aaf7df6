// OCSP memory under hostile traffic (bench/run_ocsp_memory_bench.sh): an
// OcspResponder with a byte budget for its pre-signed answers is sent N
// distinct requests — ordinary ones for serials it never issued, and every
// fourth padded with a 60 KB extension — then a realistic mix (most
// requests for a few hot serials). Prints the process RSS before and after,
// the cache's own bytes, and the hit rate of the mix, as one JSON line.
//
//   ocsp_memory_bench [--requests N] [--cache-mb M]
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "ca/certificate.h"
#include "ca/serial.h"
#include "ca/test_pki.h"
#include "engine/cert_status.h"
#include "log/store.h"
#include "log/test_util.h"
#include "validation/ocsp_responder.h"

namespace mirrorca {
namespace {

long RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string RequestDer(X509* issuer, uint64_t serial, size_t pad) {
  ca::Asn1IntegerPtr sn(ASN1_INTEGER_new());
  ASN1_INTEGER_set_uint64(sn.get(), serial);
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
                                     sn.get());
  ca::OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free> req(OCSP_REQUEST_new());
  OCSP_request_add0_id(req.get(), id);
  if (pad > 0) {
    const std::string filler(pad, 'p');
    ca::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(filler.data()), static_cast<int>(pad));
    ca::Asn1ObjectPtr oid(OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get());
    OCSP_REQUEST_add_ext(req.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

int Main(int argc, char** argv) {
  uint64_t requests = 1000000;
  size_t cache_mb = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--requests") requests = std::stoull(argv[i + 1]);
    if (k == "--cache-mb") cache_mb = std::stoul(argv[i + 1]);
  }
  log::testing::TempDir dir;
  auto store = log::Store::Open(dir.path() + "/store", log::StoreOptions{.create_if_missing = true});
  auto status = engine::CertStatus::Open(store->get());
  ca::IssuingCa ca = ca::testing::MakeTestCa();
  auto key = ca::GenerateKey(ca::KeyType::kP256);
  auto profile = ca::BuiltinProfile("ocsp-responder");
  auto responder = ca.Issue(*profile, {{"organization", "X"}, {"device_serial", "ocsp"}}, key->get(),
                            *ca::RandomSerial(), ca::testing::NowSeconds());
  validation::OcspOptions o;
  o.max_cache_bytes = cache_mb << 20;
  std::vector<validation::OcspIssuer> issuers;
  issuers.push_back({"f1", ca::UpRef(ca.certificate()), std::move(*responder), std::move(*key), false});
  auto r = validation::OcspResponder::Create(std::move(issuers), status->get(), o);
  if (!r.ok()) {
    std::cerr << r.status() << "\n";
    return 1;
  }
  validation::OcspResponder& ocsp = **r;
  X509* issuer = ca.certificate();
  const long rss_before = RssKib();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < requests; ++i) {
    const std::string req = RequestDer(issuer, 1000000000 + i, i % 4 == 3 ? 60000 : 0);
    if (!ocsp.Respond(AsBytes(req)).successful) {
      std::cerr << "request " << i << " failed\n";
      return 1;
    }
  }
  const double flood_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_after_flood = RssKib();
  const size_t cache_after_flood = ocsp.cache_bytes();
  // The mix: 90 % of requests for 1,000 hot serials, 10 % one-off.
  std::mt19937_64 rng(42);
  const uint64_t hits_before = ocsp.cache_hits();
  const uint64_t mix = std::min<uint64_t>(requests, 200000);
  uint64_t one_off = 5000000000;
  for (uint64_t i = 0; i < mix; ++i) {
    const uint64_t serial = rng() % 10 < 9 ? 3000000000 + rng() % 1000 : ++one_off;
    (void)ocsp.Respond(AsBytes(RequestDer(issuer, serial, 0)));
  }
  const double hit_rate = static_cast<double>(ocsp.cache_hits() - hits_before) / static_cast<double>(mix);
  std::cout << nlohmann::json{{"requests", requests},
                              {"padded", requests / 4},
                              {"cache_budget_mb", cache_mb},
                              {"flood_seconds", flood_s},
                              {"rss_before_mib", rss_before / 1024},
                              {"rss_after_flood_mib", rss_after_flood / 1024},
                              {"rss_after_mix_mib", RssKib() / 1024},
                              {"cache_mib_after_flood", static_cast<double>(cache_after_flood) / (1 << 20)},
                              {"cache_entries", ocsp.cache_entries()},
                              {"mix_requests", mix},
                              {"mix_hit_rate", hit_rate}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace
}  // namespace mirrorca

int main(int argc, char** argv) { return mirrorca::Main(argc, argv); }
