// Replication under network faults: a fault-injecting TCP proxy sits
// between the factory and HQ (real TLS on 127.0.0.1). For 120 randomized
// rounds — drops, cuts mid-frame, delays, a flipped byte, a duplicated
// chunk, a stalled stream, in either direction, while both logs grow — each
// round either completes or fails cleanly, and after every round both
// copies are exact prefixes of their source (nothing applied twice, nothing
// out of order). Fault-free rounds then converge both ways to the same
// verified state.
#include <gtest/gtest.h>

#include <random>

#include "log/checkpoint.h"
#include "log/event_codec.h"
#include "log/log_verification.h"
#include "replication/test_sync.h"
#include "tests/fault_proxy.h"

namespace mirrorca {
namespace {

using replication::testing::Pair;
using testing::FaultPlan;
using testing::FaultProxy;

constexpr int kRounds = 120;

// A copy is an exact prefix of its source: same root at its size. The size
// is read once: after a failed round HQ may still be applying the rest of a
// cut session, so the copy can grow while this runs.
void ExpectPrefix(log::EventLog& copy, log::EventLog& source, const std::string& what) {
  const uint64_t size = copy.Size();
  ASSERT_LE(size, source.Size()) << what;
  if (size == 0) return;
  auto a = copy.RootAt(size);
  auto b = source.RootAt(size);
  ASSERT_TRUE(a.ok() && b.ok()) << what;
  ASSERT_EQ(*a, *b) << what << ": copy of size " << size << " is not a prefix";
}

bool Verifies(log::EventLog& l) {
  auto r = log::VerifyLog(l);
  return r.ok() && r->ok;
}

TEST(SyncFaultTest, RandomizedFaultsConvergeOrFailCleanly) {
  Pair p;
  p.StopHq();
  p.StartHq(std::chrono::milliseconds(1000));
  FaultProxy proxy(p.server->port());
  std::mt19937_64 rng(20261124);
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  int ok = 0, failed = 0;
  std::map<std::string, int> by_fault;
  for (int round = 0; round < kRounds; ++round) {
    if (rng() % 4 != 0) p.a->Append(rng() % 300, "r" + std::to_string(round) + "-");
    const uint64_t pending = p.a->log->Size() - copy->Size();
    if (rng() % 3 == 0) p.hq->Append(1 + rng() % 5, "hq" + std::to_string(round) + "-");
    FaultPlan plan;
    plan.kind = static_cast<FaultPlan::Kind>(rng() % 7);
    plan.direction = static_cast<int>(rng() % 2);
    // Strike somewhere in this round's bytes: handshake, hello, offer or a package.
    plan.at_byte = rng() % (3000 + pending * (plan.direction == 0 ? 150 : 20));
    plan.delay_ms = 1 + static_cast<int>(rng() % 20);
    proxy.SetPlan(plan);
    auto r = p.Round(*p.a, "factory-a", proxy.port());
    if (r.ok()) {
      ++ok;
      // A completed round means HQ durably holds and cosigned what was offered.
      EXPECT_EQ(r->cosigned_size, r->factory_size);
      EXPECT_GE(copy->Size(), r->factory_size);
    } else {
      ++failed;
    }
    by_fault[plan.Name().substr(0, plan.Name().find('@')) + (r.ok() ? ":ok" : ":failed")]++;
    ExpectPrefix(*copy, *p.a->log, "round " + std::to_string(round) + " HQ copy (" + plan.Name() + ")");
    ExpectPrefix(*p.a->peer_copy, *p.hq->log,
                 "round " + std::to_string(round) + " factory copy (" + plan.Name() + ")");
    if (round % 30 == 29) {
      EXPECT_TRUE(Verifies(*copy)) << "round " << round;
      EXPECT_TRUE(Verifies(*p.a->peer_copy)) << "round " << round;
    }
  }
  // Converge with the faults off (HQ may still be finishing a cut session).
  proxy.SetPlan({});
  bool converged = false;
  for (int i = 0; i < 100 && !converged; ++i) {
    auto r = p.Round(*p.a, "factory-a", proxy.port());
    converged = r.ok() && copy->Size() == p.a->log->Size() &&
                p.a->peer_copy->Size() == p.hq->log->Size();
    if (!converged) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(converged);
  EXPECT_EQ(*copy->RootAt(copy->Size()), *p.a->log->RootAt(copy->Size()));
  EXPECT_TRUE(Verifies(*copy));
  EXPECT_TRUE(Verifies(*p.a->peer_copy));
  // HQ cosigned each factory size at most once: no checkpoint applied twice.
  std::vector<uint64_t> cosigned;
  ASSERT_TRUE(p.hq->log->ForEach(0, p.hq->log->Size(), [&](uint64_t, std::string_view b) -> Status {
                auto e = log::ParsedEvent::Parse(AsBytes(b));
                if (!e.ok()) return e.status();
                if (e->event().getKind().isCheckpointCosigned()) {
                  cosigned.push_back(e->event().getKind().getCheckpointCosigned().getTreeSize());
                }
                EXPECT_FALSE(e->event().getKind().isLogAnomaly()) << "a network fault is not a divergence";
                return Status::Ok();
              }).ok());
  for (size_t i = 1; i < cosigned.size(); ++i) EXPECT_LT(cosigned[i - 1], cosigned[i]);
  std::string summary;
  for (auto& [k, v] : by_fault) summary += k + "=" + std::to_string(v) + " ";
  std::cout << "rounds ok=" << ok << " failed=" << failed << " | " << summary << "\n";
  EXPECT_GT(ok, kRounds / 5);
  EXPECT_GT(failed, kRounds / 5);
}

}  // namespace
}  // namespace mirrorca
