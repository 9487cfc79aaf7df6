// CertificateTemplate: a device certificate's parts that are the same for
// every certificate one profile issues under one CA — the issuer name, the
// validity rule, the constant extensions (basicConstraints, keyUsage,
// extendedKeyUsage, authorityKeyIdentifier, CRL distribution point, AIA,
// OCSP no-check) and the signing context — built once; Issue fills in
// the rest per certificate (serial, subject, validity, key, subject key
// identifier, subjectAltName) and signs.
//
// A template works on encodings, not on an X509 object: the constant
// elements of the to-be-signed certificate (version, signature algorithm,
// issuer, the constant extensions) are the DER of a prototype certificate
// that BuildCertificate (the generic builder, still used for CA
// certificates and TLS identities) makes when the template is created, so
// both agree by construction; per certificate only the variable fields are
// encoded (by OpenSSL's i2d functions), framed (ca/der_parts.h) and signed.
// Create checks that the template rebuilds the prototype's to-be-signed
// bytes exactly, and ca/cert_template_test.cc that every certificate a
// template issues is the generic builder's, field by field and byte for
// byte, for every shipped device profile.
//
// Thread-safety: immutable after Create; Issue is safe from any thread.
#ifndef MIRRORCA_CA_CERT_TEMPLATE_H_
#define MIRRORCA_CA_CERT_TEMPLATE_H_

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/issuing_ca.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

// A certificate a template issued: its DER and its validity (seconds since
// the epoch).
struct TemplatedCertificate {
  std::string der;
  int64_t not_before = 0;
  int64_t not_after = 0;
};

class CertificateTemplate {
 public:
  // Create builds the template for `profile` (a device profile) under
  // `issuer`; both must outlive it.
  static Result<std::unique_ptr<CertificateTemplate>> Create(const Profile& profile, const IssuingCa& issuer);
  ~CertificateTemplate();

  // Issue builds and signs one certificate, as
  // BuildCertificate({profile, values, subject_key, subject_spki, serial,
  // now, issuer…}) would.
  Result<TemplatedCertificate> Issue(const TemplateValues& values, EVP_PKEY* subject_key,
                                     X509_PUBKEY* subject_spki, const Bytes& serial, int64_t now) const;

  const Profile& profile() const { return *profile_; }

 private:
  // Where each of the prototype's extensions comes from, in its order.
  enum class Slot { kConstant, kSubjectKeyId, kSubjectAltName };
  struct Extension {
    Slot slot;
    std::string constant_der;  // kConstant: the extension's encoding
  };
  struct SubjectPart {
    Asn1ObjectPtr type;
    std::string type_name;  // as the profile names it (errors)
    std::string value_template;
  };

  CertificateTemplate() = default;
  // ToBeSigned encodes the to-be-signed certificate and sets `validity`'s
  // times; SignatureBits signs it (the signatureValue BIT STRING).
  Result<std::string> ToBeSigned(const TemplateValues& values, EVP_PKEY* subject_key, X509_PUBKEY* subject_spki,
                                 const Bytes& serial, int64_t now, TemplatedCertificate& validity) const;
  Result<std::string> SignatureBits(std::string_view tbs) const;

  const Profile* profile_ = nullptr;
  const IssuingCa* issuer_ = nullptr;
  time_t issuer_not_before_ = 0;
  std::vector<SubjectPart> subject_;
  std::vector<Extension> extensions_;
  // The prototype's constant to-be-signed elements, encoded.
  std::string version_der_;
  std::string signature_algorithm_der_;  // also the certificate's outer one
  std::string issuer_der_;
  const EVP_MD* digest_ = nullptr;  // null for Ed25519 issuers
  size_t max_signature_ = 0;
  // A signing context initialized once with the CA key; each certificate
  // signs with a copy (no algorithm fetch or key export per signature).
  // Null: a fresh context per certificate (Ed25519 issuers, or if the
  // key's context cannot be copied).
  OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> signing_;
  OpenSslPtr<EVP_MD, EVP_MD_free> sha1_;  // the subject key identifier's hash, fetched once
};

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_CERT_TEMPLATE_H_
