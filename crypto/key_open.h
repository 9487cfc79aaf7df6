// OpenEvpKey: the one way an EVP_PKEY signing key is opened from a key
// reference (crypto/key_ref.h) — a PEM file (0600), or a key in a PKCS#11
// token through libp11's OpenSSL engine, so that OpenSSL's own code signs
// certificates, CRLs, OCSP responses and CSRs with it while the private key
// never leaves the token (docs/key_custody.md: CA keys, P-256/P-384/RSA).
//
// Thread-safety: OpenEvpKey may be called from any thread (engine setup and
// logins are serialized); the returned key may sign from several threads
// as OpenSSL allows for the key type.
#ifndef MIRRORCA_CRYPTO_KEY_OPEN_H_
#define MIRRORCA_CRYPTO_KEY_OPEN_H_

#include <string>

#include "base/env.h"
#include "base/result.h"
#include "crypto/key_ref.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {

// The libp11 engine and the default module (SoftHSM2 on Debian 12); a
// reference's module-path overrides the module.
inline constexpr const char* kPkcs11EnginePath = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";
inline constexpr const char* kDefaultPkcs11Module = "/usr/lib/softhsm/libsofthsm2.so";

// OpenEvpKey opens the private key `ref` names. For a token key the PIN is
// read from its pin-source (never logged); NotFound when the token or the
// object is not there, PermissionDenied when the login fails.
Result<EvpPkeyPtr> OpenEvpKey(Env* env, const KeyRef& ref);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_KEY_OPEN_H_
