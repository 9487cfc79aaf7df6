// PresignedStore: its own block cache and the warm-up that fills it.
#include "validation/presigned_store.h"

#include <gtest/gtest.h>

#include "log/test_util.h"

namespace mirrorca::validation {
namespace {

// Stores `n` answers of about 1 KB (a pre-signed answer with its responder
// certificate is about that size) under one CA.
void StoreAnswers(PresignedStore& p, int n) {
  std::vector<PresignedStore::Entry> entries;
  for (int i = 0; i < n; ++i) {
    PresignedStore::Entry e;
    e.key.ca_id = Bytes(32, 0xca);
    e.key.serial = {0x10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    e.answer.status = 0;
    e.answer.this_update = 1000;
    e.answer.next_update = 2000;
    e.answer.refresh_at = 1500 + i;
    e.answer.der = std::string(1000, static_cast<char>('a' + i % 26));
    entries.push_back(std::move(e));
  }
  ASSERT_TRUE(p.Put(std::move(entries)).ok());
}

// A restart reads every answer into the cache, in order, and the answers
// still read back the same; the warm-up reads no more than its cache
// holds; and it stops when told to.
TEST(PresignedStoreTest, WarmUpReadsTheAnswersUpToItsCache) {
  log::testing::TempDir dir;
  {
    auto store = log::Store::Open(dir.path(), {.create_if_missing = true});
    ASSERT_TRUE(store.ok()) << store.status();
    auto p = PresignedStore::Open(store->get());
    ASSERT_TRUE(p.ok()) << p.status();
    StoreAnswers(**p, 300);
  }
  auto reopen = [&](size_t cache_bytes) {
    return log::Store::Open(dir.path(), {.point_lookup_cache_bytes = cache_bytes});
  };
  std::atomic<bool> stop{false};
  {
    auto store = reopen(8 << 20);
    ASSERT_TRUE(store.ok()) << store.status();
    auto p = PresignedStore::Open(store->get());
    ASSERT_TRUE(p.ok());
    auto warm = (*p)->WarmUp(stop);
    ASSERT_TRUE(warm.ok()) << warm.status();
    EXPECT_EQ(warm->answers, 300u);
    EXPECT_GE(warm->bytes, 300u * 1000);
    auto a = (*p)->Lookup(Bytes(32, 0xca), Bytes{0x10, 0x00, 0x07});
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ((*a)->der, std::string(1000, 'h'));
    EXPECT_EQ((*a)->refresh_at, 1507);
  }
  {
    auto store = reopen(64 << 10);  // a cache of 64 KiB: about 64 answers' worth
    ASSERT_TRUE(store.ok());
    auto p = PresignedStore::Open(store->get());
    ASSERT_TRUE(p.ok());
    auto warm = (*p)->WarmUp(stop);
    ASSERT_TRUE(warm.ok());
    EXPECT_LE(warm->bytes, (64u << 10) + 1100);
    EXPECT_LT(warm->answers, 70u);
    EXPECT_GT(warm->answers, 50u);
    stop = true;
    warm = (*p)->WarmUp(stop);
    ASSERT_TRUE(warm.ok());
    EXPECT_EQ(warm->answers, 0u) << "stopped before it read anything";
  }
}

}  // namespace
}  // namespace mirrorca::validation
