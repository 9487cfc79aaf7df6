// Delivery logs on real stores: HQ's log holds two factories' registrations,
// batches and cosignatures (and events for nobody); each factory's delivery
// log relays exactly its own, byte for byte, resumes without duplicates
// after a crash between the append and the scan watermark, and the audit
// catches a delivery log that relays another factory's batch, skips one of
// its own, or alters a byte — even when every event is validly signed with
// HQ's key. A factory refuses anything but relayed HQ events.
#include "engine/delivery_log.h"

#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include "base/encoding.h"
#include "engine/log_authority.h"
#include "engine/test_logs.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine {
namespace {

using log::testing::LogFixture;
using log::testing::TempDir;

struct Hq {
  LogFixture hq{{}, "hq.example/log"};
  TempDir dir;
  std::unique_ptr<log::Store> deliveries = std::move(*OpenDeliveryStore(dir.path()));
  log::LogSigner f1 = *log::LogSigner::Generate("f1.example/log");
  log::LogSigner f2 = *log::LogSigner::Generate("f2.example/log");

  Bytes f1_ca, f2_ca;

  Hq() {
    f1_ca = testing::RegisterTestFactory(*hq.log, f1.verifier().VerifierKey(), "F1", {"B1"});
    f2_ca = testing::RegisterTestFactory(*hq.log, f2.verifier().VerifierKey(), "F2", {"B1", "B2"});
    Cosigned("f1.example/log");
    Cosigned("f2.example/log");
    testing::Append(*hq.log, 5, "nobody");  // HQ's own business
  }
  void Cosigned(const std::string& log) {
    log::EventDraft d;
    d.event().getKind().initCheckpointCosigned().setLogId(log);
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    ASSERT_TRUE(hq.log->Append(std::move(v)).ok());
  }
  // Revoked appends HQ's revocation (or release) of `serial` of CA `ca_id`.
  void Revoked(const Bytes& ca_id, const std::string& serial, bool release = false) {
    log::EventDraft d;
    auto r = d.event().getKind().initCertificateRevoked();
    r.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
    r.setSerial(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(serial.data()), serial.size()));
    r.setRelease(release);
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    ASSERT_TRUE(hq.log->Append(std::move(v)).ok());
  }
  std::unique_ptr<log::EventLog> Delivery(const std::string& name) {
    auto d = OpenDelivery(deliveries.get(), hq.signer, name);
    EXPECT_TRUE(d.ok()) << d.status();
    return std::move(*d);
  }
  // Relayed: the HQ seqs and kinds a delivery log carries.
  std::vector<std::pair<uint64_t, std::string>> Relayed(log::EventLog& d) {
    std::vector<std::pair<uint64_t, std::string>> out;
    EXPECT_TRUE(d.ForEach(0, d.Size(), [&](uint64_t, std::string_view bytes) -> Status {
      auto e = log::ParsedEvent::Parse(AsBytes(bytes));
      auto r = Unwrap(e->event(), hq.signer.verifier());
      EXPECT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*hq.log->ReadSignedEvent(r->hq_seq), r->signed_event);
      out.push_back({r->hq_seq, std::string(log::KindName(r->event.event().getKind().which()))});
      return Status::Ok();
    }).ok());
    return out;
  }
};

TEST(DeliveryLogTest, EachFactoryReceivesExactlyWhatHqAddressedToIt) {
  Hq h;
  auto d1 = h.Delivery("F1");
  auto d2 = h.Delivery("F2");
  EXPECT_EQ(d1->origin(), "hq.example/log/to/F1");
  ASSERT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 3u);  // registration, B1, cosignature
  ASSERT_EQ(*Relay(*h.hq.log, *d2, "f2.example/log"), 4u);  // registration, B1, B2, cosignature
  const auto r1 = h.Relayed(*d1);
  EXPECT_EQ(r1[0].second, "factoryRegistered");
  EXPECT_EQ(r1[1].second, "batchAuthorized");
  EXPECT_EQ(r1[2].second, "checkpointCosigned");
  // F1's delivery carries no byte of F2's events.
  ASSERT_TRUE(d1->ForEach(0, d1->Size(), [](uint64_t, std::string_view bytes) -> Status {
    EXPECT_EQ(bytes.find("f2.example"), std::string_view::npos);
    return Status::Ok();
  }).ok());
  // Nothing new: nothing relayed; a new batch for F2 reaches F2 only.
  EXPECT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 0u);
  testing::RegisterTestFactory(*h.hq.log, h.f2.verifier().VerifierKey(), "F2", {"B3"});
  EXPECT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 0u);
  EXPECT_EQ(*Relay(*h.hq.log, *d2, "f2.example/log"), 2u);  // its new registration (another CA) and B3
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d1, "f1.example/log").ok());
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d2, "f2.example/log").ok());
}

// HQ owns revocation, and tells each factory which of its own certificates
// it revoked, held or released (a renewal must not name one): by the CA the
// revocation names, among those HQ registered for the factory before it.
TEST(DeliveryLogTest, EachFactoryLearnsTheRevocationsOfItsOwnCas) {
  Hq h;
  auto d1 = h.Delivery("F1");
  auto d2 = h.Delivery("F2");
  h.Revoked(h.f1_ca, "serial-of-f1");
  h.Revoked(h.f2_ca, "serial-of-f2");
  h.Revoked(h.f1_ca, "serial-of-f1", /*release=*/true);
  h.Revoked(Bytes(32, 7), "serial-of-an-unknown-ca");
  ASSERT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 5u);  // registration, B1, cosignature, 2 of F1's CA
  ASSERT_EQ(*Relay(*h.hq.log, *d2, "f2.example/log"), 5u);  // registration, B1, B2, cosignature, 1 of F2's CA
  const auto r1 = h.Relayed(*d1);
  EXPECT_EQ(r1[3].second, "certificateRevoked");
  EXPECT_EQ(r1[4].second, "certificateRevoked");
  ASSERT_TRUE(d1->ForEach(0, d1->Size(), [](uint64_t, std::string_view bytes) -> Status {
    EXPECT_EQ(bytes.find("serial-of-f2"), std::string_view::npos);
    return Status::Ok();
  }).ok());
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d1, "f1.example/log").ok());
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d2, "f2.example/log").ok());
  // The CA ids kept with the scan position lost (a crash, an older store):
  // learned again from HQ's log, so a later revocation still arrives.
  rocksdb::WriteBatch b;
  b.Delete(h.deliveries->meta(), "delivery/ca-ids/" + d1->origin());
  ASSERT_TRUE(h.deliveries->WriteDurably(&b).ok());
  h.Revoked(h.f1_ca, "another-of-f1");
  EXPECT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 1u);
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d1, "f1.example/log").ok());
  // A delivery log, signed with HQ's key, that leaves a revocation out
  // fails the audit.
  auto d3 = h.Delivery("F1-bis");
  std::vector<log::EventDraft> drafts;
  for (size_t i : {0, 1, 2, 4}) {  // everything of F1's up to its release, but the revocation
    log::EventDraft d;
    auto r = d.event().getKind().initRelayed();
    r.setHqSeq(r1[i].first);
    std::string bytes = *h.hq.log->ReadSignedEvent(r1[i].first);
    r.setSignedEvent(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    drafts.push_back(std::move(d));
  }
  ASSERT_TRUE(d3->Append(std::move(drafts)).ok());
  Status audit = AuditDelivery(*h.hq.log, *d3, "f1.example/log");
  EXPECT_FALSE(audit.ok());
  EXPECT_NE(audit.message().find("missing"), std::string::npos) << audit;
}

TEST(DeliveryLogTest, ACrashBetweenTheAppendAndTheWatermarkNeverRelaysTwice) {
  Hq h;
  auto d1 = h.Delivery("F1");
  ASSERT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 3u);
  // The scan watermark lost (as if the process died right after the append).
  rocksdb::WriteBatch b;
  b.Delete(h.deliveries->meta(), "delivery/scanned/" + d1->origin());
  ASSERT_TRUE(h.deliveries->WriteDurably(&b).ok());
  EXPECT_EQ(*Relay(*h.hq.log, *d1, "f1.example/log"), 0u);
  EXPECT_EQ(d1->Size(), 3u);
  EXPECT_TRUE(AuditDelivery(*h.hq.log, *d1, "f1.example/log").ok());
}

// Crafted: a delivery log, signed with HQ's own key, that says more, less
// or other than HQ's log addressed to the factory.
TEST(DeliveryLogTest, TheAuditCatchesADeliveryLogThatSaysMoreLessOrOther) {
  auto relay_seqs = [](Hq& h, log::EventLog& d, std::vector<uint64_t> seqs, bool flip = false) {
    std::vector<log::EventDraft> drafts;
    for (uint64_t seq : seqs) {
      std::string bytes = *h.hq.log->ReadSignedEvent(seq);
      if (flip) bytes[bytes.size() / 2] ^= 1;
      log::EventDraft e;
      auto r = e.event().getKind().initRelayed();
      r.setHqSeq(seq);
      r.setSignedEvent(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      drafts.push_back(std::move(e));
    }
    ASSERT_TRUE(d.Append(std::move(drafts)).ok());
  };
  // HQ seqs: 0 F1 registered, 1 F1/B1, 2 F2 registered, 3 F2/B1, 4 F2/B2, 5 F1 cosigned, 6 F2 cosigned.
  {
    Hq h;
    auto d = h.Delivery("F1");
    relay_seqs(h, *d, {0, 1, 3});  // F2's batch B1 in F1's delivery
    Status s = AuditDelivery(*h.hq.log, *d, "f1.example/log");
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("seq 2"), std::string::npos) << s;
    EXPECT_NE(s.message().find("not addressed"), std::string::npos) << s;
  }
  {
    Hq h;
    auto d = h.Delivery("F1");
    relay_seqs(h, *d, {0, 5});  // F1/B1 left out
    Status s = AuditDelivery(*h.hq.log, *d, "f1.example/log");
    EXPECT_NE(s.message().find("missing"), std::string::npos) << s;
  }
  {
    Hq h;
    auto d = h.Delivery("F1");
    relay_seqs(h, *d, {0});
    relay_seqs(h, *d, {1}, /*flip=*/true);  // a byte of HQ's event changed
    EXPECT_FALSE(AuditDelivery(*h.hq.log, *d, "f1.example/log").ok());
  }
}

TEST(DeliveryLogTest, AFactoryAcceptsOnlyRelayedEventsUnderHqsSignature) {
  Hq h;
  auto check = DeliveredEventCheck(h.hq.signer.verifier());
  auto d1 = h.Delivery("F1");
  ASSERT_TRUE(Relay(*h.hq.log, *d1, "f1.example/log").ok());
  EXPECT_FALSE(check(0, *d1->ReadSignedEvent(0)).has_value());
  // HQ's key signing anything else into the delivery log: refused.
  ASSERT_TRUE(d1->Append(log::testing::TestDrafts(1, "x")).ok());
  EXPECT_TRUE(check(d1->Size() - 1, *d1->ReadSignedEvent(d1->Size() - 1)).has_value());
  // A relayed event signed by another key (a factory forging HQ's word).
  LogFixture fake{{}, "hq.example/log"};
  testing::RegisterTestFactory(*fake.log, h.f1.verifier().VerifierKey(), "F1", {"B9"});
  std::string forged = *fake.log->ReadSignedEvent(1);
  log::EventDraft e;
  auto r = e.event().getKind().initRelayed();
  r.setHqSeq(1);
  r.setSignedEvent(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(forged.data()), forged.size()));
  std::vector<log::EventDraft> one;
  one.push_back(std::move(e));
  ASSERT_TRUE(d1->Append(std::move(one)).ok());
  auto refused = check(d1->Size() - 1, *d1->ReadSignedEvent(d1->Size() - 1));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->find("signature"), std::string::npos) << *refused;
}

TEST(DeliveryLogTest, TheFactorysAuthorityIsLearnedFromItsDeliveryLog) {
  Hq h;
  auto d1 = h.Delivery("F1");
  ASSERT_TRUE(Relay(*h.hq.log, *d1, "f1.example/log").ok());
  LogAuthority a("hq.example/log");
  ASSERT_TRUE(a.CatchUp(*d1).ok());
  ASSERT_EQ(a.Factories().size(), 1u);  // F1 knows itself, not F2
  EXPECT_EQ(a.Factories()[0].batches, (std::set<std::string>{"B1"}));
  EXPECT_TRUE(a.IsDeliveryOf(d1->origin()));
  EXPECT_EQ(a.LearnedUpTo(), d1->Size());
}

}  // namespace
}  // namespace mirrorca::engine
