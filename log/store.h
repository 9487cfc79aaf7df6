// Store: the node's RocksDB database, shared by every log it holds (a
// factory holds its own log; HQ holds a verified copy of each factory log and
// its own). It owns the column families and is the one place where
// rocksdb::Status becomes a mirrorca Status.
//
// Column families and key layout (docs/event_log_format.md §Storage):
//   default      meta:    "log/" + hex(log prefix)          -> verifier key
//                         "self"                             -> origin of the local log
//   events                log prefix(8) + be64(seq)          -> signed event bytes
//   merkle                log prefix(8) + level(1) + be64(i) -> 32-byte node hash
//   checkpoints           log prefix(8) + be64(tree size)    -> signed checkpoint note
// The log prefix is the first 8 bytes of SHA-256(origin).
//
// Thread-safety: safe for concurrent use (RocksDB is).
#ifndef MIRRORCA_LOG_STORE_H_
#define MIRRORCA_LOG_STORE_H_

#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace mirrorca::log {

// FromRocks maps a rocksdb::Status onto a Status (OK stays OK).
Status FromRocks(const rocksdb::Status& s, std::string_view what);

struct StoreOptions {
  bool create_if_missing = false;
  bool read_only = false;
  // Set: open as a RocksDB secondary instance of the store (read-only; its
  // own info files live in this directory). CatchUpWithPrimary then follows
  // what the process that owns the store writes, while it runs.
  std::string secondary_dir;
  size_t block_cache_bytes = 256 << 20;
  // Column families of point lookups (signed OCSP answers, "ocsp") get a
  // block cache of their own of this size, so that their working set is
  // sized apart from the log's reads; 0: they share the one above.
  size_t point_lookup_cache_bytes = 0;
  // false: a scratch store (an audit's rebuild) — writes skip the WAL and
  // the fsync, and WriteDurably is then durable only as of a clean close.
  bool durable = true;
  std::vector<std::string> extra_column_families;  // for projections of later modules
  // A durable write is refused (Unavailable, nothing written) while the
  // store's filesystem has less than this free: RocksDB (7.8, Debian 12)
  // aborts the process on the write after one that hit a full disk, so a
  // full disk must be met here, before RocksDB writes. 0: no check.
  uint64_t min_free_bytes = 0;
};

class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Open opens (or creates) the database at `path`. NotFound if it does not
  // exist and create_if_missing is false.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& options);

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* meta() { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* events() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* merkle() { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* checkpoints() { return handles_[3]; }
  // ColumnFamily returns an extra column family by name, or null.
  rocksdb::ColumnFamilyHandle* ColumnFamily(const std::string& name);
  // CreateColumnFamily returns the column family `name`, creating it in a
  // writable store (every later Open of the store opens it too); NotFound
  // in a read-only one that lacks it.
  Result<rocksdb::ColumnFamilyHandle*> CreateColumnFamily(const std::string& name);

  // Get returns the value at `key`; NotFound if absent.
  Result<std::string> Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  // Find returns the value at `key`, or nullopt if absent (errors only for I/O).
  Result<std::optional<std::string>> Find(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  // BlockCacheCapacity: the bytes the block cache that `cf` reads through holds.
  size_t BlockCacheCapacity(rocksdb::ColumnFamilyHandle* cf) const;
  // WriteDurably applies `batch` atomically and returns after it is fsynced.
  // Unavailable (nothing written) while the disk has less than
  // min_free_bytes free.
  Status WriteDurably(rocksdb::WriteBatch* batch);
  // set_min_free_bytes changes the free-space floor of later writes.
  void set_min_free_bytes(uint64_t bytes) { min_free_bytes_.store(bytes); }
  bool read_only() const { return read_only_; }
  uint64_t min_free_bytes() const { return min_free_bytes_.load(); }
  // FreeBytes returns the space left to unprivileged writers where the
  // store is (statvfs f_bavail); IOError if it cannot be read.
  Result<uint64_t> FreeBytes() const;

  // Flush writes every memtable to SST files, so that a later read-only
  // open need not replay the write-ahead log (a no-op when read-only).
  Status Flush();

  // CatchUpWithPrimary makes a secondary instance see the primary's latest
  // writes (a no-op on a primary).
  Status CatchUpWithPrimary();

 private:
  Store() = default;
  std::unique_ptr<rocksdb::DB> db_;
  static constexpr size_t kMaxColumnFamilies = 32;
  std::mutex families_mu_;  // guards handles_ and names_ growing (CreateColumnFamily)
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
  rocksdb::ColumnFamilyOptions cf_options_;
  rocksdb::BlockBasedTableOptions table_options_;  // cf_options_'s, for families tuned apart
  std::shared_ptr<rocksdb::Cache> point_cache_;     // StoreOptions::point_lookup_cache_bytes; may be null
  bool read_only_ = false;
  bool secondary_ = false;
  bool durable_ = true;
  std::string path_;
  std::atomic<uint64_t> min_free_bytes_{0};
};

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_STORE_H_
