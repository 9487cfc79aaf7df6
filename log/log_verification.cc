#include "log/log_verification.h"

#include <future>
#include <map>

#include "base/encoding.h"
#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "log/checkpoint.h"
#include "log/event_codec.h"
#include "log/key_history.h"
#include "log/merkle.h"
#include "log/merkle_frontier.h"

namespace mirrorca::log {
namespace {

constexpr size_t kChunkEvents = 8192;

struct CheckedEvent {
  uint64_t key_seq = 0;
  std::string bytes;
  Status status;  // decode or signature failure
  uint64_t seq = 0;
  int64_t time = 0;
  Hash prev_hash{};
  Hash body_hash{};
  Hash leaf_hash{};
  std::optional<LogVerifier> rotation;  // the next key, for a logKeyRotated event
};

// StoredNodeCursor walks the stored Merkle nodes of each level in index
// order, in step with their recomputation.
class StoredNodeCursor {
 public:
  StoredNodeCursor(Store* store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {
    ro_.fill_cache = false;
    ro_.readahead_size = 1 << 20;
  }

  // Check returns "" when node (level, index) is stored with `hash`, else why not.
  Result<std::string> Check(int level, uint64_t index, const Hash& hash) {
    auto& it = iters_[static_cast<size_t>(level)];
    const std::string key = NodeKey(prefix_, level, index);
    if (!it) {
      it.reset(store_->db()->NewIterator(ro_, store_->merkle()));
      it->Seek(key);
    } else {
      it->Next();
      if (!it->Valid() || it->key() != rocksdb::Slice(key)) it->Seek(key);
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "read Merkle nodes"));
    if (!it->Valid() || it->key() != rocksdb::Slice(key)) return std::string("is missing");
    if (it->value() != rocksdb::Slice(reinterpret_cast<const char*>(hash.data()), hash.size())) {
      return std::string("does not match the events");
    }
    return std::string();
  }

 private:
  Store* const store_;
  const std::string prefix_;
  rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> iters_[64];
};

// CheckOne checks one event's decoding and signature by `verifier`, the key
// the log's stored key history puts in force at its seq (the sequential
// pass re-derives that history from the rotation events themselves).
void CheckOne(const LogVerifier& verifier, const VerifyOptions& options, CheckedEvent& e) {
  Result<ParsedEvent> p = ParsedEvent::Parse(AsBytes(e.bytes));
  if (!p.ok()) {
    e.status = p.status();
    return;
  }
  auto ev = p->event();
  e.seq = ev.getSeq();
  e.time = ev.getTime();
  auto prev = ev.getPrevHash();
  if (prev.size() != sizeof(Hash)) {
    e.status = Status::Corruption("prevHash is not 32 bytes");
    return;
  }
  std::memcpy(e.prev_hash.data(), prev.begin(), sizeof(Hash));
  if (ev.getLogId() != kj::StringPtr(verifier.name().c_str())) {
    e.status = Status::Corruption(std::string("event belongs to log '") + ev.getLogId().cStr() +
                                  "'");
    return;
  }
  if (ev.getKind().which() == schema::Event::Kind::UNSET) {
    e.status = Status::Corruption("event kind is unset");
    return;
  }
  if (!verifier.Verify(EventSigningInput(p->body()), p->signature())) {
    e.status = Status::Corruption("signature does not verify with the log key");
    return;
  }
  Result<std::optional<LogVerifier>> rotation = RotationIn(ev);
  if (!rotation.ok()) {
    e.status = rotation.status();
    return;
  }
  e.rotation = std::move(*rotation);
  e.body_hash = BodyHash(p->body());
  e.leaf_hash = LeafHash(AsBytes(e.bytes));
  if (options.visit) options.visit(e.key_seq, *p);
}

class Verification {
 public:
  Verification(EventLog& log, const VerifyOptions& options)
      : log_(log),
        options_(options),
        threads_(options.threads ? options.threads : HardwareThreads()),
        nodes_(log.store(), log.key_prefix()),
        stored_keys_(log.keys()),
        derived_keys_(log.verifier()) {}

  Result<VerifyReport> Run() {
    RETURN_IF_ERROR(LoadCheckpoints());
    if (!report_.ok) return report_;
    total_ = log_.Size();
    // A pipeline: while the signatures of one chunk are checked on every
    // core, this thread reads the next chunk and then checks the previous
    // one's chain and Merkle nodes, so no core waits on the sequential part.
    std::vector<CheckedEvent> chunk, in_flight;
    chunk.reserve(kChunkEvents);
    std::future<void> signatures;
    auto finish_in_flight = [&]() -> Status {
      if (!signatures.valid()) return Status::Ok();
      signatures.get();
      Status s = report_.ok ? CheckSequence(in_flight) : Status::Ok();
      in_flight.clear();
      return s;
    };
    Status scan = log_.ForEach(0, std::numeric_limits<uint64_t>::max(),
                               [&](uint64_t seq, std::string_view bytes) -> Status {
                                 chunk.push_back(CheckedEvent{seq, std::string(bytes)});
                                 if (chunk.size() < kChunkEvents) return Status::Ok();
                                 RETURN_IF_ERROR(finish_in_flight());
                                 if (!report_.ok) return Stop();
                                 in_flight.swap(chunk);  // `chunk` is now the empty one
                                 signatures = std::async(std::launch::async, [this, &in_flight] {
                                   CheckSignatures(in_flight);
                                 });
                                 return Status::Ok();
                               });
    Status last = finish_in_flight();  // always: the task refers to in_flight
    if (scan.code() != StatusCode::kOk && !stopped_) return scan;
    RETURN_IF_ERROR(last);
    if (report_.ok && !chunk.empty()) {
      CheckSignatures(chunk);
      RETURN_IF_ERROR(CheckSequence(chunk));
    }
    if (report_.ok && !checkpoints_.empty()) {
      auto last = checkpoints_.rbegin();
      if (last->first > frontier_.size()) {
        Fail(frontier_.size(), "missing: a checkpoint of size " + std::to_string(last->first) +
                                   " was signed but the log holds " +
                                   std::to_string(frontier_.size()) + " events");
      }
    }
    // The keys the signatures were checked with are exactly the ones the
    // log's own rotation events hand over, in order.
    if (report_.ok && derived_keys_.Serialize() != stored_keys_->Serialize()) {
      Fail(std::nullopt, "the stored key history differs from the key rotations in the log");
    }
    report_.events = frontier_.size();
    report_.root = frontier_.Root();
    return report_;
  }

 private:
  Status Stop() {
    stopped_ = true;
    return Status::Corruption("stop");
  }

  void Fail(std::optional<uint64_t> seq, std::string reason) {
    if (!report_.ok) return;
    report_.ok = false;
    report_.first_bad_seq = seq;
    report_.reason = std::move(reason);
  }

  Status AddCheckpoint(const std::string& note, const std::string& source,
                       std::optional<uint64_t> key_size) {
    Result<Checkpoint> cp = OpenCheckpoint(note, *stored_keys_);
    if (!cp.ok()) {
      Fail(std::nullopt, source + " checkpoint" +
                             (key_size ? " of size " + std::to_string(*key_size) : "") + ": " +
                             cp.status().message());
      return Status::Ok();
    }
    if (key_size && *key_size != cp->tree_size) {
      Fail(std::nullopt, "checkpoint stored under size " + std::to_string(*key_size) +
                             " claims size " + std::to_string(cp->tree_size));
      return Status::Ok();
    }
    auto [it, inserted] = checkpoints_.emplace(cp->tree_size, cp->root_hash);
    if (!inserted && it->second != cp->root_hash) {
      Fail(cp->tree_size ? std::optional<uint64_t>(cp->tree_size - 1) : std::nullopt,
           "fork: two validly signed checkpoints of size " + std::to_string(cp->tree_size) +
               " have different roots (" + source + ")");
    }
    return Status::Ok();
  }

  Status LoadCheckpoints() {
    RETURN_IF_ERROR(log_.ForEachCheckpoint([&](uint64_t size, const std::string& note) {
      return AddCheckpoint(note, "stored", size);
    }));
    for (const std::string& note : options_.trusted_checkpoints) {
      RETURN_IF_ERROR(AddCheckpoint(note, "trusted", std::nullopt));
    }
    return Status::Ok();
  }

  // CheckSignatures parses each event and checks its signature, on every core.
  void CheckSignatures(std::vector<CheckedEvent>& chunk) {
    ParallelFor(chunk.size(), threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) CheckOne(stored_keys_->KeyAt(chunk[i].key_seq), options_, chunk[i]);
    });
  }

  // CheckSequence checks, in order, what joins the events: seqs, the prevHash
  // chain, times, the stored Merkle nodes and the checkpoints.
  Status CheckSequence(std::vector<CheckedEvent>& chunk) {
    for (CheckedEvent& e : chunk) {
      const uint64_t expected = frontier_.size();
      if (e.key_seq != expected) {
        Fail(expected, "missing (the next stored event is seq " + std::to_string(e.key_seq) + ")");
        return Status::Ok();
      }
      if (!e.status.ok()) {
        Fail(expected, e.status.message());
        return Status::Ok();
      }
      if (e.seq != expected) {
        Fail(expected, "stored event claims seq " + std::to_string(e.seq));
        return Status::Ok();
      }
      if (e.prev_hash != prev_body_hash_) {
        Fail(expected, "prevHash does not chain to the previous event");
        return Status::Ok();
      }
      if (e.time < last_time_) {
        Fail(expected, "time goes backwards");
        return Status::Ok();
      }
      prev_body_hash_ = e.body_hash;
      last_time_ = e.time;
      if (e.rotation) {
        if (Status r = derived_keys_.Rotate(e.seq, std::move(*e.rotation)); !r.ok()) {
          Fail(expected, r.message());
          return Status::Ok();
        }
        ++report_.key_rotations;
      }
      Status node_status;
      frontier_.Append(e.leaf_hash, [&](int level, uint64_t index, const Hash& h) {
        if (!node_status.ok() || !report_.ok) return;
        Result<std::string> why = nodes_.Check(level, index, h);
        if (!why.ok()) {
          node_status = why.status();
          return;
        }
        ++report_.nodes;
        if (!why->empty()) {
          uint64_t first = index << level;
          uint64_t last = ((index + 1) << level) - 1;
          Fail(first, level == 0 ? "leaf hash " + *why + " (stored Merkle tree differs)"
                                 : "stored Merkle node level " + std::to_string(level) +
                                       " over seqs " + std::to_string(first) + ".." +
                                       std::to_string(last) + " " + *why);
        }
      });
      RETURN_IF_ERROR(node_status);
      if (!report_.ok) return Status::Ok();
      auto cp = checkpoints_.find(frontier_.size());
      if (cp != checkpoints_.end()) {
        if (cp->second != frontier_.Root()) {
          uint64_t prev_good = 0;
          auto before = checkpoints_.find(frontier_.size());
          if (before != checkpoints_.begin()) prev_good = std::prev(before)->first;
          Fail(prev_good, "checkpoint of size " + std::to_string(cp->first) +
                              " does not match the events; they differ in seqs " +
                              std::to_string(prev_good) + ".." +
                              std::to_string(frontier_.size() - 1));
          return Status::Ok();
        }
        ++report_.checkpoints;
      }
    }
    if (options_.verified && !chunk.empty()) {
      std::vector<std::string> events;
      events.reserve(chunk.size());
      for (CheckedEvent& e : chunk) events.push_back(std::move(e.bytes));
      options_.verified(chunk.front().key_seq, events);
    }
    if (options_.progress) options_.progress(frontier_.size(), total_);
    return Status::Ok();
  }

  EventLog& log_;
  const VerifyOptions& options_;
  const unsigned threads_;
  StoredNodeCursor nodes_;
  std::shared_ptr<const KeyHistory> stored_keys_;  // what the signatures are checked with
  KeyHistory derived_keys_;                        // what the rotation events say
  std::map<uint64_t, Hash> checkpoints_;
  MerkleFrontier frontier_;
  Hash prev_body_hash_{};
  int64_t last_time_ = std::numeric_limits<int64_t>::min();
  uint64_t total_ = 0;
  bool stopped_ = false;
  VerifyReport report_;
};

}  // namespace

std::string VerifyReport::Summary(std::string_view origin) const {
  if (ok) {
    return "OK log " + std::string(origin) + ": " + std::to_string(events) + " events, " +
           std::to_string(checkpoints) + " checkpoints, root " + HexEncode(root);
  }
  std::string out = "FAILED log " + std::string(origin) + ": ";
  if (first_bad_seq) out += "seq " + std::to_string(*first_bad_seq) + ": ";
  return out + reason;
}

Result<VerifyReport> VerifyLog(EventLog& log, const VerifyOptions& options) {
  Verification v(log, options);
  return v.Run();
}

}  // namespace mirrorca::log
