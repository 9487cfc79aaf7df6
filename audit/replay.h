// Replay: `mirrorca audit replay` — what the logs a store holds said at an
// instant: a certificate's status (issued? revoked or on hold? by which
// events, signed by which log key), a batch's counts, and what HQ knew then
// (the sizes it had cosigned). Answers come from replaying the events up to
// that instant (each log is time-ordered), never from today's projection.
//
// With a replay index (audit/replay_index.h, built by `audit index`) the
// answer starts from the serial's indexed events and the latest snapshot
// before the instant and replays the events after it; without one (or with
// one built from other logs) every log is scanned from its start. Both
// paths fold with audit/replay_fold.h and give the same answers.
//
// Thread-safety: functions.
#ifndef MIRRORCA_AUDIT_REPLAY_H_
#define MIRRORCA_AUDIT_REPLAY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::audit {

struct ReplayQuery {
  int64_t at = 0;               // µs since the epoch: events with time <= at count
  std::optional<Bytes> serial;  // a certificate (big-endian magnitude)
  std::string batch;            // a batch: FACTORY/BATCH (a bare BATCH when one factory is registered)
  std::string factory_origin;   // set by Replay from `batch`: the batch's factory log
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
  std::map<std::string, uint64_t> events;    // log origin -> events with time <= at
  std::string method = "linear";             // linear | index
  std::string note;                          // why the index was not used, if it exists
  int64_t snapshot_time = 0;                 // index: the snapshot the answer started from (0: none)
  uint64_t replayed_after_snapshot = 0;      // index: events read after it
  uint64_t unindexed_events = 0;             // index: events the index has not seen yet
};

struct ReplayOptions {
  std::string index_dir;  // empty: DefaultReplayIndexDir(data_dir), used when it exists
  bool use_index = true;
};

Result<ReplayAnswer> Replay(const std::string& data_dir, const ReplayQuery& query,
                            const ReplayOptions& options = {});

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_REPLAY_H_
