// The trust table where events enter HQ, over real TLS and real bundle files:
// a factory's own, correctly signed log that carries an event outside its
// authority (a revocation, a CRL number, an issuance under another factory's
// CA or in a batch HQ never authorized for it) is refused whole — at sync and
// at bundle import — with nothing stored, and recorded in HQ's log as an
// "authority" logAnomaly naming the log, the seq and the rule, with the
// signed event as evidence. A removed factory is refused at Hello.
#include <gtest/gtest.h>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "engine/log_authority.h"
#include "log/event_codec.h"
#include "log/event_draft.h"
#include "replication/bundle.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Pair;

capnp::Data::Reader Data(const Bytes& b) { return capnp::Data::Reader(b.data(), b.size()); }

void AppendOne(log::EventLog& l, log::EventDraft d) {
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  ASSERT_TRUE(l.Append(std::move(v)).ok());
}

// The anomalies HQ recorded, as "kind: detail" lines.
std::vector<std::string> Anomalies(log::EventLog& hq) {
  std::vector<std::string> out;
  EXPECT_TRUE(hq.ForEach(0, hq.Size(), [&](uint64_t, std::string_view b) -> Status {
                  auto e = log::ParsedEvent::Parse(AsBytes(b));
                  if (!e.ok()) return e.status();
                  auto k = e->event().getKind();
                  if (k.isLogAnomaly()) {
                    std::string line = std::string(k.getLogAnomaly().getKind().cStr()) + ": " +
                                       k.getLogAnomaly().getDetail().cStr();
                    for (auto ev : k.getLogAnomaly().getEvidence()) line += " | " + std::string(ev.cStr());
                    out.push_back(line);
                  }
                  return Status::Ok();
                }).ok());
  return out;
}

using Craft = std::function<log::EventDraft(const Bytes& own_ca)>;

struct Case {
  std::string what;
  Craft craft;
  std::string rule;
};

std::vector<Case> Cases() {
  const Bytes other_ca(32, 0xee);  // no factory's CA
  return {
      {"revoke a serial",
       [](const Bytes& ca) {
         log::EventDraft d;
         auto c = d.event().getKind().initCertificateRevoked();
         c.setCaId(Data(ca));
         c.setSerial(Data(Bytes{9, 9}));
         return d;
       },
       "kind-not-owned"},
      {"publish a CRL number",
       [](const Bytes& ca) {
         log::EventDraft d;
         auto c = d.event().getKind().initCrlPublished();
         c.setCaId(Data(ca));
         c.setCrlNumber(1u << 30);
         return d;
       },
       "kind-not-owned"},
      {"issue under another CA",
       [other_ca](const Bytes&) {
         log::EventDraft d;
         auto c = d.event().getKind().initCertificateIssued();
         c.setCaId(Data(other_ca));
         c.setSerial(Data(Bytes{7, 7}));
         c.setBatchId("A1");
         return d;
       },
       "foreign-ca"},
      {"issue in a batch HQ authorized for another factory",
       [](const Bytes& ca) {
         log::EventDraft d;
         auto c = d.event().getKind().initCertificateIssued();
         c.setCaId(Data(ca));
         c.setSerial(Data(Bytes{7, 8}));
         c.setBatchId("B-of-b");
         return d;
       },
       "foreign-batch"},
  };
}

// A Pair whose factory "a" is registered with a CA and batch A1, and whose
// factory "b" has batch B-of-b.
struct Site : Pair {
  Bytes a_ca;
  Site() {
    StopHq();
    auto root = ca::CreateRoot({.organization = "Test OEM", .factory = "a"}, ca::KeyType::kP256, 1790000000);
    std::string der = *ca::CertificateDer(root->cert.get());
    a_ca = *ca::CaId(root->cert.get());
    engine::LogAuthority authority(hq_signer.name());
    engine::FactoryRegistration reg{.name = "a", .log_key = a_signer.verifier().VerifierKey(), .sync_spki = {a_spki}};
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    EXPECT_TRUE(engine::RegisterFactory(*hq->log, authority, reg).ok());
    EXPECT_TRUE(engine::RegisterFactory(*hq->log, authority,
                                        {.name = "b", .log_key = b_signer.verifier().VerifierKey(), .sync_spki = {b_spki}})
                    .ok());
    for (const auto& [batch, origin] : {std::pair{"A1", a_signer.name()}, std::pair{"B-of-b", b_signer.name()}}) {
      log::EventDraft d;
      auto b = d.event().getKind().initBatchAuthorized();
      b.setBatchId(batch);
      b.setFactoryLogId(origin);
      b.setQuota(100);
      AppendOne(*hq->log, std::move(d));
    }
    StartHq();
  }
  log::EventDraft Legit(uint8_t i) {
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateIssued();
    c.setCaId(Data(a_ca));
    c.setSerial(Data(Bytes{1, i}));
    c.setBatchId("A1");
    return d;
  }
};

TEST(AuthorityTest, SyncRefusesEveryEventOutsideTheLogsAuthority) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.what);
    Site p;
    for (uint8_t i = 0; i < 5; ++i) AppendOne(*p.a->log, p.Legit(i));
    auto first = p.Round(*p.a);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_EQ(p.CopyOf(p.a_signer.name())->Size(), 5u);
    // Then the crafted event, correctly signed by the factory's own key, and
    // a legitimate one after it.
    AppendOne(*p.a->log, c.craft(p.a_ca));
    AppendOne(*p.a->log, p.Legit(100));
    std::optional<Refused> refused;
    auto r = p.Round(*p.a, "factory-a", 0, &refused);
    ASSERT_FALSE(r.ok());
    ASSERT_TRUE(refused.has_value()) << r.status();
    EXPECT_EQ(refused->kind, RefusalKind::kAuthority) << refused->detail;
    EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 5u) << "nothing of the refused transfer is stored";
    std::vector<std::string> anomalies = Anomalies(*p.hq->log);
    ASSERT_EQ(anomalies.size(), 1u);
    EXPECT_EQ(anomalies[0].rfind("authority: ", 0), 0u) << anomalies[0];
    EXPECT_NE(anomalies[0].find("event 5: " + c.rule), std::string::npos) << anomalies[0];
    EXPECT_NE(anomalies[0].find("(signed, base64)"), std::string::npos) << anomalies[0];
    // Refused again on the next attempt: the log cannot be merged.
    EXPECT_FALSE(p.Round(*p.a).ok());
    EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 5u);
  }
}

TEST(AuthorityTest, BundleImportRefusesEveryEventOutsideTheLogsAuthority) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.what);
    Site p;
    for (uint8_t i = 0; i < 5; ++i) AppendOne(*p.a->log, p.Legit(i));
    AppendOne(*p.a->log, c.craft(p.a_ca));
    ASSERT_TRUE(p.a->log->SignCheckpoint().ok());
    const std::string path = p.a->dir.path() + "/a.bundle";
    auto exported = ExportBundle(*p.a->log, 0, "test", 1790000000000000, path);
    ASSERT_TRUE(exported.ok()) << exported.status();
    std::optional<Refused> refused;
    auto r = p.sync->ImportFactoryBundle(path, nullptr, &refused);
    ASSERT_FALSE(r.ok());
    ASSERT_TRUE(refused.has_value()) << r.status();
    EXPECT_EQ(refused->kind, RefusalKind::kAuthority) << refused->detail;
    EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 0u) << "a refused bundle stores nothing";
    std::vector<std::string> anomalies = Anomalies(*p.hq->log);
    ASSERT_EQ(anomalies.size(), 1u);
    EXPECT_NE(anomalies[0].find("event 5: " + c.rule), std::string::npos) << anomalies[0];
  }
}

TEST(AuthorityTest, ARemovedFactoryIsRefusedAtHello) {
  Site p;
  for (uint8_t i = 0; i < 3; ++i) AppendOne(*p.a->log, p.Legit(i));
  ASSERT_TRUE(p.Round(*p.a).ok());
  ASSERT_TRUE(engine::RemoveFactory(*p.hq->log, *p.authority, p.a_signer.name(), "contract ended").ok());
  AppendOne(*p.a->log, p.Legit(3));
  std::optional<Refused> refused;
  auto r = p.Round(*p.a, "factory-a", 0, &refused);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value()) << r.status();
  EXPECT_EQ(refused->kind, RefusalKind::kIdentity);
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 3u);
  const std::string path = p.a->dir.path() + "/a.bundle";
  ASSERT_TRUE(ExportBundle(*p.a->log, 0, "test", 1790000000000000, path).ok());
  EXPECT_EQ(p.sync->ImportFactoryBundle(path, nullptr).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 3u);
}

}  // namespace
}  // namespace mirrorca::replication
