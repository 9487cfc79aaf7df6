// CrlBuilder: RFC 5280 certificate revocation lists — full CRLs and delta
// CRLs (§5.2.4), with the CRL number, authority key identifier, issuing
// distribution point (critical), freshest CRL and, per entry, the reason
// code and invalidity date.
//
// Built for a million entries: the CRL's header and extensions come from
// OpenSSL's X509_CRL API; the entries are encoded with OpenSSL's ASN.1
// primitives (i2d_ASN1_INTEGER, i2d_ASN1_TIME, i2d_X509_EXTENSION,
// ASN1_put_object) on every core, one entry at a time, without building a
// million X509_REVOKED objects; the TBSCertList is then signed with
// EVP_DigestSign. The bytes equal what X509_CRL_sort + X509_CRL_sign give
// for the same input (validation_test checks it).
//
// Thread-safety: pure functions; the issuer key may be shared.
#ifndef MIRRORCA_VALIDATION_CRL_BUILDER_H_
#define MIRRORCA_VALIDATION_CRL_BUILDER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/openssl_types.h"

namespace mirrorca::validation {

struct CrlEntry {
  // The serial's big-endian magnitude (RFC 5280: at most 20 octets), kept
  // inline: a million entries are a million small structs, not allocations.
  std::array<uint8_t, 20> serial{};
  uint8_t serial_len = 0;
  uint8_t reason = 0;           // RFC 5280 CRLReason; 0 (unspecified) is omitted
  int64_t revocation_time = 0;  // seconds since the epoch
  int64_t invalidity_date = 0;  // seconds; 0 = absent

  // SetSerial stores `magnitude` without its leading zero octets; false if
  // it is longer than 20 octets or zero.
  [[nodiscard]] bool SetSerial(ByteSpan magnitude);
  ByteSpan Serial() const { return ByteSpan(serial.data(), serial_len); }
};

struct CrlSpec {
  uint64_t number = 0;                  // cRLNumber
  int64_t this_update = 0;              // seconds
  int64_t next_update = 0;              // seconds
  std::optional<uint64_t> delta_base;   // set: a delta CRL on this base CRL number
  std::string distribution_point;       // URI for the issuing distribution point; "" = none
  std::string freshest_crl;             // full CRLs: URI of the delta CRLs (freshestCRL); "" = none
};

// BuildCrl returns the DER CRL of `entries` (any order; sorted by serial
// in the CRL) signed by `key` for `issuer`. InvalidArgument for an entry
// without a serial; `threads` 0 = every core.
Result<std::string> BuildCrl(X509* issuer, EVP_PKEY* key, const CrlSpec& spec,
                             std::span<const CrlEntry> entries, unsigned threads = 0);

// BuildCrlShell returns the signed CRL of `spec` with no entries: the
// header and extensions BuildCrl starts from (and tests compare against).
Result<ca::OpenSslPtr<X509_CRL, X509_CRL_free>> BuildCrlShell(X509* issuer, EVP_PKEY* key,
                                                              const CrlSpec& spec);

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_CRL_BUILDER_H_
