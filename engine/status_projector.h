// StatusProjector: the rules that turn log events into HQ's certificate-
// status projection (key layout in engine/cert_status.h), one step at a time,
// over any key-value target: the node's store (CertStatus::CatchUp) or an
// audit's rebuild (engine/scratch_projection.h). There is one copy of the
// rules, so a rebuild that differs from the store means the store differs
// from its events, never that two implementations disagree.
//
// Only what the log authority allows is applied (engine/log_authority.h):
// an event of `origin` that breaks the table is skipped — it advances the
// position and changes nothing else.
//
// A step applies a run of consecutive events of one log and records that
// log's new position together with the records it changed: a target that
// commits each step atomically applies every event exactly once. Issuance
// and revocation facts are merged field by field, so the order in which the
// logs are projected does not matter.
//
// Thread-safety: steps on one target must be serialized by the caller.
#ifndef MIRRORCA_ENGINE_STATUS_PROJECTOR_H_
#define MIRRORCA_ENGINE_STATUS_PROJECTOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "engine/log_authority.h"

namespace mirrorca::engine {

// ProjectionTarget: where a projection step reads the current records and
// writes the new ones.
class ProjectionTarget {
 public:
  virtual ~ProjectionTarget() = default;
  // Get returns the value of `key` as of the last Commit; nullopt when absent.
  virtual Result<std::optional<std::string>> Get(const std::string& key) = 0;
  // Put records a write of the current step; it takes effect at Commit.
  virtual void Put(std::string key, std::string value) = 0;
  // Commit applies the step's writes atomically (durably, for a node's store).
  virtual Status Commit() = 0;
};

// A step's events, in seq order: the source calls the visitor once per event.
using EventVisitor = std::function<Status(uint64_t seq, std::string_view bytes)>;
using EventSource = std::function<Status(const EventVisitor&)>;

// ProjectStep applies the events `source` yields — those of log `origin` from
// its projected position up to `end` (exclusive) — and sets the position of
// `origin` to `end`, in one Commit. Corruption for an event that does not
// parse or a record that does not decode (nothing is committed then).
Status ProjectStep(ProjectionTarget& target, const std::string& origin, uint64_t end,
                   const LogAuthority& authority, const EventSource& source);

// ProjectedPosition returns the next seq of `origin` to apply (0: none yet).
Result<uint64_t> ProjectedPosition(ProjectionTarget& target, const std::string& origin);

// PutSchema records the projection's schema version (kStatusSchemaVersion), as the next Put.
void PutSchema(ProjectionTarget& target);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_STATUS_PROJECTOR_H_
