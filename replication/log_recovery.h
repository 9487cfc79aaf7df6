// Log recovery: a factory that lost its disk, or was restored from a backup
// older than its last sync, gets its own log back from HQ's mirror copy
// (docs/replication_protocol.md §11). One round over the factory's usual
// sync channel, authenticated by its sync key:
//
//   factory Hello(role recovery, ownLog = peerLog = its origin, peerCopySize
//   = what it holds) → HQ Hello(ownLog = that origin, ownSize = the factory
//   checkpoint HQ stored) → when HQ holds more: a log transfer from the held
//   size (log_transfer.h), verified like any other (the factory's own key
//   and its rotations, the chain, consistency with what is held) → Ack → Bye.
//
// The events arrive into `own`, the factory's own log opened as a copy
// (without its key): the same storage, so once recovered the factory opens
// it with its key and continues at HQ's size — same log, no fork. HQ
// records the recovery as a syncSession (direction "recovery") in its log.
//
// Thread-safety: one recovery at a time, with the factory not serving.
#ifndef MIRRORCA_REPLICATION_LOG_RECOVERY_H_
#define MIRRORCA_REPLICATION_LOG_RECOVERY_H_

#include <optional>
#include <string>

#include "base/result.h"
#include "log/event_log.h"
#include "replication/channel.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

struct RecoveryResult {
  uint64_t held_before = 0;   // events the factory held
  uint64_t hq_size = 0;       // the factory checkpoint HQ stored (0: none)
  uint64_t events_received = 0;
  uint64_t size_after = 0;
  std::string checkpoint;     // the checkpoint now stored (HQ's cosigned copy), empty if none came
};

// RecoverOwnLog runs the recovery round on `channel`. On a refusal by either
// side `refused` (if given) says why; what was verified and stored stays.
Result<RecoveryResult> RecoverOwnLog(FrameChannel& channel, log::EventLog& own,
                                     std::optional<Refused>* refused = nullptr);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_LOG_RECOVERY_H_
