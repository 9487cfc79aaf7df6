#include "log/merkle.h"

#include <bit>

namespace mirrorca::log {
namespace {

Hash ReferenceRange(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = LargestPowerOfTwoBelow(end - begin);
  return NodeHash(ReferenceRange(leaves, begin, begin + k), ReferenceRange(leaves, begin + k, end));
}

}  // namespace

Hash LeafHash(ByteSpan leaf) {
  const uint8_t prefix = 0x00;
  return Sha256({ByteSpan(&prefix, 1), leaf});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  const uint8_t prefix = 0x01;
  return Sha256({ByteSpan(&prefix, 1), left, right});
}

Hash EmptyTreeHash() { return Sha256(ByteSpan()); }

uint64_t LargestPowerOfTwoBelow(uint64_t n) { return std::bit_floor(n - 1); }

Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root) {
  if (index >= tree_size) return Status::Corruption("inclusion proof: index beyond tree size");
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::Corruption("inclusion proof: too many hashes");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("inclusion proof: too few hashes");
  if (r != root) return Status::Corruption("inclusion proof: root mismatch");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                         const Hash& second_root, const std::vector<Hash>& proof) {
  if (first > second) return Status::Corruption("consistency proof: first > second");
  if (first == second) {
    if (!proof.empty()) return Status::Corruption("consistency proof: must be empty");
    if (first_root != second_root) return Status::Corruption("consistency proof: roots differ");
    return Status::Ok();
  }
  if (first == 0) {
    // Every tree is consistent with the empty tree; the proof is empty.
    if (!proof.empty()) return Status::Corruption("consistency proof: must be empty");
    return Status::Ok();
  }
  if (proof.empty()) return Status::Corruption("consistency proof: empty");
  std::vector<Hash> path = proof;
  if (std::has_single_bit(first)) path.insert(path.begin(), first_root);
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Status::Corruption("consistency proof: too many hashes");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("consistency proof: too few hashes");
  if (fr != first_root) return Status::Corruption("consistency proof: first root mismatch");
  if (sr != second_root) return Status::Corruption("consistency proof: second root mismatch");
  return Status::Ok();
}

Hash ReferenceRoot(const std::vector<Hash>& leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyTreeHash();
  return ReferenceRange(leaf_hashes, 0, leaf_hashes.size());
}

}  // namespace mirrorca::log
