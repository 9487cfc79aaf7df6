// Opening signing keys by reference, with a real PKCS#11 token: SoftHSM2 in
// a temp dir, a P-256 key made inside it by OpenSC's pkcs11-tool. The key
// signs through OpenSSL (libp11 engine) and the signature verifies with its
// public half; the private key never leaves the token. A missing object,
// a wrong PIN and a missing PIN file are clear errors, never a crash.
#include "crypto/key_open.h"
#include "crypto/private_key_file.h"
#include "crypto/test_token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace mirrorca::crypto {
namespace {

using testing::HaveSoftHsm;
using testing::TestTokens;

bool SignsAndVerifies(EVP_PKEY* key) {
  const unsigned char msg[] = "mirrorca";
  EvpMdCtxPtr sign(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(sign.get(), nullptr, &len, msg, sizeof(msg)) != 1) {
    return false;
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(sign.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg, sizeof(msg)) != 1) {
    return false;
  }
  // Verify with the public half only, re-read from its DER.
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  const unsigned char* p = der;
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, n));
  OPENSSL_free(der);
  EvpMdCtxPtr verify(EVP_MD_CTX_new());
  return pub && EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr, pub.get()) == 1 &&
         EVP_DigestVerify(verify.get(), reinterpret_cast<const unsigned char*>(sig.data()), len, msg,
                          sizeof(msg)) == 1;
}

TEST(KeyOpenTest, ATokenKeySignsThroughOpenSsl) {
  if (!HaveSoftHsm()) GTEST_SKIP() << "SoftHSM2, OpenSC or the libp11 engine is not installed (scripts/setup.sh installs them)";
  TestTokens& tokens = TestTokens::Get();
  tokens.Token("mirrorca-test");
  TestTokens::Run(std::string("pkcs11-tool --module ") + kDefaultPkcs11Module +
                  " --token-label mirrorca-test --login --pin 1234 --keypairgen --key-type EC:prime256v1 --label ca --id 01");
  struct {
    std::string dir, pin_file;
  } t{tokens.dir(), tokens.pin_file()};
  // A wrong PIN: refused, and the message does not carry it. (First: a
  // PKCS#11 login holds for the whole process once it succeeded.)
  const std::string wrong = t.dir + "/wrong-pin";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(wrong, "9999", 0600).ok());
  auto bad_login = OpenEvpKey(Env::Default(), *ParseKeyRef("pkcs11:token=mirrorca-test;object=ca?pin-source=file:" + wrong));
  EXPECT_FALSE(bad_login.ok());
  EXPECT_EQ(bad_login.status().message().find("9999"), std::string::npos);
  auto ref = ParseKeyRef("pkcs11:token=mirrorca-test;object=ca?pin-source=file:" + t.pin_file);
  ASSERT_TRUE(ref.ok()) << ref.status();
  auto key = OpenEvpKey(Env::Default(), *ref);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_EC);
  EXPECT_TRUE(SignsAndVerifies(key->get()));
  // By id, too.
  auto by_id = OpenEvpKey(Env::Default(), *ParseKeyRef("pkcs11:token=mirrorca-test;id=%01?pin-source=file:" + t.pin_file));
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_TRUE(SignsAndVerifies(by_id->get()));

  auto missing = OpenEvpKey(Env::Default(), *ParseKeyRef("pkcs11:token=mirrorca-test;object=nope?pin-source=file:" + t.pin_file));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message().find("1234"), std::string::npos);
  auto no_pin_file = OpenEvpKey(Env::Default(), *ParseKeyRef("pkcs11:token=mirrorca-test;object=ca?pin-source=file:" + t.dir + "/none"));
  EXPECT_FALSE(no_pin_file.ok());
}

TEST(KeyOpenTest, AFileReferenceOpensThePemKey) {
  std::string dir = (std::filesystem::temp_directory_path() / "mirrorca-key-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  EvpPkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(SavePrivateKeyPem(Env::Default(), dir + "/k.pem", k.get()).ok());
  auto key = OpenEvpKey(Env::Default(), *ParseKeyRef(dir + "/k.pem"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(SignsAndVerifies(key->get()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mirrorca::crypto
