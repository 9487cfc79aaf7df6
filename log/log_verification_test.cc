// Tamper tests: every kind of damage to a stored log is detected by
// VerifyLog, which names the first bad seq; the same damage is detected by
// checking the log against a checkpoint taken before it (as HQ would hold).
#include "log/log_verification.h"

#include <gtest/gtest.h>

#include "log/event_codec.h"
#include "log/test_util.h"

namespace mirrorca::log {
namespace {

using testing::LogFixture;
using testing::TestDrafts;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = std::make_unique<LogFixture>(EventLogOptions{.checkpoint_interval = 100});
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(f_->log->Append(TestDrafts(50)).ok());  // 250 events
    trusted_ = *f_->log->SignCheckpoint();                                           // size 250
    VerifyReport clean = *VerifyLog(*f_->log);
    ASSERT_TRUE(clean.ok) << clean.reason;
    ASSERT_EQ(clean.checkpoints, 3u);  // 100, 200, 250
  }

  rocksdb::DB* db() { return f_->store->db(); }
  std::string Key(uint64_t seq) { return EventKey(f_->log->key_prefix(), seq); }
  std::string Get(uint64_t seq) { return *f_->log->ReadSignedEvent(seq); }
  void Put(uint64_t seq, const std::string& v) {
    ASSERT_TRUE(db()->Put(rocksdb::WriteOptions(), f_->store->events(), Key(seq), v).ok());
  }

  // ExpectDetected checks both detection paths and that `seq` is named.
  void ExpectDetected(uint64_t seq, std::string_view reason_part) {
    VerifyReport r = *VerifyLog(*f_->log);
    EXPECT_FALSE(r.ok);
    ASSERT_TRUE(r.first_bad_seq.has_value()) << r.reason;
    EXPECT_EQ(*r.first_bad_seq, seq) << r.reason;
    EXPECT_NE(r.reason.find(reason_part), std::string::npos) << r.reason;
    EXPECT_NE(r.Summary(f_->origin).find("seq " + std::to_string(seq)), std::string::npos);

    // Against the earlier checkpoint alone, with the store's own checkpoints gone.
    rocksdb::WriteBatch wipe;
    wipe.DeleteRange(f_->store->checkpoints(), CheckpointKey(f_->log->key_prefix(), 0),
                     CheckpointKey(f_->log->key_prefix(), ~uint64_t{0}));
    ASSERT_TRUE(f_->store->WriteDurably(&wipe).ok());
    VerifyOptions o;
    o.trusted_checkpoints = {trusted_};
    VerifyReport t = *VerifyLog(*f_->log, o);
    EXPECT_FALSE(t.ok);
    ASSERT_TRUE(t.first_bad_seq.has_value()) << t.reason;
    EXPECT_LE(*t.first_bad_seq, seq) << t.reason;
  }

  std::unique_ptr<LogFixture> f_;
  std::string trusted_;
};

TEST_F(TamperTest, FlippedByteInAnyPartOfAnEvent) {
  const std::string original = Get(137);
  for (size_t offset : {size_t{3}, size_t{20}, original.size() / 2, original.size() - 1}) {
    std::string bad = original;
    bad[offset] = static_cast<char>(bad[offset] ^ 0x04);
    Put(137, bad);
    VerifyReport r = *VerifyLog(*f_->log);
    EXPECT_FALSE(r.ok) << "offset " << offset;
    EXPECT_EQ(r.first_bad_seq.value_or(0), 137u) << r.reason;
  }
  Put(137, original);
  EXPECT_TRUE(VerifyLog(*f_->log)->ok);
  std::string bad = original;
  bad[original.size() / 2] ^= 0x10;
  Put(137, bad);
  ExpectDetected(137, "");
}

TEST_F(TamperTest, DeletedEvent) {
  ASSERT_TRUE(db()->Delete(rocksdb::WriteOptions(), f_->store->events(), Key(42)).ok());
  ExpectDetected(42, "missing");
}

TEST_F(TamperTest, ReorderedPair) {
  std::string a = Get(77), b = Get(78);
  Put(77, b);
  Put(78, a);
  ExpectDetected(77, "claims seq 78");
}

TEST_F(TamperTest, RewrittenTailWithValidNewSignatures) {
  // An attacker holding the log key re-signs a different history from seq 180
  // on: every signature and the prevHash chain are valid.
  ParsedEvent prev = *ParsedEvent::Parse(AsBytes(Get(179)));
  Hash prev_hash = BodyHash(prev.body());
  for (uint64_t seq = 180; seq < 250; ++seq) {
    EventDraft d = testing::TestDraft("forged" + std::to_string(seq));
    d.event().setLogId(f_->origin);
    d.event().setSeq(seq);
    d.event().setTime(prev.event().getTime());
    d.event().setPrevHash(kj::ArrayPtr<const kj::byte>(prev_hash.data(), 32));
    std::string body = *EncodeCanonicalBody(d.event().asReader());
    Bytes sig = *f_->signer.Sign(EventSigningInput(AsBytes(body)));
    Put(seq, EncodeSignedEvent(AsBytes(body), sig));
    prev_hash = BodyHash(AsBytes(body));
  }
  ExpectDetected(180, "Merkle");
}

TEST_F(TamperTest, TruncatedTailBelowASignedCheckpoint) {
  for (uint64_t seq = 230; seq < 250; ++seq) {
    ASSERT_TRUE(db()->Delete(rocksdb::WriteOptions(), f_->store->events(), Key(seq)).ok());
  }
  VerifyReport r = *VerifyLog(*f_->log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq.value_or(0), 230u) << r.reason;
  // A reopened log refuses to append onto the rewound tail.
  f_->ReopenStore();
  EXPECT_EQ(f_->log->Append(TestDrafts(1)).status().code(), StatusCode::kCorruption);
}

TEST_F(TamperTest, CorruptStoredMerkleNodeAndCheckpoint) {
  Hash zero{};
  ASSERT_TRUE(db()->Put(rocksdb::WriteOptions(), f_->store->merkle(),
                        NodeKey(f_->log->key_prefix(), 3, 5),
                        rocksdb::Slice(reinterpret_cast<const char*>(zero.data()), 32))
                  .ok());
  VerifyReport r = *VerifyLog(*f_->log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq.value_or(0), 40u) << r.reason;  // node (3,5) covers seqs 40..47
}

TEST_F(TamperTest, ForgedCheckpointSignature) {
  std::string note = *f_->store->Get(f_->store->checkpoints(),
                                     CheckpointKey(f_->log->key_prefix(), 200));
  note[note.size() - 10] = note[note.size() - 10] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(db()->Put(rocksdb::WriteOptions(), f_->store->checkpoints(),
                        CheckpointKey(f_->log->key_prefix(), 200), note)
                  .ok());
  VerifyReport r = *VerifyLog(*f_->log);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("size 200"), std::string::npos) << r.reason;
}

TEST_F(TamperTest, ForkAgainstTrustedCheckpointFromAnotherHistory) {
  // The same key signs a second log of the same origin with other events: a
  // fork. Its own store verifies, but not against the first log's checkpoint.
  testing::TempDir dir;
  auto store = std::move(*Store::Open(dir.path(), StoreOptions{.create_if_missing = true}));
  ASSERT_TRUE(EventLog::Create(store.get(), f_->signer.verifier()).ok());
  auto fork = std::move(*EventLog::Open(store.get(), f_->origin, f_->signer));
  ASSERT_TRUE(fork->Append(TestDrafts(250, "other")).ok());
  EXPECT_TRUE(VerifyLog(*fork)->ok);
  VerifyOptions o;
  o.trusted_checkpoints = {trusted_};
  VerifyReport r = *VerifyLog(*fork, o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("250"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace mirrorca::log
