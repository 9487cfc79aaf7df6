#include "validation/presigned_store.h"

#include "base/encoding.h"
#include "base/status_macros.h"

namespace mirrorca::validation {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kHeader = 1 + 1 + 8 * 3;

std::string AnswerKey(ByteSpan ca_id, ByteSpan serial) {
  std::string k = "r";
  k.append(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
  k.append(reinterpret_cast<const char*>(serial.data()), serial.size());
  return k;
}

std::string DueKey(int64_t at, ByteSpan ca_id, ByteSpan serial) {
  std::string k = "d";
  PutBigEndian64(k, static_cast<uint64_t>(std::max<int64_t>(0, at)));
  k.append(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
  k.append(reinterpret_cast<const char*>(serial.data()), serial.size());
  return k;
}

std::string Encode(const PresignedAnswer& a) {
  std::string v;
  v.reserve(kHeader + a.der.size());
  v.push_back(static_cast<char>(kVersion));
  v.push_back(static_cast<char>(a.status));
  PutBigEndian64(v, static_cast<uint64_t>(a.this_update));
  PutBigEndian64(v, static_cast<uint64_t>(a.next_update));
  PutBigEndian64(v, static_cast<uint64_t>(a.refresh_at));
  v += a.der;
  return v;
}

Result<PresignedAnswer> Decode(std::string_view v) {
  if (v.size() <= kHeader || static_cast<uint8_t>(v[0]) != kVersion) {
    return Status::Corruption("a pre-signed OCSP answer of an unknown format");
  }
  PresignedAnswer a;
  a.status = static_cast<uint8_t>(v[1]);
  a.this_update = static_cast<int64_t>(GetBigEndian64(v.substr(2, 8)));
  a.next_update = static_cast<int64_t>(GetBigEndian64(v.substr(10, 8)));
  a.refresh_at = static_cast<int64_t>(GetBigEndian64(v.substr(18, 8)));
  a.der.assign(v.substr(kHeader));
  return a;
}

}  // namespace

Result<std::unique_ptr<PresignedStore>> PresignedStore::Open(log::Store* store) {
  std::unique_ptr<PresignedStore> p(new PresignedStore());
  p->store_ = store;
  Result<rocksdb::ColumnFamilyHandle*> cf = store->CreateColumnFamily("ocsp");
  if (cf.ok()) {
    p->cf_ = *cf;
  } else if (cf.status().code() != StatusCode::kNotFound) {
    return cf.status();
  }
  return p;
}

Result<std::optional<PresignedAnswer>> PresignedStore::Lookup(ByteSpan ca_id, ByteSpan serial) {
  if (cf_ == nullptr) return std::optional<PresignedAnswer>();
  // Pinned: the value is read where the block cache holds it, copied once (into the answer).
  rocksdb::PinnableSlice value;
  const std::string key = AnswerKey(ca_id, serial);
  const rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), cf_, key, &value);
  if (s.IsNotFound()) return std::optional<PresignedAnswer>();
  RETURN_IF_ERROR(log::FromRocks(s, "read a pre-signed OCSP answer"));
  ASSIGN_OR_RETURN(PresignedAnswer a, Decode(std::string_view(value.data(), value.size())));
  return std::optional<PresignedAnswer>(std::move(a));
}

Status PresignedStore::Put(std::vector<Entry> entries) {
  if (cf_ == nullptr) return Status::FailedPrecondition("no pre-signed OCSP store in a read-only store");
  rocksdb::WriteBatch batch;
  for (Entry& e : entries) {
    int64_t previous = e.previous_refresh_at;
    if (previous < 0) {
      ASSIGN_OR_RETURN(std::optional<PresignedAnswer> old, Lookup(e.key.ca_id, e.key.serial));
      previous = old ? old->refresh_at : -1;
    }
    if (previous >= 0) batch.Delete(cf_, DueKey(previous, e.key.ca_id, e.key.serial));
    batch.Put(cf_, DueKey(e.answer.refresh_at, e.key.ca_id, e.key.serial), "");
    batch.Put(cf_, AnswerKey(e.key.ca_id, e.key.serial), Encode(e.answer));
  }
  return store_->WriteDurably(&batch);
}

Result<std::vector<PresignedKey>> PresignedStore::Due(int64_t now, size_t max) {
  std::vector<PresignedKey> out;
  if (cf_ == nullptr) return out;
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper("e");  // the schedule only
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, cf_));
  std::string from = "d";
  PutBigEndian64(from, static_cast<uint64_t>(std::max<int64_t>(0, due_from_)));
  int64_t last = due_from_;
  for (it->Seek(from); it->Valid() && out.size() < max; it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.size() <= 1 + 8 + 32) continue;
    const int64_t at = static_cast<int64_t>(GetBigEndian64(k.substr(1, 8)));
    if (at > now) break;
    last = at;
    PresignedKey key;
    key.ca_id.assign(k.begin() + 9, k.begin() + 41);
    key.serial.assign(k.begin() + 41, k.end());
    out.push_back(std::move(key));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  // Fewer than asked: nothing else is due at or before `now`, and every
  // refresh schedules a later time — the next look starts at `now`.
  due_from_ = out.size() < max ? std::max(last, now) : last;
  return out;
}

Result<PresignedStore::WarmUpResult> PresignedStore::WarmUp(const std::atomic<bool>& stop) {
  WarmUpResult r;
  if (cf_ == nullptr) return r;
  const size_t budget = store_->BlockCacheCapacity(cf_);
  rocksdb::ReadOptions ro;
  ro.fill_cache = true;
  ro.readahead_size = 2 << 20;
  const rocksdb::Slice upper("s");  // the answers only
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, cf_));
  for (it->Seek("r"); it->Valid() && r.bytes < budget; it->Next()) {
    if ((r.answers & 1023) == 0 && stop.load(std::memory_order_relaxed)) break;
    r.answers++;
    r.bytes += it->key().size() + it->value().size();
  }
  if (!it->status().ok()) return log::FromRocks(it->status(), "warm the pre-signed OCSP answers");
  return r;
}

uint64_t PresignedStore::EstimatedCount() {
  if (cf_ == nullptr) return 0;
  uint64_t n = 0;
  store_->db()->GetIntProperty(cf_, "rocksdb.estimate-num-keys", &n);
  return n / 2;  // an answer and its schedule entry
}

}  // namespace mirrorca::validation
