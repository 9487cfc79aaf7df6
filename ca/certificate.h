// X.509 certificate and PKCS#10 request codecs: PEM/DER parsing with size
// limits, encoding, chains, identifiers (CA id, SPKI fingerprint) and chain
// verification against a trust anchor.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_CERTIFICATE_H_
#define MIRRORCA_CA_CERTIFICATE_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "crypto/certificate_pem.h"
#include "crypto/spki.h"
#include "ca/openssl_types.h"

namespace mirrorca::ca {

// Upper bound on one encoded certificate or request (PEM or DER).
inline constexpr size_t kMaxObjectBytes = 64 * 1024;

Result<X509Ptr> ParseCertificate(std::string_view pem_or_der);
using crypto::ParseCertificateChainPem;  // every certificate of a PEM text
Result<X509Ptr> LoadCertificate(Env* env, const std::string& path);
Result<std::vector<X509Ptr>> LoadCertificateChain(Env* env, const std::string& path);

Result<std::string> CertificatePem(X509* cert);
Result<std::string> CertificateDer(X509* cert);
// PemBlock wraps DER as PEM_write_bio does: "-----BEGIN <label>-----",
// base64 in lines of 64 characters, "-----END <label>-----", each line
// ending in '\n'. For a certificate already encoded (no second encoding).
std::string PemBlock(std::string_view der, std::string_view label);
Result<std::string> ChainPem(const std::vector<X509Ptr>& chain);

// ParseRequest accepts a PKCS#10 CSR as PEM ("CERTIFICATE REQUEST" or "NEW
// CERTIFICATE REQUEST") or DER; InvalidArgument with a reason otherwise.
// `libctx` is the OpenSSL library context the request's key is decoded in
// (null: the default one; see libctx_pool.h).
Result<X509ReqPtr> ParseRequest(std::string_view pem_or_der, OSSL_LIB_CTX* libctx = nullptr);
Result<std::string> RequestPem(X509_REQ* req);
Result<std::string> RequestDer(X509_REQ* req);

// CaId is SHA-256 of the certificate's DER SubjectPublicKeyInfo: the id
// events use for an issuing CA (stable across re-issued CA certificates).
Result<Bytes> CaId(X509* cert);
// SpkiSha256Hex is the lowercase hex SHA-256 of a certificate's
// SubjectPublicKeyInfo: how TLS peers are pinned (crypto/spki.h).
using crypto::SpkiSha256Hex;

// SerialBytes returns the serial number as the big-endian magnitude bytes.
Bytes SerialBytes(X509* cert);
std::string SerialHex(X509* cert);

// SubjectText returns the subject in RFC 2253 form (for messages).
std::string SubjectText(X509* cert);

// VerifyChain checks that `leaf` chains to `anchor` through
// `intermediates` at `at_time` (seconds since the epoch; 0 means now).
Status VerifyChain(X509* leaf, const std::vector<X509*>& intermediates, X509* anchor,
                   int64_t at_time = 0);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_CERTIFICATE_H_
