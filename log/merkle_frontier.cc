#include "log/merkle_frontier.h"

#include <bit>

#include "log/merkle.h"

namespace mirrorca::log {

MerkleFrontier MerkleFrontier::FromNodes(uint64_t size, std::vector<Hash> nodes) {
  MerkleFrontier f;
  f.size_ = size;
  f.nodes_ = std::move(nodes);
  return f;
}

std::vector<std::pair<int, uint64_t>> MerkleFrontier::PerfectSubtrees(uint64_t size) {
  std::vector<std::pair<int, uint64_t>> out;
  uint64_t offset = 0;
  for (int level = 63; level >= 0; --level) {
    uint64_t width = uint64_t{1} << level;
    if (size & width) {
      out.emplace_back(level, offset >> level);
      offset += width;
    }
  }
  return out;
}

void MerkleFrontier::Append(const Hash& leaf_hash, const NodeSink& sink) {
  uint64_t index = size_;
  Hash h = leaf_hash;
  if (sink) sink(0, index, h);
  // Each trailing 1 bit of the old size is a subtree that the new leaf completes.
  int level = 0;
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(nodes_.back(), h);
    nodes_.pop_back();
    ++level;
    index >>= 1;
    if (sink) sink(level, index, h);
  }
  nodes_.push_back(h);
  ++size_;
}

Hash MerkleFrontier::Root() const {
  if (nodes_.empty()) return EmptyTreeHash();
  Hash h = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) h = NodeHash(nodes_[i], h);
  return h;
}

}  // namespace mirrorca::log
