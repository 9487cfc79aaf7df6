// ScratchProjection against a real RocksDB store: the rebuild held in memory
// and the rebuild spilled to disk (at the first commit, or midway) find the
// same thing — no difference, or the same first difference in key order.
#include "engine/scratch_projection.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "log/test_util.h"

namespace mirrorca::engine {
namespace {

using log::testing::TempDir;

constexpr std::string_view kPrefix = "status/v1/";

// Rebuilt: the same 3,000 keys, written in 30 commits with overwrites, into
// a ScratchProjection with the given budget; `expected` gets the final state.
std::unique_ptr<ScratchProjection> Rebuilt(const std::string& spill_dir, size_t budget,
                                           std::map<std::string, std::string>* expected) {
  auto p = std::make_unique<ScratchProjection>(spill_dir, budget);
  std::mt19937 rng(9);
  for (int commit = 0; commit < 30; ++commit) {
    for (int i = 0; i < 150; ++i) {
      std::string key = std::string(kPrefix) + "cert/" + std::to_string(rng() % 3000);
      key.push_back(static_cast<char>(rng() % 256));  // bytes past 0x7f sort as unsigned
      std::string value(rng() % 40, static_cast<char>('a' + commit % 26));
      (*expected)[key] = value;
      p->Put(std::move(key), std::move(value));
    }
    EXPECT_TRUE(p->Commit().ok());
    auto seen = p->Get(expected->begin()->first);  // reads see what was committed
    EXPECT_TRUE(seen.ok() && *seen && **seen == expected->begin()->second);
  }
  auto absent = p->Get("status/v1/none");
  EXPECT_TRUE(absent.ok() && !*absent);
  return p;
}

struct Stored {
  TempDir dir;
  std::unique_ptr<log::Store> store;
  explicit Stored(const std::map<std::string, std::string>& kv) {
    store = *log::Store::Open(dir.path() + "/db", {.create_if_missing = true});
    rocksdb::WriteBatch batch;
    batch.Put(store->meta(), "other/before", "x");  // outside the prefix: ignored
    batch.Put(store->meta(), "status/w1/after", "x");
    for (const auto& [k, v] : kv) batch.Put(store->meta(), k, v);
    EXPECT_TRUE(store->WriteDurably(&batch).ok());
  }
  void Put(const std::string& k, const std::string& v) {
    rocksdb::WriteBatch batch;
    batch.Put(store->meta(), k, v);
    ASSERT_TRUE(store->WriteDurably(&batch).ok());
  }
  void Delete(const std::string& k) {
    rocksdb::WriteBatch batch;
    batch.Delete(store->meta(), k);
    ASSERT_TRUE(store->WriteDurably(&batch).ok());
  }
};

// Diff of a fresh rebuild (budget) against `stored`.
std::optional<std::string> DiffWith(Stored& stored, size_t budget, bool* spilled, uint64_t* keys) {
  TempDir spill;
  std::map<std::string, std::string> expected;
  auto p = Rebuilt(spill.path() + "/spill", budget, &expected);
  *spilled = p->spilled();
  Result<std::optional<std::string>> d = p->Diff(*stored.store, kPrefix, keys);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : std::optional<std::string>("error");
}

const size_t kBudgets[] = {size_t{1} << 30, 1, 100000};  // memory, spilled at once, spilled midway

TEST(ScratchProjectionTest, EqualStoresHaveNoDifferenceInEveryMode) {
  std::map<std::string, std::string> expected;
  TempDir spill;
  Rebuilt(spill.path() + "/spill", size_t{1} << 30, &expected);
  Stored stored(expected);
  for (size_t budget : kBudgets) {
    bool spilled;
    uint64_t keys;
    EXPECT_EQ(DiffWith(stored, budget, &spilled, &keys), std::nullopt) << budget;
    EXPECT_EQ(spilled, budget != kBudgets[0]);
    EXPECT_EQ(keys, expected.size());
  }
}

TEST(ScratchProjectionTest, TheFirstDifferenceInKeyOrderIsNamedInEveryMode) {
  std::map<std::string, std::string> expected;
  TempDir spill;
  Rebuilt(spill.path() + "/spill", size_t{1} << 30, &expected);
  auto nth = [&](size_t n) { return std::next(expected.begin(), static_cast<long>(n))->first; };
  const std::string k100 = nth(100), k200 = nth(200), k300 = nth(300);
  struct Case {
    std::string name;
    std::function<void(Stored&)> edit;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"deleted", [&](Stored& s) { s.Delete(k200); }, "missing key " + PrintableKey(k200)},
      {"added", [&](Stored& s) { s.Put(k200 + "!", "v"); }, "key that no event explains " + PrintableKey(k200 + "!")},
      {"changed", [&](Stored& s) { s.Put(k200, expected[k200] + "?"); }, "value differs at " + PrintableKey(k200)},
      {"last key deleted", [&](Stored& s) { s.Delete(expected.rbegin()->first); },
       "missing key " + PrintableKey(expected.rbegin()->first)},
      {"missing before changed",
       [&](Stored& s) {
         s.Put(k300, "?");
         s.Delete(k100);
       },
       "missing key " + PrintableKey(k100)},
      {"changed before missing",
       [&](Stored& s) {
         s.Put(k100, "?");
         s.Delete(k300);
       },
       "value differs at " + PrintableKey(k100)},
  };
  for (const Case& c : cases) {
    Stored stored(expected);
    c.edit(stored);
    for (size_t budget : kBudgets) {
      bool spilled;
      uint64_t keys;
      EXPECT_EQ(DiffWith(stored, budget, &spilled, &keys), std::optional<std::string>(c.want))
          << c.name << ", budget " << budget;
    }
  }
}

}  // namespace
}  // namespace mirrorca::engine
