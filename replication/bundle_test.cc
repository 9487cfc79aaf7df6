// Offline bundles: export → import both ways, idempotent re-import, a
// flipped byte anywhere rejects the whole bundle, forks refused.
#include "replication/bundle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "log/checkpoint.h"
#include "log/log_verification.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Node;
using testing::NewSigner;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

struct Sites {
  log::LogSigner hq_signer = NewSigner("hq.example/log");
  log::LogSigner f_signer = NewSigner("factory.example/log");
  Node factory{f_signer, &hq_signer.verifier()};
  Node hq{hq_signer, &f_signer.verifier()};
  log::testing::TempDir files;
  std::string Path(const std::string& name) { return files.path() + "/" + name; }
};

TEST(BundleTest, ExportImportIdempotent) {
  Sites s;
  s.factory.Append(777);
  SendOptions so;
  so.package_events = 100;
  auto info = ExportBundle(*s.factory.log, 0, s.f_signer.name(), 1, s.Path("f.bundle"), so);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->tree_size, 777u);
  auto imported = ImportBundle(*s.hq.peer_copy, s.Path("f.bundle"));
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->stats.events, 777u);
  EXPECT_EQ(s.hq.peer_copy->Size(), 777u);
  EXPECT_TRUE(log::VerifyLog(*s.hq.peer_copy)->ok);
  // Twice: nothing changes.
  auto again = ImportBundle(*s.hq.peer_copy, s.Path("f.bundle"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stats.events, 0u);
  EXPECT_EQ(again->stats.skipped, 777u);
  EXPECT_EQ(s.hq.peer_copy->Size(), 777u);
  // A later bundle from 0 adds only the new events; an incremental one too.
  s.factory.Append(100, "later");
  ASSERT_TRUE(ExportBundle(*s.factory.log, 0, s.f_signer.name(), 2, s.Path("full.bundle"), so).ok());
  ASSERT_TRUE(ExportBundle(*s.factory.log, 800, s.f_signer.name(), 2, s.Path("tail.bundle"), so).ok());
  // The tail bundle starts past what HQ holds: a gap, refused whole.
  std::optional<Refused> refused;
  auto gap = ImportBundle(*s.hq.peer_copy, s.Path("tail.bundle"), nullptr, &refused);
  EXPECT_FALSE(gap.ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, RefusalKind::kGap);
  EXPECT_EQ(s.hq.peer_copy->Size(), 777u);
  auto full = ImportBundle(*s.hq.peer_copy, s.Path("full.bundle"));
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->stats.events, 100u);
  EXPECT_EQ(s.hq.peer_copy->Size(), 877u);
  // Now the tail bundle is harmless.
  EXPECT_TRUE(ImportBundle(*s.hq.peer_copy, s.Path("tail.bundle")).ok());
  EXPECT_EQ(s.hq.peer_copy->Size(), 877u);
}

// A bundle carried by hand across a key rotation: the copy follows the
// chain of keys, and the bundle's checkpoint (signed by the new key, which
// the copy learns only from the rotation inside the bundle) is stored.
TEST(BundleTest, ABundleAcrossAKeyRotation) {
  Sites s;
  s.factory.Append(300);
  log::LogSigner next = NewSigner(s.f_signer.name());
  ASSERT_TRUE(s.factory.log->RotateKey(next, "rotation at the factory").ok());
  s.factory.Append(200, "after");
  SendOptions so;
  so.package_events = 100;
  ASSERT_TRUE(ExportBundle(*s.factory.log, 0, s.f_signer.name(), 1, s.Path("r.bundle"), so).ok());
  auto imported = ImportBundle(*s.hq.peer_copy, s.Path("r.bundle"));
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(s.hq.peer_copy->Size(), 501u);
  EXPECT_EQ(s.hq.peer_copy->keys()->current().VerifierKey(), next.verifier().VerifierKey());
  auto report = log::VerifyLog(*s.hq.peer_copy);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->Summary(s.f_signer.name());
  EXPECT_EQ(report->key_rotations, 1u);
  std::string cp = *s.hq.peer_copy->LatestCheckpoint();
  EXPECT_TRUE(log::OpenCheckpoint(cp, next.verifier()).ok());
}

TEST(BundleTest, ReverseDirection) {
  Sites s;
  s.hq.Append(42, "auth");
  ASSERT_TRUE(ExportBundle(*s.hq.log, 0, s.hq_signer.name(), 1, s.Path("hq.bundle")).ok());
  auto imported = ImportBundle(*s.factory.peer_copy, s.Path("hq.bundle"));
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(s.factory.peer_copy->Size(), 42u);
  // The wrong copy (another log) is refused by name.
  EXPECT_FALSE(ImportBundle(*s.hq.peer_copy, s.Path("hq.bundle")).ok());
}

TEST(BundleTest, AnyFlippedByteRejectsTheWholeBundle) {
  Sites s;
  s.factory.Append(500);
  SendOptions so;
  so.package_events = 50;
  ASSERT_TRUE(ExportBundle(*s.factory.log, 0, s.f_signer.name(), 1, s.Path("f.bundle"), so).ok());
  const std::string good = ReadAll(s.Path("f.bundle"));
  std::mt19937_64 rng(7);
  std::vector<size_t> offsets = {0, 8, 20, good.size() / 2, good.size() - 40, good.size() - 1};
  for (int i = 0; i < 40; ++i) offsets.push_back(rng() % good.size());
  for (size_t off : offsets) {
    std::string bad = good;
    bad[off] = static_cast<char>(bad[off] ^ (1 + rng() % 255));
    WriteAll(s.Path("bad.bundle"), bad);
    auto r = ImportBundle(*s.hq.peer_copy, s.Path("bad.bundle"));
    EXPECT_FALSE(r.ok()) << "flip at " << off;
    ASSERT_EQ(s.hq.peer_copy->Size(), 0u) << "flip at " << off << " applied something";
  }
  // Truncated and extended files too.
  WriteAll(s.Path("bad.bundle"), good.substr(0, good.size() - 9));
  EXPECT_FALSE(ImportBundle(*s.hq.peer_copy, s.Path("bad.bundle")).ok());
  WriteAll(s.Path("bad.bundle"), good + "x");
  EXPECT_FALSE(ImportBundle(*s.hq.peer_copy, s.Path("bad.bundle")).ok());
  EXPECT_EQ(s.hq.peer_copy->Size(), 0u);
  EXPECT_TRUE(ImportBundle(*s.hq.peer_copy, s.Path("f.bundle")).ok());
  EXPECT_EQ(s.hq.peer_copy->Size(), 500u);
}

TEST(BundleTest, ForkedBundleRefused) {
  Sites s;
  s.factory.Append(100);
  ASSERT_TRUE(ExportBundle(*s.factory.log, 0, s.f_signer.name(), 1, s.Path("a.bundle")).ok());
  ASSERT_TRUE(ImportBundle(*s.hq.peer_copy, s.Path("a.bundle")).ok());
  Node rewritten(s.f_signer, &s.hq_signer.verifier());
  rewritten.Append(150, "rewritten");
  ASSERT_TRUE(ExportBundle(*rewritten.log, 0, s.f_signer.name(), 1, s.Path("b.bundle")).ok());
  std::optional<Refused> refused;
  EXPECT_FALSE(ImportBundle(*s.hq.peer_copy, s.Path("b.bundle"), nullptr, &refused).ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(IsDivergence(refused->kind)) << RefusalCode(refused->kind) << " " << refused->detail;
  EXPECT_EQ(s.hq.peer_copy->Size(), 100u);
}

}  // namespace
}  // namespace mirrorca::replication
