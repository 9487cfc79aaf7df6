// FactorySync: the factory's side of replication (hq_sync.h describes the
// session). One Round sends HQ what it lacks of the factory log, checks
// HQ's cosignature on the checkpoint and stores it (proof of what HQ
// holds), then receives and verifies HQ's new events (batch authorizations,
// revocations, cosignatures) into the factory's copy of HQ's log.
//
// If HQ's log diverges (fork, rewind, bad signature…) the factory refuses
// it, records a logAnomaly event with the evidence in its own log, and the
// round fails with refused() set.
//
// Thread-safety: one round at a time per object (the sync job and the
// continuous loop each own one).
#ifndef MIRRORCA_REPLICATION_FACTORY_SYNC_H_
#define MIRRORCA_REPLICATION_FACTORY_SYNC_H_

#include <functional>
#include <optional>
#include <string>

#include "log/event_log.h"
#include "replication/channel.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

struct RoundResult {
  uint64_t events_sent = 0;
  uint64_t events_received = 0;
  uint64_t factory_size = 0;    // factory log size offered
  uint64_t cosigned_size = 0;   // size HQ has durably stored and cosigned
  uint64_t hq_size = 0;         // HQ log size now held by the factory
  std::string cosigned_note;
};

struct FactorySyncOptions {
  SendOptions send;
  Progress receive_progress;
  // Called after new HQ events are stored (the factory CA refreshes its
  // batch ledger from its copy of HQ's log).
  std::function<void()> on_hq_events;
  // HQ's own log key (default: the key of `hq_copy`; set it when the copy is
  // the factory's delivery log, signed under another name). The cosignature
  // must be by HQ's cosigner key in force, which HQ's delivered events set
  // (engine/cosigner.h), or by this key when they set none.
  std::optional<log::LogVerifier> hq_cosigner;
  // What HQ's log may carry here (a delivery log: relayed HQ events only).
  EventCheck hq_event_check;
};

class FactorySync {
 public:
  // `own` (the factory log, with its signer) and `hq_copy` must outlive this.
  FactorySync(log::EventLog* own, log::EventLog* hq_copy, FactorySyncOptions options = {});

  Result<RoundResult> Round(FrameChannel& channel);
  // Bye ends the session politely.
  Status Bye(FrameChannel& channel);
  // refused() is set when the last round failed on a refusal (by either side).
  const std::optional<Refused>& refused() const { return refused_; }
  // Progress of the last round, kept when it fails: how many events of ours
  // HQ held when it began, and how many were sent before it ended.
  uint64_t last_hq_held() const { return last_hq_held_; }
  uint64_t last_sent() const { return last_sent_; }

 private:
  Status Refuse(FrameChannel& channel, const Refused& r);
  // HqCosigner: HQ's cosigner key in force, from what HQ delivered.
  Result<log::LogVerifier> HqCosigner();

  log::EventLog* const own_;
  log::EventLog* const hq_copy_;
  FactorySyncOptions options_;
  std::optional<Refused> refused_;
  uint64_t last_hq_held_ = 0;
  uint64_t last_sent_ = 0;
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_FACTORY_SYNC_H_
