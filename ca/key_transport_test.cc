#include "ca/key_transport.h"

#include <gtest/gtest.h>

#include "ca/certificate.h"
#include "ca/keys.h"

namespace mirrorca::ca {
namespace {

constexpr int64_t kNow = 1790000000;

TEST(KeyTransportTest, OnlyTheTransportKeyOpensTheSealedKeyAndItMatches) {
  auto ca = CreateRoot({"Example OEM", "F2", ""}, KeyType::kP256, kNow);
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto transport = CreateTransportIdentity("F2 key transport", kNow);
  ASSERT_TRUE(transport.ok()) << transport.status();
  auto sealed = SealPrivateKey(ca->key.get(), transport->cert.get());
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_NE(sealed->find("BEGIN CMS"), std::string::npos);

  auto opened = OpenSealedKey(*sealed, transport->cert.get(), transport->key.get());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(KeyMatchesCertificate(opened->get(), ca->cert.get()));
  EXPECT_EQ(*KeyFingerprint(opened->get()), *KeyFingerprint(ca->key.get()));

  // Another transport key (an eavesdropper's) cannot open it.
  auto other = CreateTransportIdentity("someone else", kNow);
  ASSERT_TRUE(other.ok());
  auto stolen = OpenSealedKey(*sealed, other->cert.get(), other->key.get());
  EXPECT_EQ(stolen.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyTransportTest, AnAlteredSealedKeyIsRefused) {
  auto ca = CreateRoot({"Example OEM", "F2", ""}, KeyType::kP256, kNow);
  auto transport = CreateTransportIdentity("F2 key transport", kNow);
  ASSERT_TRUE(ca.ok() && transport.ok());
  auto sealed = SealPrivateKey(ca->key.get(), transport->cert.get());
  ASSERT_TRUE(sealed.ok());
  // Flip one base64 character near the end (the ciphertext or the tag).
  std::string bad = *sealed;
  const size_t at = bad.rfind("-----END") - 12;
  bad[at] = bad[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(OpenSealedKey(bad, transport->cert.get(), transport->key.get()).ok());
  EXPECT_FALSE(OpenSealedKey("not a CMS message", transport->cert.get(), transport->key.get()).ok());
}

TEST(KeyTransportTest, AKeyThatIsNotTheCertificatesDoesNotMatch) {
  auto a = CreateRoot({"Example OEM", "A", ""}, KeyType::kP256, kNow);
  auto b = CreateRoot({"Example OEM", "B", ""}, KeyType::kP256, kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(KeyMatchesCertificate(a->key.get(), b->cert.get()));
}

TEST(KeyTransportTest, ATlsKeyMadeAtTheFactoryIsCertifiedFromItsRequest) {
  auto tls_ca = CreateRoot({"Example OEM TLS", "", ""}, KeyType::kP256, kNow);
  auto key = GenerateKey(KeyType::kP256);
  ASSERT_TRUE(tls_ca.ok() && key.ok());
  auto csr = CreateTlsRequest(key->get(), "factory-sync");
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto pem = RequestPem(csr->get());
  ASSERT_TRUE(pem.ok());
  auto cert = IssueTlsIdentityFromRequest(*pem, "f2-sync", false, "Example OEM", tls_ca->cert.get(),
                                          tls_ca->key.get(), kNow);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_TRUE(KeyMatchesCertificate(key->get(), cert->get()));
  EXPECT_FALSE(IssueTlsIdentityFromRequest("garbage", "f2-sync", false, "Example OEM",
                                           tls_ca->cert.get(), tls_ca->key.get(), kNow)
                   .ok());
}

}  // namespace
}  // namespace mirrorca::ca
