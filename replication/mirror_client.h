// MirrorClient: a mirror's side of following HQ over the sync channel
// (docs/replication_protocol.md §10) — what a validation authority on
// another machine runs. In one session it asks for HQ's log, then for the
// log of every factory HQ's log registers, each from the size it holds; each
// arrives as a log transfer (log_transfer.h) and is verified exactly as a
// factory or HQ verifies one (signatures by the pinned or registered key and
// its rotations, the hash chain, consistency with what is held), and every
// factory event must be one its log may carry (engine/log_authority.h),
// before it is stored. A mirror only reads: it sends HQ nothing but its
// positions.
//
// Thread-safety: one session at a time; the copies may be read concurrently
// with a session (EventLog readers).
#ifndef MIRRORCA_REPLICATION_MIRROR_CLIENT_H_
#define MIRRORCA_REPLICATION_MIRROR_CLIENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/log_authority.h"
#include "log/event_log.h"
#include "log/store.h"
#include "replication/channel.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

struct MirrorStats {
  uint64_t events_received = 0;
  uint64_t logs = 0;  // logs asked for (HQ's and each factory's)
};

class MirrorClient {
 public:
  // `store` holds the copies and must outlive the client, as must
  // `authority` (HQ's origin; learned from the HQ copy). `name` says who
  // asks (HQ's alerts name it); `hq` is HQ's pinned log key.
  static Result<std::unique_ptr<MirrorClient>> Open(log::Store* store, const log::LogVerifier& hq,
                                                    engine::LogAuthority* authority, std::string name);

  // Session runs one round per log, then Bye. On a refusal by either side
  // refused() says why; what was verified and stored before stays.
  Result<MirrorStats> Session(FrameChannel& channel);

  log::EventLog& hq_log() { return *hq_copy_; }
  // Copies: the factory logs, by origin.
  std::vector<log::EventLog*> Copies() const;
  const std::optional<Refused>& refused() const { return refused_; }

 private:
  MirrorClient() = default;
  // Round asks for `copy`'s log; `check` sees each new event.
  Status Round(FrameChannel& channel, log::EventLog& copy, const EventCheck& check, MirrorStats& stats);
  // Bind opens a copy for every factory the authority knows.
  Status Bind();

  log::Store* store_ = nullptr;
  engine::LogAuthority* authority_ = nullptr;
  std::string name_;
  std::unique_ptr<log::EventLog> hq_copy_;
  std::map<std::string, std::unique_ptr<log::EventLog>> copies_;  // by origin
  std::optional<Refused> refused_;
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_MIRROR_CLIENT_H_
