// CrlBuilder: RFC 5280 certificate revocation lists, built and signed with
// OpenSSL's X509_CRL API — full CRLs and delta CRLs (§5.2.4), with the CRL
// number, authority key identifier, issuing distribution point (critical)
// and, per entry, the reason code and invalidity date.
//
// Thread-safety: pure functions; the issuer key may be shared.
#ifndef MIRRORCA_VALIDATION_CRL_BUILDER_H_
#define MIRRORCA_VALIDATION_CRL_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "ca/openssl_types.h"

namespace mirrorca::validation {

struct CrlEntry {
  Bytes serial;                 // big-endian magnitude
  int64_t revocation_time = 0;  // seconds since the epoch
  int reason = 0;               // RFC 5280 CRLReason; 0 (unspecified) is omitted
  int64_t invalidity_date = 0;  // seconds; 0 = absent
};

struct CrlSpec {
  uint64_t number = 0;                  // cRLNumber
  int64_t this_update = 0;              // seconds
  int64_t next_update = 0;              // seconds
  std::optional<uint64_t> delta_base;   // set: a delta CRL on this base CRL number
  std::string distribution_point;       // URI for the issuing distribution point; "" = none
  std::string freshest_crl;             // full CRLs: URI of the delta CRLs (freshestCRL); "" = none
};

// BuildCrl returns the DER CRL of `entries` (any order) signed by `key`
// for `issuer`. InvalidArgument for an entry without a serial.
Result<std::string> BuildCrl(X509* issuer, EVP_PKEY* key, const CrlSpec& spec,
                             const std::vector<CrlEntry>& entries);

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_CRL_BUILDER_H_
