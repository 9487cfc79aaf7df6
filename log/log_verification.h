// VerifyLog: the full integrity check of one stored log — what `mirrorca log
// verify` runs and what an auditor relies on. It checks, in seq order:
//   - every event is present (no gap), decodes, is canonical, carries its own
//     seq and the log's id, and has a valid Ed25519 signature by the log key;
//   - the prevHash chain and non-decreasing times;
//   - every stored Merkle node equals the node recomputed from the events;
//   - every stored checkpoint (and every trusted checkpoint given by the
//     caller, e.g. one HQ cosigned earlier) is validly signed and its root
//     equals the root recomputed from the events;
//   - no checkpoint covers more events than the log holds (a rewind).
// It stops at the first failure and names the seq. Signatures are verified
// on all cores.
//
// Thread-safety: may run concurrently with appends; it verifies the events
// durable when it starts.
#ifndef MIRRORCA_LOG_LOG_VERIFICATION_H_
#define MIRRORCA_LOG_LOG_VERIFICATION_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/event_codec.h"
#include "log/event_log.h"

namespace mirrorca::log {

struct VerifyOptions {
  unsigned threads = 0;                          // 0: all CPUs
  std::vector<std::string> trusted_checkpoints;  // signed notes held outside this store
  std::function<void(uint64_t done, uint64_t total)> progress;  // optional, called per chunk
  // visit, if set, sees every event whose signature verifies, from the
  // verifying threads: concurrently and in no particular order. The audit
  // collects cosignatures with it instead of reading the log again.
  std::function<void(uint64_t seq, const ParsedEvent& event)> visit;
  // verified, if set, is handed each run of consecutive events that passed
  // every check so far (decoding, signature, seq, chain, times, Merkle nodes,
  // checkpoints up to its end), in seq order, from the calling thread; it
  // may move the bytes out. The audit rebuilds HQ's projection from them
  // instead of reading the log a second time.
  std::function<void(uint64_t first_seq, std::vector<std::string>& events)> verified;
};

struct VerifyReport {
  bool ok = true;
  uint64_t events = 0;       // events checked
  uint64_t checkpoints = 0;  // checkpoints matched against recomputed roots
  uint64_t nodes = 0;        // stored Merkle nodes compared
  uint64_t key_rotations = 0;  // logKeyRotated events followed
  Hash root{};               // root over all checked events
  std::optional<uint64_t> first_bad_seq;
  std::string reason;        // empty when ok

  // Summary returns the one-line human summary printed by the CLI.
  std::string Summary(std::string_view origin) const;
};

// VerifyLog returns a report; a failed Status only when the check itself
// could not run (I/O error), never for a log that fails verification.
Result<VerifyReport> VerifyLog(EventLog& log, const VerifyOptions& options = {});

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_LOG_VERIFICATION_H_
