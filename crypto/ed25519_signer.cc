#include "crypto/ed25519_signer.h"

#include <openssl/err.h>

#include "base/status_macros.h"
#include "crypto/private_key_file.h"

namespace mirrorca::crypto {

Result<Ed25519Signer> Ed25519Signer::FromPkey(EvpPkeyPtr pkey) {
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("the key is not an Ed25519 key");
  }
  Bytes pub(32);
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return OpenSslError("extract Ed25519 public key");
  }
  Ed25519Signer s;
  s.public_key_ = std::move(pub);
  s.pkey_.reset(pkey.release(), EVP_PKEY_free);
  return s;
}

Result<Ed25519Signer> Ed25519Signer::Generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) return OpenSslError("generate Ed25519 key");
  return FromPkey(EvpPkeyPtr(raw));
}

Result<Ed25519Signer> Ed25519Signer::FromSeed(ByteSpan seed) {
  if (seed.size() != 32) return Status::InvalidArgument("seed must be 32 bytes");
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr) return OpenSslError("load Ed25519 seed", StatusCode::kInvalidArgument);
  return FromPkey(EvpPkeyPtr(raw));
}

Result<Ed25519Signer> Ed25519Signer::Open(Env* env, const KeyRef& ref) {
  if (!ref.is_pkcs11()) {
    ASSIGN_OR_RETURN(EvpPkeyPtr key, LoadPrivateKeyPem(env, ref.path));
    return FromPkey(std::move(key));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<TokenSession> session, TokenSession::Open(env, ref));
  Ed25519Signer s;
  ASSIGN_OR_RETURN(s.public_key_, session->Ed25519PublicKey(ref));
  s.token_ = std::move(session);
  s.token_key_ = ref;
  // Prove the pair before anyone relies on it: a signature that verifies
  // under the public key the token reports.
  static constexpr uint8_t kProbe[] = {'m', 'i', 'r', 'r', 'o', 'r', 'c', 'a'};
  ASSIGN_OR_RETURN(Bytes sig, s.Sign(ByteSpan(kProbe, sizeof(kProbe))));
  EvpPkeyPtr pub(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, s.public_key_.data(), s.public_key_.size()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pub || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pub.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), kProbe, sizeof(kProbe)) != 1) {
    ERR_clear_error();
    return Status::FailedPrecondition("the token key " + ref.ToString() +
                                      " does not sign for the public key stored beside it");
  }
  return s;
}

Result<Ed25519Signer> Ed25519Signer::OpenAt(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(KeyRef ref, KeyRefAt(env, path));
  return Open(env, ref);
}

Result<Ed25519Signer> Ed25519Signer::Create(Env* env, const KeyStore& store, const std::string& path) {
  if (!store.in_token()) {
    ASSIGN_OR_RETURN(Ed25519Signer s, Generate());
    RETURN_IF_ERROR(s.SavePem(env, path));
    return s;
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr unused, CreateKey(env, store, path, TokenKeyType::kEd25519));
  (void)unused;
  return OpenAt(env, path);
}

Status Ed25519Signer::SavePem(Env* env, const std::string& path) const {
  if (!pkey_) return Status::FailedPrecondition("a token key never leaves its token");
  return SavePrivateKeyPem(env, path, pkey_.get());
}

Result<Bytes> Ed25519Signer::Sign(ByteSpan message) const {
  if (token_) return token_->SignEd25519(token_key_, message);
  // One initialized signing context per thread and key: EVP_DigestSignInit
  // (algorithm fetch, key reference) costs a tenth of the signature, and
  // one-shot Ed25519 signing leaves the context as it was (the provider
  // keeps no state between calls). A failure is retried once on a freshly
  // initialized context.
  struct Cached {
    std::shared_ptr<EVP_PKEY> key;
    EvpMdCtxPtr ctx;
  };
  thread_local Cached cached;
  Bytes sig(64);
  auto sign_with = [&](EVP_MD_CTX* ctx) {
    size_t len = sig.size();
    return EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size()) == 1 && len == sig.size();
  };
  if (cached.key != pkey_ || !cached.ctx || !sign_with(cached.ctx.get())) {
    ERR_clear_error();
    EvpMdCtxPtr fresh(EVP_MD_CTX_new());
    if (!fresh || EVP_DigestSignInit(fresh.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
        !sign_with(fresh.get())) {
      return OpenSslError("Ed25519 sign");
    }
    // (The cache holds its key until this thread signs with another one.)
    cached.key = pkey_;
    cached.ctx = std::move(fresh);
  }
  return sig;
}

}  // namespace mirrorca::crypto
