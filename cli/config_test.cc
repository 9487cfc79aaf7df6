// hq.toml's factories: names, origins, CA names and sync keys must be unique
// (each is how HQ tells factories apart), and a collision is refused at load
// with an error naming the key — never silently merged. Also [validation]'s
// OCSP limits and the listen address rules.
#include "cli/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "log/test_util.h"

namespace mirrorca::cli {
namespace {

std::string Factory(const std::string& name, const std::string& origin, const std::string& extra = "") {
  return "[[factory]]\nname = \"" + name + "\"\nlog_origin = \"" + origin + "\"\nlog_key = \"" + origin +
         "+01234567+AAAA\"\nca_mirror_dir = \"ca-" + name + "\"\n" + extra + "\n";
}

Result<HqConfig> Load(const std::string& factories) {
  static log::testing::TempDir dir;
  const std::string path = dir.path() + "/hq.toml";
  std::ofstream(path) << "[hq]\nname = \"HQ\"\norganization = \"OEM\"\ndata_dir = \"data\"\n[root]\ndir = \"root\"\n"
                      << factories;
  return LoadHqConfig(path);
}

TEST(HqConfigTest, FactoriesAreNamespacedAndCollisionsRefused) {
  auto ok = Load(Factory("F1", "f1.example/log") + Factory("F2", "f2.example/log", "unseen_serials = \"unknown\""));
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->factories.size(), 2u);
  EXPECT_EQ(ok->factories[0].ca_name, "f1");  // the first label of the origin unless set
  EXPECT_EQ(ok->factories[0].unseen_serials, "revoked");
  EXPECT_EQ(ok->factories[1].unseen_serials, "unknown");

  struct Bad {
    std::string toml, key;
  } bad[] = {
      {Factory("F1", "f1.example/log") + Factory("F1", "f2.example/log"), "factory.name"},
      {Factory("F1", "f1.example/log") + Factory("F2", "f1.example/log"), "factory.log_origin"},
      {Factory("F1", "f.one/log") + Factory("F2", "f.two/log"), "factory.ca_name"},  // both "f"
      {Factory("F1", "f1.example/log", "ca_name = \"root\""), "factory.ca_name"},
      {Factory("F1", "f1.example/log", "ca_name = \"../x\""), "factory.ca_name"},
      {Factory("F/1", "f1.example/log"), "factory.name"},
      {Factory("F1", "f1.example/log", "unseen_serials = \"good\""), "factory.unseen_serials"},
      {Factory("F1", "f1.example/log", "sync_spki_sha256 = [\"" + std::string(64, 'a') + "\"]") +
           Factory("F2", "f2.example/log", "sync_spki_sha256 = [\"" + std::string(64, 'a') + "\"]"),
       "factory.sync_spki_sha256"},
  };
  for (const Bad& b : bad) {
    auto r = Load(b.toml);
    ASSERT_FALSE(r.ok()) << b.toml;
    EXPECT_NE(r.status().message().find(b.key), std::string::npos) << r.status();
  }
  // Two factories whose origins share a first label can be told apart by name.
  auto named = Load(Factory("F1", "f.one/log", "ca_name = \"f-one\"") + Factory("F2", "f.two/log"));
  EXPECT_TRUE(named.ok()) << named.status();
}

// [validation]'s OCSP limits: the on-demand signature budget defaults to
// 1,000 a second; no budget (0) or a negative one is refused, naming the key.
TEST(HqConfigTest, TheOcspSignatureBudgetIsBoundedAndNamed) {
  const std::string va = "[validation]\nlisten = \"127.0.0.1:0\"\n";
  auto plain = Load(va);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(plain->validation.has_value());
  EXPECT_EQ(plain->validation->ocsp_signatures_per_second, 1000);
  EXPECT_EQ(plain->validation->ocsp_store_cache_bytes, size_t{256} << 20);
  auto set = Load(va + "ocsp_signatures_per_second = 50\nocsp_cache_mb = 64\nocsp_store_cache_mb = 1200\n");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->validation->ocsp_signatures_per_second, 50);
  EXPECT_EQ(set->validation->ocsp_cache_bytes, size_t{64} << 20);
  EXPECT_EQ(set->validation->ocsp_store_cache_bytes, size_t{1200} << 20);
  for (const char* bad : {"0", "-5", "\"many\"", "2000000"}) {
    auto r = Load(va + "ocsp_signatures_per_second = " + bad + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("ocsp_signatures_per_second"), std::string::npos) << r.status();
  }
  for (const char* bad : {"0", "7", "\"1G\"", "2000000"}) {  // 8 MiB .. 1 TiB
    auto r = Load(va + "ocsp_store_cache_mb = " + bad + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("ocsp_store_cache_mb"), std::string::npos) << r.status();
  }
}

// A listen address is HOST:PORT with the whole port a number: a prefix
// parse would bind "80abc" to port 80.
TEST(HostPortTest, TheWholePortIsANumberAndTheHostIsNotEmpty) {
  for (const std::string bad : {"127.0.0.1:80abc", "127.0.0.1:+4082", "127.0.0.1: 4081", "127.0.0.1:",
                                "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:0x50", ":8080", " :8080",
                                "127.0.0.1", "127.0.0.1:123456", "host name:80"}) {
    auto r = HostPort(bad, "enroll.listen", "factory.toml");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("enroll.listen"), std::string::npos) << r.status();
    }
  }
  auto ok = HostPort("127.0.0.1:4081", "k", "p");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first, "127.0.0.1");
  EXPECT_EQ(ok->second, 4081);
  auto any = HostPort("0.0.0.0:0", "k", "p");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->second, 0);
  auto v6 = HostPort("[::1]:443", "k", "p");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 443);
}

}  // namespace
}  // namespace mirrorca::cli
