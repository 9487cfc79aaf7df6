// ScratchProjection: a certificate-status projection rebuilt from the logs
// for an audit (`mirrorca audit verify`), to be compared key for key with the
// one a node stores. It is a ProjectionTarget, so the rebuild runs the same
// rules as the node (engine/status_projector.h).
//
// The rebuild is held in a hash table while it fits `memory_budget` bytes —
// a million events take about 0.5 GB — and moves to a scratch RocksDB store
// in `spill_dir` at the first commit past the budget, so any history can be
// audited in bounded memory (the table is several times faster than RocksDB
// memtables, which is what keeps the audit close to the signature rate).
//
// Thread-safety: none; one thread builds and compares.
#ifndef MIRRORCA_ENGINE_SCRATCH_PROJECTION_H_
#define MIRRORCA_ENGINE_SCRATCH_PROJECTION_H_

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"
#include "engine/status_projector.h"
#include "log/store.h"

namespace mirrorca::engine {

class ScratchProjection final : public ProjectionTarget {
 public:
  // `spill_dir` must not exist yet; it is created only if the budget is
  // exceeded, and the caller removes it afterwards.
  ScratchProjection(std::string spill_dir, size_t memory_budget);

  Result<std::optional<std::string>> Get(const std::string& key) override;
  void Put(std::string key, std::string value) override;
  Status Commit() override;

  bool spilled() const { return disk_ != nullptr; }

  // Reserve sizes the table for about `keys` keys (it grows past them).
  void Reserve(size_t keys);

  // Diff compares the rebuild with the projection `stored` holds under
  // `prefix` (meta column family). It returns nullopt when both hold the
  // same keys with the same values, else a description of the first
  // difference in key order ("missing key …", "key that no event explains …",
  // "value differs at …"). `keys` counts the keys compared. The rebuild is
  // consumed. An in-memory rebuild is first matched on two threads (two
  // halves of the key range); only a mismatch walks the keys in order.
  Result<std::optional<std::string>> Diff(log::Store& stored, std::string_view prefix, uint64_t* keys);

 private:
  Status Spill();
  Result<bool> MatchesInParallel(log::Store& stored, std::string_view prefix, uint64_t* keys);
  Result<std::optional<std::string>> DiffInMemory(rocksdb::Iterator& stored, std::string_view prefix,
                                                  uint64_t* keys);
  Result<std::optional<std::string>> DiffOnDisk(rocksdb::Iterator& stored, std::string_view prefix,
                                                uint64_t* keys);

  const std::string spill_dir_;
  const size_t budget_;
  // The table and every string in it live in one arena: entries are
  // allocated by bumping a pointer, lie next to each other in memory, and
  // are freed at once.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::pmr::unordered_map<std::pmr::string, std::pmr::string, KeyHash, std::equal_to<>>;
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena_;
  std::unique_ptr<Table> table_;  // destroyed before arena_
  size_t table_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;
  std::unique_ptr<log::Store> disk_;  // once spilled
};

// PrintableKey renders a projection key for a message (non-printing bytes as \xNN).
std::string PrintableKey(std::string_view key);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_SCRATCH_PROJECTION_H_
