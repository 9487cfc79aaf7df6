// Private key files: PKCS#8 PEM written atomically with mode 0600, and read
// only when no one but the owner can read them. The one place that enforces
// that rule, for log keys (log/) and CA and TLS keys (ca/).
//
// Key material is wiped from intermediate buffers and never appears in a
// Status message.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CRYPTO_PRIVATE_KEY_FILE_H_
#define MIRRORCA_CRYPTO_PRIVATE_KEY_FILE_H_

#include <string>
#include <string_view>

#include "base/env.h"
#include "base/result.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {

Status SavePrivateKeyPem(Env* env, const std::string& path, EVP_PKEY* key);
// LoadPrivateKeyPem refuses (PermissionDenied) a file accessible by group or others.
Result<EvpPkeyPtr> LoadPrivateKeyPem(Env* env, const std::string& path);
Result<EvpPkeyPtr> ParsePrivateKeyPem(std::string_view pem);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_PRIVATE_KEY_FILE_H_
