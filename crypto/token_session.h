// TokenSession: a logged-in session with one PKCS#11 token through the
// PKCS#11 C API (p11-kit's pkcs11.h; the module is dlopen'ed once per
// process and never unloaded). It does what the libp11 engine cannot
// (docs/key_custody.md): make key pairs inside the token, import the one
// key that must travel (a factory's issuing CA key, which HQ shares with the
// factory), and sign raw Ed25519 messages (CKM_EDDSA) for log keys.
//
// Private keys made here are CKA_SENSITIVE and not CKA_EXTRACTABLE; every
// pair gets a random 16-byte CKA_ID and a label, and the returned KeyRef
// names both, with the pin-source and module of the token reference.
//
// Thread-safety: all methods may be called from any thread. Object
// management is serialized on one PKCS#11 session; signatures run in
// parallel on a small pool of sessions (PKCS#11 sessions are single-threaded).
// A TokenSession lives as long as the process.
#ifndef MIRRORCA_CRYPTO_TOKEN_SESSION_H_
#define MIRRORCA_CRYPTO_TOKEN_SESSION_H_

#include <memory>
#include <mutex>
#include <string>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "crypto/key_ref.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {

// The key pairs a token can make for us.
enum class TokenKeyType { kP256, kP384, kEd25519 };

class TokenSession {
 public:
  // Open finds the token `ref.token` in `ref.module_path` (or the default
  // module), opens a read-write session and logs in with the PIN from
  // `ref.pin_source` (none: no login). NotFound when no such token,
  // PermissionDenied when the login fails; the PIN is never in a message.
  static Result<std::shared_ptr<TokenSession>> Open(Env* env, const KeyRef& ref);
  ~TokenSession();
  TokenSession(const TokenSession&) = delete;
  TokenSession& operator=(const TokenSession&) = delete;

  // Generate makes a key pair labelled `label` inside the token.
  // AlreadyExists when the token already holds an object of that label.
  Result<KeyRef> Generate(TokenKeyType type, const std::string& label);
  // Import stores a P-256/P-384 private key (and its public half) under
  // `label`; the caller then wipes its copy.
  Result<KeyRef> Import(EVP_PKEY* key, const std::string& label);
  // Destroy removes both halves of the pair `ref` names (rollback of an
  // onboarding step that failed after it made a key).
  Status Destroy(const KeyRef& ref);

  // Ed25519PublicKey returns the 32-byte public key of the pair `ref` names.
  Result<Bytes> Ed25519PublicKey(const KeyRef& ref);
  // SignEd25519 signs `message` with the private key `ref` names (CKM_EDDSA).
  Result<Bytes> SignEd25519(const KeyRef& ref, ByteSpan message);

 private:
  struct Impl;
  explicit TokenSession(std::unique_ptr<Impl> impl);
  std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_TOKEN_SESSION_H_
