// Sync sessions over real TLS on 127.0.0.1: both directions, cosignatures,
// resumption, divergence refusals with evidence, identity binding, garbage.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <thread>

#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/event_codec.h"
#include "log/log_verification.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Node;
using testing::Pair;

bool Verifies(log::EventLog& l) {
  auto r = log::VerifyLog(l);
  return r.ok() && r->ok;
}

// From the first event after HQ's factory registrations by default.
std::vector<std::string> EventKinds(log::EventLog& l, uint64_t from = Pair::kRegistrations) {
  std::vector<std::string> out;
  EXPECT_TRUE(l.ForEach(from, l.Size(), [&](uint64_t, std::string_view b) -> Status {
                 auto e = log::ParsedEvent::Parse(AsBytes(b));
                 if (!e.ok()) return e.status();
                 auto k = e->event().getKind();
                 out.push_back(k.isCheckpointCosigned() ? "cosigned"
                               : k.isSyncSession()      ? "session"
                               : k.isLogAnomaly()       ? std::string("anomaly:") +
                                                         k.getLogAnomaly().getKind().cStr()
                                                        : "other");
                 return Status::Ok();
               }).ok());
  return out;
}

TEST(SyncTest, BothDirectionsCosignedAndIdle) {
  Pair p;
  p.a->Append(1234);
  p.hq->Append(7, "hq");
  auto r = p.Round(*p.a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->events_sent, 1234u);
  EXPECT_EQ(r->cosigned_size, 1234u);
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  EXPECT_EQ(copy->Size(), 1234u);
  EXPECT_EQ(*copy->RootAt(1234), *p.a->log->RootAt(1234));
  EXPECT_TRUE(Verifies(*copy));
  // HQ recorded the cosignature and the session before sending its log.
  EXPECT_EQ(EventKinds(*p.hq->log, Pair::kRegistrations + 7), (std::vector<std::string>{"cosigned", "session"}));
  EXPECT_EQ(p.a->peer_copy->Size(), Pair::kRegistrations + 9);
  EXPECT_EQ(r->events_received, Pair::kRegistrations + 9);
  EXPECT_TRUE(Verifies(*p.a->peer_copy));
  // The factory stored HQ's cosigned checkpoint: proof of what HQ holds.
  auto latest = p.a->log->LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(log::VerifyCosignature(*latest, p.hq_signer.verifier()).ok());

  // Idle: nothing new either way; HQ writes nothing.
  auto idle = p.Round(*p.a);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->events_sent, 0u);
  EXPECT_EQ(idle->events_received, 0u);
  EXPECT_EQ(p.hq->log->Size(), Pair::kRegistrations + 9);

  // More events: only the new ones travel.
  p.a->Append(50, "more");
  auto more = p.Round(*p.a);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->events_sent, 50u);
  EXPECT_EQ(copy->Size(), 1284u);
  EXPECT_EQ(more->events_received, 2u);
}

// A channel that fails after `budget` sends (or `receives` receives): the
// connection cut mid-transfer.
class CutChannel final : public FrameChannel {
 public:
  CutChannel(FrameChannel* inner, int budget, int receives = 1 << 30)
      : inner_(inner), budget_(budget), receives_(receives) {}
  Status Send(capnp::MessageBuilder& m) override {
    if (budget_-- <= 0) return Status::Unavailable("cut");
    return inner_->Send(m);
  }
  Result<std::unique_ptr<Frame>> Receive() override {
    if (receives_-- <= 0) return Status::Unavailable("cut");
    return inner_->Receive();
  }

 private:
  FrameChannel* inner_;
  int budget_;
  int receives_;
};

// The Cosigned answer is lost: the next round must not cosign (or record)
// the same checkpoint a second time.
TEST(SyncTest, LostCosignatureIsNotRepeated) {
  Pair p;
  p.a->Append(100);
  {
    auto ctx = net::ClientContext(p.tls.Identity("factory-a"), {p.hq_spki});
    ASSERT_TRUE(ctx.ok());
    auto ch = TlsChannel::Connect("127.0.0.1", p.server->port(), *ctx, std::chrono::seconds(5));
    ASSERT_TRUE(ch.ok());
    CutChannel cut(ch->get(), 1 << 30, /*receives=*/1);  // HQ's Hello only
    FactorySync fs(p.a->log.get(), p.a->peer_copy.get());
    EXPECT_FALSE(fs.Round(cut).ok());
    (*ch)->Close();
  }
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  for (int i = 0; i < 100 && p.hq->log->Size() < Pair::kRegistrations + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(copy->Size(), 100u);
  ASSERT_EQ(EventKinds(*p.hq->log), (std::vector<std::string>{"cosigned", "session"}));
  Result<RoundResult> r = Status::Unavailable("");
  for (int i = 0; i < 50 && !r.ok(); ++i) {
    r = p.Round(*p.a);
    if (!r.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cosigned_size, 100u);
  EXPECT_EQ(EventKinds(*p.hq->log), (std::vector<std::string>{"cosigned", "session"}));
}

// The factory rotates its log key between two rounds: HQ's copy follows the
// chain of keys from the key it pinned, and cosigns the checkpoint signed by
// the new key (which HQ can only check once the rotation event arrived).
TEST(SyncTest, AKeyRotationBetweenRoundsIsFollowed) {
  Pair p;
  p.a->Append(100);
  ASSERT_TRUE(p.Round(*p.a).ok());
  log::LogSigner next = testing::NewSigner(p.a_signer.name());
  ASSERT_TRUE(p.a->log->RotateKey(next, "test").ok());
  p.a->Append(50);
  Result<RoundResult> r = p.Round(*p.a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cosigned_size, 151u);
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  EXPECT_EQ(copy->Size(), 151u);
  EXPECT_EQ(copy->keys()->current().VerifierKey(), next.verifier().VerifierKey());
  EXPECT_TRUE(Verifies(*copy));
  // A checkpoint of the rotated log verifies only along the chain.
  std::string cp = *copy->LatestCheckpoint();
  EXPECT_FALSE(log::OpenCheckpoint(cp, p.a_signer.verifier()).ok());
  EXPECT_TRUE(log::OpenCheckpoint(cp, *copy->keys()).ok());
  EXPECT_TRUE(log::VerifyCosignature(cp, p.hq_signer.verifier()).ok());
}

TEST(SyncTest, CutMidTransferResumesWithoutDuplicates) {
  Pair p;
  p.a->Append(1000);
  for (int budget : {3, 6}) {  // hello + offer + 1 package; then a few more packages
    auto ctx = net::ClientContext(p.tls.Identity("factory-a"), {p.hq_spki});
    ASSERT_TRUE(ctx.ok());
    auto ch = TlsChannel::Connect("127.0.0.1", p.server->port(), *ctx, std::chrono::seconds(5));
    ASSERT_TRUE(ch.ok());
    CutChannel cut(ch->get(), budget);
    FactorySyncOptions fo;
    fo.send.package_events = 100;
    FactorySync fs(p.a->log.get(), p.a->peer_copy.get(), fo);
    EXPECT_FALSE(fs.Round(cut).ok());
    (*ch)->Close();
  }
  // Wait for HQ to notice the cut and release the session.
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  for (int i = 0; i < 100 && copy->Size() < 500; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(copy->Size(), 0u);
  EXPECT_LT(copy->Size(), 1000u);
  Result<RoundResult> r = Status::Unavailable("");
  for (int i = 0; i < 50; ++i) {  // the previous session may still hold the lock briefly
    r = p.Round(*p.a);
    if (r.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(copy->Size(), 1000u);
  EXPECT_LT(r->events_sent, 1000u);  // resumed, not restarted
  EXPECT_TRUE(Verifies(*copy));
}

// A factory whose log was rewritten with the same key: refused at the
// checkpoint, nothing applied, a logAnomaly with both checkpoints recorded.
void ExpectRefusedRewrite(size_t rewritten_size, const std::string& kind) {
  Pair p;
  p.a->Append(300);
  ASSERT_TRUE(p.Round(*p.a).ok());
  log::EventLog* copy = p.CopyOf(p.a_signer.name());
  const crypto::Hash root_before = *copy->RootAt(300);
  const uint64_t hq_before = p.hq->log->Size();

  Node rewritten(p.a_signer, &p.hq_signer.verifier());
  rewritten.Append(100);
  rewritten.Append(rewritten_size - 100, "rewritten");
  std::optional<Refused> refused;
  auto r = p.Round(rewritten, "factory-a", 0, &refused);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value()) << r.status();
  EXPECT_EQ(RefusalCode(refused->kind), kind) << refused->detail;
  EXPECT_EQ(copy->Size(), 300u);
  EXPECT_EQ(*copy->RootAt(300), root_before);
  EXPECT_TRUE(Verifies(*copy));
  ASSERT_EQ(p.hq->log->Size(), hq_before + 1);
  auto last = log::ParsedEvent::Parse(AsBytes(*p.hq->log->ReadSignedEvent(hq_before)));
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->event().getKind().isLogAnomaly());
  auto anomaly = last->event().getKind().getLogAnomaly();
  EXPECT_EQ(std::string(anomaly.getKind().cStr()), kind);
  ASSERT_EQ(anomaly.getEvidence().size(), 2u);  // the checkpoint held, the one offered
  EXPECT_TRUE(log::OpenCheckpoint(anomaly.getEvidence()[0].cStr(), p.a_signer.verifier()).ok());
  EXPECT_TRUE(log::OpenCheckpoint(anomaly.getEvidence()[1].cStr(), p.a_signer.verifier()).ok());
  EXPECT_EQ(p.sync->metrics().divergences.load(), 1u);
  EXPECT_EQ(p.alerts.size(), 1u);
}

TEST(SyncTest, RewrittenLogSameSizeIsAFork) { ExpectRefusedRewrite(300, "fork"); }
TEST(SyncTest, RewrittenLogLongerIsAFork) { ExpectRefusedRewrite(450, "fork"); }
TEST(SyncTest, RewrittenLogShorterIsARewind) { ExpectRefusedRewrite(200, "rewind"); }

TEST(SyncTest, IdentityBoundToItsLog) {
  Pair p;
  p.a->Append(10);
  // Factory B's TLS key presenting factory A's log.
  std::optional<Refused> refused;
  auto r = p.Round(*p.a, "factory-b", 0, &refused);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value()) << r.status();
  EXPECT_EQ(refused->kind, RefusalKind::kIdentity);
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 0u);
  EXPECT_EQ(p.CopyOf(p.b_signer.name())->Size(), 0u);
  EXPECT_EQ(p.hq->log->Size(), Pair::kRegistrations);
  // A key HQ does not pin fails the TLS handshake (no round at all).
  p.tls.Issue("stranger", false);
  EXPECT_FALSE(p.Round(*p.a, "stranger").ok());
  EXPECT_EQ(p.hq->log->Size(), Pair::kRegistrations);
  // And the real factory A still syncs.
  EXPECT_TRUE(p.Round(*p.a).ok());
}

TEST(SyncTest, GarbageOnThePortChangesNothing) {
  Pair p;
  p.a->Append(10);
  for (int i = 0; i < 3; ++i) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    asio::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), p.server->port()}, ec);
    ASSERT_FALSE(ec);
    std::string junk = i == 0 ? "GET / HTTP/1.1\r\n\r\n" : std::string(4096, static_cast<char>(i * 77));
    asio::write(s, asio::buffer(junk), ec);
    char buf[64];
    s.read_some(asio::buffer(buf), ec);  // the server drops us
    EXPECT_TRUE(ec);
  }
  EXPECT_EQ(p.hq->log->Size(), Pair::kRegistrations);
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 0u);
  EXPECT_TRUE(p.Round(*p.a).ok());
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 10u);
}

TEST(SyncTest, FactoryRefusesAForkedHqLog) {
  Pair p;
  p.hq->Append(20, "hq");
  auto first = p.Round(*p.a);
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t held = p.a->peer_copy->Size();
  // HQ restored from an old backup with a different history, same key.
  p.StopHq();
  p.hq = std::make_unique<Node>(p.hq_signer, nullptr);
  p.hq->Append(40, "other");
  p.StartHq();
  std::optional<Refused> refused;
  auto r = p.Round(*p.a, "factory-a", 0, &refused);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(refused.has_value()) << r.status();
  EXPECT_EQ(refused->kind, RefusalKind::kFork);
  EXPECT_EQ(p.a->peer_copy->Size(), held);
  // The factory recorded the anomaly in its own log.
  auto kinds = EventKinds(*p.a->log, 0);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.back(), "anomaly:fork");
}

}  // namespace
}  // namespace mirrorca::replication
