#include "validation/crl_builder.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/status_macros.h"

namespace mirrorca::validation {
namespace {

using CrlPtr = ca::OpenSslPtr<X509_CRL, X509_CRL_free>;
using RevokedPtr = ca::OpenSslPtr<X509_REVOKED, X509_REVOKED_free>;
using EnumPtr = ca::OpenSslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using IdpPtr = ca::OpenSslPtr<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>;
using GenTimePtr = ca::OpenSslPtr<ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_free>;

Result<ca::Asn1IntegerPtr> Integer(ByteSpan magnitude) {
  ca::BignumPtr bn(BN_bin2bn(magnitude.data(), static_cast<int>(magnitude.size()), nullptr));
  if (!bn) return ca::OpenSslError("serial");
  ca::Asn1IntegerPtr i(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!i) return ca::OpenSslError("serial");
  return i;
}

Result<ca::Asn1IntegerPtr> Integer(uint64_t v) {
  ca::Asn1IntegerPtr i(ASN1_INTEGER_new());
  if (!i || ASN1_INTEGER_set_uint64(i.get(), v) != 1) return ca::OpenSslError("integer");
  return i;
}

Status AddEntry(X509_CRL* crl, const CrlEntry& e) {
  if (e.serial.empty()) return Status::InvalidArgument("CRL entry without a serial");
  RevokedPtr r(X509_REVOKED_new());
  ASSIGN_OR_RETURN(ca::Asn1IntegerPtr serial, Integer(e.serial));
  ca::Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(e.revocation_time)));
  if (!r || !when || X509_REVOKED_set_serialNumber(r.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(r.get(), when.get()) != 1) {
    return ca::OpenSslError("CRL entry");
  }
  if (e.reason != 0) {
    EnumPtr reason(ASN1_ENUMERATED_new());
    if (!reason || ASN1_ENUMERATED_set(reason.get(), e.reason) != 1 ||
        X509_REVOKED_add1_ext_i2d(r.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
      return ca::OpenSslError("CRL entry reason");
    }
  }
  if (e.invalidity_date != 0) {
    GenTimePtr t(ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(e.invalidity_date)));
    if (!t || X509_REVOKED_add1_ext_i2d(r.get(), NID_invalidity_date, t.get(), 0, 0) != 1) {
      return ca::OpenSslError("CRL entry invalidity date");
    }
  }
  if (X509_CRL_add0_revoked(crl, r.get()) != 1) return ca::OpenSslError("add CRL entry");
  (void)r.release();
  return Status::Ok();
}

Status AddDistributionPoint(X509_CRL* crl, const std::string& uri) {
  IdpPtr idp(ISSUING_DIST_POINT_new());
  DIST_POINT_NAME* name = DIST_POINT_NAME_new();
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!idp || !name || !names || !gn || !ia5 ||
      ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
    DIST_POINT_NAME_free(name);
    GENERAL_NAMES_free(names);
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    return ca::OpenSslError("issuing distribution point");
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
  sk_GENERAL_NAME_push(names, gn);
  name->type = 0;  // fullName
  name->name.fullname = names;
  idp->distpoint = name;
  if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp.get(), 1, 0) != 1) {
    return ca::OpenSslError("issuing distribution point");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> BuildCrl(X509* issuer, EVP_PKEY* key, const CrlSpec& spec,
                             const std::vector<CrlEntry>& entries) {
  CrlPtr crl(X509_CRL_new());
  ca::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.this_update)));
  ca::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.next_update)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return ca::OpenSslError("CRL header");
  }
  for (const CrlEntry& e : entries) RETURN_IF_ERROR(AddEntry(crl.get(), e));
  ASSIGN_OR_RETURN(ca::Asn1IntegerPtr number, Integer(spec.number));
  if (X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return ca::OpenSslError("CRL number");
  }
  if (spec.delta_base) {
    ASSIGN_OR_RETURN(ca::Asn1IntegerPtr base, Integer(*spec.delta_base));
    if (X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0) != 1) {
      return ca::OpenSslError("delta CRL indicator");
    }
  }
  // Authority key identifier: the issuer's subject key identifier.
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(issuer);
  if (skid != nullptr) {
    AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
    if (akid == nullptr) return ca::OpenSslError("AKID");
    akid->keyid = ASN1_OCTET_STRING_dup(skid);
    int ok = akid->keyid != nullptr &&
             X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid, 0, 0) == 1;
    AUTHORITY_KEYID_free(akid);
    if (!ok) return ca::OpenSslError("AKID");
  }
  if (!spec.distribution_point.empty()) {
    RETURN_IF_ERROR(AddDistributionPoint(crl.get(), spec.distribution_point));
  }
  if (!spec.freshest_crl.empty()) {
    // Where the deltas are (RFC 5280 §5.2.6); relying parties look for
    // deltas only when the base CRL or the certificate names them.
    ca::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_freshest_crl,
                                                 ("URI:" + spec.freshest_crl).c_str()));
    if (!ext || X509_CRL_add_ext(crl.get(), ext.get(), -1) != 1) {
      return ca::OpenSslError("freshest CRL");
    }
  }
  X509_CRL_sort(crl.get());
  const EVP_MD* md = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_CRL_sign(crl.get(), key, md) <= 0) return ca::OpenSslError("sign CRL");
  int len = i2d_X509_CRL(crl.get(), nullptr);
  if (len <= 0) return ca::OpenSslError("encode CRL");
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_CRL(crl.get(), &p) != len) return ca::OpenSslError("encode CRL");
  return der;
}

}  // namespace mirrorca::validation
