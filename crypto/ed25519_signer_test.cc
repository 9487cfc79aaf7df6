// Ed25519Signer reuses one initialized signing context per thread and key:
// every signature must be the one a fresh context makes (Ed25519 is
// deterministic), whatever was signed before, with which key, on which thread.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <thread>
#include <vector>

#include "crypto/ed25519_signer.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {
namespace {

// FreshSignature: the signature of `message` by `seed`'s key from a context
// made for it alone.
Bytes FreshSignature(const Bytes& seed, const std::string& message) {
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes sig(64);
  size_t len = sig.size();
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()),
            1);
  return sig;
}

ByteSpan Span(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

TEST(Ed25519SignerTest, EverySignatureIsAFreshContextsWithInterleavedKeysAndThreads) {
  const Bytes seed_a(32, 0x11), seed_b(32, 0x22);
  Result<Ed25519Signer> a = Ed25519Signer::FromSeed(seed_a);
  Result<Ed25519Signer> b = Ed25519Signer::FromSeed(seed_b);
  ASSERT_TRUE(a.ok() && b.ok());
  auto run = [&](int thread) {
    for (int i = 0; i < 50; ++i) {
      const std::string message = "event " + std::to_string(thread) + "/" + std::to_string(i) + std::string(i, 'x');
      const bool use_a = (i % 3) != 1;  // a, b, a, a, b, a, …: the cached key changes
      Result<Bytes> sig = (use_a ? *a : *b).Sign(Span(message));
      ASSERT_TRUE(sig.ok());
      EXPECT_EQ(*sig, FreshSignature(use_a ? seed_a : seed_b, message)) << thread << "/" << i;
    }
  };
  run(0);
  std::vector<std::thread> threads;
  for (int t = 1; t <= 3; ++t) threads.emplace_back(run, t);
  for (std::thread& t : threads) t.join();
  // A signer made after another was dropped (its key may reuse the address).
  for (int round = 0; round < 3; ++round) {
    const Bytes seed(32, static_cast<uint8_t>(0x30 + round));
    Result<Ed25519Signer> s = Ed25519Signer::FromSeed(seed);
    ASSERT_TRUE(s.ok());
    Result<Bytes> sig = s->Sign(Span("same message"));
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(*sig, FreshSignature(seed, "same message")) << round;
  }
}

}  // namespace
}  // namespace mirrorca::crypto
