// KeyStore: where a node keeps its private keys, and the one place keys are
// created, stored and opened by the path the code knows them by.
//
// Every private key has a path (a CA's `ca.key`, a log's `log_key.pem`, a
// TLS identity's `key`). The file at that path holds either the PEM private
// key (mode 0600) or, when the key lives in a PKCS#11 token, a one-line
// `pkcs11:` reference to it (crypto/key_ref.h) — never key material and
// never a PIN. Configs that name a key file accept such a reference
// directly, too.
//
// A KeyStore with a token makes new keys inside that token (label: the
// absolute path the key is known by) and writes the reference file; without
// one it writes PEM files.
//
// Thread-safety: free functions and plain values, safe from any thread.
#ifndef MIRRORCA_CRYPTO_KEY_STORE_H_
#define MIRRORCA_CRYPTO_KEY_STORE_H_

#include <optional>
#include <string>

#include "base/env.h"
#include "base/result.h"
#include "crypto/key_ref.h"
#include "crypto/openssl_ptr.h"
#include "crypto/token_session.h"

namespace mirrorca::crypto {

struct KeyStore {
  // The token new keys go to (token, pin-source, module; no object), or
  // none for PEM files.
  std::optional<KeyRef> token;
  bool in_token() const { return token.has_value(); }
};

// ParseKeyStore reads "files" (or "") or a `pkcs11:token=…` reference.
Result<KeyStore> ParseKeyStore(std::string_view text);

// KeyRefAt returns the reference the key file at `path` holds, or the file
// itself when it holds a PEM key. `text` may also be a `pkcs11:` URI.
Result<KeyRef> KeyRefAt(Env* env, const std::string& path_or_uri);
// OpenKeyAt opens the signing key KeyRefAt names (crypto/key_open.h).
Result<EvpPkeyPtr> OpenKeyAt(Env* env, const std::string& path_or_uri);
// IsKeyReferenceFile reports whether the file at `path` holds a reference.
bool IsKeyReferenceFile(Env* env, const std::string& path);

// CreateKey makes a new key known by `path`: generated inside the store's
// token (the file then holds its reference) or in memory and saved as PEM.
// A key already known by `path` is replaced (its token objects destroyed),
// as a file would be; AlreadyExists when the token holds a stray key of the
// label. Returns the key opened for signing (nothing for an Ed25519 token
// key: crypto/ed25519_signer.h opens it).
Result<EvpPkeyPtr> CreateKey(Env* env, const KeyStore& store, const std::string& path, TokenKeyType type);
// StoreKey keeps an existing key (a factory's CA key, made at HQ and shared
// with the factory) under `path`: imported into the token, or saved as PEM.
Status StoreKey(Env* env, const KeyStore& store, const std::string& path, EVP_PKEY* key);
// PromoteKey puts the key known by `next_path` in the place of the one
// known by `path` (a rotation that became durable) and retires the old
// one: its token objects are destroyed, a file is simply replaced.
Status PromoteKey(Env* env, const std::string& next_path, const std::string& path);
// RemoveKey deletes the key known by `path` (and its token objects).
Status RemoveKey(Env* env, const std::string& path);

// StoreOfKeyAt: the store the key known by `path` lives in (its token, or
// files) — where a node's later keys go (HQ's copy of a factory CA key goes
// where HQ's root key is).
Result<KeyStore> StoreOfKeyAt(Env* env, const std::string& path);

// TokenLabelFor: the label a key known by `path` gets in a token.
std::string TokenLabelFor(const std::string& path);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_KEY_STORE_H_
