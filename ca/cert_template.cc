#include "ca/cert_template.h"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/status_macros.h"
#include "ca/cert_builder.h"
#include "ca/cert_fields.h"
#include "ca/der_parts.h"
#include "ca/keys.h"

namespace mirrorca::ca {
namespace {

// A value for every template name, so the prototype can be built before
// any device is known; its subject and SAN are rebuilt per certificate.
TemplateValues PlaceholderValues() {
  TemplateValues v;
  for (const char* name : {"device_serial", "product", "batch", "vid", "pid", "organization", "factory"}) {
    v[name] = "0000";
  }
  return v;
}

// SubjectKeyIdExtension: the "hash" method of RFC 5280 §4.2.1.2 (1),
// SHA-1 of the subjectPublicKey bits, as OpenSSL's "hash" value computes
// it; not critical.
Result<std::string> SubjectKeyIdExtension(X509_PUBKEY* spki, const EVP_MD* sha1) {
  const unsigned char* bits = nullptr;
  int len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, spki) != 1) return OpenSslError("read the subject key");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(bits, static_cast<size_t>(len), digest, &digest_len, sha1, nullptr) != 1) {
    return OpenSslError("hash the subject key");
  }
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(digest_len)) != 1) {
    return OpenSslError("subjectKeyIdentifier");
  }
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_key_identifier, 0, id.get()));
  std::string der = ext ? I2d(ext.get(), i2d_X509_EXTENSION) : std::string();
  if (der.empty()) return OpenSslError("encode subjectKeyIdentifier");
  return der;
}

}  // namespace

CertificateTemplate::~CertificateTemplate() = default;

Result<std::unique_ptr<CertificateTemplate>> CertificateTemplate::Create(const Profile& profile,
                                                                         const IssuingCa& issuer) {
  if (profile.is_ca) return Status::InvalidArgument("profile " + profile.name + " is a CA profile");
  std::unique_ptr<CertificateTemplate> t(new CertificateTemplate());
  t->profile_ = &profile;
  t->issuer_ = &issuer;
  ASSIGN_OR_RETURN(t->issuer_not_before_, NotBeforeOf(issuer.certificate()));
  for (const SubjectAttribute& attr : profile.subject) {
    Asn1ObjectPtr obj(OBJ_txt2obj(attr.type.c_str(), 0));
    if (!obj) return OpenSslError("subject attribute type " + attr.type);
    t->subject_.push_back({std::move(obj), attr.type, attr.value});
  }
  t->digest_ = DigestFor(profile, issuer.key());
  t->sha1_.reset(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  if (!t->sha1_) return OpenSslError("fetch SHA-1");
  t->max_signature_ = static_cast<size_t>(std::max(EVP_PKEY_get_size(issuer.key()), 0));
  if (t->digest_ != nullptr) {
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> signing(EVP_MD_CTX_new());
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> copy(EVP_MD_CTX_new());
    if (signing && copy && EVP_DigestSignInit(signing.get(), nullptr, t->digest_, nullptr, issuer.key()) == 1 &&
        EVP_MD_CTX_copy_ex(copy.get(), signing.get()) == 1) {
      t->signing_ = std::move(signing);
    }
    ERR_clear_error();
  }

  // The prototype: the generic builder's certificate for placeholder values.
  const TemplateValues placeholders = PlaceholderValues();
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey(KeyType::kP256));
  ASSIGN_OR_RETURN(X509Ptr prototype, issuer.Issue(profile, placeholders, key.get(), Bytes{1},
                                                   static_cast<int64_t>(t->issuer_not_before_)));
  const std::string prototype_tbs = I2d(prototype.get(), i2d_re_X509_tbs);
  ASSIGN_OR_RETURN(std::vector<std::string> elements, DerSequenceElements(prototype_tbs));
  // version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo[, extensions]
  if (elements.size() != 7 && elements.size() != 8) {
    return Status::Internal("the prototype certificate has " + std::to_string(elements.size()) +
                            " to-be-signed elements");
  }
  t->version_der_ = std::move(elements[0]);
  t->signature_algorithm_der_ = std::move(elements[2]);
  t->issuer_der_ = std::move(elements[3]);
  for (int i = 0; i < X509_get_ext_count(prototype.get()); ++i) {
    X509_EXTENSION* ext = X509_get_ext(prototype.get(), i);
    switch (OBJ_obj2nid(X509_EXTENSION_get_object(ext))) {
      case NID_subject_key_identifier:
        t->extensions_.push_back({Slot::kSubjectKeyId, {}});
        break;
      case NID_subject_alt_name:
        t->extensions_.push_back({Slot::kSubjectAltName, {}});
        break;
      default: {
        std::string der = I2d(ext, i2d_X509_EXTENSION);
        if (der.empty()) return OpenSslError("encode extension");
        t->extensions_.push_back({Slot::kConstant, std::move(der)});
      }
    }
  }
  // The template must rebuild its prototype exactly, or it is not used.
  TemplatedCertificate validity;
  ASSIGN_OR_RETURN(std::string rebuilt, t->ToBeSigned(placeholders, key.get(), nullptr, Bytes{1},
                                                      static_cast<int64_t>(t->issuer_not_before_), validity));
  if (rebuilt != prototype_tbs) {
    return Status::Internal("the certificate template for " + profile.name +
                            " does not rebuild the generic builder's certificate");
  }
  return t;
}

Result<std::string> CertificateTemplate::ToBeSigned(const TemplateValues& values, EVP_PKEY* subject_key,
                                                    X509_PUBKEY* subject_spki, const Bytes& serial, int64_t now,
                                                    TemplatedCertificate& validity) const {
  if ((subject_key == nullptr && subject_spki == nullptr) || serial.empty()) {
    return Status::InvalidArgument("a certificate needs a key and a serial");
  }
  BignumPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  Asn1IntegerPtr serial_int(serial_bn ? BN_to_ASN1_INTEGER(serial_bn.get(), nullptr) : nullptr);
  const std::string serial_der = serial_int ? I2d(serial_int.get(), i2d_ASN1_INTEGER) : std::string();
  if (serial_der.empty()) return OpenSslError("encode serial");

  Asn1TimePtr not_before(ASN1_TIME_new());
  Asn1TimePtr not_after(ASN1_TIME_new());
  if (!not_before || !not_after) return OpenSslError("allocate validity");
  RETURN_IF_ERROR(SetValidityTimes(not_before.get(), not_after.get(), *profile_, now, issuer_not_before_));
  ASSIGN_OR_RETURN(validity.not_before, SecondsOf(not_before.get(), "notBefore"));
  ASSIGN_OR_RETURN(validity.not_after, SecondsOf(not_after.get(), "notAfter"));
  const std::string not_before_der = I2d(not_before.get(), i2d_ASN1_TIME);
  const std::string not_after_der = I2d(not_after.get(), i2d_ASN1_TIME);
  if (not_before_der.empty() || not_after_der.empty()) return OpenSslError("encode validity");
  const std::string validity_der = DerSequence({not_before_der, not_after_der});

  // The subject: one attribute per relative distinguished name, as
  // X509_NAME_add_entry makes them, encoded without an X509_NAME (whose
  // encoder also builds a canonical form for lookups).
  std::vector<std::string> rdns;
  rdns.reserve(subject_.size());
  for (const SubjectPart& part : subject_) {
    ASSIGN_OR_RETURN(std::string value, ExpandTemplate(part.value_template, values));
    ASSIGN_OR_RETURN(X509NameEntryPtr entry, SubjectEntry(part.type.get(), part.type_name, value));
    const std::string entry_der = I2d(entry.get(), i2d_X509_NAME_ENTRY);
    if (entry_der.empty()) return OpenSslError("encode subject " + part.type_name);
    rdns.push_back(DerConstructed(V_ASN1_SET, V_ASN1_UNIVERSAL, {entry_der}));
  }
  const std::string subject_der =
      DerConstructed(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, std::vector<std::string_view>(rdns.begin(), rdns.end()));

  // A bare key is encoded once (an OpenSSL 3 encoder: only for keys made here).
  OpenSslPtr<X509_PUBKEY, X509_PUBKEY_free> own_spki;
  if (subject_spki == nullptr) {
    X509_PUBKEY* made = nullptr;
    if (X509_PUBKEY_set(&made, subject_key) != 1) return OpenSslError("encode the subject key");
    own_spki.reset(made);
    subject_spki = made;
  }
  const std::string spki_der = I2d(subject_spki, i2d_X509_PUBKEY);
  if (spki_der.empty()) return OpenSslError("encode the subject key");

  std::string key_id_der, alt_name_der;
  std::vector<std::string_view> extensions;
  extensions.reserve(extensions_.size());
  for (const Extension& e : extensions_) {
    switch (e.slot) {
      case Slot::kConstant:
        extensions.push_back(e.constant_der);
        break;
      case Slot::kSubjectKeyId: {
        ASSIGN_OR_RETURN(key_id_der, SubjectKeyIdExtension(subject_spki, sha1_.get()));
        extensions.push_back(key_id_der);
        break;
      }
      case Slot::kSubjectAltName: {
        ASSIGN_OR_RETURN(X509ExtensionPtr san, SubjectAltNameExtension(*profile_, values));
        if (!san) break;
        alt_name_der = I2d(san.get(), i2d_X509_EXTENSION);
        if (alt_name_der.empty()) return OpenSslError("encode SAN");
        extensions.push_back(alt_name_der);
        break;
      }
    }
  }
  std::string extensions_der;
  if (!extensions.empty()) {
    extensions_der = DerConstructed(3, V_ASN1_CONTEXT_SPECIFIC,
                                    {DerConstructed(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, extensions)});
  }
  return DerSequence({version_der_, serial_der, signature_algorithm_der_, issuer_der_, validity_der, subject_der,
                      spki_der, extensions_der});
}

Result<std::string> CertificateTemplate::SignatureBits(std::string_view tbs) const {
  OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("allocate signing context");
  if (signing_ ? EVP_MD_CTX_copy_ex(ctx.get(), signing_.get()) != 1
               : EVP_DigestSignInit(ctx.get(), nullptr, digest_, nullptr, issuer_->key()) != 1) {
    return OpenSslError("prepare signing");
  }
  std::string signature(max_signature_, '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) != 1) {
    return OpenSslError("sign certificate");
  }
  OpenSslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free> bits(ASN1_BIT_STRING_new());
  if (!bits || ASN1_BIT_STRING_set(bits.get(), reinterpret_cast<unsigned char*>(signature.data()),
                                   static_cast<int>(len)) != 1) {
    return OpenSslError("signature bits");
  }
  // Whole bytes: no unused bits (as ASN1_item_sign sets them).
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  std::string der = I2d(bits.get(), i2d_ASN1_BIT_STRING);
  if (der.empty()) return OpenSslError("encode signature");
  return der;
}

Result<TemplatedCertificate> CertificateTemplate::Issue(const TemplateValues& values, EVP_PKEY* subject_key,
                                                        X509_PUBKEY* subject_spki, const Bytes& serial,
                                                        int64_t now) const {
  TemplatedCertificate out;
  ASSIGN_OR_RETURN(std::string tbs, ToBeSigned(values, subject_key, subject_spki, serial, now, out));
  ASSIGN_OR_RETURN(std::string signature, SignatureBits(tbs));
  out.der = DerSequence({tbs, signature_algorithm_der_, signature});
  return out;
}

}  // namespace mirrorca::ca
