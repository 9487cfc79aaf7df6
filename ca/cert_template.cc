#include "ca/cert_template.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/status_macros.h"
#include "ca/cert_builder.h"
#include "ca/cert_fields.h"
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

// SubjectKeyId: the "hash" method of RFC 5280 §4.2.1.2 (1), SHA-1 of the
// subjectPublicKey bits, as OpenSSL's "hash" value computes it.
Status AddSubjectKeyId(X509* cert, const EVP_MD* sha1) {
  const unsigned char* bits = nullptr;
  int len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, X509_get_X509_PUBKEY(cert)) != 1) {
    return OpenSslError("read the subject key");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(bits, static_cast<size_t>(len), digest, &digest_len, sha1, nullptr) != 1) {
    return OpenSslError("hash the subject key");
  }
  OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> id(ASN1_OCTET_STRING_new());
  if (!id || ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(digest_len)) != 1 ||
      X509_add1_ext_i2d(cert, NID_subject_key_identifier, id.get(), 0, X509V3_ADD_APPEND) != 1) {
    return OpenSslError("add subjectKeyIdentifier");
  }
  return Status::Ok();
}

}  // namespace

CertificateTemplate::~CertificateTemplate() = default;

Result<std::unique_ptr<CertificateTemplate>> CertificateTemplate::Create(const Profile& profile,
                                                                         const IssuingCa& issuer) {
  if (profile.is_ca) return Status::InvalidArgument("profile " + profile.name + " is a CA profile");
  std::unique_ptr<CertificateTemplate> t(new CertificateTemplate());
  t->profile_ = &profile;
  t->issuer_ = &issuer;
  t->issuer_name_.reset(X509_NAME_dup(X509_get_subject_name(issuer.certificate())));
  if (!t->issuer_name_) return OpenSslError("copy the issuer name");
  ASSIGN_OR_RETURN(t->issuer_not_before_, NotBeforeOf(issuer.certificate()));
  for (const SubjectAttribute& attr : profile.subject) {
    Asn1ObjectPtr obj(OBJ_txt2obj(attr.type.c_str(), 0));
    if (!obj) return OpenSslError("subject attribute type " + attr.type);
    t->subject_.push_back({std::move(obj), attr.type, attr.value});
  }
  t->digest_ = DigestFor(profile, issuer.key());
  t->sha1_.reset(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  if (!t->sha1_) return OpenSslError("fetch SHA-1");
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
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey(KeyType::kP256));
  ASSIGN_OR_RETURN(X509Ptr prototype, issuer.Issue(profile, PlaceholderValues(), key.get(), Bytes{1},
                                                   static_cast<int64_t>(t->issuer_not_before_)));
  for (int i = 0; i < X509_get_ext_count(prototype.get()); ++i) {
    X509_EXTENSION* ext = X509_get_ext(prototype.get(), i);
    switch (OBJ_obj2nid(X509_EXTENSION_get_object(ext))) {
      case NID_subject_key_identifier:
        t->extensions_.push_back({Slot::kSubjectKeyId, nullptr});
        break;
      case NID_subject_alt_name:
        t->extensions_.push_back({Slot::kSubjectAltName, nullptr});
        break;
      default: {
        X509ExtensionPtr copy(X509_EXTENSION_dup(ext));
        if (!copy) return OpenSslError("copy extension");
        t->extensions_.push_back({Slot::kConstant, std::move(copy)});
      }
    }
  }
  return t;
}

Result<X509Ptr> CertificateTemplate::Issue(const TemplateValues& values, EVP_PKEY* subject_key,
                                           X509_PUBKEY* subject_spki, const Bytes& serial, int64_t now) const {
  if ((subject_key == nullptr && subject_spki == nullptr) || serial.empty()) {
    return Status::InvalidArgument("a certificate needs a key and a serial");
  }
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("allocate certificate");
  RETURN_IF_ERROR(SetSerial(cert.get(), serial));
  // The subject is built in the certificate's own name (setting a name
  // copies it: an encode and a parse).
  for (const SubjectPart& part : subject_) {
    ASSIGN_OR_RETURN(std::string value, ExpandTemplate(part.value_template, values));
    RETURN_IF_ERROR(AddSubjectEntry(X509_get_subject_name(cert.get()), part.type.get(), part.type_name, value));
  }
  if (X509_set_issuer_name(cert.get(), issuer_name_.get()) != 1) return OpenSslError("set issuer");
  RETURN_IF_ERROR(SetValidity(cert.get(), *profile_, now, issuer_not_before_));
  RETURN_IF_ERROR(SetSubjectPublicKey(cert.get(), subject_spki, subject_key));
  for (const Extension& e : extensions_) {
    switch (e.slot) {
      case Slot::kConstant:
        if (X509_add_ext(cert.get(), e.constant.get(), -1) != 1) return OpenSslError("add extension");
        break;
      case Slot::kSubjectKeyId:
        RETURN_IF_ERROR(AddSubjectKeyId(cert.get(), sha1_.get()));
        break;
      case Slot::kSubjectAltName:
        RETURN_IF_ERROR(AddSubjectAltName(cert.get(), *profile_, values));
        break;
    }
  }
  if (signing_) {
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), signing_.get()) != 1 || X509_sign_ctx(cert.get(), ctx.get()) <= 0) {
      return OpenSslError("sign certificate");
    }
  } else if (X509_sign(cert.get(), issuer_->key(), digest_) <= 0) {
    return OpenSslError("sign certificate");
  }
  return cert;
}

}  // namespace mirrorca::ca
