// SourceLimiter: a quota per source address, given back when a slot goes.
#include "net/source_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace mirrorca::net {
namespace {

TEST(SourceLimiterTest, EachSourceHasItsOwnQuota) {
  auto limiter = SourceLimiter::Create(3);
  const auto a = asio::ip::make_address("127.0.0.2"), b = asio::ip::make_address("127.0.0.1");
  std::vector<SourceLimiter::Slot> held;
  for (int i = 0; i < 3; ++i) {
    auto s = limiter->Acquire(a);
    ASSERT_TRUE(s.has_value());
    held.push_back(std::move(*s));
  }
  EXPECT_FALSE(limiter->Acquire(a).has_value());  // a's quota is used
  auto other = limiter->Acquire(b);                // b is not affected
  EXPECT_TRUE(other.has_value());
  EXPECT_EQ(limiter->HeldBy(a), 3u);
  held.pop_back();  // a slot given back
  EXPECT_EQ(limiter->HeldBy(a), 2u);
  EXPECT_TRUE(limiter->Acquire(a).has_value());  // (and released at once)
  held.clear();
  other.reset();
  EXPECT_EQ(limiter->HeldBy(a), 0u);
  EXPECT_EQ(limiter->HeldBy(b), 0u);
  auto unlimited = SourceLimiter::Create(0);
  std::vector<SourceLimiter::Slot> many;
  for (int i = 0; i < 1000; ++i) many.push_back(std::move(*unlimited->Acquire(a)));
  EXPECT_EQ(unlimited->HeldBy(a), 1000u);
}

}  // namespace
}  // namespace mirrorca::net
