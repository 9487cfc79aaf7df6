// The trust table on real logs: two factories registered in HQ's log, each
// rule broken by a correctly signed event of a factory's own log (revoke
// another factory's serial, issue under another factory's CA, use another
// factory's batch, publish a CRL number, register a factory, authorize a
// batch), each refused by Check and never projected; registrations that
// reuse another factory's name, origin or CA are refused; and random signed
// events in a factory log change the projection only as the table allows.
#include "engine/log_authority.h"

#include <gtest/gtest.h>

#include <random>

#include "base/encoding.h"
#include "engine/batch_authority.h"
#include "engine/cert_status.h"
#include "engine/test_logs.h"
#include "log/event_codec.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine {
namespace {

using log::testing::LogFixture;

capnp::Data::Reader Data(const Bytes& b) { return capnp::Data::Reader(b.data(), b.size()); }

log::EventDraft Issued(const Bytes& ca, const Bytes& serial, const std::string& batch) {
  log::EventDraft d;
  auto c = d.event().getKind().initCertificateIssued();
  c.setCaId(Data(ca));
  c.setSerial(Data(serial));
  c.setBatchId(batch);
  c.setDeviceSerial("dev-" + HexEncode(serial));
  c.setNotAfter(int64_t{1900000000} * 1000000);
  return d;
}

log::EventDraft Revoked(const Bytes& ca, const Bytes& serial) {
  log::EventDraft d;
  auto c = d.event().getKind().initCertificateRevoked();
  c.setCaId(Data(ca));
  c.setSerial(Data(serial));
  c.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
  c.setRevocationTime(int64_t{1800000000} * 1000000);
  return d;
}

uint64_t AppendOne(log::EventLog& l, log::EventDraft d) {
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  return l.Append(std::move(v))->first_seq;
}

// Two factories (F1, F2) registered at HQ, each with its own CA and a batch
// named B1; F1's log has certificates in F1/B1, F2's in F2/B1.
struct Fleet {
  LogFixture hq{{}, "hq.example/log"};
  log::LogSigner f1_signer = *log::LogSigner::Generate("f1.example/log");
  log::LogSigner f2_signer = *log::LogSigner::Generate("f2.example/log");
  std::unique_ptr<log::EventLog> f1, f2;
  Bytes ca1, ca2;
  LogAuthority authority{"hq.example/log"};

  Fleet() {
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), f1_signer.verifier()).ok());
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), f2_signer.verifier()).ok());
    f1 = std::move(*log::EventLog::Open(hq.store.get(), "f1.example/log", f1_signer));
    f2 = std::move(*log::EventLog::Open(hq.store.get(), "f2.example/log", f2_signer));
    ca1 = testing::RegisterTestFactory(*hq.log, f1_signer.verifier().VerifierKey(), "F1", {"B1"});
    ca2 = testing::RegisterTestFactory(*hq.log, f2_signer.verifier().VerifierKey(), "F2", {"B1", "B2"});
    EXPECT_TRUE(authority.CatchUp(*hq.log).ok());
  }

  log::ParsedEvent Event(log::EventLog& l, uint64_t seq) {
    return std::move(*log::ParsedEvent::Parse(AsBytes(*l.ReadSignedEvent(seq))));
  }
  std::optional<AuthorityViolation> CheckLast(log::EventLog& l) {
    return authority.Check(l.origin(), Event(l, l.Size() - 1).event());
  }
};

TEST(LogAuthorityTest, LearnsFactoriesAndBatchesFromHqsLog) {
  Fleet w;
  ASSERT_EQ(w.authority.Factories().size(), 2u);
  std::optional<FactoryScope> f1 = w.authority.FactoryNamed("F1");
  ASSERT_TRUE(f1.has_value());
  EXPECT_EQ(f1->log_origin, "f1.example/log");
  EXPECT_EQ(f1->batches, (std::set<std::string>{"B1"}));
  EXPECT_EQ(w.authority.FactoryNamed("F2")->batches, (std::set<std::string>{"B1", "B2"}));
  EXPECT_EQ(w.authority.FactoryOfCa(w.ca1), std::optional<std::string>("f1.example/log"));
  EXPECT_EQ(w.authority.FactoryOfCa(w.ca2), std::optional<std::string>("f2.example/log"));
  EXPECT_TRUE(w.authority.Active("f1.example/log"));
  EXPECT_FALSE(w.authority.Active("stranger.example/log"));
}

TEST(LogAuthorityTest, AFactoryLogMayIssueOnlyUnderItsCaInItsBatches) {
  Fleet w;
  AppendOne(*w.f1, Issued(w.ca1, {1, 1}, "B1"));
  EXPECT_FALSE(w.CheckLast(*w.f1)) << "its own CA, its own batch";

  AppendOne(*w.f1, Issued(w.ca2, {1, 2}, "B1"));  // F2's CA
  auto v = w.CheckLast(*w.f1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, AuthorityRule::kForeignCa) << v->ToString();

  AppendOne(*w.f1, Issued(w.ca1, {1, 3}, "B2"));  // B2 is F2's batch, never F1's
  v = w.CheckLast(*w.f1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, AuthorityRule::kForeignBatch) << v->ToString();

  log::EventDraft closed;
  closed.event().getKind().initBatchClosed().setBatchId("B2");
  AppendOne(*w.f1, std::move(closed));
  v = w.CheckLast(*w.f1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, AuthorityRule::kForeignBatch);

  log::EventDraft rejected;  // a refusal is always the factory's to record
  rejected.event().getKind().initIssuanceRejected().setBatchId("B2");
  AppendOne(*w.f1, std::move(rejected));
  EXPECT_FALSE(w.CheckLast(*w.f1));
}

TEST(LogAuthorityTest, HqsKindsInAFactoryLogAreRefused) {
  Fleet w;
  std::vector<log::EventDraft> drafts;
  drafts.push_back(Revoked(w.ca2, {2, 1}));  // revoke another factory's serial
  drafts.push_back(Revoked(w.ca1, {1, 1}));  // or its own: revocation is HQ's
  {
    log::EventDraft d;
    auto c = d.event().getKind().initCrlPublished();
    c.setCaId(Data(w.ca1));
    c.setCrlNumber(1000000);
    drafts.push_back(std::move(d));
  }
  {
    log::EventDraft d;
    auto b = d.event().getKind().initBatchAuthorized();
    b.setBatchId("B9");
    b.setFactoryLogId("f1.example/log");
    b.setQuota(1000000);
    drafts.push_back(std::move(d));
  }
  {
    log::EventDraft d;
    auto r = d.event().getKind().initFactoryRegistered();
    r.setName("F3");
    r.setLogOrigin("f3.example/log");
    drafts.push_back(std::move(d));
  }
  {
    log::EventDraft d;
    d.event().getKind().initFactoryRemoved().setLogOrigin("f2.example/log");
    drafts.push_back(std::move(d));
  }
  {
    log::EventDraft d;
    d.event().getKind().initCheckpointCosigned().setLogId("f2.example/log");
    drafts.push_back(std::move(d));
  }
  const uint64_t first = w.f1->Size();
  ASSERT_TRUE(w.f1->Append(std::move(drafts)).ok());
  for (uint64_t seq = first; seq < w.f1->Size(); ++seq) {
    auto v = w.authority.Check("f1.example/log", w.Event(*w.f1, seq).event());
    ASSERT_TRUE(v.has_value()) << seq;
    EXPECT_EQ(v->rule, AuthorityRule::kKindNotOwned) << v->ToString();
  }
  // Learning from a factory log's events is never done: HQ's table is unchanged.
  EXPECT_EQ(w.authority.Factories().size(), 2u);
  EXPECT_TRUE(w.authority.Active("f2.example/log"));
  // An unregistered log may say nothing at all.
  auto v = w.authority.Check("stranger.example/log", w.Event(*w.f1, first).event());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, AuthorityRule::kUnknownLog);
}

TEST(LogAuthorityTest, HqsCosignerKeyMustBeAWellFormedCosignerKey) {
  Fleet w;
  auto check = [&](const std::string& key) {
    log::EventDraft d;
    d.event().getKind().initCosignerKeySet().setKey(key);
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    EXPECT_TRUE(w.hq.log->Append(std::move(v)).ok());
    return w.authority.Check("hq.example/log", w.Event(*w.hq.log, w.hq.log->Size() - 1).event());
  };
  log::LogSigner good = *log::LogSigner::Generate("hq.example/log/cosigner");
  EXPECT_FALSE(check(good.verifier().VerifierKey()).has_value());
  auto garbage = check("not a key");
  ASSERT_TRUE(garbage.has_value());
  EXPECT_EQ(garbage->rule, AuthorityRule::kBadKey);
  log::LogSigner other = *log::LogSigner::Generate("f1.example/log");
  auto misnamed = check(other.verifier().VerifierKey());
  ASSERT_TRUE(misnamed.has_value());
  EXPECT_EQ(misnamed->rule, AuthorityRule::kBadKey);
  // In a factory's log, HQ's cosigner key is HQ's to say.
  log::EventDraft d;
  d.event().getKind().initCosignerKeySet().setKey(good.verifier().VerifierKey());
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  ASSERT_TRUE(w.f1->Append(std::move(v)).ok());
  auto in_factory = w.authority.Check("f1.example/log", w.Event(*w.f1, w.f1->Size() - 1).event());
  ASSERT_TRUE(in_factory.has_value());
  EXPECT_EQ(in_factory->rule, AuthorityRule::kKindNotOwned);
}

TEST(LogAuthorityTest, RegistrationsMayNotReuseAnotherFactorysNameOriginOrCa) {
  Fleet w;
  log::LogSigner f3 = *log::LogSigner::Generate("f3.example/log");
  // The name F1 for another log.
  auto r = RegisterFactory(*w.hq.log, w.authority, {.name = "F1", .log_key = f3.verifier().VerifierKey()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("conflicting-factory"), std::string::npos) << r.status();
  // F1's log under another name.
  r = RegisterFactory(*w.hq.log, w.authority, {.name = "F9", .log_key = w.f1_signer.verifier().VerifierKey()});
  EXPECT_FALSE(r.ok());
  // F2's CA claimed by a new factory: the CA id is F2's.
  FactoryScope f2 = *w.authority.FactoryNamed("F2");
  FactoryRegistration steal{.name = "F3", .log_key = f3.verifier().VerifierKey()};
  steal.ca_certificates = f2.ca_certificates;
  r = RegisterFactory(*w.hq.log, w.authority, steal);
  EXPECT_FALSE(r.ok());
  // Registering F1 again with the same facts writes nothing.
  const uint64_t size = w.hq.log->Size();
  FactoryScope f1 = *w.authority.FactoryNamed("F1");
  FactoryRegistration again{.name = "F1", .log_key = f1.log_key, .ca_certificates = f1.ca_certificates};
  r = RegisterFactory(*w.hq.log, w.authority, again);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_EQ(w.hq.log->Size(), size);
  // A batch for an unregistered factory is refused by the table too.
  log::EventDraft d;
  auto b = d.event().getKind().initBatchAuthorized();
  b.setBatchId("B1");
  b.setFactoryLogId("f3.example/log");
  const uint64_t seq = AppendOne(*w.hq.log, std::move(d));
  auto v = w.authority.Check("hq.example/log", w.Event(*w.hq.log, seq).event());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, AuthorityRule::kUnknownFactory);
}

TEST(LogAuthorityTest, RemovalStopsNewEventsButKeepsWhatWasIssued) {
  Fleet w;
  AppendOne(*w.f1, Issued(w.ca1, {1, 1}, "B1"));
  ASSERT_TRUE(RemoveFactory(*w.hq.log, w.authority, "f1.example/log", "contract ended").ok());
  EXPECT_FALSE(w.authority.Active("f1.example/log"));
  // What F1 issued before stays projectable (a rebuild equals the projection).
  EXPECT_FALSE(w.authority.Check("f1.example/log", w.Event(*w.f1, 0).event()));
  EXPECT_EQ(RemoveFactory(*w.hq.log, w.authority, "nobody.example/log", "").code(), StatusCode::kNotFound);
  // Registering it again (a restart with F1 still in hq.toml) does not bring it back.
  FactoryScope f1 = *w.authority.FactoryNamed("F1");
  const uint64_t size = w.hq.log->Size();
  auto again = RegisterFactory(*w.hq.log, w.authority,
                               {.name = "F1", .log_key = f1.log_key, .ca_certificates = f1.ca_certificates});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status();
  EXPECT_EQ(w.hq.log->Size(), size);
  EXPECT_FALSE(w.authority.Active("f1.example/log"));
  // Nor does HQ authorize a new batch for it.
  BatchTerms t;
  t.batch_id = "B7";
  t.profile = "idevid";
  t.quota = 5;
  t.not_before = 1;
  t.not_after = 2;
  t.factory_log_id = "f1.example/log";
  t.ca_id = w.ca1;
  EXPECT_EQ(AuthorizeBatch(*w.hq.log, w.authority, t).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.hq.log->Size(), size);
}

// Projects every log of the fleet into a fresh projection and returns its keys.
std::map<std::string, std::string> Project(Fleet& w) {
  auto status = CertStatus::Open(w.hq.store.get());
  EXPECT_TRUE(status.ok());
  EXPECT_TRUE((*status)->Clear().ok());
  status = CertStatus::Open(w.hq.store.get());
  for (log::EventLog* l : {w.f2.get(), w.hq.log.get(), w.f1.get()}) {
    EXPECT_TRUE((*status)->CatchUp(*l, w.authority).ok());
  }
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(w.hq.store->db()->NewIterator({}, w.hq.store->meta()));
  for (it->Seek(std::string(kStatusPrefix)); it->Valid() && it->key().starts_with(kStatusPrefix); it->Next()) {
    const std::string key = it->key().ToString();
    if (key.find("/pos/") != std::string::npos) continue;  // positions move with every event
    out[key] = it->value().ToString();
  }
  return out;
}

TEST(LogAuthorityTest, RandomSignedEventsInAFactoryLogChangeOnlyWhatTheTableAllows) {
  Fleet w;
  // F2's real history: issuances in its batches, one revoked by HQ.
  for (uint8_t i = 0; i < 20; ++i) AppendOne(*w.f2, Issued(w.ca2, {2, i}, i % 2 ? "B1" : "B2"));
  AppendOne(*w.hq.log, Revoked(w.ca2, {2, 3}));
  ASSERT_TRUE(w.authority.CatchUp(*w.hq.log).ok());
  const auto before = Project(w);
  // F1's log fills with random, correctly signed events about F2 and HQ:
  // every one breaks the table, and the projection does not move.
  std::mt19937_64 rng(13);
  size_t allowed = 0;
  for (int i = 0; i < 400; ++i) {
    const Bytes serial{2, static_cast<uint8_t>(rng() % 24)};
    const Bytes& ca = rng() % 4 == 0 ? w.ca1 : w.ca2;
    log::EventDraft d;
    switch (rng() % 6) {
      case 0: d = Revoked(ca, serial); break;
      case 1: {
        d = Revoked(ca, serial);
        d.event().getKind().getCertificateRevoked().setRelease(true);
        break;
      }
      case 2: d = Issued(w.ca2, serial, rng() % 2 ? "B1" : "B2"); break;
      case 3: {
        auto c = d.event().getKind().initCrlPublished();
        c.setCaId(Data(ca));
        c.setCrlNumber(rng());
        break;
      }
      case 4: {
        auto b = d.event().getKind().initBatchAuthorized();
        b.setBatchId(rng() % 2 ? "B1" : "B2");
        b.setFactoryLogId(rng() % 2 ? "f1.example/log" : "f2.example/log");
        b.setQuota(rng());
        break;
      }
      default: d = Issued(w.ca1, serial, "B2"); break;  // F1's CA, F2's batch name
    }
    const uint64_t seq = AppendOne(*w.f1, std::move(d));
    allowed += !w.authority.Check("f1.example/log", w.Event(*w.f1, seq).event()).has_value();
  }
  EXPECT_EQ(allowed, 0u);
  EXPECT_EQ(Project(w), before);
  // One event the table does allow (F1's CA, F1's batch) changes it.
  AppendOne(*w.f1, Issued(w.ca1, {1, 200}, "B1"));
  EXPECT_NE(Project(w), before);
}

}  // namespace
}  // namespace mirrorca::engine

namespace mirrorca::engine {
namespace {

// `relayed` belongs to delivery logs only, and a delivery log carries
// nothing else.
TEST(LogAuthorityTest, RelayedBelongsToDeliveryLogsOnly) {
  Fleet w;
  log::EventDraft relayed;
  relayed.event().getKind().initRelayed().setHqSeq(0);
  AppendOne(*w.hq.log, std::move(relayed));
  auto hq = w.authority.Check("hq.example/log", w.Event(*w.hq.log, w.hq.log->Size() - 1).event());
  ASSERT_TRUE(hq.has_value());
  EXPECT_EQ(hq->rule, AuthorityRule::kKindNotOwned) << hq->ToString();
  auto factory = w.authority.Check("f1.example/log", w.Event(*w.hq.log, w.hq.log->Size() - 1).event());
  ASSERT_TRUE(factory.has_value());
  EXPECT_EQ(factory->rule, AuthorityRule::kKindNotOwned);
  EXPECT_FALSE(w.authority.Check("hq.example/log/to/F1", w.Event(*w.hq.log, w.hq.log->Size() - 1).event()));
  AppendOne(*w.f1, Issued(w.ca1, {9, 9}, "B1"));  // anything else in a delivery log is refused
  auto other = w.authority.Check("hq.example/log/to/F1", w.Event(*w.f1, w.f1->Size() - 1).event());
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->rule, AuthorityRule::kKindNotOwned);
}

}  // namespace
}  // namespace mirrorca::engine
