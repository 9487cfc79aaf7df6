#include "base/sharded_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace mirrorca {
namespace {

TEST(ShardedHashTest, ASetAndAMapBehaveAsTheirStdTables) {
  ShardedHash<std::unordered_set<std::string>> set;
  EXPECT_TRUE(set.insert(std::string("a")).second);
  EXPECT_FALSE(set.insert(std::string("a")).second);
  EXPECT_TRUE(set.contains("a"));
  EXPECT_FALSE(set.contains("b"));
  EXPECT_EQ(set.erase("a"), 1u);
  EXPECT_EQ(set.erase("a"), 0u);
  EXPECT_EQ(set.size(), 0u);

  ShardedHash<std::unordered_map<std::string, std::string>> map;
  EXPECT_EQ(map.Find("k"), nullptr);
  EXPECT_TRUE(map.emplace(std::string("k"), std::string("v1")).second);
  EXPECT_FALSE(map.emplace(std::string("k"), std::string("v2")).second);  // emplace keeps the first
  ASSERT_NE(map.Find("k"), nullptr);
  EXPECT_EQ(*map.Find("k"), "v1");
  map["k"] = "v3";
  map["other"] = "w";
  EXPECT_EQ(*map.Find("k"), "v3");
  EXPECT_EQ(map.size(), 2u);
}

// Keys spread over the shards: none holds more than twice its share, so no
// single rehash moves much more than a 64th of the table.
TEST(ShardedHashTest, KeysSpreadEvenly) {
  ShardedHash<std::unordered_set<std::string>> set;
  const size_t n = 64 * 1000;
  for (size_t i = 0; i < n; ++i) set.insert("device-" + std::to_string(i));
  EXPECT_EQ(set.size(), n);
  for (size_t s = 0; s < 64; ++s) {
    EXPECT_LT(set.shard(s).size(), 2 * n / 64) << "shard " << s;
    EXPECT_GT(set.shard(s).size(), n / 64 / 2) << "shard " << s;
  }
  for (size_t i = 0; i < n; i += 997) EXPECT_TRUE(set.contains("device-" + std::to_string(i)));
}

}  // namespace
}  // namespace mirrorca
