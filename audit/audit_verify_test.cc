// AuditVerify on real RocksDB stores: a clean store passes (events,
// checkpoints, consistency proofs, cosignatures, projection); one flipped
// byte in one event of a 100,000-event log is named by seq; a bad
// cosignature, a forged checkpoint and an edited projection are each caught.
#include "audit/audit_verify.h"

#include <gtest/gtest.h>

#include "engine/cert_status.h"
#include "log/cosignature.h"
#include "log/event_draft.h"
#include "engine/test_logs.h"
#include "log/test_util.h"

namespace mirrorca::audit {
namespace {

using log::testing::LogFixture;
using log::testing::TestDrafts;
using engine::testing::Append;
using engine::testing::TwoLogs;

std::string DataDir(LogFixture& f) { return f.dir.path(); }

void FlipEventByte(LogFixture& f, uint64_t seq) {
  std::string bytes = *f.log->ReadSignedEvent(seq);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  rocksdb::WriteBatch batch;
  batch.Put(f.store->events(), log::EventKey(f.log->key_prefix(), seq), bytes);
  ASSERT_TRUE(f.store->WriteDurably(&batch).ok());
}

TEST(AuditVerifyTest, OneFlippedByteInA100kEventLogIsNamed) {
  LogFixture f({.checkpoint_interval = 10000}, "factory.example/log");
  engine::testing::Append(*f.log, 100000);
  ASSERT_TRUE(f.log->SignCheckpoint().ok());
  f.log.reset();
  Result<AuditVerdict> v = AuditVerify(DataDir(f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->reason;
  ASSERT_EQ(v->logs.size(), 1u);
  EXPECT_EQ(v->events, 100000u);
  EXPECT_GE(v->logs[0].checkpoints, 5u);  // at group commits past each 10,000 events
  EXPECT_EQ(v->logs[0].consistency_proofs, v->logs[0].checkpoints - 1);  // consecutive pairs
  EXPECT_FALSE(v->projection_checked);

  f.Reopen();
  FlipEventByte(f, 73210);
  f.log.reset();
  v = AuditVerify(DataDir(f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->bad_log, "factory.example/log");
  ASSERT_TRUE(v->bad_seq.has_value());
  EXPECT_EQ(*v->bad_seq, 73210u);
  EXPECT_FALSE(v->reason.empty());
}

TEST(AuditVerifyTest, CosignaturesAreCheckedAgainstTheCosignerAndTheEvents) {
  {
    engine::testing::TwoLogs w;
    w.RecordCosignature(w.hq.signer);
    engine::testing::Append(*w.hq.log, 10, "h");
    w.Close();
    Result<AuditVerdict> v = AuditVerify(DataDir(w.hq));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->ok) << v->reason;
    ASSERT_EQ(v->logs.size(), 2u);
    for (const AuditLogResult& r : v->logs) {
      EXPECT_EQ(r.cosignatures, r.origin == "factory.example/log" ? 1u : 0u) << r.origin;
    }
  }
  {
    // Cosigned by a key that is not the recording log's.
    engine::testing::TwoLogs w;
    log::LogSigner stranger = *log::LogSigner::Generate("hq.example/log");
    w.RecordCosignature(stranger);
    w.Close();
    Result<AuditVerdict> v = AuditVerify(DataDir(w.hq));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_FALSE(v->ok);
    EXPECT_EQ(v->bad_log, "hq.example/log");
    EXPECT_EQ(v->bad_seq, std::optional<uint64_t>(1));  // after the factory's registration
    EXPECT_NE(v->reason.find("cosignature"), std::string::npos) << v->reason;
  }
}

TEST(AuditVerifyTest, AnEventOutsideItsLogsAuthorityIsNamed) {
  engine::testing::TwoLogs w(50);
  log::EventDraft d;  // the factory's own key signs a revocation: HQ's to say
  auto c = d.event().getKind().initCertificateRevoked();
  const Bytes ca(32, 1), serial{1, 2, 3};
  c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
  c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  ASSERT_TRUE(w.factory->Append(std::move(drafts)).ok());
  engine::testing::Append(*w.factory, 10, "after");
  w.Close();
  Result<AuditVerdict> v = AuditVerify(DataDir(w.hq));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->bad_log, "factory.example/log");
  EXPECT_EQ(v->bad_seq, std::optional<uint64_t>(50));
  EXPECT_NE(v->reason.find("kind-not-owned"), std::string::npos) << v->reason;
}

TEST(AuditVerifyTest, ProjectionMustEqualARebuild) {
  LogFixture f({}, "hq.example/log");
  const Bytes ca(32, 7);
  std::vector<log::EventDraft> drafts;
  for (int i = 0; i < 20; ++i) {
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateIssued();
    Bytes serial{1, 2, static_cast<uint8_t>(i)};
    c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
    c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    c.setBatchId("B1");
    c.setNotAfter(int64_t{1900000000} * 1000000);
    drafts.push_back(std::move(d));
  }
  for (int i = 0; i < 5; ++i) {
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateRevoked();
    Bytes serial{1, 2, static_cast<uint8_t>(i)};
    c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
    c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    c.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
    c.setRevocationTime(int64_t{1800000000} * 1000000);
    drafts.push_back(std::move(d));
  }
  ASSERT_TRUE(f.log->Append(std::move(drafts)).ok());
  {
    auto status = engine::CertStatus::Open(f.store.get());
    ASSERT_TRUE(status.ok());
    engine::LogAuthority authority("hq.example/log");
    ASSERT_TRUE(authority.CatchUp(*f.log).ok());
    ASSERT_TRUE((*status)->CatchUp(*f.log, authority, 22).ok());  // the projection may lag: audited up to it
  }
  engine::testing::Append(*f.log, 3, "later");
  f.log.reset();
  // In memory, and spilled to a scratch store (a budget of one byte).
  AuditOptions spill;
  spill.memory_budget = 1;
  Result<AuditVerdict> v = AuditVerify(DataDir(f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_TRUE(v->projection_checked);
  EXPECT_FALSE(v->projection_spilled);
  EXPECT_GT(v->projection_keys, 40u);
  Result<AuditVerdict> spilled = AuditVerify(DataDir(f), spill);
  ASSERT_TRUE(spilled.ok()) << spilled.status();
  EXPECT_TRUE(spilled->ok) << spilled->reason;
  EXPECT_TRUE(spilled->projection_spilled);
  EXPECT_EQ(spilled->projection_keys, v->projection_keys);

  // An edited record (a revocation erased by hand) is caught.
  f.Reopen();
  Bytes serial{1, 2, 0};
  std::string key = "status/v1/cert/" + std::string(ca.begin(), ca.end()) +
                    std::string(serial.begin(), serial.end());
  std::string value = *f.store->Get(f.store->meta(), key);
  engine::CertRecord r = *engine::DecodeRecord(value);
  r.state = engine::CertState::kGood;
  rocksdb::WriteBatch batch;
  batch.Put(f.store->meta(), key, engine::EncodeRecord(r));
  ASSERT_TRUE(f.store->WriteDurably(&batch).ok());
  f.log.reset();
  // Both rebuilds (in memory, spilled) must name the projection and `why`.
  auto expect_projection_failure = [&](const std::string& why) {
    for (const AuditOptions& o : {AuditOptions{}, spill}) {
      Result<AuditVerdict> bad = AuditVerify(DataDir(f), o);
      ASSERT_TRUE(bad.ok()) << bad.status();
      EXPECT_FALSE(bad->ok);
      EXPECT_EQ(bad->bad_log, "projection");
      EXPECT_NE(bad->reason.find(why), std::string::npos) << bad->reason;
    }
  };
  expect_projection_failure("value differs");

  // A record deleted by hand (a certificate hidden from the VA).
  f.Reopen();
  batch.Clear();
  batch.Put(f.store->meta(), key, value);
  batch.Delete(f.store->meta(), "status/v1/cert/" + std::string(ca.begin(), ca.end()) + std::string{1, 2, 9});
  ASSERT_TRUE(f.store->WriteDurably(&batch).ok());
  f.log.reset();
  expect_projection_failure("missing key status/v1/cert/");
}

}  // namespace
}  // namespace mirrorca::audit
