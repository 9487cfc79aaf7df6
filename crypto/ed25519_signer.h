// Ed25519Signer: the one seam every raw Ed25519 signature goes through (log
// events, checkpoints, cosignatures) — a key in memory (from a PEM file or
// generated), or a key inside a PKCS#11 token signed with CKM_EDDSA through
// the C API (crypto/token_session.h; libp11's engine has no EdDSA).
//
// Thread-safety: immutable after construction; Sign may be called from any
// number of threads (token signatures are serialized per session).
#ifndef MIRRORCA_CRYPTO_ED25519_SIGNER_H_
#define MIRRORCA_CRYPTO_ED25519_SIGNER_H_

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "crypto/key_ref.h"
#include "crypto/key_store.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {

class Ed25519Signer {
 public:
  static Result<Ed25519Signer> Generate();
  // FromSeed: the key whose RFC 8032 private seed is `seed` (32 bytes).
  static Result<Ed25519Signer> FromSeed(ByteSpan seed);
  // Open opens the key `ref` names (a PEM file or a token object).
  static Result<Ed25519Signer> Open(Env* env, const KeyRef& ref);
  // OpenAt opens the key known by `path` (crypto/key_store.h).
  static Result<Ed25519Signer> OpenAt(Env* env, const std::string& path);
  // Create makes a new key known by `path` in `store` (token or PEM file).
  static Result<Ed25519Signer> Create(Env* env, const KeyStore& store, const std::string& path);

  // SavePem writes an in-memory key as PKCS#8 PEM (0600); FailedPrecondition
  // for a token key, which never leaves its token.
  Status SavePem(Env* env, const std::string& path) const;
  Result<Bytes> Sign(ByteSpan message) const;
  // PublicKey: the raw 32-byte public key.
  const Bytes& public_key() const { return public_key_; }
  bool in_token() const { return token_ != nullptr; }

 private:
  Ed25519Signer() = default;
  static Result<Ed25519Signer> FromPkey(EvpPkeyPtr pkey);
  std::shared_ptr<EVP_PKEY> pkey_;           // in memory
  std::shared_ptr<TokenSession> token_;      // or in a token
  KeyRef token_key_;
  Bytes public_key_;
};

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_ED25519_SIGNER_H_
