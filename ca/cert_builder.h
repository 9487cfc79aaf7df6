// BuildCertificate: assembles and signs one X.509 v3 certificate exactly as
// a Profile says, from vetted values only. Used for device certificates, CA
// certificates (root self-signed, issuing CAs) and TLS identities.
//
// Thread-safety: safe from any thread; the spec's objects are only read.
#ifndef MIRRORCA_CA_CERT_BUILDER_H_
#define MIRRORCA_CA_CERT_BUILDER_H_

#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

struct CertificateSpec {
  const Profile* profile = nullptr;
  TemplateValues values;         // vetted template values
  EVP_PKEY* subject_key = nullptr;
  // Optional: the subject key as parsed SubjectPublicKeyInfo (from a CSR).
  // Copying it avoids OpenSSL 3's key encoder, the costliest step of issuance.
  X509_PUBKEY* subject_spki = nullptr;
  Bytes serial;                  // big-endian, positive (see serial.h)
  int64_t now = 0;               // seconds since the epoch
  X509* issuer_cert = nullptr;   // null: self-signed with subject_key
  EVP_PKEY* issuer_key = nullptr;
  std::string crl_url;           // used when the profile asks for a CRL DP
  std::string ocsp_url;          // used when the profile asks for AIA OCSP
  // Extra SAN entries for TLS identities (DNS names, IP addresses).
  std::vector<std::string> extra_dns;
  std::vector<std::string> extra_ips;
};

Result<X509Ptr> BuildCertificate(const CertificateSpec& spec);

// DigestFor returns the signature digest for `profile` and the signing key:
// the profile's choice, else SHA-384 for P-384 and SHA-256 otherwise; null
// for Ed25519.
const EVP_MD* DigestFor(const Profile& profile, EVP_PKEY* signing_key);

// IsSafeUrl accepts http(s) URLs made of RFC 3986 characters except ',' (the
// extension builder's separator).
bool IsSafeUrl(std::string_view url);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_CERT_BUILDER_H_
