// Revocation: HQ's only way to change a certificate's status — a signed
// certificateRevoked event in HQ's log, after checking the request against
// the status projection: the serial must have been issued by a CA of this
// HQ; only a certificateHold can be released; a final revocation is final.
// A whole production batch (a compromised line) is revoked with one event
// per certificate, each carrying the batch id.
//
// Thread-safety: functions; run one revocation at a time per HQ (the
// projection is read, then the log appended).
#ifndef MIRRORCA_ENGINE_REVOCATION_H_
#define MIRRORCA_ENGINE_REVOCATION_H_

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "engine/cert_status.h"
#include "log/event_log.h"

namespace mirrorca::engine {

struct RevocationRequest {
  Bytes serial;                 // one certificate, or
  std::vector<Bytes> serials;   // a list (a recall of part of a batch), or
  std::string batch_id;         // every certificate of a batch of
  std::string factory_origin;   // this factory (batches are scoped by factory)
  int reason = 0;               // RFC 5280 CRLReason (not 6, 7 or 8: use hold / release)
  bool hold = false;            // certificateHold
  bool release = false;         // release a hold
  int64_t time = 0;             // revocation time, µs; 0 = now
  int64_t invalidity_date = 0;  // µs; 0 = absent
  std::string requested_by;     // admin identity, recorded
};

struct RevocationResult {
  uint64_t revoked = 0;         // events appended
  uint64_t skipped = 0;         // batch members already revoked
  uint64_t first_seq = 0;
};

// ParseSerialList reads a serial file: one hex serial per line (colons
// allowed, as `openssl x509 -serial` prints them after "serial="), blank
// lines and "#" comments ignored. InvalidArgument names the first bad line;
// a serial listed twice is one serial. At most kMaxSerialList serials.
inline constexpr size_t kMaxSerialList = 10'000'000;
Result<std::vector<Bytes>> ParseSerialList(std::string_view text);

// ParseReason maps an RFC 5280 reason name (keyCompromise, …) or number.
Result<int> ParseReason(const std::string& name);
// ReasonName is the RFC 5280 name of a CRLReason ("keyCompromise", ...).
std::string_view ReasonName(int reason);

// Revoke validates `r` against `status` (which the caller has caught up
// with every log) and appends the events to `hq_log`. NotFound for a serial
// no log issued; FailedPrecondition for releasing what is not on hold or
// changing a final revocation; InvalidArgument for a bad reason. A list is
// checked whole before anything is appended (a serial no log issued refuses
// it all, naming it; those already revoked are skipped, as in a batch) and
// its events are appended in one commit per 16,384.
Result<RevocationResult> Revoke(log::EventLog& hq_log, CertStatus& status,
                                const std::vector<Bytes>& ca_ids, const RevocationRequest& r,
                                int64_t now_micros);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_REVOCATION_H_
