// Private keys of CAs, TLS identities and server-generated device keys:
// generation (P-256 default, P-384, RSA-2048/3072), classification of a
// public key against a profile's allow-list, PEM files written 0600 and
// refused when readable by others, and encrypted PKCS#8 export.
//
// Private key material never appears in a Status message or a log line.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_KEYS_H_
#define MIRRORCA_CA_KEYS_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "crypto/private_key_file.h"

namespace mirrorca::ca {

enum class KeyType { kP256, kP384, kRsa2048, kRsa3072, kRsa4096, kEd25519, kOther };

// KeyTypeName returns the config spelling: "p256", "p384", "rsa2048", ...
std::string_view KeyTypeName(KeyType t);
// ParseKeyType accepts the config spelling; InvalidArgument otherwise.
Result<KeyType> ParseKeyType(std::string_view name);
// ClassifyKey names the algorithm and size of a (public or private) key.
KeyType ClassifyKey(EVP_PKEY* key);
// DescribeKey names any key for an operator: "p256", …, or "RSA 1024-bit",
// "EC secp256k1", "Ed448" for those no profile lists.
std::string DescribeKey(EVP_PKEY* key);

Result<EvpPkeyPtr> GenerateKey(KeyType type);

// PEM private keys (PKCS#8, unencrypted) in files of mode 0600: one
// implementation for every key of the project (log/private_key_file.h).
using crypto::LoadPrivateKeyPem;
using crypto::ParsePrivateKeyPem;
using crypto::SavePrivateKeyPem;

// EncryptedPkcs8Pem returns `key` as an encrypted PKCS#8 PEM
// (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256) under `password`.
Result<std::string> EncryptedPkcs8Pem(EVP_PKEY* key, std::string_view password);
// Pkcs8Der returns `key` as an unencrypted PKCS#8 PrivateKeyInfo (DER), for a
// protocol whose channel protects it (EST serverkeygen over TLS, RFC 7030 §4.4.2).
Result<std::string> Pkcs8Der(EVP_PKEY* key);

// PublicKeyPem returns the SubjectPublicKeyInfo of `key` as PEM.
Result<std::string> PublicKeyPem(EVP_PKEY* key);
// SpkiDer returns the DER SubjectPublicKeyInfo of `key`.
Result<Bytes> SpkiDer(EVP_PKEY* key);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_KEYS_H_
