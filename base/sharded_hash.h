// ShardedHash: a hash set or map split into a fixed number of std::
// unordered tables by the key's hash. A std::unordered table that grows
// rehashes all of its entries at once: in a factory's ledger of a million
// devices that is tens of milliseconds under the ledger's mutex, during
// which no request can reserve or commit (every request waits; single
// enrolls' tail latency showed it). Split in 64, each rehash moves a 64th.
// Only what the ledger uses is offered: insert, emplace, operator[], Find,
// contains, erase, size.
//
// Thread-safety: none (like the std tables); the ledger holds its mutex.
#ifndef MIRRORCA_BASE_SHARDED_HASH_H_
#define MIRRORCA_BASE_SHARDED_HASH_H_

#include <array>
#include <cstddef>
#include <functional>
#include <utility>

namespace mirrorca {

template <typename Table, size_t kShards = 64>
class ShardedHash {
 public:
  using key_type = typename Table::key_type;

  bool contains(const key_type& k) const { return ShardOf(k).contains(k); }
  size_t erase(const key_type& k) { return ShardOf(k).erase(k); }
  template <typename K>
  auto insert(K&& k) {
    return ShardOf(k).insert(std::forward<K>(k));
  }
  template <typename K, typename V>
  auto emplace(K&& k, V&& v) {
    Table& shard = ShardOf(k);
    return shard.emplace(std::forward<K>(k), std::forward<V>(v));
  }
  // Maps only.
  auto& operator[](const key_type& k) { return ShardOf(k)[k]; }
  // Find: the mapped value of `k` (maps), or null.
  const auto* Find(const key_type& k) const {
    const Table& shard = ShardOf(k);
    auto it = shard.find(k);
    return it == shard.end() ? nullptr : &it->second;
  }
  size_t size() const {
    size_t n = 0;
    for (const Table& t : shards_) n += t.size();
    return n;
  }
  // The table `k` belongs in (tests: how evenly keys spread).
  size_t ShardIndex(const key_type& k) const { return hash_(k) % kShards; }
  const Table& shard(size_t i) const { return shards_[i]; }

 private:
  Table& ShardOf(const key_type& k) { return shards_[ShardIndex(k)]; }
  const Table& ShardOf(const key_type& k) const { return shards_[ShardIndex(k)]; }

  std::array<Table, kShards> shards_;
  [[no_unique_address]] std::hash<key_type> hash_;
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_SHARDED_HASH_H_
