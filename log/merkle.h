// RFC 9162 §2.1 Merkle tree hashing and proof verification, as pure
// functions: leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || l || r),
// the empty tree's hash SHA-256(""), and the verification algorithms of
// §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_LOG_MERKLE_H_
#define MIRRORCA_LOG_MERKLE_H_

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

Hash LeafHash(ByteSpan leaf);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyTreeHash();

// LargestPowerOfTwoBelow returns the largest power of two strictly less than n (n >= 2).
uint64_t LargestPowerOfTwoBelow(uint64_t n);

// VerifyInclusion checks that `leaf_hash` is leaf `index` of the tree of
// `tree_size` leaves whose root is `root`. Corruption if it is not.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root);

// VerifyConsistency checks that the tree of size `first` with root
// `first_root` is a prefix of the tree of size `second` with root `second_root`.
Status VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                         const Hash& second_root, const std::vector<Hash>& proof);

// ReferenceRoot computes MTH over `leaf_hashes` by the RFC's recursive
// definition. O(n); for tests and for small trees only.
Hash ReferenceRoot(const std::vector<Hash>& leaf_hashes);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_MERKLE_H_
