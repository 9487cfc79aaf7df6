// Log recovery over real TLS on 127.0.0.1: a factory that lost its store
// gets its log back from HQ's copy and continues it (HQ accepts the next
// round: same log, no fork); a factory may recover only its own log; a
// copy that is not a prefix of HQ's is refused and nothing is stored.
#include "replication/log_recovery.h"

#include <gtest/gtest.h>

#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Node;
using testing::Pair;

Result<RecoveryResult> Recover(Pair& p, log::EventLog& own, const std::string& identity,
                               std::optional<Refused>* refused = nullptr) {
  auto ctx = net::ClientContext(p.tls.Identity(identity), {p.hq_spki});
  if (!ctx.ok()) return ctx.status();
  auto ch = TlsChannel::Connect("127.0.0.1", p.server->port(), *ctx, std::chrono::milliseconds(5000));
  if (!ch.ok()) return ch.status();
  Result<RecoveryResult> r = RecoverOwnLog(**ch, own, refused);
  (*ch)->Close();
  return r;
}

TEST(LogRecoveryTest, ALostStoreComesBackAndContinuesTheSameLog) {
  Pair p;
  p.a->Append(250, "before-");
  ASSERT_TRUE(p.Round(*p.a).ok());
  // The disk is lost: a new store, the same key, nothing else.
  Node fresh(p.a_signer, &p.hq_signer.verifier());
  fresh.log.reset();
  auto copy = log::EventLog::OpenCopy(fresh.store.get(), p.a_signer.verifier());
  ASSERT_TRUE(copy.ok()) << copy.status();
  auto r = Recover(p, **copy, "factory-a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->held_before, 0u);
  EXPECT_EQ(r->hq_size, 250u);
  EXPECT_EQ(r->events_received, 250u);
  EXPECT_EQ(*(*copy)->RootAt(250), *p.a->log->RootAt(250));
  // Reopened with its key, it continues at 250 and HQ accepts the round.
  copy->reset();
  fresh.Reopen(&p.hq_signer.verifier());
  ASSERT_EQ(fresh.log->Size(), 250u);
  fresh.Append(10, "after-");
  auto round = p.Round(fresh);
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(round->cosigned_size, 260u);
  // HQ recorded the recovery in its log.
  bool recorded = false;
  ASSERT_TRUE(p.hq->log->ForEach(0, p.hq->log->Size(), [&](uint64_t, std::string_view b) -> Status {
                auto e = log::ParsedEvent::Parse(AsBytes(b));
                if (e.ok() && e->event().getKind().isSyncSession() &&
                    std::string(e->event().getKind().getSyncSession().getDirection().cStr()) == "recovery") {
                  recorded = true;
                }
                return Status::Ok();
              }).ok());
  EXPECT_TRUE(recorded);
}

TEST(LogRecoveryTest, HoldingAsMuchAsHqTransfersNothing) {
  Pair p;
  p.a->Append(40);
  ASSERT_TRUE(p.Round(*p.a).ok());
  p.a->Append(5);  // more than HQ holds: nothing to recover
  auto r = Recover(p, *p.a->log, "factory-a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->events_received, 0u);
  EXPECT_EQ(r->size_after, 45u);
}

TEST(LogRecoveryTest, AFactoryMayRecoverOnlyItsOwnLog) {
  Pair p;
  p.a->Append(30);
  ASSERT_TRUE(p.Round(*p.a).ok());
  Node thief(p.b_signer, nullptr);
  thief.log.reset();
  auto copy = log::EventLog::OpenCopy(thief.store.get(), p.a_signer.verifier());
  ASSERT_TRUE(copy.ok());
  std::optional<Refused> refused;
  auto r = Recover(p, **copy, "factory-b", &refused);
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, RefusalKind::kIdentity);
  EXPECT_EQ((*copy)->Size(), 0u);
}

TEST(LogRecoveryTest, ACopyThatIsNotAPrefixIsRefused) {
  Pair p;
  p.a->Append(60, "real-");
  ASSERT_TRUE(p.Round(*p.a).ok());
  // A store holding 20 other events under the same key (a fork).
  Node forked(p.a_signer, nullptr);
  forked.Append(20, "forked-");
  forked.log.reset();
  auto copy = log::EventLog::OpenCopy(forked.store.get(), p.a_signer.verifier());
  ASSERT_TRUE(copy.ok());
  std::optional<Refused> refused;
  auto r = Recover(p, **copy, "factory-a", &refused);
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ((*copy)->Size(), 20u) << "nothing stored from a log the held one is not a prefix of";
}

}  // namespace
}  // namespace mirrorca::replication
