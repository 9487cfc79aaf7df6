// Google Benchmark: the CA's cost per certificate, step by step, beside the
// cryptography each step cannot avoid (bench/run_enroll_bench.sh measures it
// end to end). One thread; a device CSR is P-256 with ECDSA-SHA256.
//
//   BM_FloorP256Verify      EVP_DigestVerify of a CSR-sized message (key already imported)
//   BM_FloorP256Sign        EVP_DigestSign of a certificate-sized message with the CA key
//   BM_FloorEd25519Sign     one event signature (the log key)
//   BM_ReadP256Request      the vetting path: decode + import + verify
//   BM_ReadP256RequestVerifyOnly  the same for the SPKI alone: the thread's scratch key and verifier
//   BM_VetRequest           VetRequest: the above plus the profile's key and subject rules
//   BM_IssueGeneric         BuildCertificate: every field and extension built per certificate
//   BM_IssueFromTemplate    CertificateTemplate: the batch's constant parts built once
#include <benchmark/benchmark.h>

#include <openssl/evp.h>

#include "ca/cert_template.h"
#include "ca/issuing_ca.h"
#include "ca/libctx_pool.h"
#include "ca/p256_request.h"
#include "ca/request_vetting.h"
#include "ca/serial.h"
#include "ca/test_pki.h"
#include "crypto/ed25519_signer.h"

namespace mirrorca {
namespace {

using MdCtxPtr = ca::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

struct Fixture {
  ca::IssuingCa issuer = ca::testing::MakeTestCa();
  ca::Profile profile = *ca::BuiltinProfile("idevid");
  ca::EvpPkeyPtr device_key = *ca::GenerateKey(ca::KeyType::kP256);
  std::string csr;
  ca::VetOutcome vetted;
  Bytes serial = *ca::RandomSerial();
  ca::TemplateValues values{{"device_serial", "D000123"}, {"product", "P1"}, {"batch", "B1"},
                            {"organization", "Example OEM"}, {"factory", "F1"}};

  Fixture() {
    ca::X509ReqPtr req(X509_REQ_new());
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "serialNumber", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("D000123"), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), device_key.get());
    X509_REQ_sign(req.get(), device_key.get(), EVP_sha256());
    csr = *ca::RequestPem(req.get());
    vetted = ca::VetRequest(csr, profile);
    if (!vetted.ok()) std::abort();
  }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

const std::string kMessage(420, 'x');  // about a device certificate's TBS

void BM_FloorP256Verify(benchmark::State& state) {
  unsigned char sig[80];
  size_t sig_len = sizeof(sig);
  MdCtxPtr s(EVP_MD_CTX_new());
  EVP_DigestSignInit(s.get(), nullptr, EVP_sha256(), nullptr, F().device_key.get());
  EVP_DigestSign(s.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size());
  for (auto _ : state) {
    MdCtxPtr md(EVP_MD_CTX_new());
    EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, F().device_key.get());
    benchmark::DoNotOptimize(EVP_DigestVerify(md.get(), sig, sig_len,
                                              reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size()));
  }
}
BENCHMARK(BM_FloorP256Verify);

void BM_FloorP256Sign(benchmark::State& state) {
  unsigned char sig[80];
  for (auto _ : state) {
    size_t sig_len = sizeof(sig);
    MdCtxPtr md(EVP_MD_CTX_new());
    EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, F().issuer.key());
    benchmark::DoNotOptimize(EVP_DigestSign(md.get(), sig, &sig_len,
                                            reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size()));
  }
}
BENCHMARK(BM_FloorP256Sign);

void BM_P256SignCopiedCtx(benchmark::State& state) {
  unsigned char sig[80];
  MdCtxPtr proto(EVP_MD_CTX_new());
  EVP_DigestSignInit(proto.get(), nullptr, EVP_sha256(), nullptr, F().issuer.key());
  for (auto _ : state) {
    size_t sig_len = sizeof(sig);
    MdCtxPtr md(EVP_MD_CTX_new());
    EVP_MD_CTX_copy_ex(md.get(), proto.get());
    benchmark::DoNotOptimize(EVP_DigestSign(md.get(), sig, &sig_len,
                                            reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size()));
  }
}
BENCHMARK(BM_P256SignCopiedCtx);

void BM_FloorEd25519Sign(benchmark::State& state) {
  auto signer = crypto::Ed25519Signer::Generate();
  const Bytes message(300, 7);
  for (auto _ : state) benchmark::DoNotOptimize(signer->Sign(message));
}
BENCHMARK(BM_FloorEd25519Sign);

void BM_ReadP256Request(benchmark::State& state) {
  ca::LibCtxLease libctx;
  for (auto _ : state) {
    ca::P256Request r = ca::ReadP256Request(F().csr, libctx.get());
    if (r.verdict != ca::P256Request::Verdict::kValid) state.SkipWithError("not valid");
  }
}
BENCHMARK(BM_ReadP256Request);

void BM_ReadP256RequestVerifyOnly(benchmark::State& state) {
  ca::LibCtxLease libctx;
  for (auto _ : state) {
    ca::P256Request r = ca::ReadP256Request(F().csr, libctx.get(), ca::P256Key::kVerifyOnly);
    if (r.verdict != ca::P256Request::Verdict::kValid) state.SkipWithError("not valid");
  }
}
BENCHMARK(BM_ReadP256RequestVerifyOnly);

void BM_VetRequest(benchmark::State& state) {
  for (auto _ : state) {
    ca::VetOutcome v = ca::VetRequest(F().csr, F().profile);
    if (!v.ok()) state.SkipWithError("not valid");
  }
}
BENCHMARK(BM_VetRequest);

void BM_IssueGeneric(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto cert = f.issuer.Issue(f.profile, f.values, f.vetted.public_key.get(), f.serial,
                               ca::testing::NowSeconds(), f.vetted.spki.get());
    if (!cert.ok()) state.SkipWithError("issue failed");
  }
}
BENCHMARK(BM_IssueGeneric);

void BM_IssueFromTemplate(benchmark::State& state) {
  Fixture& f = F();
  auto t = ca::CertificateTemplate::Create(f.profile, f.issuer);
  if (!t.ok()) return state.SkipWithError("template failed");
  for (auto _ : state) {
    auto cert = (*t)->Issue(f.values, f.vetted.public_key.get(), f.vetted.spki.get(), f.serial,
                            ca::testing::NowSeconds());
    if (!cert.ok()) state.SkipWithError("issue failed");
  }
}
BENCHMARK(BM_IssueFromTemplate);

}  // namespace
}  // namespace mirrorca

BENCHMARK_MAIN();
