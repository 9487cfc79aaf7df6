#include "log/merkle_proofs.h"

#include <bit>

#include "base/status_macros.h"
#include "log/merkle.h"

namespace mirrorca::log {
namespace {

// RangeHash returns MTH(D[begin:end]) for a range that arises in the RFC 9162
// recursion: `begin` is a multiple of the largest power of two <= end - begin.
// Perfect aligned ranges are one stored node; others split once per level.
Result<Hash> RangeHash(NodeSource& nodes, uint64_t begin, uint64_t end) {
  uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    return nodes.GetNode(std::countr_zero(n), begin >> std::countr_zero(n));
  }
  uint64_t k = LargestPowerOfTwoBelow(n);
  ASSIGN_OR_RETURN(Hash left, RangeHash(nodes, begin, begin + k));
  ASSIGN_OR_RETURN(Hash right, RangeHash(nodes, begin + k, end));
  return NodeHash(left, right);
}

Status AppendPath(NodeSource& nodes, uint64_t m, uint64_t begin, uint64_t end,
                  std::vector<Hash>& out) {
  if (end - begin == 1) return Status::Ok();
  uint64_t k = LargestPowerOfTwoBelow(end - begin);
  if (m < k) {
    RETURN_IF_ERROR(AppendPath(nodes, m, begin, begin + k, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin + k, end));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(AppendPath(nodes, m - k, begin + k, end, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin, begin + k));
    out.push_back(h);
  }
  return Status::Ok();
}

Status AppendSubproof(NodeSource& nodes, uint64_t m, uint64_t begin, uint64_t end, bool start,
                      std::vector<Hash>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (!start) {
      ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin, end));
      out.push_back(h);
    }
    return Status::Ok();
  }
  uint64_t k = LargestPowerOfTwoBelow(n);
  if (m <= k) {
    RETURN_IF_ERROR(AppendSubproof(nodes, m, begin, begin + k, start, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin + k, end));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(AppendSubproof(nodes, m - k, begin + k, end, false, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin, begin + k));
    out.push_back(h);
  }
  return Status::Ok();
}

}  // namespace

Result<Hash> RootAt(NodeSource& nodes, uint64_t size) {
  if (size == 0) return EmptyTreeHash();
  return RangeHash(nodes, 0, size);
}

Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, uint64_t index, uint64_t size) {
  if (index >= size) {
    return Status::OutOfRange("leaf index " + std::to_string(index) + " is not below tree size " +
                              std::to_string(size));
  }
  std::vector<Hash> out;
  RETURN_IF_ERROR(AppendPath(nodes, index, 0, size, out));
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, uint64_t first, uint64_t second) {
  if (first > second) {
    return Status::OutOfRange("consistency proof: first size " + std::to_string(first) +
                              " exceeds second size " + std::to_string(second));
  }
  std::vector<Hash> out;
  if (first == 0 || first == second) return out;
  RETURN_IF_ERROR(AppendSubproof(nodes, first, 0, second, true, out));
  return out;
}

}  // namespace mirrorca::log
