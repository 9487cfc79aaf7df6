// Sync records: the events a node writes into its own log about replication
// — HQ's cosignature of a factory checkpoint, a finished sync session, and a
// refused peer with the evidence (both checkpoints). They travel to the
// other node like every event, so both sides keep the same history.
//
// Thread-safety: pure functions building drafts.
#ifndef MIRRORCA_REPLICATION_SYNC_RECORDS_H_
#define MIRRORCA_REPLICATION_SYNC_RECORDS_H_

#include <string>
#include <vector>

#include "log/checkpoint.h"
#include "log/event_draft.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

log::EventDraft CheckpointCosignedDraft(const log::Checkpoint& cp, const std::string& cosigned_note,
                                        uint64_t timestamp);

struct SessionRecord {
  std::string peer_log;
  std::string direction;  // "push" | "pull" | "bundle-import" | "bundle-export" | "recovery"
  uint64_t events_sent = 0;
  uint64_t events_received = 0;
  uint64_t peer_tree_size = 0;
  std::string result = "ok";
};
log::EventDraft SyncSessionDraft(const SessionRecord& r);

log::EventDraft AnomalyDraft(const std::string& peer_log, const Refused& refused);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_SYNC_RECORDS_H_
