// HQ's side of batch control until replication exists: record a
// batchAuthorized event in HQ's log, and deliver HQ's log to a factory's
// mirror copy (verified event by event, as the sync will).
//
// Thread-safety: free functions; the logs follow EventLog rules.
#ifndef MIRRORCA_ENGINE_BATCH_AUTHORITY_H_
#define MIRRORCA_ENGINE_BATCH_AUTHORITY_H_

#include "base/result.h"
#include "engine/batch_ledger.h"
#include "engine/log_authority.h"
#include "log/event_log.h"

namespace mirrorca::engine {

// AuthorizeBatch appends `terms` as a batchAuthorized event to HQ's own log
// and returns its seq. InvalidArgument for inconsistent terms, and for terms
// the trust table refuses (a factory never registered, a CA not the
// factory's): `authority` is caught up with HQ's log first.
Result<uint64_t> AuthorizeBatch(log::EventLog& hq_log, LogAuthority& authority, const BatchTerms& terms);

// DeliverLog copies the events `copy` lacks from `source` (the same log) and
// the latest checkpoint; returns how many events were delivered.
Result<uint64_t> DeliverLog(log::EventLog& source, log::EventLog& copy);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_BATCH_AUTHORITY_H_
