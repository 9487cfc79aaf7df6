// CertStatus's change journal (engine/cert_status.h) on a real store: the
// order in which changes are read, resuming after DoneWith while a later
// CatchUp journals more, urgent and plain changes apart, and a journal of the
// older format (keyed by certificate, no order) carried over at Open.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include "engine/cert_status.h"
#include "engine/test_logs.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine {
namespace {

using log::testing::LogFixture;

log::EventDraft Issued(const Bytes& ca, const Bytes& serial) {
  log::EventDraft d;
  auto c = d.event().getKind().initCertificateIssued();
  c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
  c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
  c.setBatchId("B1");
  c.setDeviceSerial("dev");
  c.setNotAfter(int64_t{1900000000} * 1000000);
  return d;
}

log::EventDraft Revoked(const Bytes& ca, const Bytes& serial) {
  log::EventDraft d;
  auto c = d.event().getKind().initCertificateRevoked();
  c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
  c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
  c.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
  c.setRevocationTime(int64_t{1800000000} * 1000000);
  return d;
}

struct Journal {
  LogFixture hq{{}, "hq.example/log"};
  log::LogSigner f1_signer = *log::LogSigner::Generate("f1.example/log");
  std::unique_ptr<log::EventLog> f1;
  Bytes ca;
  LogAuthority authority{"hq.example/log"};
  std::unique_ptr<CertStatus> status;

  Journal() {
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), f1_signer.verifier()).ok());
    f1 = std::move(*log::EventLog::Open(hq.store.get(), "f1.example/log", f1_signer));
    ca = testing::RegisterTestFactory(*hq.log, f1_signer.verifier().VerifierKey(), "F1", {"B1"});
    EXPECT_TRUE(authority.CatchUp(*hq.log).ok());
    status = std::move(*CertStatus::Open(hq.store.get()));
  }
  void Issue(uint8_t from, uint8_t to) {  // serials {from} .. {to - 1}, in descending key order
    std::vector<log::EventDraft> drafts;
    for (int s = to - 1; s >= from; --s) drafts.push_back(Issued(ca, {static_cast<uint8_t>(s)}));
    ASSERT_TRUE(f1->Append(std::move(drafts)).ok());
    ASSERT_TRUE(status->CatchUp(*f1, authority).ok());
  }
  std::vector<int> Pending(bool urgent, size_t max = 1000) {
    Result<std::vector<CertChange>> changes = status->PendingChanges(urgent, max);
    EXPECT_TRUE(changes.ok()) << changes.status();
    std::vector<int> out;
    for (const CertChange& c : *changes) out.push_back(c.serial.at(0));
    return out;
  }
};

TEST(ChangeJournalTest, ReadsInOrderAndResumesAfterWhatWasDone) {
  Journal j;
  j.Issue(10, 14);
  // One CatchUp step journals its records in key order; the next step after.
  EXPECT_EQ(j.Pending(false), (std::vector<int>{10, 11, 12, 13}));
  std::vector<CertChange> first = *j.status->PendingChanges(false, 2);
  ASSERT_TRUE(j.status->DoneWith(first).ok());
  // Serials 1..3 sort before every done key by certificate; they come after by order.
  j.Issue(1, 4);
  EXPECT_EQ(j.Pending(false), (std::vector<int>{12, 13, 1, 2, 3}));
  ASSERT_TRUE(j.status->DoneWith(*j.status->PendingChanges(false, 1000)).ok());
  EXPECT_TRUE(j.Pending(false).empty());
  // A revocation is urgent, kept apart from plain issuances.
  std::vector<log::EventDraft> rev;
  rev.push_back(Revoked(j.ca, {11}));
  ASSERT_TRUE(j.hq.log->Append(std::move(rev)).ok());
  ASSERT_TRUE(j.status->CatchUp(*j.hq.log, j.authority).ok());
  EXPECT_EQ(j.Pending(true), (std::vector<int>{11}));
  EXPECT_TRUE(j.Pending(false).empty());
  // Reopened: the order goes on from the last entry; nothing done comes back.
  j.status = std::move(*CertStatus::Open(j.hq.store.get()));
  j.Issue(20, 21);
  EXPECT_EQ(j.Pending(false), (std::vector<int>{20}));
  EXPECT_EQ(j.Pending(true), (std::vector<int>{11}));
  // Reopened with the queue emptied: what comes next is still read (it sorts
  // after the last entry consumed, which is where reading resumes).
  ASSERT_TRUE(j.status->DoneWith(*j.status->PendingChanges(false, 10)).ok());
  ASSERT_TRUE(j.status->DoneWith(*j.status->PendingChanges(true, 10)).ok());
  j.status = std::move(*CertStatus::Open(j.hq.store.get()));
  EXPECT_TRUE(j.Pending(false).empty());
  j.Issue(30, 32);
  EXPECT_EQ(j.Pending(false), (std::vector<int>{30, 31}));
}

TEST(ChangeJournalTest, AnOlderJournalIsCarriedOverAtOpen) {
  Journal j;
  j.Issue(1, 2);
  ASSERT_TRUE(j.status->DoneWith(*j.status->PendingChanges(false, 10)).ok());
  // statuschg/v1/{u|n}<caId><serial>, as the first version of the journal wrote it.
  rocksdb::WriteBatch b;
  for (auto [kind, serial] : {std::pair{'n', 7}, std::pair{'u', 8}}) {
    std::string key = "statuschg/v1/";
    key.push_back(kind);
    key.append(reinterpret_cast<const char*>(j.ca.data()), j.ca.size());
    key.push_back(static_cast<char>(serial));
    b.Put(j.hq.store->meta(), key, "");
  }
  ASSERT_TRUE(j.hq.store->WriteDurably(&b).ok());
  j.status = std::move(*CertStatus::Open(j.hq.store.get()));
  EXPECT_EQ(j.Pending(false), (std::vector<int>{7}));
  EXPECT_EQ(j.Pending(true), (std::vector<int>{8}));
  j.Issue(2, 3);
  EXPECT_EQ(j.Pending(false), (std::vector<int>{7, 2})) << "after the carried-over entries";
  ASSERT_TRUE(j.status->DoneWith(*j.status->PendingChanges(false, 10)).ok());
  j.status = std::move(*CertStatus::Open(j.hq.store.get()));
  EXPECT_TRUE(j.Pending(false).empty()) << "carried over once, not at every Open";
}

}  // namespace
}  // namespace mirrorca::engine
