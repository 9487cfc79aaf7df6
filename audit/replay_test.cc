// Replay against a randomized history with known instants: issuances in a
// factory log, revocations, holds and releases and cosignatures ("syncs") in
// HQ's log, on a simulated clock. For 1,000 random (serial, instant) pairs
// the replayed status equals what the history says held at that instant;
// so do HQ's cosigned sizes and a batch's counts. Each check runs on the
// linear replay and on the replay index (complete, behind the logs, rebuilt
// after its logs changed, and with snapshots that a late log invalidates).
#include "audit/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "base/mem_env.h"
#include "audit/replay_index.h"
#include "audit/store_logs.h"
#include "engine/test_logs.h"
#include "log/cosignature.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::audit {
namespace {

struct Truth {
  int64_t time;
  std::map<int, std::pair<std::string, int>> state;  // serial index -> (state, reason)
  uint64_t cosigned;
};

Bytes SerialOf(int i) { return Bytes{0x42, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}; }

void AppendOne(log::EventLog& l, log::EventDraft d) {
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  ASSERT_TRUE(l.Append(std::move(v)).ok());
}

// History appends random steps and records the truth after each.
class History {
 public:
  History() {
    clock_.SetNowMicros(int64_t{1790000000} * 1000000);
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), factory_signer.verifier()).ok());
    factory = std::move(*log::EventLog::Open(hq.store.get(), "factory.example/log", factory_signer,
                                             {.env = &clock_}));
    ca_ = engine::testing::RegisterTestFactory(*hq.log, factory_signer.verifier().VerifierKey(), "F", {"B-even", "B-odd"});
    start = clock_.NowMicros();
  }

  void Run(int steps, int max_serials) {
    for (int step = 0; step < steps; ++step) {
      clock_.AdvanceMicros(1 + static_cast<int64_t>(rng() % 5000));
      const int action = static_cast<int>(rng() % 10);
      std::vector<int> good, held;
      for (const auto& [i, s] : now_) {
        if (s.first == "good") good.push_back(i);
        if (s.first == "on_hold") held.push_back(i);
      }
      if (action < 4 && next_serial < max_serials) {  // issue
        log::EventDraft d;
        auto c = d.event().getKind().initCertificateIssued();
        const Bytes serial = SerialOf(next_serial);
        c.setCaId(capnp::Data::Reader(ca_.data(), ca_.size()));
        c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
        c.setBatchId(next_serial % 2 == 0 ? "B-even" : "B-odd");
        c.setDeviceSerial("dev" + std::to_string(next_serial));
        AppendOne(*factory, std::move(d));
        now_[next_serial++] = {"good", 0};
      } else if (action < 8 && (!good.empty() || !held.empty())) {  // revoke, hold or release
        log::EventDraft d;
        auto c = d.event().getKind().initCertificateRevoked();
        int target;
        const bool release = action == 7 && !held.empty();
        if (release) {
          target = held[rng() % held.size()];
          c.setRelease(true);
          now_[target] = {"good", 0};
        } else if (!good.empty()) {
          target = good[rng() % good.size()];
          const int reason = action == 6 ? 6 : 1 + static_cast<int>(rng() % 5);
          c.setReason(static_cast<log::schema::RevocationReason>(reason));
          c.setRevocationTime(clock_.NowMicros());
          now_[target] = {reason == 6 ? "on_hold" : "revoked", reason};
        } else {
          continue;
        }
        const Bytes serial = SerialOf(target);
        c.setCaId(capnp::Data::Reader(ca_.data(), ca_.size()));
        c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
        AppendOne(*hq.log, std::move(d));
      } else if (factory->Size() > cosigned_) {  // a sync: HQ cosigns the factory's checkpoint
        std::string note = *factory->SignCheckpoint();
        log::EventDraft d;
        auto c = d.event().getKind().initCheckpointCosigned();
        c.setLogId("factory.example/log");
        c.setTreeSize(factory->Size());
        c.setCosignedNote(*log::Cosign(note, hq.signer, static_cast<uint64_t>(clock_.NowMicros() / 1000000)));
        AppendOne(*hq.log, std::move(d));
        cosigned_ = factory->Size();
      } else {
        continue;
      }
      truth.push_back({clock_.NowMicros(), now_, cosigned_});
    }
    end = clock_.NowMicros();
  }

  const Truth* At(int64_t t) const {
    const Truth* found = nullptr;
    for (const Truth& h : truth) {
      if (h.time <= t) found = &h;
    }
    return found;
  }

  // Check asks `samples` random (serial, instant) pairs and both batches at
  // random instants; `method` is what the answers must say they used.
  void Check(int samples, const ReplayOptions& o, const std::string& method) {
    size_t revoked_seen = 0, held_seen = 0, unknown_seen = 0;
    for (int k = 0; k < samples; ++k) {
      const int64_t t = start - 100 + static_cast<int64_t>(rng() % static_cast<uint64_t>(end - start + 200));
      const int serial = static_cast<int>(rng() % static_cast<uint64_t>(next_serial));
      Result<ReplayAnswer> a = Replay(hq.dir.path(), {.at = t, .serial = SerialOf(serial)}, o);
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_EQ(a->method, method) << a->note;
      const Truth* h = At(t);
      std::string want_state = "unknown";
      int want_reason = 0;
      if (h != nullptr && h->state.count(serial)) std::tie(want_state, want_reason) = h->state.at(serial);
      ASSERT_TRUE(a->certificate.has_value());
      ASSERT_EQ(a->certificate->state, want_state) << "serial " << serial << " at " << t;
      EXPECT_EQ(a->certificate->reason, want_reason) << "serial " << serial << " at " << t;
      EXPECT_EQ(a->cosigned.count("factory.example/log") ? a->cosigned.at("factory.example/log") : 0,
                h ? h->cosigned : 0)
          << t;
      if (want_state == "revoked") {
        ++revoked_seen;
        EXPECT_EQ(a->certificate->revoked_in, "hq.example/log");
      }
      if (want_state != "unknown") {
        EXPECT_EQ(a->certificate->issued_in, "factory.example/log");
        EXPECT_EQ(a->certificate->device_serial, "dev" + std::to_string(serial));
        EXPECT_EQ(a->certificate->signed_by + "+", factory_signer.verifier().VerifierKey().substr(
                                                       0, a->certificate->signed_by.size() + 1));
        EXPECT_EQ(std::count(a->certificate->signed_by.begin(), a->certificate->signed_by.end(), '+'), 1);
      }
      held_seen += want_state == "on_hold";
      unknown_seen += want_state == "unknown";
    }
    if (samples >= 1000) {
      EXPECT_GT(revoked_seen, 50u);  // the draw covered every kind of answer
      EXPECT_GT(held_seen, 5u);
      EXPECT_GT(unknown_seen, 20u);
    }
    // A batch's counts at random instants equal the history's.
    for (int k = 0; k < 40; ++k) {
      const int64_t t = k == 0 ? end : start + static_cast<int64_t>(rng() % static_cast<uint64_t>(end - start));
      const int parity = k % 2;
      Result<ReplayAnswer> b = Replay(hq.dir.path(), {.at = t, .batch = parity ? "F/B-odd" : "F/B-even"}, o);
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_TRUE(b->batch.has_value());
      uint64_t issued = 0, revoked = 0, held = 0;
      if (const Truth* h = At(t)) {
        for (const auto& [i, s] : h->state) {
          if (i % 2 != parity) continue;
          ++issued;
          revoked += s.first == "revoked";
          held += s.first == "on_hold";
        }
      }
      EXPECT_EQ(b->batch->issued, issued) << t;
      EXPECT_EQ(b->batch->revoked, revoked) << t;
      EXPECT_EQ(b->batch->on_hold, held) << t;
    }
  }

  Result<ReplayIndexStats> BuildIndex(uint64_t every, const std::string& dir) {
    Result<StoreLogs> logs = OpenStoreLogs(hq.dir.path());
    if (!logs.ok()) return logs.status();
    return BuildReplayIndex(*logs, dir, {.every = every});
  }

  MemEnv clock_;  // before the logs that read it
  std::mt19937_64 rng{2026};
  log::testing::LogFixture hq{{.env = &clock_}, "hq.example/log"};
  log::LogSigner factory_signer = *log::LogSigner::Generate("factory.example/log");
  std::unique_ptr<log::EventLog> factory;
  std::vector<Truth> truth;
  int next_serial = 0;
  int64_t start = 0, end = 0;

 private:
  Bytes ca_;  // the registered factory's CA
  std::map<int, std::pair<std::string, int>> now_;
  uint64_t cosigned_ = 0;
};

TEST(ReplayTest, PointInTimeAnswersMatchARandomizedHistory) {
  History h;
  h.Run(400, 120);
  ASSERT_GT(h.truth.size(), 200u);
  h.Check(1000, {.use_index = false}, "linear");
}

TEST(ReplayTest, IndexedAnswersMatchTheHistory) {
  History h;
  h.Run(400, 120);
  const std::string dir = h.hq.dir.path() + "/audit-index";
  Result<ReplayIndexStats> st = h.BuildIndex(7, dir);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_GT(st->snapshots, 20u);
  EXPECT_FALSE(st->rebuilt);
  h.Check(1000, {}, "index");  // the default directory is found
  // A second build has nothing new to index.
  st = h.BuildIndex(7, dir);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->events_indexed, 0u);
}

TEST(ReplayTest, AnIndexBehindTheLogsReplaysTheRestAndCatchesUp) {
  History h;
  h.Run(300, 90);
  const std::string dir = h.hq.dir.path() + "/idx";
  ASSERT_TRUE(h.BuildIndex(5, dir).ok());
  h.Run(300, 180);  // more events than the index has seen
  h.Check(200, {.index_dir = dir}, "index");
  Result<ReplayAnswer> a = Replay(h.hq.dir.path(), {.at = h.end, .serial = SerialOf(0)}, {.index_dir = dir});
  ASSERT_TRUE(a.ok());
  EXPECT_GT(a->unindexed_events, 0u);
  Result<ReplayIndexStats> st = h.BuildIndex(5, dir);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_GT(st->events_indexed, 0u);
  a = Replay(h.hq.dir.path(), {.at = h.end, .serial = SerialOf(0)}, {.index_dir = dir});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->unindexed_events, 0u);
  h.Check(200, {.index_dir = dir}, "index");
}

TEST(ReplayTest, AnIndexOfOtherLogsIsNotUsedAndIsRebuilt) {
  History other;
  other.Run(100, 30);
  const std::string dir = other.hq.dir.path() + "/idx";
  ASSERT_TRUE(other.BuildIndex(5, dir).ok());

  History h;  // other keys, other events
  h.Run(200, 60);
  Result<ReplayAnswer> a = Replay(h.hq.dir.path(), {.at = h.end, .serial = SerialOf(1)}, {.index_dir = dir});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->method, "linear");
  EXPECT_NE(a->note.find("another copy"), std::string::npos) << a->note;
  Result<ReplayIndexStats> st = h.BuildIndex(5, dir);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->rebuilt);
  h.Check(200, {.index_dir = dir}, "index");
}

TEST(ReplayTest, SnapshotsALateLogContradictsAreNotUsed) {
  History h;
  h.Run(300, 90);
  const std::string dir = h.hq.dir.path() + "/idx";
  ASSERT_TRUE(h.BuildIndex(5, dir).ok());
  // A second factory is registered, with a batch of the same name (its own:
  // L/B-even), and its copy appears holding a rejection dated at the start of
  // the history: every snapshot misses it.
  log::LogSigner late = *log::LogSigner::Generate("late.example/log");
  ASSERT_TRUE(log::EventLog::Create(h.hq.store.get(), late.verifier()).ok());
  engine::testing::RegisterTestFactory(*h.hq.log, late.verifier().VerifierKey(), "L", {"B-even"});
  MemEnv old_clock;
  old_clock.SetNowMicros(h.start + 1);
  auto l = std::move(*log::EventLog::Open(h.hq.store.get(), "late.example/log", late, {.env = &old_clock}));
  log::EventDraft d;
  auto r = d.event().getKind().initIssuanceRejected();
  r.setBatchId("B-even");
  r.setReason(log::schema::RejectionReason::QUOTA_EXHAUSTED);
  AppendOne(*l, std::move(d));
  auto ask = [&] {
    return Replay(h.hq.dir.path(), {.at = h.end, .batch = "L/B-even"}, {.index_dir = dir});
  };
  Result<ReplayAnswer> linear = Replay(h.hq.dir.path(), {.at = h.end, .batch = "L/B-even"}, {.use_index = false});
  ASSERT_TRUE(linear.ok());
  EXPECT_EQ(linear->batch->rejected, 1u);
  Result<ReplayAnswer> a = ask();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->method, "index");
  EXPECT_EQ(a->snapshot_time, 0);  // no snapshot holds
  EXPECT_EQ(a->batch->rejected, 1u);
  EXPECT_EQ(a->batch->issued, linear->batch->issued);
  EXPECT_EQ(a->batch->revoked, linear->batch->revoked);
  // Snapshots are cut before every log's last event: the late log goes on.
  old_clock.SetNowMicros(h.end);
  log::EventDraft later;
  later.event().getKind().initTestEvent().setNote("later");
  AppendOne(*l, std::move(later));
  Result<ReplayIndexStats> st = h.BuildIndex(5, dir);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_GT(st->snapshots_dropped, 0u);
  EXPECT_GT(st->snapshots, 0u);
  a = ask();
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->snapshot_time, 0);
  EXPECT_EQ(a->batch->rejected, 1u);
  EXPECT_EQ(a->batch->on_hold, linear->batch->on_hold);
}

}  // namespace
}  // namespace mirrorca::audit
