// Replay: `mirrorca audit replay` — what the logs a store holds said at an
// instant: a certificate's status (issued? revoked or on hold? by which
// events, signed by which log key), a batch's counts, and what HQ knew then
// (the sizes it had cosigned). Answers come from replaying the events up to
// that instant (each log is time-ordered), never from today's projection.
//
// This version scans every log from its start: linear in the events before
// the instant (projection snapshots keyed by log position, to answer in
// constant time on a 10M-event history, are not built yet).
//
// Thread-safety: functions.
#ifndef MIRRORCA_ENGINE_REPLAY_H_
#define MIRRORCA_ENGINE_REPLAY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::engine {

struct ReplayQuery {
  int64_t at = 0;               // µs since the epoch: events with time <= at count
  std::optional<Bytes> serial;  // a certificate (big-endian magnitude)
  std::string batch;            // a batch
};

struct CertificateAt {
  bool issued = false;
  std::string issued_in;         // factory log origin
  uint64_t issued_seq = 0;
  int64_t issued_time = 0;
  std::string signed_by;         // the factory log's verifier key name+id
  std::string batch, device_serial;
  std::string state = "unknown";  // unknown (no issuance yet) | good | revoked | on_hold
  int reason = 0;                 // RFC 5280 CRLReason when revoked / on hold
  int64_t revocation_time = 0;    // µs
  std::string revoked_in;         // HQ log origin of the latest revocation event applied
  uint64_t revoked_seq = 0;
};

struct BatchAt {
  uint64_t authorized = 0;  // quota, 0 = not authorized yet
  uint64_t issued = 0, rejected = 0, revoked = 0, on_hold = 0;
};

struct ReplayAnswer {
  std::optional<CertificateAt> certificate;
  std::optional<BatchAt> batch;
  std::map<std::string, uint64_t> cosigned;  // log origin -> largest size HQ had cosigned
  std::map<std::string, uint64_t> events;    // log origin -> events replayed
};

Result<ReplayAnswer> Replay(const std::string& data_dir, const ReplayQuery& query);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_REPLAY_H_
