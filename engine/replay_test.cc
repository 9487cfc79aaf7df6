// Replay against a randomized history with known instants: issuances in a
// factory log, revocations, holds and releases and cosignatures ("syncs") in
// HQ's log, on a simulated clock. For 1,000 random (serial, instant) pairs
// the replayed status equals what the history says held at that instant;
// so do HQ's cosigned sizes and a batch's counts.
#include "engine/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base/mem_env.h"
#include "log/cosignature.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine {
namespace {

struct Truth {
  int64_t time;
  std::map<int, std::pair<std::string, int>> state;  // serial index -> (state, reason)
  uint64_t cosigned;
};

Bytes SerialOf(int i) { return Bytes{0x42, static_cast<uint8_t>(i)}; }

TEST(ReplayTest, PointInTimeAnswersMatchARandomizedHistory) {
  MemEnv clock;
  clock.SetNowMicros(int64_t{1790000000} * 1000000);
  log::testing::LogFixture hq({.env = &clock}, "hq.example/log");
  log::LogSigner factory_signer = *log::LogSigner::Generate("factory.example/log");
  ASSERT_TRUE(log::EventLog::Create(hq.store.get(), factory_signer.verifier()).ok());
  auto factory = std::move(*log::EventLog::Open(hq.store.get(), "factory.example/log", factory_signer,
                                                {.env = &clock}));
  const Bytes ca(32, 3);
  auto append = [](log::EventLog& l, log::EventDraft d) {
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    ASSERT_TRUE(l.Append(std::move(v)).ok());
  };

  std::mt19937_64 rng(2026);
  std::vector<Truth> history;
  std::map<int, std::pair<std::string, int>> now;
  uint64_t cosigned = 0;
  int next_serial = 0;
  const int64_t start = clock.NowMicros();
  for (int step = 0; step < 400; ++step) {
    clock.AdvanceMicros(1 + static_cast<int64_t>(rng() % 5000));
    const int action = static_cast<int>(rng() % 10);
    std::vector<int> good, held;
    for (const auto& [i, s] : now) {
      if (s.first == "good") good.push_back(i);
      if (s.first == "on_hold") held.push_back(i);
    }
    if (action < 4 && next_serial < 120) {  // issue
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateIssued();
      const Bytes serial = SerialOf(next_serial);
      c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setBatchId(next_serial % 2 == 0 ? "B-even" : "B-odd");
      c.setDeviceSerial("dev" + std::to_string(next_serial));
      append(*factory, std::move(d));
      now[next_serial++] = {"good", 0};
    } else if (action < 8 && (!good.empty() || !held.empty())) {  // revoke, hold or release
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateRevoked();
      int target;
      const bool release = action == 7 && !held.empty();
      if (release) {
        target = held[rng() % held.size()];
        c.setRelease(true);
        now[target] = {"good", 0};
      } else if (!good.empty()) {
        target = good[rng() % good.size()];
        const int reason = action == 6 ? 6 : 1 + static_cast<int>(rng() % 5);
        c.setReason(static_cast<log::schema::RevocationReason>(reason));
        c.setRevocationTime(clock.NowMicros());
        now[target] = {reason == 6 ? "on_hold" : "revoked", reason};
      } else {
        continue;
      }
      const Bytes serial = SerialOf(target);
      c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      append(*hq.log, std::move(d));
    } else if (factory->Size() > cosigned) {  // a sync: HQ cosigns the factory's checkpoint
      std::string note = *factory->SignCheckpoint();
      log::EventDraft d;
      auto c = d.event().getKind().initCheckpointCosigned();
      c.setLogId("factory.example/log");
      c.setTreeSize(factory->Size());
      c.setCosignedNote(*log::Cosign(note, hq.signer, static_cast<uint64_t>(clock.NowMicros() / 1000000)));
      append(*hq.log, std::move(d));
      cosigned = factory->Size();
    } else {
      continue;
    }
    history.push_back({clock.NowMicros(), now, cosigned});
  }
  const int64_t end = clock.NowMicros();
  factory.reset();
  hq.log.reset();
  ASSERT_GT(history.size(), 200u);

  auto truth_at = [&](int64_t t) -> const Truth* {
    const Truth* found = nullptr;
    for (const Truth& h : history) {
      if (h.time <= t) found = &h;
    }
    return found;
  };
  size_t revoked_seen = 0, held_seen = 0, unknown_seen = 0;
  for (int k = 0; k < 1000; ++k) {
    const int64_t t = start - 100 + static_cast<int64_t>(rng() % static_cast<uint64_t>(end - start + 200));
    const int serial = static_cast<int>(rng() % static_cast<uint64_t>(next_serial));
    Result<ReplayAnswer> a = Replay(hq.dir.path(), {.at = t, .serial = SerialOf(serial)});
    ASSERT_TRUE(a.ok()) << a.status();
    const Truth* h = truth_at(t);
    std::string want_state = "unknown";
    int want_reason = 0;
    if (h != nullptr && h->state.count(serial)) std::tie(want_state, want_reason) = h->state.at(serial);
    ASSERT_TRUE(a->certificate.has_value());
    EXPECT_EQ(a->certificate->state, want_state) << "serial " << serial << " at " << t;
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
      EXPECT_EQ(a->certificate->signed_by + "+", factory_signer.verifier().VerifierKey().substr(
                                                     0, a->certificate->signed_by.size() + 1));
      EXPECT_EQ(std::count(a->certificate->signed_by.begin(), a->certificate->signed_by.end(), '+'), 1);
    }
    held_seen += want_state == "on_hold";
    unknown_seen += want_state == "unknown";
  }
  EXPECT_GT(revoked_seen, 50u);  // the draw covered every kind of answer
  EXPECT_GT(held_seen, 5u);
  EXPECT_GT(unknown_seen, 20u);

  // A batch's counts at the end equal the history's.
  Result<ReplayAnswer> b = Replay(hq.dir.path(), {.at = end, .batch = "B-even"});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->batch.has_value());
  uint64_t issued = 0, revoked = 0, held = 0;
  for (const auto& [i, s] : history.back().state) {
    if (i % 2 != 0) continue;
    ++issued;
    revoked += s.first == "revoked";
    held += s.first == "on_hold";
  }
  EXPECT_EQ(b->batch->issued, issued);
  EXPECT_EQ(b->batch->revoked, revoked);
  EXPECT_EQ(b->batch->on_hold, held);
}

}  // namespace
}  // namespace mirrorca::engine
