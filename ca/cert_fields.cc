#include "ca/cert_fields.h"

#include <algorithm>

#include <openssl/x509v3.h>

#include "base/status_macros.h"
#include "ca/hardware_module_name.h"

namespace mirrorca::ca {

Status SetSerial(X509* cert, const Bytes& serial) {
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("set serial");
  }
  return Status::Ok();
}

Result<X509NameEntryPtr> SubjectEntry(const ASN1_OBJECT* type, const std::string& type_name,
                                      const std::string& value) {
  if (value.size() > 64) {
    return Status::InvalidArgument("subject " + type_name + " is longer than 64 characters");
  }
  X509NameEntryPtr entry(X509_NAME_ENTRY_create_by_OBJ(nullptr, type, MBSTRING_UTF8,
                                                       reinterpret_cast<const unsigned char*>(value.data()),
                                                       static_cast<int>(value.size())));
  if (!entry) return OpenSslError("subject " + type_name, StatusCode::kInvalidArgument);
  return entry;
}

Status AddSubjectEntry(X509_NAME* name, const ASN1_OBJECT* type, const std::string& type_name,
                       const std::string& value) {
  ASSIGN_OR_RETURN(X509NameEntryPtr entry, SubjectEntry(type, type_name, value));
  if (X509_NAME_add_entry(name, entry.get(), -1, 0) != 1) {
    return OpenSslError("subject " + type_name, StatusCode::kInvalidArgument);
  }
  return Status::Ok();
}

Result<int64_t> SecondsOf(const ASN1_TIME* t, const char* what) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return OpenSslError(std::string("read ") + what);
  return static_cast<int64_t>(timegm(&tm));
}

Result<time_t> NotBeforeOf(X509* cert) {
  ASSIGN_OR_RETURN(int64_t seconds, SecondsOf(X509_get0_notBefore(cert), "notBefore"));
  return static_cast<time_t>(seconds);
}

Status SetValidityTimes(ASN1_TIME* not_before_out, ASN1_TIME* not_after_out, const Profile& profile, int64_t now,
                        time_t issuer_not_before) {
  time_t not_before = std::max(static_cast<time_t>(now - profile.backdate_seconds), issuer_not_before);
  if (X509_time_adj_ex(not_before_out, 0, 0, &not_before) == nullptr) {
    return OpenSslError("set notBefore");
  }
  if (!profile.not_after.empty()) {
    if (ASN1_TIME_set_string_X509(not_after_out, profile.not_after.c_str()) != 1) {
      return OpenSslError("set notAfter " + profile.not_after, StatusCode::kInvalidArgument);
    }
  } else {
    time_t start = static_cast<time_t>(now);
    if (X509_time_adj_ex(not_after_out, static_cast<int>(profile.validity_days), 0, &start) == nullptr) {
      return OpenSslError("set notAfter");
    }
  }
  return Status::Ok();
}

Status SetValidity(X509* cert, const Profile& profile, int64_t now, time_t issuer_not_before) {
  return SetValidityTimes(X509_getm_notBefore(cert), X509_getm_notAfter(cert), profile, now, issuer_not_before);
}

Status SetSubjectPublicKey(X509* cert, X509_PUBKEY* spki, EVP_PKEY* key) {
  if (spki == nullptr) {
    if (X509_set_pubkey(cert, key) != 1) return OpenSslError("set public key");
    return Status::Ok();
  }
  ASN1_OBJECT* alg = nullptr;
  const unsigned char* bits_in = nullptr;
  int key_len = 0;
  X509_ALGOR* params = nullptr;
  if (X509_PUBKEY_get0_param(&alg, &bits_in, &key_len, &params, spki) != 1) {
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
  auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(bits_in, static_cast<size_t>(key_len)));
  if (bits == nullptr || X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_dup(alg), ptype, pval_copy, bits,
                                                key_len) != 1) {
    OPENSSL_free(bits);
    return OpenSslError("set public key");
  }
  return Status::Ok();
}

Result<X509ExtensionPtr> SubjectAltNameExtension(const Profile& p, const TemplateValues& values,
                                                 const std::vector<std::string>& extra_dns,
                                                 const std::vector<std::string>& extra_ips) {
  if (!p.hardware_module_name && p.san_dns.empty() && p.san_uri.empty() && extra_dns.empty() && extra_ips.empty()) {
    return X509ExtensionPtr();
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return OpenSslError("allocate SAN");
  auto push = [&](GeneralNamePtr n) -> Status {
    if (sk_GENERAL_NAME_push(names.get(), n.get()) == 0) return OpenSslError("push SAN");
    n.release();
    return Status::Ok();
  };
  if (p.hardware_module_name) {
    ASSIGN_OR_RETURN(std::string serial, ExpandTemplate(p.hardware_module_name->hw_serial, values));
    ASSIGN_OR_RETURN(GeneralNamePtr hw, MakeHardwareModuleName(p.hardware_module_name->hw_type, serial));
    RETURN_IF_ERROR(push(std::move(hw)));
  }
  auto push_string = [&](int type, const std::string& value) -> Status {
    GeneralNamePtr n(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0));
    if (!n) return OpenSslError("SAN entry '" + value + "'", StatusCode::kInvalidArgument);
    return push(std::move(n));
  };
  for (const std::string& t : p.san_dns) {
    ASSIGN_OR_RETURN(std::string v, ExpandTemplate(t, values));
    RETURN_IF_ERROR(push_string(GEN_DNS, v));
  }
  for (const std::string& t : p.san_uri) {
    ASSIGN_OR_RETURN(std::string v, ExpandTemplate(t, values));
    RETURN_IF_ERROR(push_string(GEN_URI, v));
  }
  for (const std::string& v : extra_dns) RETURN_IF_ERROR(push_string(GEN_DNS, v));
  for (const std::string& v : extra_ips) RETURN_IF_ERROR(push_string(GEN_IPADD, v));
  // SAN is critical when the subject is empty (RFC 5280 §4.2.1.6); ours never is.
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!ext) return OpenSslError("encode SAN");
  return ext;
}

Status AddSubjectAltName(X509* cert, const Profile& p, const TemplateValues& values,
                         const std::vector<std::string>& extra_dns, const std::vector<std::string>& extra_ips) {
  ASSIGN_OR_RETURN(X509ExtensionPtr ext, SubjectAltNameExtension(p, values, extra_dns, extra_ips));
  if (ext && X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("add SAN");
  return Status::Ok();
}

}  // namespace mirrorca::ca
