// Internal to validation/: the OCSP pieces the on-demand responder
// (ocsp_responder.cc) and the pre-signer (ocsp_presigning.cc) share — the
// OpenSSL pointer types, DER encoding, what a certificate's status is from
// its record, and the extended-revoke extension.
//
// Thread-safety: free functions.
#ifndef MIRRORCA_VALIDATION_OCSP_INTERNAL_H_
#define MIRRORCA_VALIDATION_OCSP_INTERNAL_H_

#include <openssl/ocsp.h>

#include <optional>
#include <string>
#include <string_view>

#include "ca/openssl_types.h"
#include "engine/status_records.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::validation {

using OcspRequestPtr = ca::OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = ca::OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = ca::OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = ca::OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free>;

struct OcspResponder::Issuer {
  OcspIssuer id;                          // id.responder/responder_key: the first signer
  std::shared_ptr<const Signer> signer;   // the current one; guarded by signer_mu_
  Bytes ca_id;
  std::string sha1_name, sha1_key, sha256_name, sha256_key;
};

// ToDer encodes a response ("" on failure).
std::string ToDer(OCSP_RESPONSE* r);
// Digest: the hash of `cert`'s subject name or of its public key bits.
std::string Digest(const EVP_MD* md, bool of_name, X509* cert);
// OctetView: the bytes of `s` (empty for null), valid while `s` is.
std::string_view OctetView(const ASN1_OCTET_STRING* s);
// SerialMagnitude: a serial's big-endian bytes without leading zeros (as
// BN_bn2bin writes them, the key of the status and answer stores), valid
// while `serial` is; nullopt for a negative serial.
std::optional<ByteSpan> SerialMagnitude(const ASN1_INTEGER* serial);
// StatusResponse: an unsigned response of `status` (malformedRequest,
// tryLater, internalError, unauthorized).
std::string StatusResponse(int status);

// SerialStatus: what OCSP says of one serial of a served CA.
struct SerialStatus {
  int status = V_OCSP_CERTSTATUS_UNKNOWN;
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;
  int64_t revoked_at = 0;     // seconds
  bool never_issued = false;  // revoked because no log issued it (extended revoke)
};
SerialStatus StatusOf(const OcspIssuer& issuer, const std::optional<engine::CertRecord>& record);

// AddExtendedRevoke adds id-pkix-ocsp-extended-revoke (RFC 6960 §4.4.8).
bool AddExtendedRevoke(OCSP_BASICRESP* bs);

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_OCSP_INTERNAL_H_
