#include "log/event_log.h"

#include <kj/exception.h>

#include <algorithm>
#include <limits>
#include <shared_mutex>
#include <unordered_map>

#include "base/encoding.h"
#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "log/checkpoint.h"
#include "log/event_chain.h"
#include "log/event_codec.h"
#include "log/merkle.h"

namespace mirrorca::log {
namespace {

constexpr std::string_view kMetaLogPrefix = "log/";
constexpr std::string_view kMetaKeysPrefix = "keys/";  // a rotated log's KeyHistory
constexpr size_t kParallelSignThreshold = 64;  // below this, one thread signs
// A write batch's bytes per event besides the event itself: its key and on
// average two Merkle nodes (key and hash), with RocksDB's record headers.
constexpr size_t kBatchBytesPerEvent = 160;

bool HasPrefix(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::memcmp(key.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

std::string LogKeyPrefix(std::string_view origin) {
  Hash h = Sha256(AsBytes(origin));
  return std::string(reinterpret_cast<const char*>(h.data()), 8);
}

std::string EventKey(std::string_view prefix, uint64_t seq) {
  std::string k(prefix);
  PutBigEndian64(k, seq);
  return k;
}

std::string NodeKey(std::string_view prefix, int level, uint64_t index) {
  std::string k(prefix);
  k.push_back(static_cast<char>(level));
  PutBigEndian64(k, index);
  return k;
}

std::string CheckpointKey(std::string_view prefix, uint64_t tree_size) {
  return EventKey(prefix, tree_size);
}

struct EventLog::PendingAppend {
  uint64_t first_seq = 0;
  Hash prev_before{};  // the chain's tail hash before these events (a rollback restores it)
  std::vector<std::string> bodies;
  std::vector<std::string> signed_events;
  std::vector<Hash> leaf_hashes;
  Status sign_status;
  // A key rotation among these events: the log's keys after them (stored in
  // the same batch) and, for the owner, no automatic checkpoint in it.
  std::shared_ptr<const KeyHistory> keys_after;
  bool ready = false;  // signed (or failed to sign)
  bool done = false;   // committed (or failed); `result` says which
  Status result;
  // Signalled when this append is done, or when it heads the queue and may
  // take the committer role. One condition variable per append, so a commit
  // wakes only the appenders it concerns, not every waiting thread.
  std::condition_variable cv;
};

// StoredNodes reads Merkle nodes from the store. Nodes are immutable once
// written, so those of level >= kCachedLevel (1/32 of all nodes, the ones
// every proof touches) are kept in memory after their first read.
class EventLog::StoredNodes final : public NodeSource {
 public:
  static constexpr int kCachedLevel = 5;

  StoredNodes(Store* store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}
  Result<Hash> GetNode(int level, uint64_t index) override {
    const bool cacheable = level >= kCachedLevel;
    if (cacheable) {
      std::shared_lock lock(cache_mu_);
      auto it = cache_.find(CacheKey(level, index));
      if (it != cache_.end()) return it->second;
    }
    Result<Hash> h = Read(level, index);
    if (h.ok() && cacheable) {
      std::unique_lock lock(cache_mu_);
      cache_.emplace(CacheKey(level, index), *h);
    }
    return h;
  }

 private:
  static uint64_t CacheKey(int level, uint64_t index) {
    return (static_cast<uint64_t>(level) << 58) | index;
  }

  Result<Hash> Read(int level, uint64_t index) {
    Result<std::string> v = store_->Get(store_->merkle(), NodeKey(prefix_, level, index));
    if (!v.ok()) {
      if (v.status().code() != StatusCode::kNotFound) return v.status();
      return Status::Corruption("missing Merkle node level " + std::to_string(level) + " index " +
                                std::to_string(index));
    }
    if (v->size() != sizeof(Hash)) {
      return Status::Corruption("Merkle node level " + std::to_string(level) + " index " +
                                std::to_string(index) + " is not 32 bytes");
    }
    Hash h;
    std::memcpy(h.data(), v->data(), h.size());
    return h;
  }

  Store* const store_;
  const std::string prefix_;
  std::shared_mutex cache_mu_;
  std::unordered_map<uint64_t, Hash> cache_;  // guarded by cache_mu_
};

EventLog::EventLog(Store* store, LogVerifier verifier, std::optional<LogSigner> signer,
                   EventLogOptions options)
    : store_(store),
      verifier_(std::move(verifier)),
      signer_(std::move(signer)),
      options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      prefix_(LogKeyPrefix(verifier_.name())),
      nodes_(std::make_unique<StoredNodes>(store, prefix_)) {
  keys_ = std::make_shared<const KeyHistory>(verifier_);
}

namespace {
std::string KeysMetaKey(std::string_view prefix) { return std::string(kMetaKeysPrefix) + HexEncode(AsBytes(prefix)); }
}  // namespace

EventLog::~EventLog() = default;

Status EventLog::Create(Store* store, const LogVerifier& verifier) {
  std::string key = std::string(kMetaLogPrefix) + HexEncode(AsBytes(LogKeyPrefix(verifier.name())));
  Result<std::string> existing = store->Get(store->meta(), key);
  if (existing.ok()) {
    return Status::AlreadyExists("a log with the key prefix of '" + verifier.name() +
                                 "' already exists in this store");
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  rocksdb::WriteBatch batch;
  batch.Put(store->meta(), key, verifier.VerifierKey());
  return store->WriteDurably(&batch);
}

Result<std::vector<std::string>> EventLog::ListOrigins(Store* store) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(rocksdb::ReadOptions(),
                                                                 store->meta()));
  for (it->Seek(std::string(kMetaLogPrefix)); it->Valid() && HasPrefix(it->key(), kMetaLogPrefix);
       it->Next()) {
    ASSIGN_OR_RETURN(LogVerifier v, LogVerifier::Parse(it->value().ToString()));
    out.push_back(v.name());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list logs"));
  return out;
}

Result<std::unique_ptr<EventLog>> EventLog::Open(Store* store, const std::string& origin,
                                                 std::optional<LogSigner> signer,
                                                 EventLogOptions options) {
  std::string key = std::string(kMetaLogPrefix) + HexEncode(AsBytes(LogKeyPrefix(origin)));
  Result<std::string> vkey = store->Get(store->meta(), key);
  if (!vkey.ok()) {
    if (vkey.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("no log '" + origin + "' in this store");
    }
    return vkey.status();
  }
  ASSIGN_OR_RETURN(LogVerifier verifier, LogVerifier::Parse(*vkey));
  if (verifier.name() != origin) {
    return Status::Corruption("log prefix collision: stored log is '" + verifier.name() + "'");
  }
  auto keys = std::make_shared<KeyHistory>(verifier);
  Result<std::string> stored_keys = store->Get(store->meta(), KeysMetaKey(LogKeyPrefix(origin)));
  if (stored_keys.ok()) {
    ASSIGN_OR_RETURN(KeyHistory h, KeyHistory::Parse(*stored_keys));
    if (h.initial().VerifierKey() != verifier.VerifierKey()) {
      return Status::Corruption("the key history of log '" + origin + "' does not start with its registered key");
    }
    *keys = std::move(h);
  } else if (stored_keys.status().code() != StatusCode::kNotFound) {
    return stored_keys.status();
  }
  if (signer.has_value() && signer->verifier().VerifierKey() != keys->current().VerifierKey()) {
    for (const KeyEpoch& e : keys->epochs()) {
      if (e.key.VerifierKey() == signer->verifier().VerifierKey()) {
        return Status::PermissionDenied("the signing key of log '" + origin + "' was rotated out at seq " +
                                        std::to_string(keys->epochs().back().from - 1) + "; its key now is " +
                                        keys->current().VerifierKey());
      }
    }
    return Status::PermissionDenied("the signing key is not the key registered for log '" +
                                    origin + "'");
  }
  if (options.checkpoint_interval == 0) options.checkpoint_interval = 1;
  std::unique_ptr<EventLog> log(
      new EventLog(store, std::move(verifier), std::move(signer), options));
  log->keys_ = std::move(keys);
  RETURN_IF_ERROR(log->Recover());
  log->anchor_wall_ = log->env_->NowMicros();
  log->anchor_elapsed_ = log->env_->ElapsedMicros();
  return log;
}

Result<std::unique_ptr<EventLog>> EventLog::OpenCopy(Store* store, const LogVerifier& owner,
                                                     EventLogOptions options) {
  Status created = Create(store, owner);
  if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> copy,
                   Open(store, owner.name(), std::nullopt, std::move(options)));
  if (copy->verifier().VerifierKey() != owner.VerifierKey()) {
    return Status::PermissionDenied("this store's copy of log '" + owner.name() +
                                    "' is registered with another key than " +
                                    owner.VerifierKey());
  }
  return copy;
}

Status EventLog::Recover() {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->events()));
  it->SeekForPrev(EventKey(prefix_, std::numeric_limits<uint64_t>::max()));
  uint64_t size = 0;
  std::string last;
  if (it->Valid() && HasPrefix(it->key(), prefix_) && it->key().size() == prefix_.size() + 8) {
    size = GetBigEndian64(std::string_view(it->key().data() + prefix_.size(), 8)) + 1;
    last = it->value().ToString();
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "find log tail"));
  size_.store(size);
  next_seq_ = size;

  // Problems below leave the log readable (for verify) but refuse appends.
  if (size > 0) {
    Result<ParsedEvent> p = ParsedEvent::Parse(AsBytes(last));
    if (!p.ok()) {
      append_error_ = p.status().WithContext("seq " + std::to_string(size - 1));
    } else if (p->seq() != size - 1) {
      append_error_ = Status::Corruption("seq " + std::to_string(size - 1) + ": event claims seq " +
                                         std::to_string(p->seq()));
    } else {
      last_body_hash_ = BodyHash(p->body());
      last_time_ = p->event().getTime();
    }
  }
  std::vector<Hash> frontier_nodes;
  for (auto [level, index] : MerkleFrontier::PerfectSubtrees(size)) {
    Result<Hash> h = nodes_->GetNode(level, index);
    if (!h.ok()) {
      if (append_error_.ok()) append_error_ = h.status();
      break;
    }
    frontier_nodes.push_back(*h);
  }
  frontier_ = MerkleFrontier::FromNodes(size, std::move(frontier_nodes));

  std::unique_ptr<rocksdb::Iterator> cp(store_->db()->NewIterator(ro, store_->checkpoints()));
  cp->SeekForPrev(CheckpointKey(prefix_, std::numeric_limits<uint64_t>::max()));
  if (cp->Valid() && HasPrefix(cp->key(), prefix_) && cp->key().size() == prefix_.size() + 8) {
    has_checkpoint_ = true;
    last_checkpoint_size_ = GetBigEndian64(std::string_view(cp->key().data() + prefix_.size(), 8));
    if (last_checkpoint_size_ > size && append_error_.ok()) {
      append_error_ = Status::Corruption(
          "seq " + std::to_string(size) + ": log has " + std::to_string(size) +
          " events but a checkpoint of size " + std::to_string(last_checkpoint_size_) +
          " was signed; events are missing");
    }
  }
  return FromRocks(cp->status(), "find latest checkpoint");
}

Status EventLog::SignPending(PendingAppend& p) {
  const size_t n = p.bodies.size();
  p.signed_events.resize(n);
  p.leaf_hashes.resize(n);
  std::vector<Status> failures(n);
  unsigned threads = n >= kParallelSignThreshold
                         ? (options_.signing_threads ? options_.signing_threads : HardwareThreads())
                         : 1;
  ParallelFor(n, threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Result<Bytes> sig = signer_->Sign(EventSigningInput(AsBytes(p.bodies[i])));
      if (!sig.ok()) {
        failures[i] = sig.status();
        continue;
      }
      p.signed_events[i] = EncodeSignedEvent(AsBytes(p.bodies[i]), *sig);
      p.leaf_hashes[i] = LeafHash(AsBytes(p.signed_events[i]));
    }
  });
  for (Status& s : failures) RETURN_IF_ERROR(s);
  return Status::Ok();
}

Result<AppendResult> EventLog::Append(std::vector<EventDraft> drafts) {
  return AppendImpl(std::move(drafts), nullptr);
}

Result<AppendResult> EventLog::AppendImpl(std::vector<EventDraft> drafts, const LogSigner* rotate_to) {
  if (!signer_.has_value()) {
    return Status::FailedPrecondition("log '" + origin() + "' is open without its signing key");
  }
  if (drafts.empty()) return AppendResult{Size(), 0};
  if (drafts.size() > options_.max_group_events) {
    return Status::ResourceExhausted("at most " + std::to_string(options_.max_group_events) +
                                     " events per append");
  }
  for (size_t i = 0; i < drafts.size(); ++i) {
    const bool rotation = drafts[i].event().asReader().getKind().which() == schema::Event::Kind::LOG_KEY_ROTATED;
    if (rotation != (rotate_to != nullptr && i == 0)) {
      return Status::InvalidArgument("draft " + std::to_string(i) +
                                     ": a key rotation is appended by RotateKey alone, which then signs with the new key");
    }
  }
  auto shared = std::make_shared<PendingAppend>();
  PendingAppend& p = *shared;
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(append_error_);
    if (rotating_ && rotate_to == nullptr) {
      return Status::FailedPrecondition("log '" + origin() + "' is rotating its key");
    }
    if (rotate_to != nullptr) {
      if (drafts.size() != 1) return Status::InvalidArgument("a key rotation is one event");
      KeyHistory after = *keys_;
      RETURN_IF_ERROR(after.Rotate(next_seq_, rotate_to->verifier()));
      p.keys_after = std::make_shared<const KeyHistory>(std::move(after));
    }
    uint64_t seq = next_seq_;
    Hash prev = last_body_hash_;
    p.prev_before = prev;
    const int64_t now = env_->NowMicros();
    const int64_t elapsed = env_->ElapsedMicros();
    if (options_.max_clock_jump_micros > 0) {
      const int64_t since = elapsed - anchor_elapsed_;
      const int64_t jump = now - (anchor_wall_ + since);
      if (jump > options_.max_clock_jump_micros + since / 1000) {
        return Status::Unavailable(
            "the clock jumped forward by " + std::to_string(jump / 1000000) + " s since the last append (" +
            std::to_string(since / 1000000) + " s have passed): nothing was written, so no event is stamped in the "
            "future. Fix the clock; if the new time is right, restart the node to accept it");
      }
    }
    anchor_wall_ = now;
    anchor_elapsed_ = elapsed;
    const int64_t time = std::max(now, last_time_);
    p.bodies.reserve(drafts.size());
    for (size_t i = 0; i < drafts.size(); ++i) {
      schema::Event::Builder e = drafts[i].event();
      try {
        e.setLogId(origin());
        e.setSeq(seq);
        e.setTime(time);
        e.setPrevHash(kj::ArrayPtr<const kj::byte>(prev.data(), prev.size()));
      } catch (const kj::Exception& ex) {
        return Status::InvalidArgument("draft " + std::to_string(i) + ": " +
                                       ex.getDescription().cStr());
      }
      Result<std::string> body = EncodeCanonicalBody(e.asReader());
      if (!body.ok()) return body.status().WithContext("draft " + std::to_string(i));
      prev = BodyHash(AsBytes(*body));
      ++seq;
      p.bodies.push_back(std::move(*body));
    }
    p.first_seq = next_seq_;
    next_seq_ = seq;
    last_body_hash_ = prev;
    last_time_ = time;
    pending_.push_back(shared);  // shared: `p` outlives its entry
  }

  // Sign outside the lock: concurrent appenders sign on every core.
  p.sign_status = SignPending(p);

  std::unique_lock lock(mu_);
  p.ready = true;
  WaitUntilCommitted(p, lock);
  if (!p.result.ok()) return p.result;
  return AppendResult{p.first_seq, p.bodies.size()};
}

void EventLog::WakeAfterUnlock(std::vector<std::shared_ptr<PendingAppend>>& appenders,
                               std::unique_lock<std::mutex>& lock) {
  if (appenders.empty()) return;
  lock.unlock();
  for (const std::shared_ptr<PendingAppend>& q : appenders) q->cv.notify_one();
  appenders.clear();
  lock.lock();
}

void EventLog::WaitUntilCommitted(PendingAppend& p, std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<PendingAppend>> wake;
  while (!p.done) {
    if (!committing_ && !pending_.empty() && pending_.front()->ready) {
      committing_ = true;
      std::vector<PendingAppend*> group;  // alive: they stay in pending_ until popped below
      size_t events = 0;
      for (const std::shared_ptr<PendingAppend>& q : pending_) {
        if (!q->ready) break;
        if (!group.empty() && events + q->bodies.size() > options_.max_group_events) break;
        group.push_back(q.get());
        events += q->bodies.size();
      }
      lock.unlock();
      Status s = CommitGroup(group);
      lock.lock();
      for (PendingAppend* q : group) {
        q->done = true;
        q->result = s;
        if (q != &p) wake.push_back(pending_.front());
        pending_.pop_front();
      }
      if (!s.ok() && s.code() == StatusCode::kUnavailable) {
        // The store wrote nothing (a full disk): the chain goes back to its
        // durable tail and every later append — chained onto the refused
        // events — is refused too; appends resume when the store accepts
        // writes again, with no restart.
        next_seq_ = group.front()->first_seq;
        last_body_hash_ = group.front()->prev_before;
        for (std::shared_ptr<PendingAppend>& q : pending_) {
          q->done = true;
          q->result = s;
          wake.push_back(std::move(q));
        }
        pending_.clear();
      } else if (!s.ok()) {
        // Every later append was chained onto events that may or may not be
        // durable: only a restart (which reads what the store holds) is safe.
        append_error_ = s.WithContext("log '" + origin() + "' stopped accepting appends");
        for (std::shared_ptr<PendingAppend>& q : pending_) {
          q->done = true;
          q->result = append_error_;
          wake.push_back(std::move(q));
        }
        pending_.clear();
      }
      committing_ = false;
      // Hand the committer role to the next signed append, if any; one that is
      // still signing takes it itself when it is ready.
      if (!pending_.empty() && pending_.front()->ready) wake.push_back(pending_.front());
      if (checkpoint_waiters_ > 0) cv_.notify_all();
      WakeAfterUnlock(wake, lock);
    } else {
      p.cv.wait(lock);
    }
  }
}

Result<AppendResult> EventLog::AppendVerified(std::vector<std::string> signed_events,
                                              const RootCheck& check_root) {
  if (signed_events.empty()) return AppendResult{Size(), 0};
  ASSIGN_OR_RETURN(ImportPoint at, ImportTail());
  ASSIGN_OR_RETURN(PreparedImport p, PrepareImport(std::move(signed_events), at, check_root));
  return CommitImport(std::move(p));
}

Result<EventLog::PreparedImport> EventLog::PrepareImport(std::vector<std::string> signed_events,
                                                         ImportPoint& at,
                                                         const RootCheck& check_root) {
  if (signer_.has_value()) {
    return Status::FailedPrecondition("log '" + origin() +
                                      "' is written by this node; it cannot import events");
  }
  if (signed_events.size() > options_.max_group_events) {
    return Status::ResourceExhausted("at most " + std::to_string(options_.max_group_events) +
                                     " events per append");
  }
  // Parse and verify without the lock, on every core.
  if (!at.keys) at.keys = keys();
  Result<VerifiedEvents> v = VerifyContinuation(*at.keys, at.chain, signed_events);
  if (!v.ok()) return v.status().WithContext("import");
  MerkleFrontier frontier = at.frontier;
  for (const Hash& h : v->leaf_hashes) frontier.Append(h);
  if (check_root) RETURN_IF_ERROR(check_root(frontier.size(), frontier.Root()));
  PreparedImport p;
  p.start_ = at.chain;
  p.end_ = v->tail;
  p.events_ = std::move(signed_events);
  p.leaf_hashes_ = std::move(v->leaf_hashes);
  if (!v->rotations.empty()) {
    p.keys_after_ = std::make_shared<const KeyHistory>(std::move(*v->keys));
    at.keys = p.keys_after_;
  }
  at.chain = v->tail;
  at.frontier = std::move(frontier);
  return p;
}

Result<AppendResult> EventLog::CommitImport(PreparedImport prepared) {
  if (prepared.events_.empty()) return AppendResult{Size(), 0};
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(append_error_);
  if (next_seq_ != prepared.start_.next_seq || last_body_hash_ != prepared.start_.prev_body_hash ||
      !pending_.empty() || committing_) {
    return Status::FailedPrecondition("import into '" + origin() +
                                      "' does not continue the copy (another import ran)");
  }
  auto shared = std::make_shared<PendingAppend>();
  PendingAppend& p = *shared;
  p.first_seq = next_seq_;
  p.leaf_hashes = std::move(prepared.leaf_hashes_);
  next_seq_ = prepared.end_.next_seq;
  last_body_hash_ = prepared.end_.prev_body_hash;
  last_time_ = prepared.end_.time;
  p.signed_events = std::move(prepared.events_);
  p.keys_after = std::move(prepared.keys_after_);
  p.sign_status = Status::Ok();
  p.ready = true;
  pending_.push_back(shared);  // shared: `p` outlives its entry
  WaitUntilCommitted(p, lock);
  if (!p.result.ok()) return p.result;
  return AppendResult{p.first_seq, p.signed_events.size()};
}

Result<EventLog::ImportPoint> EventLog::ImportTail() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(append_error_);
  if (!pending_.empty() || committing_) {
    return Status::FailedPrecondition("another import into '" + origin() + "' is in progress");
  }
  // With no append pending and no committer, frontier_ is at rest.
  return ImportPoint{ChainTail{next_seq_, last_body_hash_, last_time_}, frontier_, keys()};
}

Status EventLog::StoreCheckpoint(std::string_view note) {
  ASSIGN_OR_RETURN(Checkpoint cp, OpenCheckpoint(note, *keys()));
  if (cp.tree_size == 0 || cp.tree_size > Size()) {
    return Status::FailedPrecondition("checkpoint of size " + std::to_string(cp.tree_size) +
                                      " but the log holds " + std::to_string(Size()) + " events");
  }
  ASSIGN_OR_RETURN(Hash root, RootAt(cp.tree_size));
  if (root != cp.root_hash) {
    return Status::Corruption("checkpoint of size " + std::to_string(cp.tree_size) +
                              " does not match the log's root at that size");
  }
  rocksdb::WriteBatch batch;
  batch.Put(store_->checkpoints(), CheckpointKey(prefix_, cp.tree_size),
            rocksdb::Slice(note.data(), note.size()));
  return store_->WriteDurably(&batch);
}

size_t EventLog::TEST_PendingAppends() {
  std::lock_guard lock(mu_);
  return pending_.size();
}

size_t EventLog::TEST_ReadyAppends() {
  std::lock_guard lock(mu_);
  size_t ready = 0;
  for (const std::shared_ptr<PendingAppend>& p : pending_) ready += p->ready ? 1 : 0;
  return ready;
}

Status EventLog::CommitGroup(const std::vector<PendingAppend*>& group) {
  if (options_.TEST_before_commit) options_.TEST_before_commit();
  // The frontier as durable, restored when the group is not written.
  MerkleFrontier durable_frontier = frontier_;
  const int64_t started = env_->ElapsedMicros();
  Status s = CommitGroupOnto(group);
  const int64_t took = std::max<int64_t>(0, env_->ElapsedMicros() - started);
  commit_latency_.Observe(static_cast<uint64_t>(took));
  if (options_.on_commit) options_.on_commit(took);
  if (!s.ok()) frontier_ = std::move(durable_frontier);
  return s;
}

Status EventLog::CommitGroupOnto(const std::vector<PendingAppend*>& group) {
  // Sized once: a bulk group is hundreds of kilobytes, and a batch grown by
  // doubling copies it several times over.
  size_t bytes = 256;
  for (const PendingAppend* q : group) {
    for (const std::string& e : q->signed_events) bytes += e.size() + kBatchBytesPerEvent;
  }
  rocksdb::WriteBatch batch(bytes);
  const uint64_t old_size = frontier_.size();
  std::shared_ptr<const KeyHistory> keys_after;
  for (PendingAppend* q : group) {
    RETURN_IF_ERROR(q->sign_status);
    if (q->keys_after) {
      keys_after = q->keys_after;
      batch.Put(store_->meta(), KeysMetaKey(prefix_), keys_after->Serialize());
    }
    if (q->first_seq != frontier_.size()) {
      return Status::Internal("group commit out of order at seq " + std::to_string(q->first_seq));
    }
    for (size_t i = 0; i < q->signed_events.size(); ++i) {
      batch.Put(store_->events(), EventKey(prefix_, q->first_seq + i), q->signed_events[i]);
      frontier_.Append(q->leaf_hashes[i], [&](int level, uint64_t index, const Hash& h) {
        batch.Put(store_->merkle(), NodeKey(prefix_, level, index),
                  rocksdb::Slice(reinterpret_cast<const char*>(h.data()), h.size()));
      });
    }
  }
  const uint64_t new_size = frontier_.size();
  // Logs held as mirror copies store the owner's checkpoints (StoreCheckpoint).
  // (Not in a rotation's group: RotateKey signs that checkpoint with the new key.)
  const bool checkpoint = signer_.has_value() && !keys_after &&
                          new_size / options_.checkpoint_interval > old_size / options_.checkpoint_interval;
  if (checkpoint) {
    ASSIGN_OR_RETURN(std::string note, MakeCheckpoint(new_size, frontier_.Root()));
    batch.Put(store_->checkpoints(), CheckpointKey(prefix_, new_size), note);
  }
  RETURN_IF_ERROR(store_->WriteDurably(&batch));
  if (checkpoint) {
    has_checkpoint_ = true;
    last_checkpoint_size_ = new_size;
  }
  if (keys_after) std::atomic_store(&keys_, keys_after);
  size_.store(new_size, std::memory_order_release);
  groups_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t events = new_size - old_size;
  size_t bucket = 0;
  while (bucket + 1 < kGroupBuckets && events > (uint64_t{1} << bucket)) ++bucket;
  group_sizes_[bucket].fetch_add(1, std::memory_order_relaxed);
  grouped_events_.fetch_add(events, std::memory_order_relaxed);
  return Status::Ok();
}

HistogramSnapshot EventLog::GroupSizes() const {
  HistogramSnapshot h;
  uint64_t cumulative = 0;
  for (size_t i = 0; i + 1 < kGroupBuckets; ++i) {
    cumulative += group_sizes_[i].load(std::memory_order_relaxed);
    h.buckets.emplace_back(static_cast<double>(uint64_t{1} << i), cumulative);
  }
  h.count = cumulative + group_sizes_[kGroupBuckets - 1].load(std::memory_order_relaxed);
  h.sum = static_cast<double>(grouped_events_.load(std::memory_order_relaxed));
  return h;
}

int64_t EventLog::LastEventTime() {
  std::lock_guard lock(mu_);
  return last_time_;
}

Status EventLog::AppendError() {
  std::lock_guard lock(mu_);
  return append_error_;
}

Result<std::string> EventLog::MakeCheckpoint(uint64_t size, const Hash& root) {
  Checkpoint cp;
  cp.origin = origin();
  cp.tree_size = size;
  cp.root_hash = root;
  return log::SignCheckpoint(cp, *signer_);
}

Status EventLog::CheckConsistentWithLatestCheckpoint(uint64_t size) {
  if (!has_checkpoint_) return Status::Ok();
  ASSIGN_OR_RETURN(std::string note,
                   store_->Get(store_->checkpoints(), CheckpointKey(prefix_, last_checkpoint_size_)));
  ASSIGN_OR_RETURN(Checkpoint old, OpenCheckpoint(note, *keys()));
  ASSIGN_OR_RETURN(std::vector<Hash> proof, log::ConsistencyProof(*nodes_, old.tree_size, size));
  return VerifyConsistency(old.tree_size, size, old.root_hash, frontier_.Root(), proof)
      .WithContext("refusing to sign a checkpoint inconsistent with the one of size " +
                   std::to_string(old.tree_size));
}

Result<std::string> EventLog::SignCheckpoint() {
  if (!signer_.has_value()) {
    return Status::FailedPrecondition("log '" + origin() + "' is open without its signing key");
  }
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(append_error_);
  ++checkpoint_waiters_;
  cv_.wait(lock, [&] { return !committing_; });
  --checkpoint_waiters_;
  committing_ = true;
  lock.unlock();

  auto sign = [&]() -> Result<std::string> {
    const uint64_t size = frontier_.size();
    if (has_checkpoint_ && last_checkpoint_size_ == size) return LatestCheckpoint();
    RETURN_IF_ERROR(CheckConsistentWithLatestCheckpoint(size));
    ASSIGN_OR_RETURN(std::string note, MakeCheckpoint(size, frontier_.Root()));
    rocksdb::WriteBatch batch;
    batch.Put(store_->checkpoints(), CheckpointKey(prefix_, size), note);
    RETURN_IF_ERROR(store_->WriteDurably(&batch));
    has_checkpoint_ = true;
    last_checkpoint_size_ = size;
    return note;
  };
  Result<std::string> result = sign();

  lock.lock();
  committing_ = false;
  if (!pending_.empty() && pending_.front()->ready) pending_.front()->cv.notify_one();
  if (checkpoint_waiters_ > 0) cv_.notify_all();
  return result;
}

Result<std::string> EventLog::RotateKey(LogSigner next, const std::string& reason) {
  if (!signer_.has_value()) {
    return Status::FailedPrecondition("log '" + origin() + "' is open without its signing key");
  }
  if (next.name() != origin()) {
    return Status::InvalidArgument("the new key is named '" + next.name() + "', not '" + origin() + "'");
  }
  {
    std::lock_guard lock(mu_);
    if (rotating_ || !pending_.empty() || committing_) {
      return Status::FailedPrecondition("log '" + origin() + "' has appends in flight; rotate when it is idle");
    }
    rotating_ = true;
  }
  EventDraft draft;
  auto r = draft.event().getKind().initLogKeyRotated();
  r.setNewKey(next.verifier().VerifierKey());
  r.setReason(reason);
  std::vector<EventDraft> drafts;
  drafts.push_back(std::move(draft));
  Result<AppendResult> appended = AppendImpl(std::move(drafts), &next);
  // Swap the key while no one holds the committer role (a concurrent
  // SignCheckpoint reads signer_ there); no append signs while rotating_.
  std::unique_lock lock(mu_);
  ++checkpoint_waiters_;
  cv_.wait(lock, [&] { return !committing_; });
  --checkpoint_waiters_;
  if (appended.ok()) signer_ = std::move(next);
  rotating_ = false;
  lock.unlock();
  RETURN_IF_ERROR(appended.status());
  return SignCheckpoint();
}

Result<std::string> EventLog::LatestCheckpoint() {
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->checkpoints()));
  it->SeekForPrev(CheckpointKey(prefix_, std::numeric_limits<uint64_t>::max()));
  if (it->Valid() && HasPrefix(it->key(), prefix_)) return it->value().ToString();
  RETURN_IF_ERROR(FromRocks(it->status(), "read latest checkpoint"));
  return Status::NotFound("log '" + origin() + "' has no checkpoint yet");
}

Status EventLog::ForEachCheckpoint(
    const std::function<Status(uint64_t, const std::string&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->checkpoints()));
  for (it->Seek(prefix_); it->Valid() && HasPrefix(it->key(), prefix_); it->Next()) {
    if (it->key().size() != prefix_.size() + 8) return Status::Corruption("bad checkpoint key");
    uint64_t size = GetBigEndian64(std::string_view(it->key().data() + prefix_.size(), 8));
    RETURN_IF_ERROR(fn(size, it->value().ToString()));
  }
  return FromRocks(it->status(), "read checkpoints");
}

Result<std::string> EventLog::ReadSignedEvent(uint64_t seq) {
  Result<std::string> v = store_->Get(store_->events(), EventKey(prefix_, seq));
  if (!v.ok() && v.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no event " + std::to_string(seq) + " in log '" + origin() + "'");
  }
  return v;
}

Status EventLog::ForEach(uint64_t from, uint64_t to,
                         const std::function<Status(uint64_t, std::string_view)>& fn) {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->events()));
  for (it->Seek(EventKey(prefix_, from)); it->Valid() && HasPrefix(it->key(), prefix_);
       it->Next()) {
    if (it->key().size() != prefix_.size() + 8) return Status::Corruption("bad event key");
    uint64_t seq = GetBigEndian64(std::string_view(it->key().data() + prefix_.size(), 8));
    if (seq >= to) break;
    RETURN_IF_ERROR(fn(seq, std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), "read events");
}

Result<Hash> EventLog::RootAt(uint64_t size) {
  if (size > Size()) {
    return Status::OutOfRange("tree size " + std::to_string(size) + " exceeds log size " +
                              std::to_string(Size()));
  }
  return log::RootAt(*nodes_, size);
}

Result<Hash> EventLog::LeafHashAt(uint64_t index) {
  if (index >= Size()) return Status::OutOfRange("leaf index beyond log size");
  return nodes_->GetNode(0, index);
}

Result<std::vector<Hash>> EventLog::InclusionProof(uint64_t index, uint64_t size) {
  if (size > Size()) {
    return Status::OutOfRange("tree size " + std::to_string(size) + " exceeds log size " +
                              std::to_string(Size()));
  }
  return log::InclusionProof(*nodes_, index, size);
}

Result<std::vector<Hash>> EventLog::ConsistencyProof(uint64_t first, uint64_t second) {
  if (second > Size()) {
    return Status::OutOfRange("tree size " + std::to_string(second) + " exceeds log size " +
                              std::to_string(Size()));
  }
  return log::ConsistencyProof(*nodes_, first, second);
}

}  // namespace mirrorca::log
