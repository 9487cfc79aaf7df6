// Per-factory delivery over real TLS sessions: HQ's log authorizes batches
// for factories a and b; a's sync receives its delivery log — its
// registration, its batch and the cosignature of its own log, each a
// byte-exact relay of HQ's event — and never b's batch; a factory whose
// copy expects HQ's whole log is refused by HQ at Hello (no silent
// fallback to the whole log); a second round relays only what is new.
#include <gtest/gtest.h>

#include "engine/delivery_log.h"
#include "log/signed_note.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "engine/cosigner.h"
#include "log/event_codec.h"
#include "log/event_draft.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Pair;

void Authorize(log::EventLog& hq, const std::string& factory_origin, const std::string& batch) {
  log::EventDraft d;
  auto b = d.event().getKind().initBatchAuthorized();
  b.setBatchId(batch);
  b.setFactoryLogId(factory_origin);
  b.setQuota(10);
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  ASSERT_TRUE(hq.Append(std::move(v)).ok());
}

// What a factory's copy holds: (kind, the log it is about) of each relayed event.
std::vector<std::pair<std::string, std::string>> Received(log::EventLog& copy, const log::LogVerifier& hq) {
  std::vector<std::pair<std::string, std::string>> out;
  EXPECT_TRUE(copy.ForEach(0, copy.Size(), [&](uint64_t, std::string_view bytes) -> Status {
    auto e = log::ParsedEvent::Parse(AsBytes(bytes));
    auto r = engine::Unwrap(e->event(), hq);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return Status::Ok();
    out.push_back({std::string(log::KindName(r->event.event().getKind().which())),
                   engine::AddresseeOf(r->event.event())});
    return Status::Ok();
  }).ok());
  return out;
}

TEST(DeliverySyncTest, AFactoryReceivesOnlyWhatHqAddressedToIt) {
  Pair p;
  p.StopHq();
  p.with_delivery = true;
  p.StartHq();
  const std::string a = p.a_signer.name(), b = p.b_signer.name();
  Authorize(*p.hq->log, a, "B1");
  Authorize(*p.hq->log, b, "B1");
  Authorize(*p.hq->log, b, "SECRET");
  const log::LogVerifier delivery = *engine::DeliveryVerifier(p.hq_signer.verifier(), "a");
  p.a->Reopen(&delivery);
  p.a->Append(20);
  FactorySyncOptions o;
  o.hq_cosigner = p.hq_signer.verifier();
  o.hq_event_check = engine::DeliveredEventCheck(p.hq_signer.verifier());
  auto r = p.Round(*p.a, "factory-a", 0, nullptr, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(p.CopyOf(a)->Size(), 20u);
  const auto got = Received(*p.a->peer_copy, p.hq_signer.verifier());
  ASSERT_FALSE(got.empty());
  std::set<std::string> kinds;
  for (const auto& [kind, about] : got) {
    EXPECT_EQ(about, a) << kind;  // nothing about b, ever
    kinds.insert(kind);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"factoryRegistered", "batchAuthorized", "checkpointCosigned",
                                          "syncSession"}));
  EXPECT_TRUE(engine::AuditDelivery(*p.hq->log, *p.sync->Delivery(a), a).ok());

  // A second round: only what is new (its next cosignature and session).
  const uint64_t before = p.a->peer_copy->Size();
  p.a->Append(5);
  Authorize(*p.hq->log, b, "SECRET2");
  ASSERT_TRUE(p.Round(*p.a, "factory-a", 0, nullptr, o).ok());
  EXPECT_EQ(p.a->peer_copy->Size(), before + 2);
  for (const auto& [kind, about] : Received(*p.a->peer_copy, p.hq_signer.verifier())) EXPECT_EQ(about, a);
}

TEST(DeliverySyncTest, AFactoryExpectingHqsWholeLogIsRefusedAtHello) {
  Pair p;
  p.StopHq();
  p.with_delivery = true;
  p.StartHq();
  p.a->Append(3);  // its copy is of HQ's own log (Pair's default)
  std::optional<Refused> refused;
  auto r = p.Round(*p.a, "factory-a", 0, &refused);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, RefusalKind::kIdentity) << refused->detail;
  EXPECT_NE(refused->detail.find("hq.example/log/to/a"), std::string::npos) << refused->detail;
  EXPECT_EQ(p.a->peer_copy->Size(), 0u);
}

// HQ's cosigner key, set in HQ's log, reaches every factory in its delivery
// log; from then on the factory accepts only that key's cosignature — here
// HQ's sync still cosigns with HQ's log key (as a stale or stolen key
// would), and the factory refuses the round's cosignature.
TEST(DeliverySyncTest, OnlyTheCosignerInForceIsAccepted) {
  Pair p;
  p.StopHq();
  p.with_delivery = true;
  p.StartHq();
  const std::string a = p.a_signer.name();
  const log::LogVerifier delivery = *engine::DeliveryVerifier(p.hq_signer.verifier(), "a");
  p.a->Reopen(&delivery);
  p.a->Append(10);
  FactorySyncOptions o;
  o.hq_cosigner = p.hq_signer.verifier();
  o.hq_event_check = engine::DeliveredEventCheck(p.hq_signer.verifier());
  ASSERT_TRUE(p.Round(*p.a, "factory-a", 0, nullptr, o).ok());  // no cosigner set: HQ's log key cosigns

  log::testing::TempDir keys;
  Result<log::LogVerifier> cosigner = engine::SetCosigner(Env::Default(), keys.path(), *p.hq->log, "test");
  ASSERT_TRUE(cosigner.ok()) << cosigner.status();
  p.a->Append(5);
  auto r = p.Round(*p.a, "factory-a", 0, nullptr, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HQ's cosignature"), std::string::npos) << r.status();
  // Every factory received the key (what every factory receives: "*").
  bool seen = false;
  for (const auto& [kind, about] : Received(*p.a->peer_copy, p.hq_signer.verifier())) {
    if (kind == "cosignerKeySet") seen = about == std::string(engine::kEveryFactory);
  }
  EXPECT_TRUE(seen);
  // The factory did not store the refused cosignature.
  Result<std::string> latest = p.a->log->LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(log::VerifyCosignature(*latest, p.hq_signer.verifier()).ok() &&
               log::Checkpoint::ParseText(log::SignedNote::Parse(*latest)->text)->tree_size == 15);
}

}  // namespace
}  // namespace mirrorca::replication
