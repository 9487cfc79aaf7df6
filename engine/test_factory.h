// Test fixture: a complete factory on a temp dir — HQ log, factory log,
// issuing CA under a root, batch B1 authorized and delivered — and a
// FactoryCa opened on it.
//
// Thread-safety: test-only.
#ifndef MIRRORCA_ENGINE_TEST_FACTORY_H_
#define MIRRORCA_ENGINE_TEST_FACTORY_H_

#include <gtest/gtest.h>

#include "ca/test_pki.h"
#include "engine/batch_authority.h"
#include "engine/log_authority.h"
#include "engine/factory_ca.h"
#include "log/local_log.h"
#include "log/test_util.h"

namespace mirrorca::engine::testing {

struct TestFactory {
  log::testing::TempDir dir;
  log::LocalLog hq;
  LogAuthority authority{"hq.test/log"};
  std::string factory_origin = "factory.test/log";
  FactoryCaOptions options;
  std::unique_ptr<FactoryCa> ca;

  explicit TestFactory(const std::string& ca_profile = "issuing-ca") {
    Env* env = Env::Default();
    hq = std::move(*log::InitLocalLog(env, dir.path() + "/hq", "hq.test/log"));
    Result<log::LocalLog> f = log::InitLocalLog(env, dir.path() + "/factory", factory_origin);
    EXPECT_TRUE(f.ok()) << f.status();
    const std::string factory_key = f->log->verifier().VerifierKey();
    f->log.reset();
    f->store.reset();
    ca::IssuingCa issuing = ca::testing::MakeTestCa(ca_profile);
    std::vector<X509*> issuers;
    for (size_t i = 1; i < issuing.chain().size(); ++i) issuers.push_back(issuing.chain()[i].get());
    EXPECT_TRUE(ca::WriteCaDir(env, dir.path() + "/ca", issuing.certificate(), issuing.key(),
                               issuers)
                    .ok());
    ca_id = issuing.ca_id();
    // HQ registers the factory before it authorizes batches for it.
    FactoryRegistration reg{.name = "F1", .log_key = factory_key};
    std::string der = *ca::CertificateDer(issuing.certificate());
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    EXPECT_TRUE(RegisterFactory(*hq.log, authority, reg).ok());
    options.data_dir = dir.path() + "/factory";
    options.ca_dir = dir.path() + "/ca";
    options.urls = issuing.urls();
    options.organization = "Example OEM";
    options.factory_name = "F1";
    options.production_line = "line-1";
    options.hq_origin = hq.log->origin();
    options.hq_verifier_key = hq.log->verifier().VerifierKey();
    options.ra_batches = {{"ra-1", {"*"}}, {"ra-2", {"B2"}}};
  }

  BatchTerms Terms(const std::string& id, uint64_t quota, const std::string& profile = "idevid") {
    BatchTerms t;
    t.batch_id = id;
    t.profile = profile;
    t.product = "Widget";
    t.vendor_id = 0xFFF1;
    t.product_id = 0x8000;
    t.quota = quota;
    t.not_before = 0;
    t.not_after = std::numeric_limits<int64_t>::max();
    t.factory_log_id = factory_origin;
    t.ca_id = ca_id;
    return t;
  }

  // Authorize appends a batch to HQ's log and delivers HQ's log (reopening
  // the factory around the delivery, as the CLI does).
  void Authorize(const BatchTerms& t) {
    ASSERT_TRUE(AuthorizeBatch(*hq.log, authority, t).ok());
    Deliver();
  }
  // Deliver copies HQ's log into the factory's store, with the factory
  // closed (it holds the store's lock), then reopens the factory.
  void Deliver() {
    ca.reset();
    {
      Result<log::LocalLog> f = log::OpenLocalLog(Env::Default(), options.data_dir, false);
      ASSERT_TRUE(f.ok()) << f.status();
      auto copy = log::EventLog::OpenCopy(f->store.get(), hq.log->verifier());
      ASSERT_TRUE(copy.ok()) << copy.status();
      ASSERT_TRUE(DeliverLog(*hq.log, **copy).ok());
      copy->reset();
      f->log.reset();
    }
    Open();
  }
  void Open() {
    ca.reset();
    Result<std::unique_ptr<FactoryCa>> opened = FactoryCa::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ca = std::move(*opened);
  }

  Bytes ca_id;
};

inline std::string P256Csr() {
  Result<ca::EvpPkeyPtr> key = ca::GenerateKey(ca::KeyType::kP256);
  return ca::testing::MakeCsr(key->get());
}

}  // namespace mirrorca::engine::testing

#endif  // MIRRORCA_ENGINE_TEST_FACTORY_H_
