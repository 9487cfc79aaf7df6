// CrmfTemplate: what a CRMF CertTemplate (RFC 4211 §5) asks for — the
// public key and the subject — read with OpenSSL's ASN.1 codec. OpenSSL 3.0
// (Debian 12) has no getter for a template's public key
// (OSSL_CRMF_CERTTEMPLATE_get0_publicKey came in 3.2), so the template is
// encoded by OpenSSL and decoded again through an ASN.1 item declared here
// with OpenSSL's template macros: no hand-written DER.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_ENROLLMENT_CRMF_TEMPLATE_H_
#define MIRRORCA_ENROLLMENT_CRMF_TEMPLATE_H_

#include <openssl/crmf.h>

#include <string>

#include "base/result.h"

namespace mirrorca::enrollment {

struct CertTemplateRequest {
  std::string public_key_der;  // SubjectPublicKeyInfo, DER ("" when the template has none)
  std::string subject_serial;  // the subject's serialNumber attribute ("" when absent)
  bool has_subject = false;
};

// ReadCertTemplate decodes what `tmpl` asks for; InvalidArgument when it
// does not encode or decode (never expected of a template OpenSSL parsed).
Result<CertTemplateRequest> ReadCertTemplate(const OSSL_CRMF_CERTTEMPLATE* tmpl);

// SubjectSerial: the first serialNumber attribute of `name` as UTF-8 ("" when none).
std::string SubjectSerial(const X509_NAME* name);

}  // namespace mirrorca::enrollment

#endif  // MIRRORCA_ENROLLMENT_CRMF_TEMPLATE_H_
