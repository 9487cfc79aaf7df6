#include "audit/replay_index.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "base/bytes.h"
#include "base/encoding.h"
#include "base/status_macros.h"
#include "engine/status_records.h"
#include "audit/merge_cursor.h"
#include "audit/replay_fold.h"
#include "crypto/sha256.h"

namespace mirrorca::audit {
namespace {

using json = nlohmann::json;

constexpr int kIndexVersion = 3;  // 3: batches scoped by factory, the log authority applied
constexpr std::string_view kMetaKey = "meta";

// Keys: "e/" len(1) serial be64(time ^ sign) len(1) origin be64(seq) -> step
//       "x/" serial -> "" (the serial has index entries)
//       "r/" serial -> "" (the serial has revocation entries)
//       "t/" be64(k) -> {"time", "positions"}      "s/" be64(k) -> {"cosigned", "batches"}
std::string SerialPrefix(std::string_view serial) {
  std::string k = "e/";
  k.push_back(static_cast<char>(serial.size()));
  k += serial;
  return k;
}

uint64_t OrderedTime(int64_t t) { return static_cast<uint64_t>(t) ^ (uint64_t{1} << 63); }

std::string StepKey(std::string_view serial, const SerialStep& s) {
  std::string k = SerialPrefix(serial);
  PutBigEndian64(k, OrderedTime(s.time));
  k.push_back(static_cast<char>(s.origin.size()));
  k += s.origin;
  PutBigEndian64(k, s.seq);
  return k;
}

bool DecodeStepKey(std::string_view key, size_t prefix_size, SerialStep* s) {
  std::string_view rest = key.substr(prefix_size);
  if (rest.size() < 8 + 1) return false;
  s->time = static_cast<int64_t>(GetBigEndian64(rest) ^ (uint64_t{1} << 63));
  const size_t n = static_cast<uint8_t>(rest[8]);
  if (rest.size() != 8 + 1 + n + 8) return false;
  s->origin = std::string(rest.substr(9, n));
  s->seq = GetBigEndian64(rest.substr(9 + n));
  return true;
}

std::string SnapshotKey(char family, uint64_t k) {
  std::string key{family, '/'};
  PutBigEndian64(key, k);
  return key;
}

struct Meta {
  uint64_t every = 0;
  uint64_t snapshots = 0;
  std::map<std::string, uint64_t> indexed;  // origin -> events indexed
  std::map<std::string, std::string> heads;  // origin -> hex SHA-256 of the last indexed event

  std::string Encode() const {
    return json{{"version", kIndexVersion}, {"every", every}, {"snapshots", snapshots},
                {"indexed", indexed}, {"heads", heads}}.dump();
  }
  static Result<Meta> Decode(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != kIndexVersion) {
      return Status::FailedPrecondition("the replay index has another format version");
    }
    Meta m;
    try {
      m.every = j.at("every").get<uint64_t>();
      m.snapshots = j.at("snapshots").get<uint64_t>();
      m.indexed = j.at("indexed").get<std::map<std::string, uint64_t>>();
      m.heads = j.at("heads").get<std::map<std::string, std::string>>();
    } catch (const json::exception& e) {
      return Status::Corruption(std::string("replay index meta: ") + e.what());
    }
    return m;
  }
};

struct Snapshot {
  int64_t time = std::numeric_limits<int64_t>::min();  // none: before every event
  std::map<std::string, uint64_t> positions;
  std::map<std::string, uint64_t> cosigned;
  std::map<std::string, BatchAt> batches;

  uint64_t Position(const std::string& origin) const {
    auto it = positions.find(origin);
    return it == positions.end() ? 0 : it->second;
  }
};

json BatchJson(const BatchAt& b) { return json::array({b.authorized, b.issued, b.rejected, b.revoked, b.on_hold}); }

Result<BatchAt> BatchFromJson(const json& j) {
  if (!j.is_array() || j.size() != 5) return Status::Corruption("replay index: bad batch counts");
  return BatchAt{j[0].get<uint64_t>(), j[1].get<uint64_t>(), j[2].get<uint64_t>(), j[3].get<uint64_t>(),
                 j[4].get<uint64_t>()};
}

Result<std::string> HeadHash(log::EventLog& l, uint64_t size) {
  if (size == 0) return std::string();
  ASSIGN_OR_RETURN(std::string bytes, l.ReadSignedEvent(size - 1));
  return HexEncode(crypto::Sha256(AsBytes(bytes)));
}

// Counts applies one event's effect on batch counts and cosigned sizes
// (issuances and revocations also change revoked/on-hold counts through
// the serial's fold, which the callers handle).
// Batches are keyed by engine::BatchKey(factory origin, batch id). Callers count
// only events their log may carry (engine::LogAuthority::Check, once per event).
void CountEvent(const log::ParsedEvent& e, const std::string& origin, Snapshot& s) {
  auto kind = e.event().getKind();
  if (kind.isBatchAuthorized()) {
    auto b = kind.getBatchAuthorized();
    s.batches[engine::BatchKey(b.getFactoryLogId().cStr(), b.getBatchId().cStr())].authorized = b.getQuota();
  } else if (kind.isIssuanceRejected()) {
    s.batches[engine::BatchKey(origin, kind.getIssuanceRejected().getBatchId().cStr())].rejected++;
  } else if (kind.isCertificateIssued()) {
    s.batches[engine::BatchKey(origin, kind.getCertificateIssued().getBatchId().cStr())].issued++;
  } else if (kind.isCheckpointCosigned()) {
    uint64_t& size = s.cosigned[kind.getCheckpointCosigned().getLogId()];
    size = std::max(size, kind.getCheckpointCosigned().getTreeSize());
  }
}

// Retally moves a certificate's revoked / on-hold count from its state
// before to its state after.
void Retally(const SerialFold& before, const SerialFold& after, std::map<std::string, BatchAt>& batches) {
  if (before.issued && before.rev_state != "good") {
    BatchAt& b = batches[engine::BatchKey(before.issued_in, before.batch)];
    (before.rev_state == "revoked" ? b.revoked : b.on_hold)--;
  }
  if (after.issued && after.rev_state != "good") {
    BatchAt& b = batches[engine::BatchKey(after.issued_in, after.batch)];
    (after.rev_state == "revoked" ? b.revoked : b.on_hold)++;
  }
}

// IndexReader: the read side shared by the build and the queries.
class IndexReader {
 public:
  explicit IndexReader(log::Store* store) : store_(store) {}

  // Steps returns the serial's indexed steps that `keep` accepts.
  Result<std::vector<SerialStep>> Steps(std::string_view serial,
                                        const std::function<bool(const SerialStep&)>& keep) {
    std::vector<SerialStep> out;
    const std::string prefix = SerialPrefix(serial);
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      SerialStep s;
      if (!DecodeStepKey(it->key().ToStringView(), prefix.size(), &s) ||
          !SerialStep::DecodeValue(it->value().ToStringView(), &s)) {
        return Status::Corruption("replay index: a malformed entry (rebuild it: audit index --rebuild)");
      }
      if (keep(s)) out.push_back(std::move(s));
    }
    RETURN_IF_ERROR(log::FromRocks(it->status(), "replay index scan"));
    return out;
  }

  Result<bool> HasSerial(std::string_view serial, const char* family = "x/") {
    Result<std::string> v = store_->Get(store_->meta(), family + std::string(serial));
    if (v.ok()) return true;
    if (v.status().code() == StatusCode::kNotFound) return false;
    return v.status();
  }

  Result<Meta> ReadMeta() {
    ASSIGN_OR_RETURN(std::string text, store_->Get(store_->meta(), kMetaKey));
    return Meta::Decode(text);
  }

  // Times returns every snapshot's instant and positions, by k.
  Result<std::vector<Snapshot>> Timeline(uint64_t count) {
    std::vector<Snapshot> out;
    for (uint64_t k = 0; k < count; ++k) {
      ASSIGN_OR_RETURN(std::string text, store_->Get(store_->meta(), SnapshotKey('t', k)));
      json j = json::parse(text, nullptr, false);
      Snapshot s;
      try {
        s.time = j.at("time").get<int64_t>();
        s.positions = j.at("positions").get<std::map<std::string, uint64_t>>();
      } catch (const json::exception& e) {
        return Status::Corruption(std::string("replay index snapshot: ") + e.what());
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // LoadCounts fills a snapshot's cosigned sizes and batch counts.
  Status LoadCounts(uint64_t k, Snapshot* s) {
    ASSIGN_OR_RETURN(std::string text, store_->Get(store_->meta(), SnapshotKey('s', k)));
    json j = json::parse(text, nullptr, false);
    try {
      s->cosigned = j.at("cosigned").get<std::map<std::string, uint64_t>>();
      for (const auto& [b, counts] : j.at("batches").items()) {
        ASSIGN_OR_RETURN(s->batches[b], BatchFromJson(counts));
      }
    } catch (const json::exception& e) {
      return Status::Corruption(std::string("replay index snapshot: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  log::Store* store_;
};

// Valid: every log's events with time <= T are exactly the snapshot's
// positions (a log may have received older events after the snapshot).
Result<bool> SnapshotValid(StoreLogs& logs, const Snapshot& s) {
  for (auto& [origin, l] : logs.logs) {
    const uint64_t p = s.Position(origin);
    if (p > l->Size()) return false;
    if (p == l->Size()) continue;
    ASSIGN_OR_RETURN(std::string bytes, l->ReadSignedEvent(p));
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (e.event().getTime() <= s.time) return false;
  }
  for (const auto& [origin, p] : s.positions) {
    if (logs.logs.count(origin) == 0 && p > 0) return false;
  }
  return true;
}

// CheckHeads: the index describes these logs.
Status CheckHeads(StoreLogs& logs, const Meta& m) {
  for (const auto& [origin, n] : m.indexed) {
    auto it = logs.logs.find(origin);
    if (it == logs.logs.end()) {
      if (n == 0) continue;
      return Status::FailedPrecondition("the replay index holds log " + origin + ", which the store does not");
    }
    if (n > it->second->Size()) {
      return Status::FailedPrecondition("the replay index holds more events of " + origin + " than the store");
    }
    ASSIGN_OR_RETURN(std::string head, HeadHash(*it->second, n));
    auto h = m.heads.find(origin);
    if (h == m.heads.end() || h->second != head) {
      return Status::FailedPrecondition("the replay index was built from another copy of " + origin);
    }
  }
  return Status::Ok();
}

}  // namespace

std::string DefaultReplayIndexDir(const std::string& data_dir) { return data_dir + "/audit-index"; }

Result<ReplayIndexStats> BuildReplayIndex(StoreLogs& logs, const std::string& index_dir,
                                          const ReplayIndexOptions& o) {
  if (o.every == 0) return Status::InvalidArgument("snapshot interval must be positive");
  ReplayIndexStats stats;
  std::unique_ptr<log::Store> store;
  Meta meta;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(store, log::Store::Open(index_dir, {.create_if_missing = true, .block_cache_bytes = 64 << 20}));
    IndexReader reader(store.get());
    Result<Meta> m = reader.ReadMeta();
    if (!m.ok() && m.status().code() == StatusCode::kNotFound) {
      meta = Meta{.every = o.every};
      break;
    }
    Status usable = m.ok() ? CheckHeads(logs, *m) : m.status();
    if (usable.ok() && m->every == o.every) {
      meta = *m;
      break;
    }
    if (attempt == 1) return usable.ok() ? Status::Internal("replay index rebuild failed") : usable;
    // An index of other logs, another interval or another version: start again.
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(index_dir, ec);
    if (ec) return Status::IOError("cannot remove " + index_dir + ": " + ec.message());
    stats.rebuilt = true;
  }
  IndexReader reader(store.get());

  // The last valid snapshot; later ones are dropped.
  ASSIGN_OR_RETURN(std::vector<Snapshot> timeline, reader.Timeline(meta.snapshots));
  Snapshot state;
  uint64_t valid = 0;
  for (uint64_t k = timeline.size(); k > 0; --k) {
    ASSIGN_OR_RETURN(bool ok, SnapshotValid(logs, timeline[k - 1]));
    if (ok) {
      valid = k;
      break;
    }
  }
  {
    rocksdb::WriteBatch drop;
    for (uint64_t k = valid; k < meta.snapshots; ++k) {
      drop.Delete(store->meta(), SnapshotKey('t', k));
      drop.Delete(store->meta(), SnapshotKey('s', k));
    }
    stats.snapshots_dropped = meta.snapshots - valid;
    meta.snapshots = valid;
    drop.Put(store->meta(), kMetaKey, meta.Encode());
    RETURN_IF_ERROR(store->WriteDurably(&drop));
  }
  if (valid > 0) {
    state = timeline[valid - 1];
    RETURN_IF_ERROR(reader.LoadCounts(valid - 1, &state));
  }
  Snapshot at_snapshot = state;  // positions of the snapshot the folds start from

  // Snapshots are cut strictly before every log's last event.
  int64_t cut = std::numeric_limits<int64_t>::max();
  uint64_t total = 0;
  for (auto& [origin, l] : logs.logs) {
    total += l->Size() - std::min(l->Size(), state.Position(origin));
    if (l->Size() == 0) continue;
    ASSIGN_OR_RETURN(std::string bytes, l->ReadSignedEvent(l->Size() - 1));
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    cut = std::min(cut, e.event().getTime());
  }

  rocksdb::WriteBatch pending;
  std::unordered_map<std::string, SerialFold> touched;  // serials changed since `at_snapshot`
  auto indexed = [&](const std::string& origin) {
    auto it = meta.indexed.find(origin);
    return it == meta.indexed.end() ? 0 : it->second;
  };
  auto commit = [&](const std::map<std::string, uint64_t>& through) -> Status {
    for (const auto& [origin, n] : through) {
      if (n <= indexed(origin)) continue;
      meta.indexed[origin] = n;
      ASSIGN_OR_RETURN(meta.heads[origin], HeadHash(*logs.logs.at(origin), n));
    }
    pending.Put(store->meta(), kMetaKey, meta.Encode());
    RETURN_IF_ERROR(store->WriteDurably(&pending));
    pending.Clear();
    return Status::Ok();
  };

  MergeCursor cursor(logs, state.positions);
  uint64_t since_snapshot = 0;
  for (;;) {
    ASSIGN_OR_RETURN(const MergeCursor::Item* item, cursor.Peek());
    if (item == nullptr) break;
    const std::string origin = *item->origin;
    const uint64_t seq = item->seq;
    const log::ParsedEvent& e = *item->event;
    const int64_t time = e.event().getTime();
    state.positions[origin] = seq + 1;
    const bool allowed = !logs.authority->Check(origin, e.event());  // else never replayed
    if (allowed) CountEvent(e, origin, state);
    if (auto step = allowed ? StepOf(e, origin, seq) : std::nullopt) {
      const std::string& serial = step->first;
      if (seq >= indexed(origin)) {
        pending.Put(store->meta(), StepKey(serial, step->second), step->second.EncodeValue());
        pending.Put(store->meta(), "x/" + serial, "");
        if (!step->second.issuance) pending.Put(store->meta(), "r/" + serial, "");
        ++stats.events_indexed;
      }
      auto it = touched.find(serial);
      if (it == touched.end()) {
        SerialFold f;
        ASSIGN_OR_RETURN(bool known, reader.HasSerial(serial));
        if (known) {
          ASSIGN_OR_RETURN(std::vector<SerialStep> steps, reader.Steps(serial, [&](const SerialStep& s) {
                             return s.seq < at_snapshot.Position(s.origin);
                           }));
          f = Fold(std::move(steps));
        }
        it = touched.emplace(serial, std::move(f)).first;
      }
      SerialFold before = it->second;
      it->second.Apply(step->second);
      Retally(before, it->second, state.batches);
    }
    cursor.Pop();
    ++stats.events_merged;
    ++since_snapshot;
    if (o.progress && stats.events_merged % 65536 == 0) o.progress(stats.events_merged, total);
    if (since_snapshot < o.every || time >= cut) continue;
    ASSIGN_OR_RETURN(const MergeCursor::Item* next, cursor.Peek());
    if (next != nullptr && next->event->event().getTime() == time) continue;  // all of T first
    state.time = time;
    json t{{"time", state.time}, {"positions", state.positions}};
    json s{{"cosigned", state.cosigned}, {"batches", json::object()}};
    for (const auto& [b, counts] : state.batches) s["batches"][b] = BatchJson(counts);
    pending.Put(store->meta(), SnapshotKey('t', meta.snapshots), t.dump());
    pending.Put(store->meta(), SnapshotKey('s', meta.snapshots), s.dump());
    ++meta.snapshots;
    RETURN_IF_ERROR(commit(state.positions));
    at_snapshot = state;
    touched.clear();
    since_snapshot = 0;
  }
  std::map<std::string, uint64_t> sizes;
  for (auto& [origin, l] : logs.logs) sizes[origin] = l->Size();
  RETURN_IF_ERROR(commit(sizes));
  RETURN_IF_ERROR(store->Flush());  // queries open it read-only: no log to replay then
  if (o.progress) o.progress(stats.events_merged, total);
  stats.snapshots = meta.snapshots;
  return stats;
}

struct ReplayIndex::Impl {
  StoreLogs* logs;
  std::unique_ptr<log::Store> store;
  Meta meta;
  std::vector<Snapshot> timeline;
};

ReplayIndex::ReplayIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayIndex::~ReplayIndex() = default;

Result<std::unique_ptr<ReplayIndex>> ReplayIndex::Open(const std::string& index_dir, StoreLogs& logs) {
  auto impl = std::make_unique<Impl>();
  impl->logs = &logs;
  ASSIGN_OR_RETURN(impl->store, log::Store::Open(index_dir, {.read_only = true, .block_cache_bytes = 32 << 20}));
  IndexReader reader(impl->store.get());
  ASSIGN_OR_RETURN(impl->meta, reader.ReadMeta());
  RETURN_IF_ERROR(CheckHeads(logs, impl->meta));
  ASSIGN_OR_RETURN(impl->timeline, reader.Timeline(impl->meta.snapshots));
  return std::unique_ptr<ReplayIndex>(new ReplayIndex(std::move(impl)));
}

Result<std::optional<std::pair<std::string, uint64_t>>> ReplayIndex::FindIssuance(ByteSpan serial) {
  IndexReader reader(impl_->store.get());
  ASSIGN_OR_RETURN(std::vector<SerialStep> steps,
                   reader.Steps(std::string_view(reinterpret_cast<const char*>(serial.data()), serial.size()),
                                [](const SerialStep& s) { return s.issuance; }));
  if (steps.empty()) return std::optional<std::pair<std::string, uint64_t>>();
  return std::optional<std::pair<std::string, uint64_t>>(std::make_pair(steps.front().origin, steps.front().seq));
}

Result<ReplayAnswer> ReplayIndex::Answer(const ReplayQuery& q) {
  StoreLogs& logs = *impl_->logs;
  IndexReader reader(impl_->store.get());
  ReplayAnswer out;
  out.method = "index";

  // The latest valid snapshot at or before the instant.
  Snapshot start;
  for (uint64_t k = impl_->timeline.size(); k > 0; --k) {
    if (impl_->timeline[k - 1].time > q.at) continue;
    ASSIGN_OR_RETURN(bool ok, SnapshotValid(logs, impl_->timeline[k - 1]));
    if (!ok) continue;
    start = impl_->timeline[k - 1];
    RETURN_IF_ERROR(reader.LoadCounts(k - 1, &start));
    out.snapshot_time = start.time;
    break;
  }
  auto indexed = [&](const std::string& origin) {
    auto it = impl_->meta.indexed.find(origin);
    return it == impl_->meta.indexed.end() ? 0 : it->second;
  };

  // The events after the snapshot, up to the instant.
  Snapshot now = start;
  std::set<std::string> batch_serials;  // touched after the snapshot (a batch query)
  std::set<std::string> revoked_serials;  // of those, touched by a revocation
  std::map<std::string, std::vector<SerialStep>> unindexed;  // serial -> steps the index lacks
  const std::string wanted = q.serial ? std::string(reinterpret_cast<const char*>(q.serial->data()),
                                                    q.serial->size())
                                      : std::string();
  MergeCursor cursor(logs, start.positions);
  for (;;) {
    ASSIGN_OR_RETURN(const MergeCursor::Item* item, cursor.Peek());
    if (item == nullptr || item->event->event().getTime() > q.at) break;
    now.positions[*item->origin] = item->seq + 1;
    const bool allowed = !logs.authority->Check(*item->origin, item->event->event());  // else never replayed
    if (allowed) CountEvent(*item->event, *item->origin, now);
    if (auto step = allowed ? StepOf(*item->event, *item->origin, item->seq) : std::nullopt) {
      if (!q.batch.empty()) {
        batch_serials.insert(step->first);
        if (!step->second.issuance) revoked_serials.insert(step->first);
      }
      if (item->seq >= indexed(*item->origin) && (step->first == wanted || !q.batch.empty())) {
        unindexed[step->first].push_back(step->second);
      }
    }
    out.unindexed_events += item->seq >= indexed(*item->origin);
    cursor.Pop();
    ++out.replayed_after_snapshot;
  }
  for (auto& [origin, l] : logs.logs) out.events[origin] = now.Position(origin);
  out.cosigned = now.cosigned;

  auto fold_at = [&](const std::string& serial) -> Result<SerialFold> {
    ASSIGN_OR_RETURN(std::vector<SerialStep> steps, reader.Steps(serial, [&](const SerialStep& s) {
                       return s.time <= q.at && s.seq < indexed(s.origin);
                     }));
    auto it = unindexed.find(serial);
    if (it != unindexed.end()) steps.insert(steps.end(), it->second.begin(), it->second.end());
    return Fold(std::move(steps));
  };
  if (q.serial) {
    ASSIGN_OR_RETURN(SerialFold f, fold_at(wanted));
    out.certificate = f.Answer();
  }
  if (!q.batch.empty()) {
    BatchAt& b = now.batches[engine::BatchKey(q.factory_origin, q.batch)];
    for (const std::string& serial : batch_serials) {
      // A serial never revoked counts neither as revoked nor as held: only
      // serials with revocation events need their folds.
      if (revoked_serials.count(serial) == 0) {
        ASSIGN_OR_RETURN(bool ever_revoked, reader.HasSerial(serial, "r/"));
        if (!ever_revoked) continue;
      }
      ASSIGN_OR_RETURN(std::vector<SerialStep> before_steps, reader.Steps(serial, [&](const SerialStep& s) {
                         return s.seq < start.Position(s.origin);
                       }));
      SerialFold before = Fold(std::move(before_steps));
      ASSIGN_OR_RETURN(SerialFold after, fold_at(serial));
      b.revoked += after.RevokedIn(q.factory_origin, q.batch);
      b.revoked -= before.RevokedIn(q.factory_origin, q.batch);
      b.on_hold += after.HeldIn(q.factory_origin, q.batch);
      b.on_hold -= before.HeldIn(q.factory_origin, q.batch);
    }
    out.batch = b;
  }
  return out;
}

}  // namespace mirrorca::audit
