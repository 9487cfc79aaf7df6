// SubjectPublicKeyInfo hashes: SHA-256 of a certificate's or key's DER SPKI
// — the caId of events, the pins of TLS peers, key fingerprints.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CRYPTO_SPKI_H_
#define MIRRORCA_CRYPTO_SPKI_H_

#include <openssl/x509.h>

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::crypto {

// SpkiSha256 / SpkiSha256Hex: of the certificate's public key.
Result<Bytes> SpkiSha256(X509* cert);
Result<std::string> SpkiSha256Hex(X509* cert);
// KeySpkiSha256: of a key's public half.
Result<Bytes> KeySpkiSha256(EVP_PKEY* key);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_SPKI_H_
