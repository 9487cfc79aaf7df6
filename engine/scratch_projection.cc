#include "engine/scratch_projection.h"

#include <algorithm>
#include <atomic>
#include <sys/mman.h>

#include <cctype>
#include <new>
#include <thread>

#include "base/status_macros.h"

namespace mirrorca::engine {
namespace {

// What a table entry costs beyond its key and value bytes: the node with
// its two string headers and cached hash, and the bucket.
constexpr size_t kEntryOverhead = 96;
constexpr size_t kSpillBatchEntries = 4096;

// HugePageResource: the arena's blocks, mapped anonymously and marked for
// transparent huge pages — a lookup in a table of a few hundred MB then
// costs a cache miss or two rather than a page walk as well (THP is
// "madvise" on Debian). Blocks are released with munmap.
class HugePageResource final : public std::pmr::memory_resource {
  static constexpr size_t kHugePage = size_t{2} << 20;
  static size_t Rounded(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

  void* do_allocate(size_t bytes, size_t alignment) override {
    if (alignment > kHugePage) throw std::bad_alloc();
    void* p = mmap(nullptr, Rounded(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    (void)madvise(p, Rounded(bytes), MADV_HUGEPAGE);  // advice only: 4 KiB pages work too
    return p;
  }
  void do_deallocate(void* p, size_t bytes, size_t) override { munmap(p, Rounded(bytes)); }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
};

// BulkScan: read options for walking a whole projection once — read ahead,
// and leave the block cache to the point lookups of a live node.
rocksdb::ReadOptions BulkScan() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  return ro;
}

std::pmr::memory_resource* HugePages() {
  static HugePageResource resource;  // stateless
  return &resource;
}

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

ScratchProjection::ScratchProjection(std::string spill_dir, size_t memory_budget)
    : spill_dir_(std::move(spill_dir)),
      budget_(memory_budget),
      arena_(std::make_unique<std::pmr::monotonic_buffer_resource>(size_t{2} << 20, HugePages())),
      table_(std::make_unique<Table>(arena_.get())) {}

Result<std::optional<std::string>> ScratchProjection::Get(const std::string& key) {
  if (disk_) return disk_->Find(disk_->meta(), key);
  auto it = table_->find(std::string_view(key));
  if (it == table_->end()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(it->second));
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
    auto it = table_->find(std::string_view(k));
    if (it == table_->end()) {
      table_->emplace(std::pmr::string(k, arena_.get()), std::pmr::string(v, arena_.get()));
      table_bytes_ += k.size() + v.size() + kEntryOverhead;
    } else {
      if (v.size() > it->second.capacity()) table_bytes_ += v.size();  // the old buffer stays in the arena
      it->second.assign(v);
    }
  }
  pending_.clear();
  return table_bytes_ > budget_ ? Spill() : Status::Ok();
}

Status ScratchProjection::Spill() {
  ASSIGN_OR_RETURN(disk_, log::Store::Open(spill_dir_, {.create_if_missing = true, .durable = false}));
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : *table_) {
    batch.Put(disk_->meta(), rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size()));
    if (batch.Count() >= kSpillBatchEntries) {
      RETURN_IF_ERROR(disk_->WriteDurably(&batch));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(disk_->WriteDurably(&batch));
  table_.reset();
  arena_.reset();
  table_bytes_ = 0;
  return Status::Ok();
}

void ScratchProjection::Reserve(size_t keys) {
  if (!disk_) table_->reserve(std::min(keys, budget_ / kEntryOverhead));
}

Result<std::optional<std::string>> ScratchProjection::Diff(log::Store& stored, std::string_view prefix,
                                                           uint64_t* keys) {
  *keys = 0;
  if (!disk_) {
    ASSIGN_OR_RETURN(bool equal, MatchesInParallel(stored, prefix, keys));
    if (equal) return std::optional<std::string>();
    *keys = 0;
  }
  std::unique_ptr<rocksdb::Iterator> it(stored.db()->NewIterator(BulkScan(), stored.meta()));
  return disk_ ? DiffOnDisk(*it, prefix, keys) : DiffInMemory(*it, prefix, keys);
}

// MatchesInParallel: true when every stored key is in the table with the
// same value and there are as many stored keys as table keys. The key range
// is cut at the median of a sample of table keys taken from buckets spread
// over the table (a bucket's place is its keys' hash, so the sample is fair;
// the table's own iteration order is not — it starts with the latest
// inserts); each half is matched on its own thread. The table is only read.
Result<bool> ScratchProjection::MatchesInParallel(log::Store& stored, std::string_view prefix, uint64_t* keys) {
  std::vector<std::string> sample;  // from buckets spread over the table: keys in hash order
  const size_t buckets = table_->bucket_count();
  for (size_t i = 0; i < 4096 && sample.size() < 1024; ++i) {
    const size_t b = i * buckets / 4096;
    if (table_->begin(b) != table_->end(b)) sample.emplace_back(table_->begin(b)->first);
  }
  if (sample.empty()) sample.push_back(std::string(prefix));
  std::nth_element(sample.begin(), sample.begin() + static_cast<long>(sample.size() / 2), sample.end());
  const std::string cut = sample[sample.size() / 2];
  struct Half {
    Status status;
    uint64_t matched = 0;
    bool mismatch = false;
  } halves[2];
  std::atomic<bool> stop{false};
  auto match = [&](int h) {
    std::unique_ptr<rocksdb::Iterator> it(stored.db()->NewIterator(BulkScan(), stored.meta()));
    const rocksdb::Slice p(prefix.data(), prefix.size()), c(cut);
    for (it->Seek(h == 0 ? p : c); it->Valid() && it->key().starts_with(p); it->Next()) {
      if (h == 0 && it->key().compare(c) >= 0) break;
      if ((halves[h].matched & 1023) == 0 && stop.load(std::memory_order_relaxed)) return;
      auto found = table_->find(it->key().ToStringView());
      if (found == table_->end() || rocksdb::Slice(found->second.data(), found->second.size()) != it->value()) {
        halves[h].mismatch = true;
        stop = true;
        return;
      }
      ++halves[h].matched;
    }
    halves[h].status = it->status().ok() ? Status::Ok() : Status::IOError(it->status().ToString());
  };
  std::thread second(match, 1);
  match(0);
  second.join();
  for (const Half& h : halves) RETURN_IF_ERROR(h.status);
  if (halves[0].mismatch || halves[1].mismatch) return false;
  *keys = halves[0].matched + halves[1].matched;
  return *keys == table_->size();
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
    auto it = table_->find(std::string_view(key));
    if (it == table_->end()) {
      first_bad = key;
      what = "key that no event explains ";
      break;
    }
    if (rocksdb::Slice(it->second.data(), it->second.size()) != stored.value()) {
      first_bad = key;
      what = "value differs at ";
      break;
    }
    table_->erase(it);
    ++*keys;
  }
  if (!stored.status().ok()) return Status::IOError(stored.status().ToString());
  std::optional<std::string_view> missing;
  for (const auto& [k, v] : *table_) {
    const std::string_view key_view(k);
    if (first_bad && key_view >= *first_bad) continue;
    if (!missing || key_view < *missing) missing = key_view;
  }
  if (missing) return std::optional<std::string>("missing key " + PrintableKey(*missing));
  if (first_bad) return std::optional<std::string>(what + PrintableKey(*first_bad));
  return std::optional<std::string>();
}

Result<std::optional<std::string>> ScratchProjection::DiffOnDisk(rocksdb::Iterator& a, std::string_view prefix,
                                                                 uint64_t* keys) {
  std::unique_ptr<rocksdb::Iterator> b(disk_->db()->NewIterator(BulkScan(), disk_->meta()));
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
