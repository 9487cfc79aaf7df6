#include "engine/scratch_projection.h"

#include <cctype>

#include "base/status_macros.h"

namespace mirrorca::engine {
namespace {

// What a table entry costs beyond its key and value bytes: the node, two
// string headers, the bucket and the allocator's rounding.
constexpr size_t kEntryOverhead = 112;
constexpr size_t kSpillBatchEntries = 4096;

}  // namespace

std::string PrintableKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (std::isprint(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[(static_cast<unsigned char>(c) >> 4) & 15]);
      out.push_back(hex[static_cast<unsigned char>(c) & 15]);
    }
  }
  return out;
}

Result<std::optional<std::string>> ScratchProjection::Get(const std::string& key) {
  if (disk_) {
    Result<std::string> v = disk_->Get(disk_->meta(), key);
    if (v.ok()) return std::optional<std::string>(std::move(*v));
    if (v.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return v.status();
  }
  auto it = table_.find(key);
  if (it == table_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

void ScratchProjection::Put(std::string key, std::string value) {
  pending_.emplace_back(std::move(key), std::move(value));
}

Status ScratchProjection::Commit() {
  if (disk_) {
    rocksdb::WriteBatch batch;
    for (auto& [k, v] : pending_) batch.Put(disk_->meta(), k, v);
    pending_.clear();
    return disk_->WriteDurably(&batch);
  }
  for (auto& [k, v] : pending_) {
    const size_t key_size = k.size(), value_size = v.size();
    auto [it, inserted] = table_.try_emplace(std::move(k));
    if (inserted) {
      table_bytes_ += key_size + kEntryOverhead;
    } else {
      table_bytes_ -= it->second.size();
    }
    it->second = std::move(v);
    table_bytes_ += value_size;
  }
  pending_.clear();
  return table_bytes_ > budget_ ? Spill() : Status::Ok();
}

Status ScratchProjection::Spill() {
  ASSIGN_OR_RETURN(disk_, log::Store::Open(spill_dir_, {.create_if_missing = true, .durable = false}));
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : table_) {
    batch.Put(disk_->meta(), k, v);
    if (batch.Count() >= kSpillBatchEntries) {
      RETURN_IF_ERROR(disk_->WriteDurably(&batch));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(disk_->WriteDurably(&batch));
  table_ = {};
  table_bytes_ = 0;
  return Status::Ok();
}

Result<std::optional<std::string>> ScratchProjection::Diff(rocksdb::Iterator& stored, std::string_view prefix,
                                                           uint64_t* keys) {
  return disk_ ? DiffOnDisk(stored, prefix, keys) : DiffInMemory(stored, prefix, keys);
}

// DiffInMemory walks the stored keys in order and takes each out of the
// table. The first difference in key order is either the first stored key
// the table lacks or holds with another value, or a table key left over that
// sorts before it (a key the store lacks).
Result<std::optional<std::string>> ScratchProjection::DiffInMemory(rocksdb::Iterator& stored,
                                                                   std::string_view prefix, uint64_t* keys) {
  const rocksdb::Slice p(prefix.data(), prefix.size());
  std::optional<std::string> first_bad;
  std::string what;
  std::string key;
  for (stored.Seek(p); stored.Valid() && stored.key().starts_with(p); stored.Next()) {
    key.assign(stored.key().data(), stored.key().size());
    auto it = table_.find(key);
    if (it == table_.end()) {
      first_bad = key;
      what = "key that no event explains ";
      break;
    }
    if (rocksdb::Slice(it->second) != stored.value()) {
      first_bad = key;
      what = "value differs at ";
      break;
    }
    table_.erase(it);
    ++*keys;
  }
  if (!stored.status().ok()) return Status::IOError(stored.status().ToString());
  const std::string* missing = nullptr;
  for (const auto& [k, v] : table_) {
    if (first_bad && k >= *first_bad) continue;
    if (missing == nullptr || k < *missing) missing = &k;
  }
  if (missing != nullptr) return std::optional<std::string>("missing key " + PrintableKey(*missing));
  if (first_bad) return std::optional<std::string>(what + PrintableKey(*first_bad));
  return std::optional<std::string>();
}

Result<std::optional<std::string>> ScratchProjection::DiffOnDisk(rocksdb::Iterator& a, std::string_view prefix,
                                                                 uint64_t* keys) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> b(disk_->db()->NewIterator(ro, disk_->meta()));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  a.Seek(p);
  b->Seek(p);
  auto valid = [&](rocksdb::Iterator& it) { return it.Valid() && it.key().starts_with(p); };
  while (valid(a) || valid(*b)) {
    if (!valid(a) || !valid(*b) || a.key() != b->key() || a.value() != b->value()) {
      std::string what;
      if (!valid(a)) {
        what = "missing key " + PrintableKey(b->key().ToStringView());
      } else if (!valid(*b) || a.key().compare(b->key()) < 0) {
        what = "key that no event explains " + PrintableKey(a.key().ToStringView());
      } else if (a.key() != b->key()) {
        what = "missing key " + PrintableKey(b->key().ToStringView());
      } else {
        what = "value differs at " + PrintableKey(a.key().ToStringView());
      }
      return std::optional<std::string>(std::move(what));
    }
    ++*keys;
    a.Next();
    b->Next();
  }
  if (!a.status().ok()) return Status::IOError(a.status().ToString());
  if (!b->status().ok()) return Status::IOError(b->status().ToString());
  return std::optional<std::string>();
}

}  // namespace mirrorca::engine
