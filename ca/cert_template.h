// CertificateTemplate: a device certificate's parts that are the same for
// every certificate one profile issues under one CA — the issuer name, the
// validity rule, the constant extensions (basicConstraints, keyUsage,
// extendedKeyUsage, authorityKeyIdentifier, CRL distribution point, AIA,
// OCSP no-check) and the signing context — built once; Issue fills in
// the rest per certificate (serial, subject, validity, key, subject key
// identifier, subjectAltName) and signs.
//
// The constant extensions are taken from a prototype certificate that
// BuildCertificate (the generic builder, still used for CA certificates and
// TLS identities) makes when the template is created, so both agree by
// construction; ca/cert_template_test.cc checks that every certificate a
// template issues is byte for byte the generic builder's, field by field,
// for every shipped device profile.
//
// Thread-safety: immutable after Create; Issue is safe from any thread.
#ifndef MIRRORCA_CA_CERT_TEMPLATE_H_
#define MIRRORCA_CA_CERT_TEMPLATE_H_

#include <ctime>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/issuing_ca.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

class CertificateTemplate {
 public:
  // Create builds the template for `profile` (a device profile) under
  // `issuer`; both must outlive it.
  static Result<std::unique_ptr<CertificateTemplate>> Create(const Profile& profile, const IssuingCa& issuer);
  ~CertificateTemplate();

  // Issue builds and signs one certificate, as
  // BuildCertificate({profile, values, subject_key, subject_spki, serial,
  // now, issuer…}) would.
  Result<X509Ptr> Issue(const TemplateValues& values, EVP_PKEY* subject_key, X509_PUBKEY* subject_spki,
                        const Bytes& serial, int64_t now) const;

  const Profile& profile() const { return *profile_; }

 private:
  // Where each of the prototype's extensions comes from, in its order.
  enum class Slot { kConstant, kSubjectKeyId, kSubjectAltName };
  struct Extension {
    Slot slot;
    X509ExtensionPtr constant;  // kConstant
  };
  struct SubjectPart {
    Asn1ObjectPtr type;
    std::string type_name;  // as the profile names it (errors)
    std::string value_template;
  };

  CertificateTemplate() = default;

  const Profile* profile_ = nullptr;
  const IssuingCa* issuer_ = nullptr;
  X509NamePtr issuer_name_;
  time_t issuer_not_before_ = 0;
  std::vector<SubjectPart> subject_;
  std::vector<Extension> extensions_;
  const EVP_MD* digest_ = nullptr;  // null for Ed25519 issuers
  // A signing context initialized once with the CA key; each certificate
  // signs with a copy (no algorithm fetch or key export per signature).
  // Null: X509_sign per certificate (Ed25519 issuers, or if the key's
  // context cannot be copied).
  OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> signing_;
  OpenSslPtr<EVP_MD, EVP_MD_free> sha1_;  // the subject key identifier's hash, fetched once
};

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_CERT_TEMPLATE_H_
