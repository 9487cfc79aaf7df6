// EventLog: one append-only, signed, Merkle-hashed event log on the Store.
//
// Append assigns each draft its seq, time and prevHash, encodes the
// canonical body, signs it (Ed25519, in the appending threads so both cores
// sign), and commits: concurrent appenders are group-committed — one
// committer writes every signed, contiguous pending append in one RocksDB
// WriteBatch with sync=true, so one fsync serves many callers. The batch also
// holds every Merkle node the new leaves complete and, every
// `checkpoint_interval` events, a signed checkpoint. Append returns only
// after that fsync: nothing is acknowledged before it is durable. One
// caller's drafts are committed atomically (all or none).
//
// If a durable write fails, the log stops accepting appends (like LevelDB's
// background error): the state on disk is still a valid prefix; reopen it.
//
// Reads (events, roots, proofs, checkpoints) never block appends; proofs read
// O(log n) stored nodes.
//
// Thread-safety: safe for concurrent use by any number of threads. The Store
// must outlive the EventLog.
#ifndef MIRRORCA_LOG_EVENT_LOG_H_
#define MIRRORCA_LOG_EVENT_LOG_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/prometheus_text.h"
#include "base/result.h"
#include "log/event_chain.h"
#include "log/event_draft.h"
#include "log/key_history.h"
#include "log/log_key.h"
#include "log/merkle_frontier.h"
#include "log/merkle_proofs.h"
#include "log/store.h"

namespace mirrorca::log {

struct EventLogOptions {
  Env* env = nullptr;                   // clock; null means Env::Default()
  uint64_t checkpoint_interval = 1000;  // sign a checkpoint at least every N events
  // A node's own log refuses appends (Unavailable, nothing written; they
  // resume by themselves) while its disk has less than this free
  // (log/store.h StoreOptions::min_free_bytes). Used by OpenLocalLog.
  uint64_t min_free_bytes = 64u << 20;
  // OpenLocalLog opens the store read-only: it writes nothing at all (a
  // verification on a full disk, or beside a node that owns the store).
  bool read_only_store = false;
  // StoreOptions::point_lookup_cache_bytes of the store OpenLocalLog opens
  // (HQ: the pre-signed OCSP answers' block cache).
  size_t point_lookup_cache_bytes = 0;
  // A wall clock that jumps forward by more than this (against the elapsed
  // clock since the last append, plus 0.1 % for drift) refuses the append
  // (Unavailable, nothing written) instead of stamping events in the future,
  // which the monotonic rule would then pin every later event to. A restart
  // accepts the new time. 0: not checked.
  int64_t max_clock_jump_micros = 0;
  size_t max_group_events = 16384;      // upper bound on events in one WriteBatch
  unsigned signing_threads = 0;         // threads for one large Append; 0 = all CPUs
  // on_commit, if set, is called by the committer after each durable batch
  // with how long its write and fsync took, as CommitLatency counts it. It
  // runs while the committer role is held: it must be quick and must not
  // call the log. Load drivers use it to place slow commits in time.
  std::function<void(int64_t micros)> on_commit;
  // TEST_before_commit, if set, runs in the committer before each group is
  // written (tests use it to hold a commit while other appends queue up).
  std::function<void()> TEST_before_commit;
};

struct AppendResult {
  uint64_t first_seq = 0;
  uint64_t count = 0;
};

// Storage key helpers, shared with the verifier and tests (layout in store.h).
std::string LogKeyPrefix(std::string_view origin);
std::string EventKey(std::string_view prefix, uint64_t seq);
std::string NodeKey(std::string_view prefix, int level, uint64_t index);
std::string CheckpointKey(std::string_view prefix, uint64_t tree_size);

class EventLog {
 public:
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Create registers a new empty log named verifier.name() in `store`.
  // AlreadyExists if a log of that origin (or of the same key prefix) exists.
  static Status Create(Store* store, const LogVerifier& verifier);

  // ListOrigins returns the origins of every log held in `store`.
  static Result<std::vector<std::string>> ListOrigins(Store* store);

  // Open opens the log `origin`. With a signer (whose public key must be the
  // registered one, else PermissionDenied) the log accepts Append; without,
  // it is read-only. A log whose tail is damaged still opens so that it can be
  // verified and read; Append then fails with the reason.
  static Result<std::unique_ptr<EventLog>> Open(Store* store, const std::string& origin,
                                                std::optional<LogSigner> signer,
                                                EventLogOptions options = {});

  // Append durably appends `drafts` (at most max_group_events) in order and
  // returns the first seq given. InvalidArgument for a draft that cannot be
  // encoded (nothing is appended then).
  Result<AppendResult> Append(std::vector<EventDraft> drafts);

  // OpenCopy opens, read-only, this store's mirror copy of the log of
  // `owner` (another node), registering it on first use. PermissionDenied if
  // the copy is registered with a different key.
  static Result<std::unique_ptr<EventLog>> OpenCopy(Store* store, const LogVerifier& owner,
                                                    EventLogOptions options = {});

  // AppendVerified durably appends events already signed by the log's owner
  // (this store holds a mirror copy, opened without a signer). The events
  // must continue the chain (log/event_chain.h: origin, next seq, prevHash,
  // time, signature); otherwise nothing is appended. `check_root`, if set,
  // sees the size and root the copy will have after the events before
  // anything is written; its failure refuses the append (a receiver checks
  // the owner's consistency proof there). Idempotence (skipping events
  // already held) is the caller's business: the first must be seq Size().
  // Imports into one copy must not run concurrently (FailedPrecondition).
  using RootCheck = std::function<Status(uint64_t size, const Hash& root)>;
  Result<AppendResult> AppendVerified(std::vector<std::string> signed_events,
                                      const RootCheck& check_root = nullptr);

  // ImportPoint: the chain tail and Merkle frontier of this copy, from which
  // a receiver can verify events that would continue it without storing them.
  struct ImportPoint {
    ChainTail chain;
    MerkleFrontier frontier;
    std::shared_ptr<const KeyHistory> keys;  // the copy's keys at this point
  };
  Result<ImportPoint> ImportTail();

  // Two-phase import, so a receiver can verify the next package while the
  // previous one is being committed. PrepareImport verifies `signed_events`
  // as the continuation of `at` (and runs `check_root`), advances `at`, and
  // returns a token only the log can make; CommitImport stores it durably if
  // it still continues the copy (FailedPrecondition otherwise). Tokens must
  // be committed in the order they were prepared. AppendVerified is
  // ImportTail + PrepareImport + CommitImport.
  class PreparedImport {
   public:
    PreparedImport(PreparedImport&&) = default;
    PreparedImport& operator=(PreparedImport&&) = default;
    size_t size() const { return events_.size(); }
    // events: the verified signed events, in seq order.
    const std::vector<std::string>& events() const { return events_; }

   private:
    friend class EventLog;
    PreparedImport() = default;
    ChainTail start_, end_;
    std::shared_ptr<const KeyHistory> keys_after_;  // set when the events rotate the key
    std::vector<std::string> events_;
    std::vector<Hash> leaf_hashes_;
  };
  Result<PreparedImport> PrepareImport(std::vector<std::string> signed_events, ImportPoint& at,
                                       const RootCheck& check_root = nullptr);
  Result<AppendResult> CommitImport(PreparedImport prepared);

  // StoreCheckpoint durably stores a checkpoint signed by the log's key whose
  // size this copy holds and whose root matches; Corruption otherwise.
  Status StoreCheckpoint(std::string_view note);

  // Size returns the number of durable events.
  uint64_t Size() const { return size_.load(std::memory_order_acquire); }

  // CommittedGroups returns how many durable batches appends have written
  // (fewer than appends when group commit shares fsyncs).
  uint64_t CommittedGroups() const { return groups_.load(std::memory_order_relaxed); }
  // GroupSizes: how many events each durable batch (one fsync) carried,
  // as a histogram with bounds 1, 2, 4, … 1024.
  HistogramSnapshot GroupSizes() const;
  // CommitLatency: how long each durable batch took to write and fsync
  // (seconds), from the committer taking its group to the store's answer.
  // Appenders wait for the batch in flight, then their own: this bounds an
  // append's latency from below.
  HistogramSnapshot CommitLatency() const { return commit_latency_.Snapshot(); }
  // LastEventTime: the time of the last event (microseconds; 0 when empty).
  // A wall clock behind it means new events are pinned to it.
  int64_t LastEventTime();
  // AppendError: OK, or why appends are refused until the log is reopened
  // (a failed commit whose outcome is unknown latches; a full disk does not).
  Status AppendError();
  // TEST_PendingAppends returns the number of appends not yet committed.
  size_t TEST_PendingAppends();
  // TEST_ReadyAppends: those of them already signed (ready to commit).
  size_t TEST_ReadyAppends();

  // ReadSignedEvent returns the exact stored bytes of event `seq`.
  Result<std::string> ReadSignedEvent(uint64_t seq);
  // ForEach calls fn(seq, bytes) for each stored event in [from, to) in
  // order; stops at the first failed Status. It does not check continuity:
  // a missing key is simply skipped (VerifyLog reports such gaps).
  Status ForEach(uint64_t from, uint64_t to,
                 const std::function<Status(uint64_t seq, std::string_view bytes)>& fn);

  Result<Hash> RootAt(uint64_t size);
  Result<Hash> LeafHashAt(uint64_t index);
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size);
  Result<std::vector<Hash>> ConsistencyProof(uint64_t first, uint64_t second);

  // SignCheckpoint signs and durably stores a checkpoint of the current size
  // (on demand), after checking that the current tree is consistent with the
  // latest stored checkpoint. Returns the signed note.
  Result<std::string> SignCheckpoint();
  // LatestCheckpoint returns the stored checkpoint with the largest size;
  // NotFound if none was signed yet.
  Result<std::string> LatestCheckpoint();
  // ForEachCheckpoint calls fn(size, note) for every stored checkpoint by size.
  Status ForEachCheckpoint(const std::function<Status(uint64_t, const std::string&)>& fn);

  const std::string& origin() const { return verifier_.name(); }
  // verifier: the key the log was registered with (its identity, the key
  // peers pin); keys(): every key it has been signed with since.
  const LogVerifier& verifier() const { return verifier_; }
  std::shared_ptr<const KeyHistory> keys() const { return std::atomic_load(&keys_); }

  // RotateKey appends a logKeyRotated event naming `next` (signed by the
  // current key), makes `next` the signing key and signs a checkpoint with
  // it (returned). FailedPrecondition while other appends are in flight or
  // without a signing key; InvalidArgument for a key of another log or one
  // the log already used. Plain Append refuses logKeyRotated drafts.
  Result<std::string> RotateKey(LogSigner next, const std::string& reason);
  const std::string& key_prefix() const { return prefix_; }
  Store* store() { return store_; }

 private:
  struct PendingAppend;
  class StoredNodes;

  EventLog(Store* store, LogVerifier verifier, std::optional<LogSigner> signer,
           EventLogOptions options);
  Status Recover();
  Status SignPending(PendingAppend& p);
  // WaitUntilCommitted returns when `p` is durable or failed, taking the
  // committer role when `p` heads the queue. `lock` holds mu_.
  void WaitUntilCommitted(PendingAppend& p, std::unique_lock<std::mutex>& lock);
  // WakeAfterUnlock wakes `appenders` with `lock` (mu_) released, then takes it again.
  static void WakeAfterUnlock(std::vector<std::shared_ptr<PendingAppend>>& appenders,
                              std::unique_lock<std::mutex>& lock);
  // CommitGroup writes `group` (contiguous, signed) in one durable batch.
  // Called only by the thread holding the committer role.
  Status CommitGroup(const std::vector<PendingAppend*>& group);
  Status CommitGroupOnto(const std::vector<PendingAppend*>& group);  // CommitGroup's work
  Result<std::string> MakeCheckpoint(uint64_t size, const Hash& root);
  Result<AppendResult> AppendImpl(std::vector<EventDraft> drafts, const LogSigner* rotate_to);
  Status CheckConsistentWithLatestCheckpoint(uint64_t size);

  Store* const store_;
  const LogVerifier verifier_;  // the registered (first) key: the log's identity
  // The signing key; replaced only by RotateKey, while rotating_ keeps every
  // other append out.
  std::optional<LogSigner> signer_;
  // Every key of the log (log/key_history.h); replaced by the committer when
  // a rotation becomes durable, before the new size is published.
  std::shared_ptr<const KeyHistory> keys_;
  bool rotating_ = false;          // guarded by mu_
  const EventLogOptions options_;
  Env* const env_;
  const std::string prefix_;
  std::unique_ptr<StoredNodes> nodes_;

  std::atomic<uint64_t> size_{0};  // durable events
  std::atomic<uint64_t> groups_{0};
  static constexpr size_t kGroupBuckets = 12;  // ≤ 1, 2, 4, … 1024, above
  std::array<std::atomic<uint64_t>, kGroupBuckets> group_sizes_ = {};
  std::atomic<uint64_t> grouped_events_{0};
  LatencyHistogram commit_latency_;

  std::mutex mu_;
  std::condition_variable cv_;     // SignCheckpoint waits here for the committer role
  int checkpoint_waiters_ = 0;     // guarded by mu_
  Status append_error_;            // guarded by mu_; non-OK blocks Append
  uint64_t next_seq_ = 0;          // guarded by mu_; next seq to assign
  Hash last_body_hash_{};          // guarded by mu_; prevHash of next_seq_
  int64_t last_time_ = 0;          // guarded by mu_
  // The wall and elapsed clocks read together at open and at each append
  // (guarded by mu_): a wall clock far ahead of the elapsed time since is a jump.
  int64_t anchor_wall_ = 0;
  int64_t anchor_elapsed_ = 0;
  // Guarded by mu_; by first seq. Shared with the appender that waits on
  // each: a committer wakes appenders after releasing mu_ (a thread woken
  // under it would only block on it again), and its reference keeps the
  // entry alive even if the appender has already returned.
  std::deque<std::shared_ptr<PendingAppend>> pending_;
  bool committing_ = false;        // guarded by mu_; a thread holds the committer role
  // Owned by the committer role:
  MerkleFrontier frontier_;
  uint64_t last_checkpoint_size_ = 0;
  bool has_checkpoint_ = false;
};

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_EVENT_LOG_H_
