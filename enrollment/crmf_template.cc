#include "enrollment/crmf_template.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <memory>

namespace mirrorca::enrollment {
namespace {

// RFC 4211 §5, CertTemplate (the module's tags are IMPLICIT; a Name, being
// a CHOICE, is tagged explicitly). Only the fields read here are typed
// precisely; the validity is kept as a sequence of anything.
struct TemplateFields {
  ASN1_INTEGER* version;
  ASN1_INTEGER* serial_number;
  X509_ALGOR* signing_alg;
  X509_NAME* issuer;
  STACK_OF(ASN1_TYPE)* validity;
  X509_NAME* subject;
  X509_PUBKEY* public_key;
  ASN1_BIT_STRING* issuer_uid;
  ASN1_BIT_STRING* subject_uid;
  STACK_OF(X509_EXTENSION)* extensions;
};

}  // namespace
}  // namespace mirrorca::enrollment

using MIRRORCA_CRMF_TEMPLATE_FIELDS = mirrorca::enrollment::TemplateFields;

ASN1_SEQUENCE(MIRRORCA_CRMF_TEMPLATE_FIELDS) = {
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, version, ASN1_INTEGER, 0),
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, serial_number, ASN1_INTEGER, 1),
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, signing_alg, X509_ALGOR, 2),
    ASN1_EXP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, issuer, X509_NAME, 3),
    ASN1_IMP_SEQUENCE_OF_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, validity, ASN1_ANY, 4),
    ASN1_EXP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, subject, X509_NAME, 5),
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, public_key, X509_PUBKEY, 6),
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, issuer_uid, ASN1_BIT_STRING, 7),
    ASN1_IMP_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, subject_uid, ASN1_BIT_STRING, 8),
    ASN1_IMP_SEQUENCE_OF_OPT(MIRRORCA_CRMF_TEMPLATE_FIELDS, extensions, X509_EXTENSION, 9),
} ASN1_SEQUENCE_END(MIRRORCA_CRMF_TEMPLATE_FIELDS)

namespace mirrorca::enrollment {
namespace {

struct FreeFields {
  void operator()(TemplateFields* f) const {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(f), ASN1_ITEM_rptr(MIRRORCA_CRMF_TEMPLATE_FIELDS));
  }
};

}  // namespace

std::string SubjectSerial(const X509_NAME* name) {
  if (name == nullptr) return "";
  const int at = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
  if (at < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return "";
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

Result<CertTemplateRequest> ReadCertTemplate(const OSSL_CRMF_CERTTEMPLATE* tmpl) {
  unsigned char* der = nullptr;
  const int len = tmpl != nullptr ? i2d_OSSL_CRMF_CERTTEMPLATE(tmpl, &der) : -1;
  if (len <= 0) return Status::InvalidArgument("the certificate template does not encode");
  const unsigned char* p = der;
  std::unique_ptr<TemplateFields, FreeFields> fields(reinterpret_cast<TemplateFields*>(
      ASN1_item_d2i(nullptr, &p, len, ASN1_ITEM_rptr(MIRRORCA_CRMF_TEMPLATE_FIELDS))));
  const bool whole = fields != nullptr && p == der + len;
  OPENSSL_free(der);
  if (!whole) {
    ERR_clear_error();
    return Status::InvalidArgument("the certificate template does not decode as RFC 4211 CertTemplate");
  }
  CertTemplateRequest out;
  if (fields->public_key != nullptr) {
    unsigned char* spki = nullptr;
    const int n = i2d_X509_PUBKEY(fields->public_key, &spki);
    if (n <= 0) return Status::InvalidArgument("the template's public key does not encode");
    out.public_key_der.assign(reinterpret_cast<const char*>(spki), static_cast<size_t>(n));
    OPENSSL_free(spki);
  }
  out.has_subject = fields->subject != nullptr;
  out.subject_serial = SubjectSerial(fields->subject);
  return out;
}

}  // namespace mirrorca::enrollment
