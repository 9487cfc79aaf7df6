// ReadP256Request against the generic path (ParseRequest + X509_REQ_verify)
// on valid and broken requests: whatever the fast path accepts, refuses or
// leaves to the generic path, the outcome is the generic path's.
#include "ca/p256_request.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "ca/certificate.h"
#include "ca/keys.h"
#include "ca/test_pki.h"

namespace mirrorca::ca {
namespace {

enum class Outcome { kBadCsr, kProofOfPossession, kAccepted };

std::string Name(Outcome o) {
  return o == Outcome::kAccepted ? "accepted" : o == Outcome::kBadCsr ? "bad-csr" : "proof-of-possession";
}

Outcome Generic(const std::string& csr) {
  Result<X509ReqPtr> req = ParseRequest(csr);
  if (!req.ok()) return Outcome::kBadCsr;
  EVP_PKEY* key = X509_REQ_get0_pubkey(req->get());
  if (key == nullptr) return Outcome::kBadCsr;
  const bool ok = X509_REQ_verify(req->get(), key) == 1;
  ERR_clear_error();
  return ok ? Outcome::kAccepted : Outcome::kProofOfPossession;
}

// Combined: the fast path's verdict, or the generic path's when it steps
// aside. The verdict is the same whether the key is kept or only verified
// (with the thread's scratch key).
Outcome Combined(const std::string& csr, P256Request::Verdict* verdict = nullptr) {
  P256Request fast = ReadP256Request(csr, nullptr);
  P256Request verify_only = ReadP256Request(csr, nullptr, P256Key::kVerifyOnly);
  EXPECT_EQ(fast.verdict, verify_only.verdict);
  EXPECT_FALSE(verify_only.key);
  EXPECT_EQ(fast.spki_der, verify_only.spki_der);
  if (verdict != nullptr) *verdict = fast.verdict;
  switch (fast.verdict) {
    case P256Request::Verdict::kOtherShape: return Generic(csr);
    case P256Request::Verdict::kBadKey: return Outcome::kBadCsr;
    case P256Request::Verdict::kBadSignature: return Outcome::kProofOfPossession;
    case P256Request::Verdict::kValid: return Outcome::kAccepted;
  }
  return Outcome::kBadCsr;
}

// Request: a DER CSR carrying `key`, signed by `signer` (by default the key itself).
std::string Request(EVP_PKEY* key, const EVP_MD* md = EVP_sha256(), EVP_PKEY* signer = nullptr) {
  X509ReqPtr req(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "serialNumber", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("SN-1"), 4, -1, 0);
  EXPECT_EQ(X509_REQ_set_pubkey(req.get(), key), 1);
  EXPECT_GT(X509_REQ_sign(req.get(), signer != nullptr ? signer : key, md), 0);
  return *RequestDer(req.get());
}

// OffCurve: `der` with its public key's last byte changed, so that the
// point is no longer on the curve.
std::string OffCurve(const std::string& der) {
  X509ReqPtr req = *ParseRequest(der);
  unsigned char* spki = nullptr;
  const int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req.get()), &spki);
  const size_t at = der.find(std::string(reinterpret_cast<const char*>(spki), static_cast<size_t>(n)));
  OPENSSL_free(spki);
  EXPECT_NE(at, std::string::npos);
  std::string off_curve = der;
  if (at != std::string::npos) off_curve[at + static_cast<size_t>(n) - 1] ^= 0x01;
  return off_curve;
}

TEST(P256RequestTest, AValidRequestReadsAsTheGenericPathReadsIt) {
  EvpPkeyPtr key = *GenerateKey(KeyType::kP256);
  const std::string der = Request(key.get());
  P256Request fast = ReadP256Request(der, nullptr);
  ASSERT_EQ(fast.verdict, P256Request::Verdict::kValid);
  X509ReqPtr req = *ParseRequest(der);
  EXPECT_EQ(EVP_PKEY_eq(fast.key.get(), X509_REQ_get0_pubkey(req.get())), 1);
  unsigned char* spki = nullptr;
  const int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req.get()), &spki);
  EXPECT_EQ(fast.spki_der, std::string(reinterpret_cast<const char*>(spki), static_cast<size_t>(n)));
  OPENSSL_free(spki);
  unsigned char* rebuilt = nullptr;
  const int m = i2d_X509_PUBKEY(fast.spki.get(), &rebuilt);
  EXPECT_EQ(fast.spki_der, std::string(reinterpret_cast<const char*>(rebuilt), static_cast<size_t>(m)));
  OPENSSL_free(rebuilt);
  // The same as PEM.
  EXPECT_EQ(ReadP256Request(*RequestPem(req.get()), nullptr).verdict, P256Request::Verdict::kValid);
}

TEST(P256RequestTest, OtherShapesAreLeftToTheGenericPath) {
  EvpPkeyPtr p384 = *GenerateKey(KeyType::kP384);
  EvpPkeyPtr rsa = *GenerateKey(KeyType::kRsa2048);
  EvpPkeyPtr p256 = *GenerateKey(KeyType::kP256);
  EvpPkeyPtr compressed = *GenerateKey(KeyType::kP256);
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(compressed.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           "compressed"), 1);
  for (const auto& [what, csr] : std::vector<std::pair<std::string, std::string>>{
           {"P-384", Request(p384.get())},
           {"RSA", Request(rsa.get())},
           {"SHA-384", Request(p256.get(), EVP_sha384())},
           {"compressed point", Request(compressed.get())},
           {"garbage", "not a request"},
           {"empty", ""}}) {
    P256Request::Verdict v;
    EXPECT_EQ(Name(Combined(csr, &v)), Name(Generic(csr))) << what;
    EXPECT_EQ(v, P256Request::Verdict::kOtherShape) << what;
  }
}

TEST(P256RequestTest, ABadSignatureOrAPointOffTheCurveIsRefusedAsTheGenericPathRefusesIt) {
  EvpPkeyPtr key = *GenerateKey(KeyType::kP256);
  const std::string der = Request(key.get());
  // The signature's last byte.
  std::string bad_sig = der;
  bad_sig.back() ^= 0x01;
  EXPECT_EQ(Name(Combined(bad_sig)), Name(Generic(bad_sig)));
  EXPECT_NE(Combined(bad_sig), Outcome::kAccepted);
  // The point's last byte: no longer on the curve.
  const std::string off_curve = OffCurve(der);
  ASSERT_NE(off_curve, der);
  P256Request::Verdict v;
  EXPECT_EQ(Name(Combined(off_curve, &v)), Name(Generic(off_curve)));
  EXPECT_EQ(v, P256Request::Verdict::kBadKey);
  // Every single-bit change of a valid request: the same outcome both ways.
  for (size_t i = 0; i < der.size(); ++i) {
    for (int bit : {0, 7}) {
      std::string m = der;
      m[i] = static_cast<char>(m[i] ^ (1 << bit));
      ASSERT_EQ(Name(Combined(m)), Name(Generic(m))) << "byte " << i << " bit " << bit;
    }
  }
}

// The scratch key carries nothing from one request to the next: requests of
// two keys, interleaved with refused ones, keep their own verdicts.
TEST(P256RequestTest, VerifyOnlyRequestsDoNotSeeTheLastRequestsKey) {
  EvpPkeyPtr a = *GenerateKey(KeyType::kP256);
  EvpPkeyPtr b = *GenerateKey(KeyType::kP256);
  const std::string from_a = Request(a.get());
  const std::string from_b = Request(b.get());
  // b's request with its signature's last byte changed; a's with its point off the curve.
  std::string bad = from_b;
  bad.back() ^= 0x01;
  const std::string off_curve = OffCurve(from_a);
  ASSERT_NE(off_curve, from_a);
  // The attack a reused key invites: b's key, signed by a — right after a
  // valid request of a's, whose point the scratch key held.
  const std::string b_signed_by_a = Request(b.get(), EVP_sha256(), a.get());
  EXPECT_EQ(Generic(b_signed_by_a), Outcome::kProofOfPossession);
  using V = P256Request::Verdict;
  const std::vector<std::pair<const std::string*, V>> sequence = {
      {&from_a, V::kValid}, {&bad, V::kBadSignature}, {&from_b, V::kValid}, {&off_curve, V::kBadKey},
      {&from_a, V::kValid}, {&b_signed_by_a, V::kBadSignature}, {&off_curve, V::kBadKey},
      {&b_signed_by_a, V::kBadSignature}, {&bad, V::kBadSignature}, {&from_b, V::kValid},
      {&from_a, V::kValid}, {&b_signed_by_a, V::kBadSignature}};
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sequence.size(); ++i) {
      EXPECT_EQ(ReadP256Request(*sequence[i].first, nullptr, P256Key::kVerifyOnly).verdict, sequence[i].second)
          << "round " << round << " step " << i;
    }
  }
}

// A certificate built from the fast path's key is, field by field, the one
// built from the generic path's: the same to-be-signed bytes.
TEST(P256RequestTest, CertificatesBuiltBothWaysAreTheSame) {
  IssuingCa ca = testing::MakeTestCa();
  Profile idevid = *BuiltinProfile("idevid");
  EvpPkeyPtr key = *GenerateKey(KeyType::kP256);
  const std::string der = Request(key.get());
  P256Request fast = ReadP256Request(der, nullptr);
  ASSERT_EQ(fast.verdict, P256Request::Verdict::kValid);
  X509ReqPtr req = *ParseRequest(der);
  TemplateValues values{{"device_serial", "SN-1"}, {"product", "Widget"}, {"batch", "B1"},
                        {"organization", "Example OEM"}, {"factory", "F1"}};
  const Bytes serial{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  const int64_t now = testing::NowSeconds();
  X509Ptr generic = *ca.Issue(idevid, values, X509_REQ_get0_pubkey(req.get()), serial, now,
                              X509_REQ_get_X509_PUBKEY(req.get()));
  X509Ptr quick = *ca.Issue(idevid, values, fast.key.get(), serial, now, fast.spki.get());
  auto tbs = [](X509* c) {
    unsigned char* out = nullptr;
    const int n = i2d_re_X509_tbs(c, &out);
    std::string s(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
    return s;
  };
  EXPECT_EQ(tbs(generic.get()), tbs(quick.get()));
  EXPECT_EQ(X509_verify(quick.get(), X509_get0_pubkey(ca.certificate())), 1);
}

}  // namespace
}  // namespace mirrorca::ca
