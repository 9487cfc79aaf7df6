// Ed25519 log keys, named as C2SP signed-note keys.
//
// A LogSigner holds the private key a node signs its events and checkpoints
// with; a LogVerifier holds the public half that peers and auditors pin. The
// key name is the log's origin. The key id is the first 4 bytes of
// SHA-256(name || 0x0A || 0x01 || public key) and the verifier key string is
// "name+<8 hex digits of key id>+<base64(0x01 || public key)>" (C2SP signed-note).
//
// The private key is a crypto::Ed25519Signer: a PKCS#8 PEM file (0600), or a
// key in a PKCS#11 token named by a reference file (crypto/key_store.h).
// Key material is never logged.
//
// Thread-safety: both classes are immutable after construction; Sign and
// Verify may be called concurrently from any number of threads.
#ifndef MIRRORCA_LOG_LOG_KEY_H_
#define MIRRORCA_LOG_LOG_KEY_H_

#include <array>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "crypto/ed25519_signer.h"
#include "crypto/key_store.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

using KeyId = std::array<uint8_t, 4>;
constexpr size_t kEd25519SignatureSize = 64;
constexpr size_t kEd25519KeySize = 32;

class LogVerifier {
 public:
  // FromPublicKey makes a verifier from a raw 32-byte Ed25519 public key.
  static Result<LogVerifier> FromPublicKey(std::string name, ByteSpan public_key);
  // Parse reads a C2SP verifier key "name+keyid+base64"; InvalidArgument if the
  // key id does not match the key, the type is not Ed25519 or the text is malformed.
  static Result<LogVerifier> Parse(std::string_view verifier_key);

  const std::string& name() const { return name_; }
  const KeyId& key_id() const { return key_id_; }
  const Bytes& public_key() const { return public_key_; }
  // VerifierKey returns the C2SP verifier key string.
  std::string VerifierKey() const;
  // Verify reports whether `signature` is a valid Ed25519 signature of `message`.
  bool Verify(ByteSpan message, ByteSpan signature) const;

 private:
  friend class LogSigner;
  LogVerifier() = default;
  std::string name_;
  KeyId key_id_{};
  Bytes public_key_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

class LogSigner {
 public:
  // Generate creates a fresh key from OpenSSL's CSPRNG.
  static Result<LogSigner> Generate(std::string name);
  // FromSeed makes the key whose RFC 8032 private seed is `seed` (32 bytes).
  static Result<LogSigner> FromSeed(std::string name, ByteSpan seed);
  // Open opens the key known by `path`: a PKCS#8 PEM file (refused when
  // readable by group or others, PermissionDenied) or a token reference
  // file; InvalidArgument for anything that is not Ed25519.
  static Result<LogSigner> Open(Env* env, const std::string& path, std::string name);
  // Create makes a new key known by `path` in `keys` (a token or a PEM file).
  static Result<LogSigner> Create(Env* env, const crypto::KeyStore& keys, const std::string& path,
                                  std::string name);
  // SavePem writes an in-memory private key as PKCS#8 PEM with mode 0600
  // (FailedPrecondition for a token key).
  Status SavePem(Env* env, const std::string& path) const;
  bool in_token() const { return key_.in_token(); }

  // Sign returns the 64-byte Ed25519 signature of `message`.
  Result<Bytes> Sign(ByteSpan message) const;
  const LogVerifier& verifier() const { return verifier_; }
  const std::string& name() const { return verifier_.name(); }
  // Renamed: the same key signing for another origin (a node's second log,
  // e.g. HQ's delivery log of one factory; the origin is in every signed body).
  Result<LogSigner> Renamed(std::string name) const;

 private:
  static Result<LogSigner> FromKey(std::string name, crypto::Ed25519Signer key);
  explicit LogSigner(crypto::Ed25519Signer key) : key_(std::move(key)) {}
  crypto::Ed25519Signer key_;
  LogVerifier verifier_;
};

// ComputeKeyId returns the C2SP signed-note key id of an Ed25519 key.
KeyId ComputeKeyId(std::string_view name, ByteSpan public_key);

// IsValidKeyName reports whether `name` is a valid signed-note key name: non-empty
// UTF-8 without spaces, '+' or control characters.
bool IsValidKeyName(std::string_view name);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_LOG_KEY_H_
