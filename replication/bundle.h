// Bundle: a log carried on a file for sites with no link at all (a USB
// stick). The file is self-verifying (docs/replication_protocol.md):
//
//   "mca-bnd1" (8 bytes) · BundleHeader frame · CheckpointOffer frame ·
//   Package frames · Commit frame · BundleEnd frame (SHA-256 of every byte
//   before it) · end of file
//
// — the same frames a sync session sends, so the same receiver verifies
// them. Import reads the file twice: first a dry run that checks the digest,
// every event signature, the chain, every package's root against the signed
// checkpoint and consistency with the copy held here, storing nothing; only
// a bundle that passes whole is then applied. Events already held are
// skipped, so importing the same bundle twice changes nothing.
//
// Thread-safety: functions; imports into one copy must not run concurrently.
#ifndef MIRRORCA_REPLICATION_BUNDLE_H_
#define MIRRORCA_REPLICATION_BUNDLE_H_

#include <optional>
#include <string>

#include "base/result.h"
#include "log/event_log.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

struct BundleInfo {
  std::string log;        // origin of the log carried
  std::string creator;    // origin of the exporting node's own log
  uint64_t from = 0;      // first seq carried
  uint64_t tree_size = 0; // size of the checkpoint carried
  int64_t created_at = 0; // µs
  uint64_t bytes = 0;     // file size
};

// ExportBundle writes events [from, N) of `log` and a checkpoint of size N
// (the latest, signing one for the current size if `log` has its signer)
// to `path` (written to a temporary file, fsynced, renamed).
Result<BundleInfo> ExportBundle(log::EventLog& log, uint64_t from, const std::string& creator,
                                int64_t now_micros, const std::string& path,
                                const SendOptions& options = {});

// ReadBundleHeader returns what a bundle says it carries, unverified.
Result<BundleInfo> ReadBundleHeader(const std::string& path);

struct BundleImport {
  BundleInfo info;
  std::string note;              // the checkpoint stored
  TransferStats stats;           // events newly stored, skipped
  std::optional<Refused> refused;
};

// ImportBundle verifies `path` whole and applies it to `copy` (a mirror
// copy of the bundle's log). On refusal nothing is stored and the result's
// `refused` says why (the Status is then Corruption or InvalidArgument).
// `check` (optional) is what the log may carry (see EventCheck).
Result<BundleImport> ImportBundle(log::EventLog& copy, const std::string& path,
                                  const Progress& progress = nullptr,
                                  std::optional<Refused>* refused = nullptr,
                                  const EventCheck& check = nullptr);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_BUNDLE_H_
