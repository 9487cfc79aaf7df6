// MerkleFrontier: the right edge of an append-only RFC 9162 tree — one hash
// per perfect subtree in the binary decomposition of the size (at most 64).
// Appending a leaf reports every perfect subtree it completes, so the
// EventLog can store node (level, index) as soon as it exists and serve any
// historical root or proof from O(log n) stored nodes.
//
// Node (level L, index i) is the root of the perfect subtree over leaves
// [i * 2^L, (i + 1) * 2^L); level 0 nodes are leaf hashes.
//
// Thread-safety: not thread-safe; owned by one writer.
#ifndef MIRRORCA_LOG_MERKLE_FRONTIER_H_
#define MIRRORCA_LOG_MERKLE_FRONTIER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "log/crypto_names.h"

namespace mirrorca::log {

class MerkleFrontier {
 public:
  // NodeSink receives each completed node (level, index, hash), level 0 first.
  using NodeSink = std::function<void(int level, uint64_t index, const Hash& hash)>;

  MerkleFrontier() = default;
  // FromNodes restores a frontier for `size` leaves from the hashes of its
  // perfect subtrees, largest (leftmost) first.
  static MerkleFrontier FromNodes(uint64_t size, std::vector<Hash> nodes);
  // PerfectSubtrees returns the (level, index) of the frontier nodes of a tree
  // of `size` leaves, largest first.
  static std::vector<std::pair<int, uint64_t>> PerfectSubtrees(uint64_t size);

  void Append(const Hash& leaf_hash, const NodeSink& sink = nullptr);
  uint64_t size() const { return size_; }
  // Root returns the tree's root hash (the empty-tree hash for size 0).
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> nodes_;  // largest subtree first
};

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_MERKLE_FRONTIER_H_
