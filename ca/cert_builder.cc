#include "ca/cert_builder.h"

#include <algorithm>
#include <ctime>

#include <openssl/evp.h>

#include "base/status_macros.h"
#include "ca/hardware_module_name.h"

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
    if (value.size() > 64) {
      return Status::InvalidArgument("subject " + attr.type + " is longer than 64 characters");
    }
    Asn1ObjectPtr obj(OBJ_txt2obj(attr.type.c_str(), 0));
    if (!obj) return OpenSslError("subject attribute type " + attr.type);
    if (X509_NAME_add_entry_by_OBJ(name.get(), obj.get(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return OpenSslError("subject " + attr.type, StatusCode::kInvalidArgument);
    }
  }
  if (X509_set_subject_name(cert, name.get()) != 1) return OpenSslError("set subject");
  return Status::Ok();
}

// SetValidity: notBefore is `now` less the profile's backdate, but never
// before the issuer's own notBefore (a relying party that validates the
// chain at the leaf's notBefore — Matter commissioners do — would otherwise
// find the issuer not yet valid); notAfter from the profile.
Status SetValidity(X509* cert, const Profile& profile, int64_t now, X509* issuer) {
  time_t not_before = static_cast<time_t>(now - profile.backdate_seconds);
  if (issuer != nullptr) {
    std::tm t{};
    if (ASN1_TIME_to_tm(X509_get0_notBefore(issuer), &t) != 1) return OpenSslError("read the issuer's notBefore");
    not_before = std::max(not_before, timegm(&t));
  }
  if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &not_before) == nullptr) {
    return OpenSslError("set notBefore");
  }
  if (!profile.not_after.empty()) {
    if (ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), profile.not_after.c_str()) != 1) {
      return OpenSslError("set notAfter " + profile.not_after, StatusCode::kInvalidArgument);
    }
  } else {
    time_t start = static_cast<time_t>(now);
    if (X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(profile.validity_days), 0,
                         &start) == nullptr) {
      return OpenSslError("set notAfter");
    }
  }
  return Status::Ok();
}

Status AddSubjectAltName(X509* cert, const CertificateSpec& spec) {
  const Profile& p = *spec.profile;
  if (!p.hardware_module_name && p.san_dns.empty() && p.san_uri.empty() &&
      spec.extra_dns.empty() && spec.extra_ips.empty()) {
    return Status::Ok();
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return OpenSslError("allocate SAN");
  auto push = [&](GeneralNamePtr n) -> Status {
    if (sk_GENERAL_NAME_push(names.get(), n.get()) == 0) return OpenSslError("push SAN");
    n.release();
    return Status::Ok();
  };
  if (p.hardware_module_name) {
    ASSIGN_OR_RETURN(std::string serial,
                     ExpandTemplate(p.hardware_module_name->hw_serial, spec.values));
    ASSIGN_OR_RETURN(GeneralNamePtr hw,
                     MakeHardwareModuleName(p.hardware_module_name->hw_type, serial));
    RETURN_IF_ERROR(push(std::move(hw)));
  }
  auto push_string = [&](int type, const std::string& value) -> Status {
    GeneralNamePtr n(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0));
    if (!n) return OpenSslError("SAN entry '" + value + "'", StatusCode::kInvalidArgument);
    return push(std::move(n));
  };
  for (const std::string& t : p.san_dns) {
    ASSIGN_OR_RETURN(std::string v, ExpandTemplate(t, spec.values));
    RETURN_IF_ERROR(push_string(GEN_DNS, v));
  }
  for (const std::string& t : p.san_uri) {
    ASSIGN_OR_RETURN(std::string v, ExpandTemplate(t, spec.values));
    RETURN_IF_ERROR(push_string(GEN_URI, v));
  }
  for (const std::string& v : spec.extra_dns) RETURN_IF_ERROR(push_string(GEN_DNS, v));
  for (const std::string& v : spec.extra_ips) RETURN_IF_ERROR(push_string(GEN_IPADD, v));
  // SAN is critical when the subject is empty (RFC 5280 §4.2.1.6); ours never is.
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("add SAN");
  }
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
  BignumPtr bn(BN_bin2bn(spec.serial.data(), static_cast<int>(spec.serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("set serial");
  }
  RETURN_IF_ERROR(SetSubject(cert.get(), p, spec.values));
  X509_NAME* issuer_name =
      self_signed ? X509_get_subject_name(cert.get()) : X509_get_subject_name(spec.issuer_cert);
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return OpenSslError("set issuer");
  RETURN_IF_ERROR(SetValidity(cert.get(), p, spec.now, spec.issuer_cert));
  if (spec.subject_spki != nullptr) {
    ASN1_OBJECT* alg = nullptr;
    const unsigned char* key = nullptr;
    int key_len = 0;
    X509_ALGOR* params = nullptr;
    if (X509_PUBKEY_get0_param(&alg, &key, &key_len, &params, spec.subject_spki) != 1) {
      return OpenSslError("read subject public key");
    }
    int ptype = V_ASN1_UNDEF;
    const void* pval = nullptr;
    X509_ALGOR_get0(nullptr, &ptype, &pval, params);
    void* pval_copy = nullptr;
    if (ptype == V_ASN1_OBJECT) {
      pval_copy = OBJ_dup(static_cast<const ASN1_OBJECT*>(pval));
    } else if (ptype == V_ASN1_SEQUENCE) {
      pval_copy = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(pval));
    } else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
      return Status::InvalidArgument("unsupported public key parameters");
    }
    auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(key, static_cast<size_t>(key_len)));
    if (bits == nullptr ||
        X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert.get()), OBJ_dup(alg), ptype, pval_copy,
                               bits, key_len) != 1) {
      OPENSSL_free(bits);
      return OpenSslError("set public key");
    }
  } else if (X509_set_pubkey(cert.get(), spec.subject_key) != 1) {
    return OpenSslError("set public key");
  }

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
  RETURN_IF_ERROR(AddSubjectAltName(cert.get(), spec));
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
