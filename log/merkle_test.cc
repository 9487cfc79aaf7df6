// Known-answer tests from RFC 6962 / RFC 9162 (the Certificate Transparency
// reference test vectors), and proofs served from stored nodes checked against
// the reference definitions for every size up to 70.
#include <gtest/gtest.h>

#include <map>

#include "base/encoding.h"
#include "log/merkle.h"
#include "log/merkle_frontier.h"
#include "log/merkle_proofs.h"

namespace mirrorca::log {
namespace {

Hash H(std::string_view hex) {
  Bytes b = *HexDecode(hex);
  Hash h;
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

const char* const kLeaves[] = {"", "00", "10", "2021", "3031", "40414243",
                               "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
const char* const kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<Hash> VectorLeafHashes() {
  std::vector<Hash> out;
  for (const char* l : kLeaves) out.push_back(LeafHash(*HexDecode(l)));
  return out;
}

// MapNodes is a NodeSource over nodes recorded from a frontier.
class MapNodes : public NodeSource {
 public:
  explicit MapNodes(const std::vector<Hash>& leaves) {
    for (const Hash& l : leaves) {
      frontier_.Append(l, [&](int level, uint64_t index, const Hash& h) {
        nodes_[{level, index}] = h;
      });
    }
  }
  Result<Hash> GetNode(int level, uint64_t index) override {
    ++reads;
    auto it = nodes_.find({level, index});
    if (it == nodes_.end()) return Status::NotFound("node");
    return it->second;
  }
  int reads = 0;

 private:
  MerkleFrontier frontier_;
  std::map<std::pair<int, uint64_t>, Hash> nodes_;
};

TEST(MerkleTest, EmptyTreeHash) {
  EXPECT_EQ(HexEncode(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleTest, RootsOfTheEightLeafVectors) {
  std::vector<Hash> leaves = VectorLeafHashes();
  MerkleFrontier f;
  for (size_t i = 0; i < leaves.size(); ++i) {
    f.Append(leaves[i]);
    EXPECT_EQ(HexEncode(f.Root()), kRoots[i]) << "size " << i + 1;
    std::vector<Hash> prefix(leaves.begin(), leaves.begin() + static_cast<long>(i) + 1);
    EXPECT_EQ(HexEncode(ReferenceRoot(prefix)), kRoots[i]);
  }
}

TEST(MerkleTest, InclusionVectors) {
  MapNodes nodes(VectorLeafHashes());
  // RFC 6962 test vector: leaf 5 of 8.
  std::vector<Hash> proof = *InclusionProof(nodes, 5, 8);
  ASSERT_EQ(proof.size(), 3u);
  EXPECT_EQ(HexEncode(proof[0]), "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_EQ(HexEncode(proof[1]), "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  EXPECT_EQ(HexEncode(proof[2]), "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  Hash leaf5 = LeafHash(*HexDecode(kLeaves[5]));
  EXPECT_TRUE(VerifyInclusion(5, 8, leaf5, proof, H(kRoots[7])).ok());
  EXPECT_FALSE(VerifyInclusion(4, 8, leaf5, proof, H(kRoots[7])).ok());
  // Leaf 2 of 3: the proof is the root of the first two leaves.
  std::vector<Hash> p23 = *InclusionProof(nodes, 2, 3);
  ASSERT_EQ(p23.size(), 1u);
  EXPECT_EQ(HexEncode(p23[0]), kRoots[1]);
}

TEST(MerkleTest, ConsistencyVectors) {
  MapNodes nodes(VectorLeafHashes());
  std::vector<Hash> p68 = *ConsistencyProof(nodes, 6, 8);
  ASSERT_EQ(p68.size(), 3u);
  EXPECT_EQ(HexEncode(p68[0]), "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a");
  EXPECT_EQ(HexEncode(p68[1]), "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  EXPECT_EQ(HexEncode(p68[2]), "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  EXPECT_TRUE(VerifyConsistency(6, 8, H(kRoots[5]), H(kRoots[7]), p68).ok());
  EXPECT_FALSE(VerifyConsistency(6, 8, H(kRoots[4]), H(kRoots[7]), p68).ok());
  std::vector<Hash> p25 = *ConsistencyProof(nodes, 2, 5);
  ASSERT_EQ(p25.size(), 2u);
  EXPECT_EQ(HexEncode(p25[0]), "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(HexEncode(p25[1]), "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_TRUE(VerifyConsistency(2, 5, H(kRoots[1]), H(kRoots[4]), p25).ok());
}

TEST(MerkleTest, EveryProofUpTo70LeavesVerifiesAgainstReferenceRoots) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70; ++i) leaves.push_back(LeafHash(AsBytes(std::to_string(i))));
  MapNodes nodes(leaves);
  std::vector<Hash> roots;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    roots.push_back(ReferenceRoot(std::vector<Hash>(leaves.begin(), leaves.begin() + long(n))));
    EXPECT_EQ(*RootAt(nodes, n), roots.back());
  }
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(nodes, i, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], *proof, roots[n - 1]).ok()) << i << "/" << n;
      if (!proof->empty()) {
        auto bad = *proof;
        bad[0][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], bad, roots[n - 1]).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(nodes, m, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(m, n, roots[m - 1], roots[n - 1], *proof).ok()) << m << "/" << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, roots[n - 1], roots[n - 1], *proof).ok());
      }
    }
  }
}

TEST(MerkleTest, ProofsReadLogarithmicallyManyNodes) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 1000; ++i) leaves.push_back(LeafHash(AsBytes(std::to_string(i))));
  MapNodes nodes(leaves);
  nodes.reads = 0;
  ASSERT_TRUE(InclusionProof(nodes, 3, 999).ok());
  EXPECT_LE(nodes.reads, 2 * 10 + 2);
  nodes.reads = 0;
  ASSERT_TRUE(ConsistencyProof(nodes, 333, 999).ok());
  EXPECT_LE(nodes.reads, 2 * 10 + 2);
  EXPECT_EQ(InclusionProof(nodes, 5, 5).status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace mirrorca::log
