// AnswerCache: the byte budget holds whatever is inserted, an answer asked
// for again survives generation swaps, and a stale or invalidated answer
// is never returned.
#include "validation/answer_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace mirrorca::validation {
namespace {

OcspAnswer Answer(int64_t this_update, size_t size = 400) {
  OcspAnswer a;
  a.der.assign(size, 'r');
  a.successful = true;
  a.this_update = this_update;
  a.etag = std::string(32, 'e');
  return a;
}

TEST(AnswerCacheTest, TheBudgetHoldsAndHotAnswersSurvive) {
  AnswerCache cache(size_t{256} << 10);
  const AnswerCache::Freshness now{1, 1000, 3600};
  cache.Put("hot", Answer(1000), 1);
  for (int i = 0; i < 20000; ++i) {
    cache.Put("request-" + std::to_string(i), Answer(1000), 1);
    ASSERT_LE(cache.bytes(), cache.max_bytes()) << i;
    if (i % 50 == 0) {
      ASSERT_TRUE(cache.Find("hot", now).has_value()) << "asked for often, kept: " << i;
      ASSERT_LE(cache.bytes(), cache.max_bytes()) << "promoted within the budget too: " << i;
    }
    if (i % 7 == 0 && i >= 200) (void)cache.Find("request-" + std::to_string(i - 200), now);  // promotions
  }
  EXPECT_GT(cache.entries(), 200u) << "it does hold answers";
  EXPECT_FALSE(cache.Find("request-0", now).has_value()) << "long gone";
  EXPECT_TRUE(cache.Find("request-19999", now).has_value());
  // Everything held asked for again (each promotion into the newer
  // generation swaps it when full), then new answers: still within budget.
  for (int i = 19000; i < 20000; ++i) (void)cache.Find("request-" + std::to_string(i), now);
  for (int i = 0; i < 1000; ++i) {
    cache.Put("later-" + std::to_string(i), Answer(1000), 1);
    ASSERT_LE(cache.bytes(), cache.max_bytes()) << "after promotions, " << i;
  }
  // An entry bigger than half a shard is answered, never held.
  cache.Put("huge", Answer(1000, 64 << 10), 1);
  EXPECT_FALSE(cache.Find("huge", now).has_value());
}

TEST(AnswerCacheTest, StaleOrInvalidatedAnswersAreNotReturned) {
  AnswerCache cache(size_t{1} << 20);
  cache.Put("a", Answer(1000), 1);
  EXPECT_TRUE(cache.Find("a", {1, 1500, 3600}).has_value());
  EXPECT_FALSE(cache.Find("a", {2, 1500, 3600}).has_value()) << "signed before an invalidation";
  EXPECT_FALSE(cache.Find("a", {1, 1000 + 3600, 3600}).has_value()) << "older than max_age";
  EXPECT_FALSE(cache.Find("a", {1, 999, 3600}).has_value()) << "signed in the future";
}

// The doorkeeper admits a request on its second appearance within a short
// window: a hot set is admitted, a fleet asked uniformly almost never.
TEST(AnswerCacheTest, OnlyRequestsAskedAgainSoonAreAdmitted) {
  AnswerCache cache(size_t{1} << 20);
  EXPECT_TRUE(cache.Admit("serial-0")) << "a cache never full admits everything";
  for (int i = 0; i < 5000; ++i) cache.Put("fill-" + std::to_string(i), Answer(1000), 1);  // every shard swaps
  EXPECT_FALSE(cache.Admit("serial-1"));
  EXPECT_TRUE(cache.Admit("serial-1"));
  int hot = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) hot += cache.Admit("hot-" + std::to_string(i)) ? 1 : 0;
  }
  EXPECT_GT(hot, 1900) << "a hot set of 1,000 is admitted from its second round";
  int spread = 0;
  for (int i = 0; i < 2'000'000; ++i) spread += cache.Admit("fleet-" + std::to_string(i % 1'000'000)) ? 1 : 0;
  EXPECT_LT(spread, 20'000) << "a million serials asked in turn are (nearly) never admitted";
}

}  // namespace
}  // namespace mirrorca::validation
