// Keys made, imported, used and removed inside a real SoftHSM2 token through
// the PKCS#11 C API, and the key store's files: a token key's file holds a
// reference, never key material. Ed25519 log keys sign with CKM_EDDSA (the
// signature verifies under OpenSSL); P-256 CA keys made or imported by the C
// API sign through libp11's engine in the same process.
#include "crypto/token_session.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "crypto/ed25519_signer.h"
#include "crypto/key_open.h"
#include "crypto/key_store.h"
#include "crypto/test_token.h"

namespace mirrorca::crypto {
namespace {

using testing::HaveSoftHsm;
using testing::TestTokens;

bool VerifiesEd25519(const Bytes& pub, ByteSpan msg, const Bytes& sig) {
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return key && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
}

bool SignsP256(EVP_PKEY* key, EVP_PKEY* verify_with) {
  const unsigned char msg[] = "certificate";
  EvpMdCtxPtr s(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(s.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(s.get(), nullptr, &len, msg, sizeof(msg)) != 1) {
    return false;
  }
  Bytes sig(len);
  if (EVP_DigestSign(s.get(), sig.data(), &len, msg, sizeof(msg)) != 1) return false;
  EvpMdCtxPtr v(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(v.get(), nullptr, EVP_sha256(), nullptr, verify_with) == 1 &&
         EVP_DigestVerify(v.get(), sig.data(), len, msg, sizeof(msg)) == 1;
}

class TokenSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveSoftHsm()) GTEST_SKIP() << "SoftHSM2, OpenSC or the libp11 engine is missing (scripts/setup.sh)";
    dir_ = TestTokens::Get().dir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  std::string dir_;
  Env* env_ = Env::Default();
};

TEST_F(TokenSessionTest, AWrongPinIsRefusedWithoutSayingIt) {
  TestTokens::Get().Token("mirrorca-pin");
  const std::string wrong = dir_ + "/wrong";
  ASSERT_TRUE(env_->WriteFileAtomic(wrong, "987654", 0600).ok());
  auto s = TokenSession::Open(env_, *ParseKeyRef("pkcs11:token=mirrorca-pin?pin-source=file:" + wrong, RefTarget::kToken));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.status().message().find("987654"), std::string::npos);
  auto none = TokenSession::Open(env_, *ParseKeyRef("pkcs11:token=no-such-token?pin-source=file:" + wrong, RefTarget::kToken));
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST_F(TokenSessionTest, AnEd25519LogKeySignsInsideTheToken) {
  KeyStore store = *ParseKeyStore(TestTokens::Get().Token("mirrorca-log"));
  const std::string path = dir_ + "/log_key.pem";
  auto signer = Ed25519Signer::Create(env_, store, path);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_TRUE(signer->in_token());
  // The file holds a reference, not a key; it says nothing secret.
  std::string text = *env_->ReadFile(path);
  EXPECT_EQ(text.rfind("pkcs11:token=mirrorca-log;object=", 0), 0u) << text;
  EXPECT_EQ(text.find("PRIVATE"), std::string::npos);
  EXPECT_EQ(text.find("1234"), std::string::npos);
  EXPECT_FALSE(signer->SavePem(env_, dir_ + "/exported.pem").ok());

  const Bytes msg = {'e', 'v', 'e', 'n', 't'};
  auto sig = signer->Sign(msg);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifiesEd25519(signer->public_key(), msg, *sig));
  // Reopened by its path: the same key.
  auto again = Ed25519Signer::OpenAt(env_, path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->public_key(), signer->public_key());
  // Several threads sign through one session.
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto s = again->Sign(msg);
        if (s.ok() && VerifiesEd25519(again->public_key(), msg, *s)) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 100);

  // A stray key of the same label (no file knows it) is refused; a key made
  // at the same path replaces the old one, like a file.
  ASSERT_TRUE(env_->WriteFileAtomic(dir_ + "/moved.pem", text, 0600).ok());
  ASSERT_TRUE(env_->WriteFileAtomic(path, "", 0600).ok());
  EXPECT_EQ(Ed25519Signer::Create(env_, store, path).status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(env_->WriteFileAtomic(path, text, 0600).ok());
  auto replaced = Ed25519Signer::Create(env_, store, dir_ + "/moved.pem");
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_NE(replaced->public_key(), signer->public_key());
  EXPECT_FALSE(Ed25519Signer::OpenAt(env_, path).ok());  // its objects were the old ones
  ASSERT_TRUE(RemoveKey(env_, dir_ + "/moved.pem").ok());
  ASSERT_TRUE(env_->WriteFileAtomic(path, text, 0600).ok());
  ASSERT_TRUE(RemoveKey(env_, path).ok());
  EXPECT_FALSE(env_->FileExists(path));
  auto session = TokenSession::Open(env_, *store.token);
  ASSERT_TRUE(session.ok());
  KeyRef gone = *ParseKeyRef(text.substr(0, text.size() - 1));
  EXPECT_EQ((*session)->Ed25519PublicKey(gone).status().code(), StatusCode::kNotFound);
}

TEST_F(TokenSessionTest, CaKeysMadeOrImportedSignThroughTheEngine) {
  KeyStore store = *ParseKeyStore(TestTokens::Get().Token("mirrorca-ca"));
  // Made in the token.
  const std::string made = dir_ + "/ca.key";
  auto key = CreateKey(env_, store, made, TokenKeyType::kP256);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(IsKeyReferenceFile(env_, made));
  auto reopened = OpenKeyAt(env_, made);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(SignsP256(reopened->get(), key->get()));
  // P-384 too.
  auto p384 = CreateKey(env_, store, dir_ + "/p384.key", TokenKeyType::kP384);
  ASSERT_TRUE(p384.ok()) << p384.status();
  EXPECT_EQ(EVP_PKEY_get_bits(p384->get()), 384);

  // Imported: a software key (a factory CA key HQ shares) signs from the
  // token, and the token's key is the same key.
  EvpPkeyPtr soft(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const std::string imported = dir_ + "/factory-ca.key";
  ASSERT_TRUE(StoreKey(env_, store, imported, soft.get()).ok());
  EXPECT_TRUE(IsKeyReferenceFile(env_, imported));
  auto from_token = OpenKeyAt(env_, imported);
  ASSERT_TRUE(from_token.ok()) << from_token.status();
  EXPECT_TRUE(SignsP256(from_token->get(), soft.get()));
  EXPECT_EQ(EVP_PKEY_eq(from_token->get(), soft.get()), 1);
  // Ed25519 and RSA keys are not imported (only EC CA keys travel).
  EvpPkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(StoreKey(env_, store, dir_ + "/ed.key", ed.get()).code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(RemoveKey(env_, imported).ok());
  EXPECT_FALSE(OpenKeyAt(env_, imported).ok());
}

TEST(KeyStoreTest, ParsesFilesOrATokenButNotAnObject) {
  EXPECT_FALSE(ParseKeyStore("files")->in_token());
  EXPECT_FALSE(ParseKeyStore("")->in_token());
  auto t = ParseKeyStore("pkcs11:token=hq-ca?pin-source=env:HQ_PIN");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token->token, "hq-ca");
  EXPECT_FALSE(ParseKeyStore("pkcs11:token=hq-ca;object=x").ok());
  EXPECT_FALSE(ParseKeyStore("pkcs11:object=x").ok());
  EXPECT_FALSE(ParseKeyStore("pkcs11:token=hq-ca?pin-value=1234").ok());
}

TEST(KeyStoreTest, APemFileIsItsOwnReference) {
  std::string dir = (std::filesystem::temp_directory_path() / "mirrorca-ks-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto key = CreateKey(Env::Default(), KeyStore{}, dir + "/k.pem", TokenKeyType::kP256);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(IsKeyReferenceFile(Env::Default(), dir + "/k.pem"));
  auto ref = KeyRefAt(Env::Default(), dir + "/k.pem");
  ASSERT_TRUE(ref.ok());
  EXPECT_FALSE(ref->is_pkcs11());
  auto opened = OpenKeyAt(Env::Default(), dir + "/k.pem");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(EVP_PKEY_eq(opened->get(), key->get()), 1);
  // A malformed reference file is an error naming the file.
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir + "/bad.key", "pkcs11:token=x?pin-value=1\n", 0600).ok());
  auto bad = OpenKeyAt(Env::Default(), dir + "/bad.key");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.key"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mirrorca::crypto
