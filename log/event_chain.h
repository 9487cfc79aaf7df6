// EventChain: verification of signed events that continue a log — the check
// a mirror copy runs before it stores events received from the log's owner
// (EventLog::AppendVerified) and a bundle import runs before it applies
// anything. Every event must decode canonically, carry the log's origin,
// the next seq, the chain's prevHash, a time not earlier than the previous
// event's, and a valid Ed25519 signature of the key in force at its seq
// (log/key_history.h: a logKeyRotated event hands the rest to its key).
//
// Thread-safety: pure functions; VerifyContinuation uses worker threads
// internally for large batches.
#ifndef MIRRORCA_LOG_EVENT_CHAIN_H_
#define MIRRORCA_LOG_EVENT_CHAIN_H_

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/key_history.h"
#include "log/log_key.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

// ChainTail: where a log's chain stands after `next_seq` events.
struct ChainTail {
  uint64_t next_seq = 0;   // the seq the next event must carry
  Hash prev_body_hash{};   // SHA-256 of the last event's body (zero for an empty log)
  int64_t time = 0;        // time of the last event (µs)
};

struct VerifiedEvents {
  std::vector<Hash> leaf_hashes;  // RFC 9162 leaf hash of each signed event
  ChainTail tail;                 // the chain after these events
  std::optional<KeyHistory> keys;  // the log's keys after these events
  std::vector<uint64_t> rotations;  // seqs of the key rotations among them
};

// VerifyContinuation checks that `signed_events` continue the chain at
// `tail` of the log whose keys are `keys`. Returns their leaf hashes and the new
// tail, or the first failure naming the seq (Corruption for a bad signature
// or broken chain, InvalidArgument for a gap, a replay or a foreign event).
Result<VerifiedEvents> VerifyContinuation(const KeyHistory& keys, const ChainTail& tail,
                                          const std::vector<std::string>& signed_events);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_EVENT_CHAIN_H_
