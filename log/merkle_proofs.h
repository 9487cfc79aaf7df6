// Merkle proofs built from stored nodes: the root of any earlier size, RFC
// 9162 inclusion proofs (§2.1.3.1) and consistency proofs (§2.1.4.1). Each
// costs O(log n) node reads from a NodeSource, never a scan of the leaves.
//
// Thread-safety: pure functions over the NodeSource; as thread-safe as it is.
#ifndef MIRRORCA_LOG_MERKLE_PROOFS_H_
#define MIRRORCA_LOG_MERKLE_PROOFS_H_

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

// NodeSource reads stored node (level, index) of a tree (see MerkleFrontier).
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual Result<Hash> GetNode(int level, uint64_t index) = 0;
};

// RootAt returns the root hash of the first `size` leaves.
Result<Hash> RootAt(NodeSource& nodes, uint64_t size);
// InclusionProof returns the audit path of leaf `index` in the tree of `size`.
Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, uint64_t index, uint64_t size);
// ConsistencyProof returns the proof that size `first` is a prefix of `second`.
Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, uint64_t first, uint64_t second);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_MERKLE_PROOFS_H_
