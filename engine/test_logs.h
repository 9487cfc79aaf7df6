// Test helpers for the audit: bulk appends, and a store holding two logs —
// HQ's own and a factory's (as HQ holds a copy) — where HQ records
// cosignatures of the factory's checkpoints.
//
// Thread-safety: test-only; not thread-safe.
#ifndef MIRRORCA_ENGINE_TEST_LOGS_H_
#define MIRRORCA_ENGINE_TEST_LOGS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "engine/log_authority.h"
#include "log/cosignature.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine::testing {

inline void Append(log::EventLog& l, size_t n, std::string_view tag = "e") {
  for (size_t done = 0; done < n;) {
    const size_t k = std::min<size_t>(16384, n - done);
    ASSERT_TRUE(l.Append(log::testing::TestDrafts(k, tag)).ok());
    done += k;
  }
}

// RegisterTestFactory registers the factory of `factory_key` (a C2SP
// verifier key) in HQ's log under `name`, with a fresh CA certificate, and
// authorizes `batches` for it; returns the CA's caId (what its issuance
// events must carry to count).
inline Bytes RegisterTestFactory(log::EventLog& hq, const std::string& factory_key, const std::string& name,
                                 const std::vector<std::string>& batches = {}) {
  auto root = ca::CreateRoot({.organization = "Test OEM", .factory = name}, ca::KeyType::kP256, 1790000000);
  EXPECT_TRUE(root.ok()) << root.status();
  std::string der = *ca::CertificateDer(root->cert.get());
  LogAuthority authority(hq.origin());
  FactoryRegistration reg{.name = name, .log_key = factory_key};
  reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
  auto registered = RegisterFactory(hq, authority, reg);
  EXPECT_TRUE(registered.ok()) << registered.status();
  auto origin = log::LogVerifier::Parse(factory_key);
  for (const std::string& batch : batches) {
    log::EventDraft d;
    auto b = d.event().getKind().initBatchAuthorized();
    b.setBatchId(batch);
    b.setFactoryLogId(origin->name());
    b.setQuota(1000000);
    std::vector<log::EventDraft> one;
    one.push_back(std::move(d));
    EXPECT_TRUE(hq.Append(std::move(one)).ok());
  }
  return *ca::CaId(root->cert.get());
}

struct TwoLogs {
  log::testing::LogFixture hq{{}, "hq.example/log"};
  log::LogSigner factory_signer = *log::LogSigner::Generate("factory.example/log");
  std::unique_ptr<log::EventLog> factory;

  explicit TwoLogs(size_t factory_events = 500) {
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), factory_signer.verifier()).ok());
    factory = std::move(*log::EventLog::Open(hq.store.get(), "factory.example/log", factory_signer));
    RegisterTestFactory(*hq.log, factory_signer.verifier().VerifierKey(), "F");
    if (factory_events > 0) Append(*factory, factory_events, "f");
  }
  // RecordCosignature: HQ (or `by`) cosigns the factory's current checkpoint
  // and records it in HQ's log.
  void RecordCosignature(const log::LogSigner& by) {
    std::string note = *factory->SignCheckpoint();
    std::string cosigned = *log::Cosign(note, by, 1790000000);
    log::EventDraft d;
    auto c = d.event().getKind().initCheckpointCosigned();
    c.setLogId("factory.example/log");
    c.setTreeSize(factory->Size());
    c.setCosignedNote(cosigned);
    c.setTimestamp(1790000000);
    std::vector<log::EventDraft> drafts;
    drafts.push_back(std::move(d));
    ASSERT_TRUE(hq.log->Append(std::move(drafts)).ok());
  }
  void Close() {
    factory.reset();
    hq.log.reset();
  }
};

}  // namespace mirrorca::engine::testing

#endif  // MIRRORCA_ENGINE_TEST_LOGS_H_
