// ParseCertificateChainPem: every certificate of a PEM text (a chain, a set
// of trust anchors), in order. The one PEM certificate-list reader: the CA's
// chains and configured anchors, and the TLS layer's device issuers.
//
// Thread-safety: a pure function.
#ifndef MIRRORCA_CRYPTO_CERTIFICATE_PEM_H_
#define MIRRORCA_CRYPTO_CERTIFICATE_PEM_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {

// The largest PEM text read as one chain (a chain of a few certificates, or
// a set of anchors, is far smaller).
inline constexpr size_t kMaxCertificateChainPemBytes = 1 << 20;

// InvalidArgument if `pem` is larger than kMaxCertificateChainPemBytes or
// holds no PEM certificate; text between and around the certificates is
// ignored, as `openssl` does.
Result<std::vector<X509Ptr>> ParseCertificateChainPem(std::string_view pem);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_CERTIFICATE_PEM_H_
