// OcspAnswer: one OCSP response as the responder hands it to HTTP — its DER
// and what the metrics, the HTTP caching headers and the answer cache need
// to know about it. Plain values; thread-compatible.
#ifndef MIRRORCA_VALIDATION_OCSP_ANSWER_H_
#define MIRRORCA_VALIDATION_OCSP_ANSWER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace mirrorca::validation {

// OcspOutcome: what an answer said — the first CertID's status for a
// successful response, else the response status.
enum class OcspOutcome : uint8_t { kGood, kRevoked, kUnknown, kMalformedRequest, kUnauthorized, kInternalError };
inline constexpr size_t kOcspOutcomes = 6;
const char* OcspOutcomeName(OcspOutcome o);

struct OcspAnswer {
  std::string der;           // the OCSPResponse
  bool successful = false;   // responseStatus successful
  int64_t this_update = 0;   // seconds
  int64_t next_update = 0;
  bool has_nonce = false;    // signed on demand for this request; not cacheable
  std::string etag;          // hex of the first 16 bytes of SHA-256(der); cacheable answers
  OcspOutcome outcome = OcspOutcome::kMalformedRequest;  // for the metrics
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_OCSP_ANSWER_H_
