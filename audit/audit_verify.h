// AuditVerify: `mirrorca audit verify` — the end-to-end integrity check of
// everything a node's store holds, for an auditor:
//   - every log (the node's own and each mirror copy): events, signatures,
//     chain, stored Merkle nodes, every stored checkpoint's signature and
//     root (log/log_verification.h), on all cores;
//   - every cosignature: each checkpointCosigned event found in any log is
//     checked against the cosigner's key (the key of the log that records
//     it) and its checkpoint against the events of the log it covers;
//   - consistency: between consecutive checkpoints of each log, an RFC 9162
//     consistency proof is built from the stored tree and verified;
//   - projections: HQ's certificate-status projection (if the store has
//     one) equals a rebuild from the verified events, key for key, up to
//     the positions it records (engine/scratch_projection.h: in memory up to
//     a budget, then in a scratch store).
// It stops at the first failure and names the log, the seq (when there is
// one) and the reason. It reads a snapshot (RocksDB read-only open), so it
// runs beside a live node.
//
// Thread-safety: one call at a time per store.
#ifndef MIRRORCA_AUDIT_AUDIT_VERIFY_H_
#define MIRRORCA_AUDIT_AUDIT_VERIFY_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/store.h"

namespace mirrorca::audit {

struct AuditOptions {
  unsigned threads = 0;     // 0: all CPUs
  std::string scratch_dir;  // where a rebuild past the memory budget spills (removed after)
  size_t memory_budget = size_t{2} << 30;  // bytes of the in-memory projection rebuild
  // Certificates (DER) that must each be a certificateIssued event of a log
  // that may carry it — e.g. HQ's OCSP responder certificates, which HQ signs
  // with its copy of a factory CA key: "every certificate a CA key signs is
  // in a log" checked for the certificates an auditor is shown.
  std::vector<std::string> certificates;
  // progress(stage, done, total): stage is a log origin or "projection".
  std::function<void(const std::string& stage, uint64_t done, uint64_t total)> progress;
};

struct AuditLogResult {
  std::string origin;
  uint64_t events = 0;
  uint64_t checkpoints = 0;         // stored checkpoints matched
  uint64_t cosignatures = 0;        // cosigned checkpoints of this log verified
  uint64_t consistency_proofs = 0;  // between consecutive checkpoints
};

struct AuditVerdict {
  bool ok = true;
  std::vector<AuditLogResult> logs;
  uint64_t events = 0;
  bool projection_checked = false;
  uint64_t projection_keys = 0;
  bool projection_spilled = false;  // the rebuild outgrew memory_budget and moved to disk
  uint64_t deliveries_checked = 0;   // HQ's delivery logs checked against HQ's log
  uint64_t certificates_logged = 0;  // of AuditOptions::certificates, each found in a log
  std::map<std::string, double> phase_seconds;  // cosignatures, logs, consistency, projection
  // The first failure.
  std::string bad_log;  // origin, or "projection"
  std::optional<uint64_t> bad_seq;
  std::string reason;
};

// AuditVerify checks the store in `data_dir` (a node's data directory, as in
// its config). A failed Status only when the audit itself could not run
// (no store, I/O); a store that fails the audit gives a verdict with ok = false.
Result<AuditVerdict> AuditVerify(const std::string& data_dir, const AuditOptions& options = {});

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_AUDIT_VERIFY_H_
