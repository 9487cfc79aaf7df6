// P256Request: the PKCS#10 request device lines send — a P-256 key as an
// uncompressed point, signed with ECDSA and SHA-256 — read without OpenSSL
// 3.0's generic key decoder (an OSSL_DECODER context per key, behind a
// global lock: a third of the CA's CPU per certificate). The request is
// decoded with an ASN.1 item declared with OpenSSL's macros that keeps the
// key as its raw SubjectPublicKeyInfo and the exact bytes of the signed
// CertificationRequestInfo; the key is imported as P-256 parameters
// (setting the point checks that it is on the curve) and the signature
// verified over the kept bytes. Any other shape is left to the generic
// path (ParseRequest + X509_REQ_verify), so the outcome is the same either
// way (ca/p256_request_test.cc compares them).
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_P256_REQUEST_H_
#define MIRRORCA_CA_P256_REQUEST_H_

#include <openssl/crypto.h>

#include <string>
#include <string_view>

#include "ca/openssl_types.h"

namespace mirrorca::ca {

using X509PubkeyPtr = OpenSslPtr<X509_PUBKEY, X509_PUBKEY_free>;

struct P256Request {
  enum class Verdict {
    kOtherShape,   // not a P-256/ECDSA-SHA256 request (or not DER/PEM at all): the generic path decides
    kBadKey,       // the shape, but the point is not a P-256 point
    kBadSignature, // the key is fine, the request's signature does not verify
    kValid,
  };
  Verdict verdict = Verdict::kOtherShape;
  EvpPkeyPtr key;          // kBadSignature, kValid (with P256Key::kKeep)
  X509PubkeyPtr spki;      // kValid: the key as the request encodes it (for the certificate)
  std::string spki_der;    // kValid: its DER, byte for byte from the request
};

// Whether the caller keeps the request's key (P256Request::key), or needs
// only the verdict and the SPKI: then the key is checked and verified
// with this thread's scratch key, saving a key copy per request.
enum class P256Key { kKeep, kVerifyOnly };

// ReadP256Request reads `pem_or_der` (a "CERTIFICATE REQUEST" PEM block or
// DER) in `libctx` (null: the default context). With kVerifyOnly, `key`
// stays null (unless the thread's scratch key could not be made: then the
// request is read as with kKeep).
P256Request ReadP256Request(std::string_view pem_or_der, OSSL_LIB_CTX* libctx, P256Key key_use = P256Key::kKeep);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_P256_REQUEST_H_
