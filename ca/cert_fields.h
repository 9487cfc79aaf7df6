// The per-certificate fields of a certificate, set the same way by both
// builders: BuildCertificate (every field per certificate) and
// CertificateTemplate (a batch's constant parts built once).
//
// Thread-safety: free functions, safe from any thread; they only read the
// profile and values they are given.
#ifndef MIRRORCA_CA_CERT_FIELDS_H_
#define MIRRORCA_CA_CERT_FIELDS_H_

#include <ctime>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

// SetSerial sets the serialNumber from `serial` (big-endian, positive).
Status SetSerial(X509* cert, const Bytes& serial);

// AddSubjectEntry appends one attribute (`type` is its name in errors) with
// the value `value` encoded as OpenSSL's string table says for that type.
// SubjectEntry is that attribute alone (its own relative distinguished name).
Status AddSubjectEntry(X509_NAME* name, const ASN1_OBJECT* type, const std::string& type_name,
                       const std::string& value);
Result<X509NameEntryPtr> SubjectEntry(const ASN1_OBJECT* type, const std::string& type_name,
                                      const std::string& value);

// SetValidity: notBefore is `now` less the profile's backdate, but never
// before `issuer_not_before` (a relying party that validates the chain at
// the leaf's notBefore — Matter commissioners do — would otherwise find the
// issuer not yet valid); notAfter from the profile.
Status SetValidity(X509* cert, const Profile& profile, int64_t now, time_t issuer_not_before);
// SetValidityTimes: the same two times, set in `not_before` and `not_after`.
Status SetValidityTimes(ASN1_TIME* not_before, ASN1_TIME* not_after, const Profile& profile, int64_t now,
                        time_t issuer_not_before);

// NotBeforeOf reads a certificate's notBefore as seconds since the epoch;
// SecondsOf any certificate time (`what` names it in an error).
Result<time_t> NotBeforeOf(X509* cert);
Result<int64_t> SecondsOf(const ASN1_TIME* t, const char* what);

// SetSubjectPublicKey copies `spki` (as a request encoded it) into the
// certificate, avoiding OpenSSL 3's key encoder; without one, `key`.
Status SetSubjectPublicKey(X509* cert, X509_PUBKEY* spki, EVP_PKEY* key);

// AddSubjectAltName adds the profile's subjectAltName (hardware module
// name, DNS and URI templates) and the extra DNS names and IP addresses;
// nothing when there are none.
// SubjectAltNameExtension is that extension alone (null when there is none).
Status AddSubjectAltName(X509* cert, const Profile& profile, const TemplateValues& values,
                         const std::vector<std::string>& extra_dns = {},
                         const std::vector<std::string>& extra_ips = {});
Result<X509ExtensionPtr> SubjectAltNameExtension(const Profile& profile, const TemplateValues& values,
                                                 const std::vector<std::string>& extra_dns = {},
                                                 const std::vector<std::string>& extra_ips = {});

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_CERT_FIELDS_H_
