#include "log/event_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "base/mem_env.h"
#include "log/checkpoint.h"
#include "log/event_codec.h"
#include "log/log_verification.h"
#include "log/merkle.h"
#include "log/test_util.h"

namespace mirrorca::log {
namespace {

using testing::LogFixture;
using testing::TestDraft;
using testing::TestDrafts;

std::vector<Hash> AllLeafHashes(EventLog& log) {
  std::vector<Hash> out;
  EXPECT_TRUE(log.ForEach(0, log.Size(), [&](uint64_t, std::string_view b) {
                   out.push_back(LeafHash(AsBytes(b)));
                   return Status::Ok();
                 }).ok());
  return out;
}

TEST(EventLogTest, AppendAssignsSeqChainsAndSigns) {
  MemEnv clock(5'000'000);
  LogFixture f({.env = &clock});
  Result<AppendResult> r = f.log->Append(TestDrafts(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_seq, 0u);
  EXPECT_EQ(r->count, 3u);
  clock.AdvanceMicros(10);
  r = f.log->Append(TestDrafts(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_seq, 3u);
  EXPECT_EQ(f.log->Size(), 5u);

  Hash prev{};
  for (uint64_t seq = 0; seq < 5; ++seq) {
    std::string bytes = *f.log->ReadSignedEvent(seq);
    ParsedEvent p = *ParsedEvent::Parse(AsBytes(bytes));
    EXPECT_EQ(p.seq(), seq);
    EXPECT_EQ(std::string(p.event().getLogId().cStr()), f.origin);
    EXPECT_EQ(p.event().getTime(), seq < 3 ? 5'000'000 : 5'000'010);
    auto ph = p.event().getPrevHash();
    EXPECT_TRUE(std::equal(ph.begin(), ph.end(), prev.begin()));
    EXPECT_TRUE(f.signer.verifier().Verify(EventSigningInput(p.body()), p.signature()));
    prev = BodyHash(p.body());
  }
  EXPECT_EQ(f.log->ReadSignedEvent(5).status().code(), StatusCode::kNotFound);
}

TEST(EventLogTest, TimeNeverGoesBackwards) {
  MemEnv clock(9'000'000);
  LogFixture f({.env = &clock});
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  clock.SetNowMicros(1'000);  // the wall clock jumps back
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  ParsedEvent p = *ParsedEvent::Parse(AsBytes(*f.log->ReadSignedEvent(1)));
  EXPECT_EQ(p.event().getTime(), 9'000'000);
}

// A wall clock that jumps forward (a bad NTP step, an RTC set wrong) would
// stamp events in the future, and the monotonic rule would then pin every
// later event there: the append is refused instead, nothing written, until
// the clock is fixed or a restart accepts the new time. Time that really
// passes — even a long quiet week — is accepted.
TEST(EventLogTest, AForwardClockJumpIsRefusedNotPinned) {
  MemEnv clock(1'700'000'000'000'000);
  LogFixture f({.env = &clock, .max_clock_jump_micros = 60'000'000});
  ASSERT_TRUE(f.log->Append(TestDrafts(2)).ok());
  clock.AdvanceMicros(7LL * 86400 * 1'000'000);  // a quiet week
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  clock.SetNowMicros(clock.NowMicros() + 365LL * 86400 * 1'000'000);  // a year ahead, in no time
  for (int i = 0; i < 2; ++i) {
    Result<AppendResult> r = f.log->Append(TestDrafts(1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("clock jumped forward by 31536000 s"), std::string::npos) << r.status();
    clock.AdvanceMicros(5'000'000);  // still refused as time passes
  }
  EXPECT_EQ(f.log->Size(), 3u);
  clock.SetNowMicros(clock.NowMicros() - 365LL * 86400 * 1'000'000);  // the clock is fixed
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  clock.SetNowMicros(clock.NowMicros() + 3600LL * 1'000'000);  // the operator says the new time is right
  f.Reopen();
  Result<AppendResult> r = f.log->Append(TestDrafts(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(f.log->Size(), 5u);
  EXPECT_EQ(f.log->LastEventTime(), clock.NowMicros());
  EXPECT_TRUE(VerifyLog(*f.log)->ok);
}

TEST(EventLogTest, RootsAndProofsMatchTheReferenceTree) {
  LogFixture f;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(f.log->Append(TestDrafts(13)).ok());
  std::vector<Hash> leaves = AllLeafHashes(*f.log);
  ASSERT_EQ(leaves.size(), 91u);
  for (uint64_t n : {1, 2, 7, 8, 64, 65, 90, 91}) {
    Hash root = ReferenceRoot(std::vector<Hash>(leaves.begin(), leaves.begin() + long(n)));
    EXPECT_EQ(*f.log->RootAt(n), root);
    for (uint64_t i : {uint64_t{0}, n / 2, n - 1}) {
      auto proof = f.log->InclusionProof(i, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], *proof, root).ok());
    }
    auto cons = f.log->ConsistencyProof(n / 3 + 1, n);
    ASSERT_TRUE(cons.ok());
    EXPECT_TRUE(VerifyConsistency(n / 3 + 1, n, *f.log->RootAt(n / 3 + 1), root, *cons).ok());
  }
  EXPECT_EQ(f.log->RootAt(92).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(f.log->InclusionProof(3, 92).status().code(), StatusCode::kOutOfRange);
}

TEST(EventLogTest, CheckpointsEveryIntervalAndOnDemand) {
  LogFixture f({.checkpoint_interval = 10});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.log->Append(TestDrafts(4)).ok());  // sizes 4..20
  std::vector<uint64_t> sizes;
  ASSERT_TRUE(f.log->ForEachCheckpoint([&](uint64_t size, const std::string& note) {
                     Result<Checkpoint> cp = OpenCheckpoint(note, f.signer.verifier());
                     EXPECT_TRUE(cp.ok());
                     EXPECT_EQ(cp->root_hash, *f.log->RootAt(size));
                     sizes.push_back(size);
                     return Status::Ok();
                   }).ok());
  EXPECT_EQ(sizes, (std::vector<uint64_t>{12, 20}));

  ASSERT_TRUE(f.log->Append(TestDrafts(3)).ok());
  std::string note = *f.log->SignCheckpoint();
  Checkpoint cp = *OpenCheckpoint(note, f.signer.verifier());
  EXPECT_EQ(cp.tree_size, 23u);
  EXPECT_EQ(cp.root_hash, *f.log->RootAt(23));
  EXPECT_EQ(*f.log->LatestCheckpoint(), note);
  EXPECT_EQ(*f.log->SignCheckpoint(), note);  // nothing new: same checkpoint
}

TEST(EventLogTest, RefusesToSignACheckpointInconsistentWithAnEarlierOne) {
  LogFixture f({.checkpoint_interval = 8});
  ASSERT_TRUE(f.log->Append(TestDrafts(8)).ok());
  // Someone rewrites the stored Merkle node over the checkpointed 8 leaves;
  // a reopened log rebuilds its right edge from that node.
  Hash bogus{};
  ASSERT_TRUE(f.store->db()
                  ->Put(rocksdb::WriteOptions(), f.store->merkle(), NodeKey(f.log->key_prefix(), 3, 0),
                        rocksdb::Slice(reinterpret_cast<const char*>(bogus.data()), 32))
                  .ok());
  f.ReopenStore();
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  Result<std::string> note = f.log->SignCheckpoint();
  EXPECT_FALSE(note.ok());
  EXPECT_NE(note.status().message().find("inconsistent"), std::string::npos);
}

TEST(EventLogTest, ReopenContinuesTheSameTree) {
  LogFixture f({.checkpoint_interval = 5});
  ASSERT_TRUE(f.log->Append(TestDrafts(7)).ok());
  Hash root7 = *f.log->RootAt(7);
  f.ReopenStore();
  EXPECT_EQ(f.log->Size(), 7u);
  EXPECT_EQ(*f.log->RootAt(7), root7);
  ASSERT_TRUE(f.log->Append(TestDrafts(6)).ok());
  EXPECT_EQ(f.log->Size(), 13u);
  std::vector<Hash> leaves = AllLeafHashes(*f.log);
  EXPECT_EQ(*f.log->RootAt(13), ReferenceRoot(leaves));
  VerifyReport report = *VerifyLog(*f.log);
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.events, 13u);
  EXPECT_EQ(report.checkpoints, 2u);  // sizes 7 and 13
}

// A store that refuses a write before writing anything (a full disk) costs
// only the refused appends — and the ones chained onto them: the chain,
// seq and tree go back to the durable tail, nothing is sticky, and appends
// resume by themselves once the store accepts writes; the log verifies.
TEST(EventLogTest, AppendsRefusedByAFullDiskResumeWithoutARestart) {
  LogFixture f({.checkpoint_interval = 4});
  ASSERT_TRUE(f.log->Append(TestDrafts(5)).ok());
  const Hash root5 = *f.log->RootAt(5);
  f.store->set_min_free_bytes(uint64_t{1} << 62);  // no disk has that much free
  for (int i = 0; i < 3; ++i) {
    Result<AppendResult> r = f.log->Append(TestDrafts(2));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("disk full"), std::string::npos) << r.status();
  }
  // Concurrent appenders all refused, none left waiting.
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      if (!f.log->Append(TestDrafts(1)).ok()) refused++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 4);
  EXPECT_EQ(f.log->Size(), 5u);
  EXPECT_EQ(*f.log->RootAt(5), root5);
  f.store->set_min_free_bytes(0);  // space is back
  Result<AppendResult> r = f.log->Append(TestDrafts(3));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first_seq, 5u);
  EXPECT_EQ(f.log->Size(), 8u);
  EXPECT_EQ(*f.log->RootAt(8), ReferenceRoot(AllLeafHashes(*f.log)));
  VerifyReport report = *VerifyLog(*f.log);
  EXPECT_TRUE(report.ok) << report.reason;
  f.ReopenStore();  // and what is on disk is exactly that
  EXPECT_EQ(f.log->Size(), 8u);
  EXPECT_TRUE(VerifyLog(*f.log)->ok);
}

TEST(EventLogTest, ConcurrentAppendersAreGroupCommitted) {
  LogFixture f({.checkpoint_interval = 100});
  constexpr int kThreads = 8, kPerThread = 150;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> got(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<AppendResult> r = f.log->Append(TestDrafts(1 + i % 3, "t" + std::to_string(t)));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        for (uint64_t s = 0; s < r->count; ++s) got[t].push_back(r->first_seq + s);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  for (auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), f.log->Size());
  EXPECT_EQ(*all.rbegin() + 1, f.log->Size());
  VerifyReport report = *VerifyLog(*f.log);
  EXPECT_TRUE(report.ok) << report.reason;
}

TEST(EventLogTest, OneFsyncServesManyAppenders) {
  // Hold the first commit until seven more appends are queued behind it: the
  // second group must then carry all seven in a single durable write.
  std::atomic<int> commits{0};
  std::atomic<bool> first_committing{false};
  EventLog* log_ptr = nullptr;
  LogFixture f({.TEST_before_commit = [&] {
    if (commits.fetch_add(1) == 0) {
      first_committing = true;
      // Queued and signed: a queued append still signing would make a third group.
      while (log_ptr->TEST_ReadyAppends() < 8) std::this_thread::yield();
    }
  }});
  log_ptr = f.log.get();
  std::vector<std::thread> threads;
  // The first append is alone in its group; the seven others queue behind it.
  threads.emplace_back([&] { ASSERT_TRUE(f.log->Append(TestDrafts(2)).ok()); });
  while (!first_committing) std::this_thread::yield();
  for (int t = 1; t < 8; ++t) {
    threads.emplace_back([&] { ASSERT_TRUE(f.log->Append(TestDrafts(2)).ok()); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.log->Size(), 16u);
  EXPECT_EQ(f.log->CommittedGroups(), 2u);
  const HistogramSnapshot latency = f.log->CommitLatency();
  EXPECT_EQ(latency.count, 2u);  // one observation per durable commit
  EXPECT_GT(latency.sum, 0.0);
}

TEST(EventLogTest, OnCommitSeesEveryDurableCommitAsCommitLatencyCountsIt) {
  std::atomic<uint64_t> calls{0}, micros{0};
  LogFixture f({.on_commit = [&](int64_t took) {
    EXPECT_GE(took, 0);
    calls++;
    micros += static_cast<uint64_t>(took);
  }});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.log->Size(), 20u);
  EXPECT_EQ(calls.load(), f.log->CommittedGroups());
  const HistogramSnapshot latency = f.log->CommitLatency();
  EXPECT_EQ(latency.count, calls.load());
  EXPECT_DOUBLE_EQ(latency.sum, static_cast<double>(micros.load()) / 1e6);
}

TEST(EventLogTest, AFullDiskRefusesEveryQueuedAppenderAndWakesThemAll) {
  // The first commit is held while seven appends queue behind it; the disk
  // then fills, so its group is refused and every queued appender must be
  // woken with the refusal (none left waiting, none touched after it returns).
  std::atomic<int> commits{0};
  std::atomic<bool> first_committing{false};
  EventLog* log_ptr = nullptr;
  Store* store_ptr = nullptr;
  LogFixture f({.TEST_before_commit = [&] {
    if (commits.fetch_add(1) == 0) {
      first_committing = true;
      while (log_ptr->TEST_ReadyAppends() < 8) std::this_thread::yield();
      store_ptr->set_min_free_bytes(uint64_t{1} << 62);  // no disk has that much free
    }
  }});
  log_ptr = f.log.get();
  store_ptr = f.store.get();
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { refused += f.log->Append(TestDrafts(1)).ok() ? 0 : 1; });
  while (!first_committing) std::this_thread::yield();
  for (int t = 1; t < 8; ++t) {
    threads.emplace_back([&] { refused += f.log->Append(TestDrafts(1)).ok() ? 0 : 1; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 8);
  EXPECT_EQ(f.log->Size(), 0u);
  EXPECT_EQ(f.log->TEST_PendingAppends(), 0u);
  f.store->set_min_free_bytes(0);
  ASSERT_TRUE(f.log->Append(TestDrafts(2)).ok());
  EXPECT_EQ(f.log->Size(), 2u);
  EXPECT_TRUE(VerifyLog(*f.log)->ok);
}

TEST(EventLogTest, BadDraftAppendsNothing) {
  LogFixture f;
  std::vector<EventDraft> drafts = TestDrafts(2);
  drafts.emplace_back();  // kind unset
  Result<AppendResult> r = f.log->Append(std::move(drafts));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.log->Size(), 0u);
  ASSERT_TRUE(f.log->Append(TestDrafts(1)).ok());
  EXPECT_EQ(f.log->Size(), 1u);
  EXPECT_TRUE(VerifyLog(*f.log)->ok);
}

TEST(EventLogTest, KeysAreEnforced) {
  LogFixture f;
  LogSigner stranger = *LogSigner::Generate(f.origin);
  EXPECT_EQ(EventLog::Open(f.store.get(), f.origin, stranger).status().code(),
            StatusCode::kPermissionDenied);
  auto reader = EventLog::Open(f.store.get(), f.origin, std::nullopt);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Append(TestDrafts(1)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(EventLog::Open(f.store.get(), "nope", std::nullopt).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(EventLog::Create(f.store.get(), f.signer.verifier()).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(*EventLog::ListOrigins(f.store.get()), std::vector<std::string>{f.origin});
}

TEST(EventLogTest, TwoLogsInOneStoreStayApart) {
  LogFixture f;
  LogSigner other = *LogSigner::Generate("other.example/log");
  ASSERT_TRUE(EventLog::Create(f.store.get(), other.verifier()).ok());
  auto log2 = std::move(*EventLog::Open(f.store.get(), "other.example/log", other));
  ASSERT_TRUE(f.log->Append(TestDrafts(5)).ok());
  ASSERT_TRUE(log2->Append(TestDrafts(3)).ok());
  f.Reopen();
  EXPECT_EQ(f.log->Size(), 5u);
  EXPECT_EQ(log2->Size(), 3u);
  VerifyReport r1 = *VerifyLog(*f.log), r2 = *VerifyLog(*log2);
  EXPECT_TRUE(r1.ok) << r1.reason;
  EXPECT_TRUE(r2.ok) << r2.reason;
}

// A mirror copy in another store accepts exactly the owner's events, in
// order, and ends with the same tree.
TEST(EventLogTest, MirrorCopyAcceptsOnlyTheOwnersChain) {
  LogFixture owner;
  ASSERT_TRUE(owner.log->Append(TestDrafts(300)).ok());
  ASSERT_TRUE(owner.log->SignCheckpoint().ok());
  std::vector<std::string> events;
  ASSERT_TRUE(owner.log
                  ->ForEach(0, 300,
                            [&](uint64_t, std::string_view b) {
                              events.emplace_back(b);
                              return Status::Ok();
                            })
                  .ok());
  testing::TempDir dir;
  auto store = std::move(*Store::Open(dir.path() + "/s", StoreOptions{.create_if_missing = true}));
  ASSERT_TRUE(EventLog::Create(store.get(), owner.signer.verifier()).ok());
  auto copy = std::move(*EventLog::Open(store.get(), owner.origin, std::nullopt));
  auto slice = [&](size_t a, size_t b) {
    return std::vector<std::string>(events.begin() + a, events.begin() + b);
  };
  // A gap, a replay, a flipped byte and a foreign log are refused whole.
  EXPECT_FALSE(copy->AppendVerified(slice(1, 10)).ok());
  std::vector<std::string> flipped = slice(0, 10);
  flipped[7][flipped[7].size() - 3] ^= 1;
  EXPECT_FALSE(copy->AppendVerified(flipped).ok());
  EXPECT_EQ(copy->Size(), 0u);
  ASSERT_TRUE(copy->AppendVerified(slice(0, 100)).ok());
  EXPECT_FALSE(copy->AppendVerified(slice(50, 120)).ok());
  LogFixture stranger({}, owner.origin);
  ASSERT_TRUE(stranger.log->Append(TestDrafts(101)).ok());
  std::string foreign = *stranger.log->ReadSignedEvent(100);
  EXPECT_FALSE(copy->AppendVerified({foreign}).ok());
  ASSERT_TRUE(copy->AppendVerified(slice(100, 300)).ok());
  EXPECT_EQ(*copy->RootAt(300), *owner.log->RootAt(300));
  // Checkpoints: the owner's is stored, a stranger's is refused.
  EXPECT_TRUE(copy->StoreCheckpoint(*owner.log->LatestCheckpoint()).ok());
  EXPECT_FALSE(copy->StoreCheckpoint(*stranger.log->SignCheckpoint()).ok());
  EXPECT_FALSE(copy->Append(TestDrafts(1)).ok());
  VerifyReport r = *VerifyLog(*copy);
  EXPECT_TRUE(r.ok) << r.reason;
  // The copy is bound to the owner's key: a stranger of the same name is refused.
  copy.reset();
  EXPECT_TRUE(EventLog::OpenCopy(store.get(), owner.signer.verifier()).ok());
  Result<std::unique_ptr<EventLog>> wrong = EventLog::OpenCopy(store.get(), stranger.signer.verifier());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  // The owner cannot import into its own log.
  EXPECT_FALSE(owner.log->AppendVerified(slice(0, 1)).ok());
}

}  // namespace
}  // namespace mirrorca::log
