// Key transport for the onboarding ceremony: the one private key that must
// exist on two machines — a factory's issuing-CA key, at the factory (to
// issue) and at HQ (to sign CRLs and OCSP responder certificates) — moves
// once, sealed to the receiving side (docs/onboarding.md).
//
//   - the receiver makes a transport key (P-256) that never leaves it and a
//     self-signed transport certificate carrying its public half (keyUsage
//     keyAgreement, not a CA: nobody should trust it as an anchor);
//   - the sender seals the PKCS#8 private key to that certificate as a CMS
//     AuthEnvelopedData (RFC 5083; ECDH key agreement, AES-256-GCM), so
//     only the transport key opens it and any change fails the tag;
//   - the receiver opens it and checks that the key is the one the
//     certificate it was sent with certifies.
//
// Built on OpenSSL's CMS; no cryptography of our own.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_KEY_TRANSPORT_H_
#define MIRRORCA_CA_KEY_TRANSPORT_H_

#include <string>
#include <string_view>

#include "base/result.h"
#include "ca/hierarchy.h"
#include "ca/openssl_types.h"

namespace mirrorca::ca {

// CreateTransportIdentity makes a P-256 transport key and its self-signed
// certificate (CN = `name`, valid `days`).
Result<KeyAndCertificate> CreateTransportIdentity(const std::string& name, int64_t now, int days = 30);

// SealPrivateKey returns `key` sealed to `recipient` (PEM "CMS").
Result<std::string> SealPrivateKey(EVP_PKEY* key, X509* recipient);

// OpenSealedKey opens a sealed key with the transport identity; InvalidArgument
// when it is not addressed to it, was altered, or does not parse.
Result<EvpPkeyPtr> OpenSealedKey(std::string_view sealed_pem, X509* recipient_cert,
                                 EVP_PKEY* recipient_key);

// KeyMatchesCertificate: the private `key` is the one `cert` certifies.
bool KeyMatchesCertificate(EVP_PKEY* key, X509* cert);

// KeyFingerprint: SHA-256 of the key's DER SubjectPublicKeyInfo (the
// caKeyFingerprint HQ records; equals the caId of its certificate).
Result<Bytes> KeyFingerprint(EVP_PKEY* key);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_KEY_TRANSPORT_H_
