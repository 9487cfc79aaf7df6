// ReplayIndex: makes `audit replay --at` answer in well under a second on
// histories of tens of millions of events, without trusting today's tables.
// It holds facts keyed by log position, all derived from the logs:
//   - for every serial, its issuance and revocation events — (time, origin,
//     seq) and the few fields the fold needs (audit/replay_fold.h);
//   - every `every` events of the time-merged logs, a snapshot: the instant
//     T, each log's position at T (the events with time <= T), HQ's
//     cosigned sizes and every batch's counts as of T.
// A query folds the serial's indexed events, starts a batch or cosigned
// answer from the latest snapshot at or before the instant, and replays the
// events after it (and any events the index has not seen yet) from the logs.
//
// An index is bound to the logs it was built from (the hash of each log's
// last indexed event): a different store, or a rewritten log, is refused,
// and `audit index` rebuilds it. Snapshots are cut only before the last
// event of every log, so events a later sync brings (which are never older
// than the log's last one) cannot fall before a snapshot; a snapshot that
// still turns out to miss events (a log first seen later with older events)
// is not used and is dropped at the next build.
//
// Layout (a RocksDB of its own, `<data>/audit-index` by default; default
// column family): docs/audit.md §Replay index.
//
// Thread-safety: BuildReplayIndex must not run twice on one index at once
// (RocksDB's lock refuses it). A ReplayIndex is not thread-safe.
#ifndef MIRRORCA_AUDIT_REPLAY_INDEX_H_
#define MIRRORCA_AUDIT_REPLAY_INDEX_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "audit/replay.h"
#include "audit/store_logs.h"

namespace mirrorca::audit {

std::string DefaultReplayIndexDir(const std::string& data_dir);

struct ReplayIndexOptions {
  uint64_t every = 65536;  // events of the merged logs between snapshots
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ReplayIndexStats {
  bool rebuilt = false;          // an index of other logs was discarded
  uint64_t events_merged = 0;    // events read this run (from the last valid snapshot on)
  uint64_t events_indexed = 0;   // events newly indexed this run
  uint64_t snapshots = 0;        // snapshots held after the run
  uint64_t snapshots_dropped = 0;
};

Result<ReplayIndexStats> BuildReplayIndex(StoreLogs& logs, const std::string& index_dir,
                                          const ReplayIndexOptions& options = {});

class ReplayIndex {
 public:
  ~ReplayIndex();
  // Open opens the index at `index_dir` read-only for `logs`: NotFound if
  // there is none, FailedPrecondition if it was built from other logs.
  static Result<std::unique_ptr<ReplayIndex>> Open(const std::string& index_dir, StoreLogs& logs);

  Result<ReplayAnswer> Answer(const ReplayQuery& query);

  // FindIssuance returns (origin, seq) of the serial's first indexed
  // issuance; nullopt if the indexed events hold none (the unindexed tail
  // is the caller's to scan).
  Result<std::optional<std::pair<std::string, uint64_t>>> FindIssuance(ByteSpan serial);

 private:
  struct Impl;
  explicit ReplayIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_REPLAY_INDEX_H_
