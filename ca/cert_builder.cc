#include "ca/cert_builder.h"

#include <algorithm>
#include <ctime>

#include <openssl/evp.h>

#include "base/status_macros.h"
#include "ca/cert_fields.h"

namespace mirrorca::ca {
namespace {

Status AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) {
    return OpenSslError(std::string("build extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("add extension");
  return Status::Ok();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

Status SetSubject(X509* cert, const Profile& profile, const TemplateValues& values) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("allocate name");
  for (const SubjectAttribute& attr : profile.subject) {
    ASSIGN_OR_RETURN(std::string value, ExpandTemplate(attr.value, values));
    Asn1ObjectPtr obj(OBJ_txt2obj(attr.type.c_str(), 0));
    if (!obj) return OpenSslError("subject attribute type " + attr.type);
    RETURN_IF_ERROR(AddSubjectEntry(name.get(), obj.get(), attr.type, value));
  }
  if (X509_set_subject_name(cert, name.get()) != 1) return OpenSslError("set subject");
  return Status::Ok();
}

}  // namespace

bool IsSafeUrl(std::string_view url) {
  if (!(url.starts_with("http://") || url.starts_with("https://")) || url.size() > 512) {
    return false;
  }
  for (char c : url) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~:/?#[]@!$&'()*+;=%").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

const EVP_MD* DigestFor(const Profile& profile, EVP_PKEY* signing_key) {
  const KeyType t = ClassifyKey(signing_key);
  if (t == KeyType::kEd25519) return nullptr;
  if (profile.digest == "sha384") return EVP_sha384();
  if (profile.digest == "sha256") return EVP_sha256();
  return t == KeyType::kP384 ? EVP_sha384() : EVP_sha256();
}

Result<X509Ptr> BuildCertificate(const CertificateSpec& spec) {
  if (spec.profile == nullptr || spec.subject_key == nullptr || spec.serial.empty()) {
    return Status::InvalidArgument("certificate spec needs a profile, a key and a serial");
  }
  const Profile& p = *spec.profile;
  const bool self_signed = spec.issuer_cert == nullptr;
  EVP_PKEY* signing_key = self_signed ? spec.subject_key : spec.issuer_key;
  if (signing_key == nullptr) return Status::InvalidArgument("no issuer key");

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("allocate certificate");
  }
  RETURN_IF_ERROR(SetSerial(cert.get(), spec.serial));
  RETURN_IF_ERROR(SetSubject(cert.get(), p, spec.values));
  X509_NAME* issuer_name =
      self_signed ? X509_get_subject_name(cert.get()) : X509_get_subject_name(spec.issuer_cert);
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return OpenSslError("set issuer");
  time_t issuer_not_before = 0;
  if (!self_signed) {
    ASSIGN_OR_RETURN(issuer_not_before, NotBeforeOf(spec.issuer_cert));
  }
  RETURN_IF_ERROR(SetValidity(cert.get(), p, spec.now, issuer_not_before));
  RETURN_IF_ERROR(SetSubjectPublicKey(cert.get(), spec.subject_spki, spec.subject_key));

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, self_signed ? cert.get() : spec.issuer_cert, cert.get(), nullptr, nullptr,
                 0);
  switch (p.basic_constraints) {
    case BasicConstraints::kAbsent:
      break;
    case BasicConstraints::kCaFalse:
      RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE"));
      break;
    case BasicConstraints::kCaFalseCritical:
      RETURN_IF_ERROR(
          AddConfExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
      break;
    case BasicConstraints::kCaTrueCritical: {
      std::string v = "critical,CA:TRUE";
      if (p.path_len) v += ",pathlen:" + std::to_string(*p.path_len);
      RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_basic_constraints, v));
      break;
    }
  }
  RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_key_usage,
                                   (p.key_usage_critical ? "critical," : "") + Join(p.key_usage)));
  if (!p.extended_key_usage.empty()) {
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_ext_key_usage, Join(p.extended_key_usage)));
  }
  if (p.subject_key_id) {
    RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  }
  if (p.authority_key_id) {
    // For a self-signed root the AKID repeats the SKID (set above).
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  }
  RETURN_IF_ERROR(AddSubjectAltName(cert.get(), p, spec.values, spec.extra_dns, spec.extra_ips));
  if (p.crl_distribution_point && !spec.crl_url.empty()) {
    if (!IsSafeUrl(spec.crl_url)) return Status::InvalidArgument("bad CRL URL " + spec.crl_url);
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_crl_distribution_points, "URI:" + spec.crl_url));
  }
  if (p.ocsp_url && !spec.ocsp_url.empty()) {
    if (!IsSafeUrl(spec.ocsp_url)) return Status::InvalidArgument("bad OCSP URL " + spec.ocsp_url);
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_info_access, "OCSP;URI:" + spec.ocsp_url));
  }
  if (p.ocsp_nocheck) {
    RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_id_pkix_OCSP_noCheck, "ignored"));
  }
  if (X509_sign(cert.get(), signing_key, DigestFor(p, signing_key)) <= 0) {
    return OpenSslError("sign certificate");
  }
  return cert;
}

}  // namespace mirrorca::ca
