#include "log/store.h"

#include "base/status_macros.h"

#include <sys/statvfs.h>

#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <filesystem>

namespace mirrorca::log {
namespace {

const char* const kBaseFamilies[] = {rocksdb::kDefaultColumnFamilyName.c_str(), "events",
                                     "merkle", "checkpoints"};

// Column families a module creates whose reads are random point lookups
// of whole values that do not compress (signed OCSP answers): no
// compression, 1 KiB blocks — a lookup reads and caches one small block
// instead of decompressing a 4 KiB one for a single value, so the shared
// block cache holds four times as many useful answers.
rocksdb::ColumnFamilyOptions TunedFor(const std::string& name, const rocksdb::ColumnFamilyOptions& base,
                                      const rocksdb::BlockBasedTableOptions& table,
                                      const std::shared_ptr<rocksdb::Cache>& point_cache) {
  if (name != "ocsp") return base;
  rocksdb::ColumnFamilyOptions o = base;
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions point = table;
  point.block_size = 1024;
  if (point_cache) point.block_cache = point_cache;  // StoreOptions::point_lookup_cache_bytes
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(point));
  return o;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m(what);
  m += ": ";
  m += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(m);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Unavailable(m);
  if (s.IsNoSpace()) return Status::ResourceExhausted(m);
  return Status::IOError(m);
}

Store::~Store() {
  for (auto* h : handles_) {
    if (h != nullptr && db_ != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  handles_.clear();
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  if (!options.create_if_missing && !std::filesystem::exists(path + "/CURRENT")) {
    return Status::NotFound("no mirrorca store at " + path);
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.IncreaseParallelism(2);
  // Keep every table reader open: index and filter blocks then stay in memory
  // and a proof's node reads never reload them (see cache_index_and_filter_blocks).
  db_options.max_open_files = -1;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks live with the table readers, not in the LRU cache,
  // where random proof reads over a large log would evict them.
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 while data is young (flushes and upper compactions run beside
  // verification and signing on the same cores), zstd once it settles in
  // the bottom level; Merkle nodes are hashes and do not compress at all.
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kZSTD;
  if (!options.durable) {
    // A scratch store is written once and read once: large memtables, no
    // compression, no compactions competing with the work it serves.
    cf_options.write_buffer_size = 256 << 20;
    cf_options.compression = rocksdb::kNoCompression;
    cf_options.bottommost_compression = rocksdb::kNoCompression;
    cf_options.disable_auto_compactions = true;
    // Most of its reads ask for keys not written yet: a memtable bloom
    // filter answers those without a skiplist search.
    cf_options.memtable_whole_key_filtering = true;
    cf_options.memtable_prefix_bloom_size_ratio = 0.1;
    db_options.avoid_flush_during_shutdown = true;  // it is deleted after use
  }
  rocksdb::ColumnFamilyOptions merkle_options = cf_options;
  merkle_options.compression = rocksdb::kNoCompression;
  merkle_options.bottommost_compression = rocksdb::kNoCompression;
  // Appends write keys in order within a log (events: the log's 8-byte
  // prefix then the seq; nodes: the prefix and the level, then the index),
  // so the memtable keeps an insert hint per such prefix instead of
  // searching its skiplist from the top for every key (measured: memtable
  // inserts were 5 % of the CA's CPU per certificate). Memtable only: reads
  // and tables are unchanged. Hints need single-threaded memtable inserts;
  // every write here comes from one log committer at a time anyway.
  rocksdb::ColumnFamilyOptions events_options = cf_options;
  events_options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
  merkle_options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(9));
  db_options.allow_concurrent_memtable_write = false;

  std::unique_ptr<Store> store(new Store());
  if (options.point_lookup_cache_bytes > 0) store->point_cache_ = rocksdb::NewLRUCache(options.point_lookup_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : kBaseFamilies) {
    const std::string_view family(name);
    families.emplace_back(name, family == "merkle"   ? merkle_options
                                : family == "events" ? events_options
                                                     : cf_options);
    store->names_.emplace_back(name);
  }
  for (const std::string& name : options.extra_column_families) {
    families.emplace_back(name, cf_options);
    store->names_.push_back(name);
  }
  // Column families a module created later (CreateColumnFamily) open too,
  // whoever opens the store: RocksDB refuses to open a store without all of them.
  if (std::filesystem::exists(path + "/CURRENT")) {
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
      for (const std::string& name : existing) {
        if (name == rocksdb::kDefaultColumnFamilyName) continue;
        if (std::find(store->names_.begin(), store->names_.end(), name) != store->names_.end()) continue;
        families.emplace_back(name, TunedFor(name, cf_options, table, store->point_cache_));
        store->names_.push_back(name);
      }
    }
  }
  store->cf_options_ = cf_options;
  store->table_options_ = table;
  // Room for every family a module may add later: CreateColumnFamily never
  // moves the handles that meta(), events()… read without a lock.
  store->handles_.reserve(kMaxColumnFamilies);
  store->names_.reserve(kMaxColumnFamilies);
  if (families.size() >= kMaxColumnFamilies) return Status::Corruption("too many column families in " + path);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (!options.secondary_dir.empty()) {
    s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_dir, families,
                                     &store->handles_, &raw);
    store->secondary_ = true;
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, path, families, &store->handles_, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, path, families, &store->handles_, &raw);
  }
  if (!s.ok()) return FromRocks(s, "open store " + path);
  store->db_.reset(raw);
  store->read_only_ = options.read_only || store->secondary_;
  store->durable_ = options.durable;
  store->path_ = path;
  store->min_free_bytes_.store(options.min_free_bytes);
  return store;
}

Status Store::CatchUpWithPrimary() {
  if (!secondary_) return Status::Ok();
  return FromRocks(db_->TryCatchUpWithPrimary(), "catch up with the primary store");
}

Status Store::Flush() {
  if (read_only_) return Status::Ok();
  rocksdb::FlushOptions o;
  o.wait = true;
  return FromRocks(db_->Flush(o, handles_), "flush the store");
}

rocksdb::ColumnFamilyHandle* Store::ColumnFamily(const std::string& name) {
  std::lock_guard lock(families_mu_);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return nullptr;
}

Result<rocksdb::ColumnFamilyHandle*> Store::CreateColumnFamily(const std::string& name) {
  if (rocksdb::ColumnFamilyHandle* existing = ColumnFamily(name)) return existing;
  if (read_only_) return Status::NotFound("column family '" + name + "' is not in this read-only store");
  std::lock_guard lock(families_mu_);
  if (handles_.size() + 1 >= kMaxColumnFamilies) return Status::ResourceExhausted("too many column families");
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(TunedFor(name, cf_options_, table_options_, point_cache_), name, &handle),
                            "create column family " + name));
  names_.push_back(name);
  handles_.push_back(handle);
  return handle;
}

Result<std::string> Store::Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()),
                               &value);
  if (s.IsNotFound()) return Status::NotFound("key not found");
  if (!s.ok()) return FromRocks(s, "read");
  return value;
}

Result<std::optional<std::string>> Store::Find(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  Result<std::string> v = Get(cf, key);
  if (v.ok()) return std::optional<std::string>(std::move(*v));
  if (v.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return v.status();
}

size_t Store::BlockCacheCapacity(rocksdb::ColumnFamilyHandle* cf) const {
  const bool point = point_cache_ != nullptr && cf != nullptr && cf->GetName() == "ocsp";  // as TunedFor
  const std::shared_ptr<rocksdb::Cache>& cache = point ? point_cache_ : table_options_.block_cache;
  return cache ? cache->GetCapacity() : 0;
}

Result<uint64_t> Store::FreeBytes() const {
  struct statvfs fs {};
  if (::statvfs(path_.c_str(), &fs) != 0) return Status::IOError("statvfs " + path_ + " failed");
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

Status Store::WriteDurably(rocksdb::WriteBatch* batch) {
  if (read_only_) return Status::FailedPrecondition("store is open read-only");
  if (const uint64_t floor = min_free_bytes_.load(); floor > 0) {
    struct statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) == 0) {
      const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
      if (free_bytes < floor) {
        return Status::Unavailable("disk full: " + std::to_string(free_bytes >> 20) + " MiB free where " + path_ +
                                   " is, writes need " + std::to_string(floor >> 20) +
                                   " MiB; nothing was written (writes resume once space is freed)");
      }
    }
  }
  rocksdb::WriteOptions w;
  w.sync = durable_;
  w.disableWAL = !durable_;
  return FromRocks(db_->Write(w, batch), "durable write");
}

}  // namespace mirrorca::log
