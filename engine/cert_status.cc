#include "engine/cert_status.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>
#include <memory>

#include "base/status_macros.h"
#include "engine/status_projector.h"
#include "log/event_codec.h"

namespace mirrorca::engine {
namespace {

constexpr uint64_t kChunk = 8192;  // events per durable projection step

// StoreTarget: the projection in a node's store; a step is one fsynced WriteBatch.
// The change journal lives beside the projection, not in it (an audit's
// rebuild compares the projection alone):
// statuschg/v2/{u|n}<order u64be><caId><serial>.
constexpr std::string_view kChangePrefix = "statuschg/v2/";
constexpr std::string_view kChangePrefixV1 = "statuschg/v1/";  // {u|n}<caId><serial>: moved at Open

std::string ChangePrefix(bool urgent) {
  std::string k(kChangePrefix);
  k.push_back(urgent ? 'u' : 'n');
  return k;
}

// statuschg/v2/done/{u|n}: the last entry of each kind DoneWith removed, kept
// in the same batch as the removal, so that after a restart the queue is
// read from there — not by seeking over the tombstones of a million removed
// entries (RocksDB keeps them until a compaction reaches the bottom level),
// ten times a second.
std::string DoneKey(bool urgent) {
  std::string k(kChangePrefix);
  k += urgent ? "done/u" : "done/n";
  return k;
}

std::string ChangeKey(bool urgent, uint64_t order, std::string_view ca_and_serial) {
  std::string k = ChangePrefix(urgent);
  PutBigEndian64(k, order);
  k.append(ca_and_serial);
  return k;
}

// The key just past every key starting with `prefix`.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

class StoreTarget final : public ProjectionTarget {
 public:
  StoreTarget(log::Store* store, std::atomic<uint64_t>* next_change) : store_(store), next_change_(next_change) {}
  Result<std::optional<std::string>> Get(const std::string& key) override {
    return store_->Find(store_->meta(), key);
  }
  void Put(std::string key, std::string value) override {
    // A certificate's record changed: journal it in the same batch, so a
    // consumer (the OCSP pre-signer) misses no change, even across a crash.
    static const std::string cert_prefix = StatusKey("cert/", "");
    if (key.compare(0, cert_prefix.size(), cert_prefix) == 0) {
      Result<CertRecord> r = DecodeRecord(value);
      // Urgent: anything but a plain issuance (a revocation, hold, release,
      // or a revocation seen before its issuance) — its answer changes.
      const bool urgent = !r.ok() || !r->issued || r->state != CertState::kGood || r->revoked_seq != 0;
      batch_.Put(store_->meta(), ChangeKey(urgent, next_change_->fetch_add(1), key.substr(cert_prefix.size())), "");
    }
    batch_.Put(store_->meta(), key, value);
  }
  Status Commit() override {
    Status s = store_->WriteDurably(&batch_);
    batch_.Clear();
    return s;
  }

 private:
  log::Store* const store_;
  std::atomic<uint64_t>* const next_change_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

Result<std::unique_ptr<CertStatus>> CertStatus::Open(log::Store* store) {
  std::unique_ptr<CertStatus> s(new CertStatus(store));
  Result<std::string> v = store->Get(store->meta(), StatusKey("schema", ""));
  if (v.ok() && *v == std::to_string(kSchemaVersion)) {
    RETURN_IF_ERROR(s->OpenJournal());
    return s;
  }
  if (!v.ok() && v.status().code() != StatusCode::kNotFound) return v.status();
  // New or of another schema version: start over (CatchUp rebuilds it).
  RETURN_IF_ERROR(s->Clear());
  StoreTarget target(store, &s->next_change_);
  PutSchema(target);
  RETURN_IF_ERROR(target.Commit());
  return s;
}

Result<std::unique_ptr<CertStatus>> CertStatus::OpenExisting(log::Store* store) {
  Result<std::string> v = store->Get(store->meta(), StatusKey("schema", ""));
  if (!v.ok() && v.status().code() != StatusCode::kNotFound) return v.status();
  if (!v.ok() || *v != std::to_string(kSchemaVersion)) {
    return Status::FailedPrecondition(
        "no certificate-status projection of schema " + std::to_string(kSchemaVersion) +
        " in this store yet: `mirrorca hq serve` builds it");
  }
  return std::unique_ptr<CertStatus>(new CertStatus(store));
}

Result<std::string> CertStatus::Positions() {
  const std::string prefix = StatusKey("pos/", "");
  std::string out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.append(it->key().data(), it->key().size());
    out.append(it->value().data(), it->value().size());
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Status CertStatus::Clear() {
  rocksdb::WriteBatch batch;
  std::string begin(kStatusPrefix), end(kStatusPrefix);
  end.back() = static_cast<char>(end.back() + 1);
  batch.DeleteRange(store_->meta(), begin, end);
  // The journal goes too: the rebuild journals every certificate again.
  for (std::string_view journal : {kChangePrefix, kChangePrefixV1}) {
    batch.DeleteRange(store_->meta(), journal, PrefixEnd(std::string(journal)));
  }
  RETURN_IF_ERROR(store_->WriteDurably(&batch));
  removed_through_[0].clear();
  removed_through_[1].clear();
  return Status::Ok();
}

Status CertStatus::OpenJournal() {
  uint64_t next = 1;
  for (bool urgent : {false, true}) {
    const std::string prefix = ChangePrefix(urgent), end = PrefixEnd(prefix);
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
    it->SeekForPrev(end);
    if (it->Valid() && it->key().starts_with(prefix) && it->key().size() >= prefix.size() + 8) {
      next = std::max(next, GetBigEndian64(std::string_view(it->key().data() + prefix.size(), 8)) + 1);
    }
    if (!it->status().ok()) return Status::IOError(it->status().ToString());
  }
  for (bool urgent : {false, true}) {
    ASSIGN_OR_RETURN(std::optional<std::string> done, store_->Find(store_->meta(), DoneKey(urgent)));
    removed_through_[urgent ? 1 : 0] = done.value_or("");
    // An emptied queue still continues after its last order: new entries
    // must sort after what was consumed.
    const std::string prefix = ChangePrefix(urgent);
    if (done && done->size() >= prefix.size() + 8 && done->compare(0, prefix.size(), prefix) == 0) {
      next = std::max(next, GetBigEndian64(std::string_view(*done).substr(prefix.size(), 8)) + 1);
    }
  }
  next_change_ = next;
  // A journal written before the order existed: the same entries, in v2.
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(kChangePrefixV1); it->Valid() && it->key().starts_with(kChangePrefixV1); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.size() <= kChangePrefixV1.size() + 1 + 32) continue;
    batch.Put(store_->meta(), ChangeKey(k[kChangePrefixV1.size()] == 'u', next_change_++, k.substr(kChangePrefixV1.size() + 1)), "");
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  if (batch.Count() == 0) return Status::Ok();
  batch.DeleteRange(store_->meta(), kChangePrefixV1, PrefixEnd(std::string(kChangePrefixV1)));
  return store_->WriteDurably(&batch);
}

Result<std::vector<CertChange>> CertStatus::PendingChanges(bool urgent, size_t max) {
  const std::string prefix = ChangePrefix(urgent), end = PrefixEnd(prefix);
  const std::string& after = removed_through_[urgent ? 1 : 0];
  std::vector<CertChange> out;
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->meta()));
  it->Seek(after.empty() ? prefix : after);
  for (; it->Valid() && out.size() < max; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key == after) continue;
    const std::string_view rest = key.substr(prefix.size());
    if (rest.size() <= 8 + 32) continue;  // not a key this version writes
    CertChange c;
    c.urgent = urgent;
    c.ca_id.assign(rest.begin() + 8, rest.begin() + 8 + 32);
    c.serial.assign(rest.begin() + 8 + 32, rest.end());
    c.journal_key.assign(key);
    out.push_back(std::move(c));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Status CertStatus::DoneWith(const std::vector<CertChange>& changes) {
  rocksdb::WriteBatch batch;
  std::string last[2];
  for (const CertChange& c : changes) {
    if (c.journal_key.empty()) continue;
    batch.Delete(store_->meta(), c.journal_key);
    std::string& l = last[c.urgent ? 1 : 0];
    l = std::max(l, c.journal_key);
  }
  // Everything up to these keys is done: the next read starts after them.
  for (int k = 0; k < 2; ++k) {
    if (last[k] > removed_through_[k]) batch.Put(store_->meta(), DoneKey(k == 1), last[k]);
  }
  RETURN_IF_ERROR(store_->WriteDurably(&batch));
  for (int k = 0; k < 2; ++k) removed_through_[k] = std::max(removed_through_[k], last[k]);
  return Status::Ok();
}

uint64_t CertStatus::Position(const std::string& origin) {
  Result<std::string> v = store_->Get(store_->meta(), StatusKey("pos/", origin));
  return v.ok() && v->size() == 8 ? GetBigEndian64(*v) : 0;
}

Result<std::optional<CertRecord>> CertStatus::Get(ByteSpan ca_id, ByteSpan serial) {
  Result<std::string> v = store_->Get(store_->meta(), StatusKey("cert/", CertKeySuffix(ca_id, serial)));
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return std::optional<CertRecord>();
    return v.status();
  }
  ASSIGN_OR_RETURN(CertRecord r, DecodeRecord(*v));
  return std::optional<CertRecord>(std::move(r));
}

Result<uint64_t> CertStatus::CatchUp(log::EventLog& log, const LogAuthority& authority, uint64_t until) {
  const std::string origin = log.origin();
  StoreTarget target(store_, &next_change_);
  uint64_t pos = Position(origin);
  const uint64_t size = std::min(log.Size(), until);
  const uint64_t start = pos;
  while (pos < size) {
    const uint64_t end = std::min(size, pos + kChunk);
    Status s = ProjectStep(target, origin, end, authority, [&](const EventVisitor& visit) {
      return log.ForEach(pos, end, visit);
    });
    RETURN_IF_ERROR(s.WithContext("project " + origin));
    pos = end;
  }
  return pos - start;
}

Status CertStatus::ForEachRevoked(
    ByteSpan ca_id, const std::function<Status(ByteSpan serial, const CertRecord&)>& fn) {
  const std::string prefix = StatusKey("rev/", std::string(reinterpret_cast<const char*>(ca_id.data()),
                                                     ca_id.size()));
  // A bulk scan (a million entries for a full CRL): read ahead, and keep
  // the block cache for the point lookups OCSP makes.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view suffix(it->key().data() + StatusKey("rev/", "").size(),
                            it->key().size() - StatusKey("rev/", "").size());
    ASSIGN_OR_RETURN(CertRecord r, DecodeRecord(std::string_view(it->value().data(), it->value().size())));
    const std::string_view serial = suffix.substr(ca_id.size());
    RETURN_IF_ERROR(fn(AsBytes(serial), r));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return Status::Ok();
}

CrlState CertStatus::Crl(ByteSpan ca_id) {
  Result<std::string> v = store_->Get(
      store_->meta(), StatusKey("crl/", std::string(reinterpret_cast<const char*>(ca_id.data()), ca_id.size())));
  return v.ok() ? DecodeCrlState(*v) : CrlState{};
}

Status CertStatus::ForEachRevokedSince(
    log::EventLog& hq_log, ByteSpan ca_id, uint64_t from_seq,
    const std::function<Status(ByteSpan serial, const CertRecord&)>& fn) {
  const uint64_t end = std::min(hq_log.Size(), Position(hq_log.origin()));
  std::set<std::string> serials;
  RETURN_IF_ERROR(hq_log.ForEach(from_seq, end, [&](uint64_t, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    auto kind = e.event().getKind();
    if (!kind.isCertificateRevoked()) return Status::Ok();
    auto c = kind.getCertificateRevoked();
    if (!std::ranges::equal(ByteSpan(c.getCaId().begin(), c.getCaId().size()), ca_id)) {
      return Status::Ok();
    }
    serials.emplace(reinterpret_cast<const char*>(c.getSerial().begin()), c.getSerial().size());
    return Status::Ok();
  }));
  for (const std::string& serial : serials) {
    ASSIGN_OR_RETURN(std::optional<CertRecord> r, Get(ca_id, AsBytes(serial)));
    if (!r) return Status::Corruption("a revoked certificate without a record");
    RETURN_IF_ERROR(fn(AsBytes(serial), *r));
  }
  return Status::Ok();
}

Result<std::optional<BatchTally>> CertStatus::Tally(const std::string& factory_origin,
                                                   const std::string& batch_id) {
  Result<std::string> v = store_->Get(store_->meta(), StatusKey("ledger/", BatchKey(factory_origin, batch_id)));
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return std::optional<BatchTally>();
    return v.status();
  }
  ASSIGN_OR_RETURN(BatchTally t, DecodeTally(*v));
  return std::optional<BatchTally>(std::move(t));
}

Result<std::vector<CertStatus::LedgerEntry>> CertStatus::Tallies() {
  const std::string prefix = StatusKey("ledger/", "");
  std::vector<LedgerEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(BatchTally t, DecodeTally(std::string_view(it->value().data(), it->value().size())));
    const std::string_view key(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    const size_t cut = key.find('\0');
    if (cut == std::string_view::npos) return Status::Corruption("bad ledger key");
    out.push_back({std::string(key.substr(0, cut)), std::string(key.substr(cut + 1)), std::move(t)});
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Result<std::vector<std::pair<Bytes, Bytes>>> CertStatus::SerialsOfBatch(const std::string& factory_origin,
                                                                        const std::string& batch_id) {
  std::string prefix = StatusKey("batch/", BatchKey(factory_origin, batch_id));
  prefix.push_back('\0');
  std::vector<std::pair<Bytes, Bytes>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view rest(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    if (rest.size() < 33) return Status::Corruption("bad batch index key");
    out.emplace_back(Bytes(rest.begin(), rest.begin() + 32), Bytes(rest.begin() + 32, rest.end()));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

}  // namespace mirrorca::engine
