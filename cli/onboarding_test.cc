// The onboarding ceremony with real files, keys and RocksDB stores: a grant
// opens only at the factory that asked for it; a grant altered in any piece
// (the sealed key, the CA certificate, the sync certificate) or made for
// another factory is refused and writes nothing; certifying a factory twice,
// or a name or log already at HQ, is refused and leaves hq.toml as it was;
// a removed factory is not certified again.
#include "cli/onboarding.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "cli/config.h"
#include "engine/log_authority.h"
#include "log/local_log.h"
#include "log/test_util.h"

namespace mirrorca::cli {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct Ceremony {
  log::testing::TempDir tmp;
  std::string hq = tmp.path() + "/hq";
  std::string config = hq + "/hq.toml";

  Ceremony() {
    InitRootOptions o;
    o.dir = hq;
    o.sync_listen = "127.0.0.1:1";
    o.va_listen = "127.0.0.1:2";
    o.admin_listen = "127.0.0.1:3";
    Status s = InitRoot(o);
    EXPECT_TRUE(s.ok()) << s;
  }
  // Init returns the request of a new factory NAME in DIR/NAME.
  std::string Init(const std::string& name) {
    FactoryInitOptions o;
    o.dir = tmp.path() + "/" + name;
    o.name = name;
    Result<std::string> r = FactoryInit(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }
  Result<CertifyResult> Certify(const std::string& request, const std::string& grant) {
    CertifyOptions o;
    o.hq_config = config;
    o.request = request;
    o.grant = grant;
    return CertifyFactory(o);
  }
};

TEST(OnboardingTest, AFactoryJoinsWithItsGrantAndHqRecordsItsKeys) {
  Ceremony c;
  const std::string req = c.Init("F2");
  auto r = c.Certify(req, c.tmp.path() + "/F2.grant");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->factory, "F2");
  EXPECT_EQ(r->ca_name, "factory-f2");
  EXPECT_FALSE(r->registered_by_running_hq);
  ASSERT_TRUE(FactoryJoin({c.tmp.path() + "/F2", c.tmp.path() + "/F2.grant", ""}).ok());
  auto fc = LoadFactoryConfig(c.tmp.path() + "/F2/factory.toml");
  ASSERT_TRUE(fc.ok()) << fc.status();
  EXPECT_TRUE(fc->ras.empty());
  EXPECT_FALSE(std::filesystem::exists(c.tmp.path() + "/F2/transport.key"));
  // HQ's log says who F2 is, with the fingerprint of the CA key both hold.
  auto hq = log::OpenLocalLog(Env::Default(), c.hq + "/data", false);
  ASSERT_TRUE(hq.ok());
  engine::LogAuthority authority(hq->log->origin());
  ASSERT_TRUE(authority.CatchUp(*hq->log).ok());
  auto f2 = authority.FactoryNamed("F2");
  ASSERT_TRUE(f2.has_value());
  EXPECT_EQ(f2->log_origin, "factory-f2.mirrorca.example/log");
  EXPECT_EQ(f2->ca_ids.size(), 1u);
  // An RA: its key pinned in factory.toml, its ra.toml pointing at the factory.
  AddRaOptions ra;
  ra.factory_config = c.tmp.path() + "/F2/factory.toml";
  ra.id = "ra-line7";
  ra.out_dir = c.tmp.path() + "/ra7";
  auto spki = AddRa(ra);
  ASSERT_TRUE(spki.ok()) << spki.status();
  fc = LoadFactoryConfig(ra.factory_config);
  ASSERT_TRUE(fc.ok());
  ASSERT_EQ(fc->ras.size(), 1u);
  EXPECT_EQ(fc->ras[0].spki_sha256, *spki);
  EXPECT_EQ(AddRa(ra).status().code(), StatusCode::kAlreadyExists);
}

TEST(OnboardingTest, AnAlteredOrMisaddressedGrantIsRefusedAndWritesNothing) {
  Ceremony c;
  const std::string req2 = c.Init("F2");
  const std::string req3 = c.Init("F3");
  ASSERT_TRUE(c.Certify(req2, c.tmp.path() + "/F2.grant").ok());
  ASSERT_TRUE(c.Certify(req3, c.tmp.path() + "/F3.grant").ok());
  const nlohmann::json good = nlohmann::json::parse(Read(c.tmp.path() + "/F2.grant"));
  const nlohmann::json other = nlohmann::json::parse(Read(c.tmp.path() + "/F3.grant"));
  auto try_join = [&](const nlohmann::json& grant) {
    const std::string path = c.tmp.path() + "/altered.grant";
    std::ofstream(path) << grant.dump();
    return FactoryJoin({c.tmp.path() + "/F2", path, c.tmp.path() + "/F2/factory.toml"});
  };
  nlohmann::json g = good;
  g["ca"]["sealed_key_pem"] = other["ca"]["sealed_key_pem"];  // F3's key, sealed to F3
  EXPECT_FALSE(try_join(g).ok());
  g = good;
  g["ca"]["certificate_pem"] = other["ca"]["certificate_pem"];  // a CA certificate not for this key
  EXPECT_FALSE(try_join(g).ok());
  g = good;
  g["sync_tls_certificate_pem"] = other["sync_tls_certificate_pem"];  // F3's sync key
  EXPECT_FALSE(try_join(g).ok());
  g = good;
  g["ca"]["key_fingerprint"] = std::string(64, '0');
  EXPECT_FALSE(try_join(g).ok());
  EXPECT_FALSE(try_join(other).ok());  // F3's grant at F2
  g = good;
  g["format"] = "something else";
  EXPECT_FALSE(try_join(g).ok());
  EXPECT_FALSE(std::filesystem::exists(c.tmp.path() + "/F2/factory.toml"));
  EXPECT_FALSE(std::filesystem::exists(c.tmp.path() + "/F2/ca/ca.key"));
  // The genuine grant still joins.
  EXPECT_TRUE(try_join(good).ok());
}

TEST(OnboardingTest, CertifyingTwiceOrARemovedFactoryIsRefusedAndChangesNothing) {
  Ceremony c;
  const std::string req = c.Init("F2");
  ASSERT_TRUE(c.Certify(req, c.tmp.path() + "/F2.grant").ok());
  const std::string before = Read(c.config);
  EXPECT_EQ(c.Certify(req, c.tmp.path() + "/again.grant").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(c.config), before);
  EXPECT_FALSE(std::filesystem::exists(c.tmp.path() + "/again.grant"));

  // Removed at HQ, then certified anew (its [[factory]] taken out of hq.toml
  // by hand): HQ's log keeps it removed, and the certify leaves no trace.
  {
    auto hq = log::OpenLocalLog(Env::Default(), c.hq + "/data", true);
    ASSERT_TRUE(hq.ok());
    engine::LogAuthority authority(hq->log->origin());
    ASSERT_TRUE(authority.CatchUp(*hq->log).ok());
    ASSERT_TRUE(engine::RemoveFactory(*hq->log, authority, "factory-f2.mirrorca.example/log", "test").ok());
  }
  const std::string original = Read(c.config);
  std::ofstream(c.config) << original.substr(0, original.find("\n[[factory]]")) << "\n";
  const std::string trimmed = Read(c.config);
  const std::string key = Read(c.hq + "/factories/F2/ca/ca.key");
  auto again = c.Certify(req, c.tmp.path() + "/F2b.grant");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(Read(c.config), trimmed);
  EXPECT_EQ(Read(c.hq + "/factories/F2/ca/ca.key"), key);  // it still signs F2's CRLs
  // Even with HQ's copy of its key gone, HQ's log refuses it: nothing stays.
  std::filesystem::rename(c.hq + "/factories/F2", c.tmp.path() + "/F2-mirror");
  again = c.Certify(req, c.tmp.path() + "/F2b.grant");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status();
  EXPECT_EQ(Read(c.config), trimmed);
  EXPECT_FALSE(std::filesystem::exists(c.hq + "/factories/F2"));
  EXPECT_FALSE(std::filesystem::exists(c.tmp.path() + "/F2b.grant"));
}

}  // namespace
}  // namespace mirrorca::cli
