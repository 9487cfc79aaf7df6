// A mirror following HQ (replication/mirror_client.h) over real TLS on
// 127.0.0.1: HQ's log and every factory's, only what is new, the keys that
// may follow and the keys that may push kept apart, and a lying HQ — one
// that sends a factory event the factory's log may not carry, validly
// signed — refused before anything of it is stored.
#include <gtest/gtest.h>

#include <capnp/message.h>

#include <asio.hpp>
#include <thread>

#include "replication/framing.h"
#include "replication/mirror_client.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::Node;
using testing::Pair;

struct Mirror {
  log::testing::TempDir dir;
  std::unique_ptr<log::Store> store;
  std::unique_ptr<engine::LogAuthority> authority;
  std::unique_ptr<MirrorClient> client;

  explicit Mirror(const log::LogVerifier& hq) {
    store = std::move(*log::Store::Open(dir.path() + "/store", log::StoreOptions{.create_if_missing = true}));
    authority = std::make_unique<engine::LogAuthority>(hq.name());
    auto c = MirrorClient::Open(store.get(), hq, authority.get(), "va1");
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) client = std::move(*c);
  }
  log::EventLog* CopyOf(const std::string& origin) {
    for (log::EventLog* l : client->Copies()) {
      if (l->origin() == origin) return l;
    }
    return nullptr;
  }
};

Result<MirrorStats> Follow(net::testing::TestTls& tls, const std::string& hq_spki, uint16_t port, Mirror& m,
                           const std::string& identity = "va") {
  auto ctx = net::ClientContext(tls.Identity(identity), {hq_spki});
  if (!ctx.ok()) return ctx.status();
  auto ch = TlsChannel::Connect("127.0.0.1", port, *ctx, std::chrono::milliseconds(5000));
  if (!ch.ok()) return ch.status();
  Result<MirrorStats> r = m.client->Session(**ch);
  (*ch)->Close();
  return r;
}

TEST(MirrorTest, FollowsHqAndEveryFactoryLogOnlyWhatIsNew) {
  Pair p;
  const std::string va = p.tls.Issue("va", false);
  p.sync->SetMirrors({va});
  p.a->Append(120);
  ASSERT_TRUE(p.Round(*p.a).ok());
  Mirror m(p.hq_signer.verifier());
  auto first = Follow(p.tls, p.hq_spki, p.server->port(), m);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->logs, 3u);  // HQ's, factory a's, factory b's (nothing checkpointed yet)
  EXPECT_EQ(m.client->hq_log().Size(), p.hq->log->Size());
  ASSERT_NE(m.CopyOf(p.a_signer.name()), nullptr);
  EXPECT_EQ(m.CopyOf(p.a_signer.name())->Size(), 120u);
  EXPECT_EQ(*m.CopyOf(p.a_signer.name())->RootAt(120), *p.a->log->RootAt(120));
  ASSERT_NE(m.CopyOf(p.b_signer.name()), nullptr);
  EXPECT_EQ(m.CopyOf(p.b_signer.name())->Size(), 0u);

  auto idle = Follow(p.tls, p.hq_spki, p.server->port(), m);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->events_received, 0u);

  p.a->Append(30, "more");
  ASSERT_TRUE(p.Round(*p.a).ok());
  auto more = Follow(p.tls, p.hq_spki, p.server->port(), m);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(m.CopyOf(p.a_signer.name())->Size(), 150u);
  EXPECT_EQ(more->events_received, 30u + 2u);  // a's 30, HQ's cosignature and session records
}

TEST(MirrorTest, AMirrorKeyOnlyReadsAndAFactoryKeyCannotFollow) {
  Pair p;
  const std::string va = p.tls.Issue("va", false);
  p.sync->SetMirrors({va});
  p.a->Append(5);
  // The mirror's key pushing as a factory.
  std::optional<Refused> refused;
  auto pushed = p.Round(*p.a, "va", 0, &refused);
  EXPECT_FALSE(pushed.ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, RefusalKind::kIdentity);
  EXPECT_NE(refused->detail.find("mirror"), std::string::npos) << refused->detail;
  EXPECT_EQ(p.CopyOf(p.a_signer.name())->Size(), 0u);
  // A factory's key following as a mirror.
  Mirror m(p.hq_signer.verifier());
  auto followed = Follow(p.tls, p.hq_spki, p.server->port(), m, "factory-a");
  EXPECT_FALSE(followed.ok());
  ASSERT_TRUE(m.client->refused().has_value());
  EXPECT_EQ(m.client->refused()->kind, RefusalKind::kIdentity);
  EXPECT_EQ(m.client->hq_log().Size(), 0u);
  // A key nobody pinned does not get past the handshake.
  p.tls.Issue("stranger", false);
  Mirror s(p.hq_signer.verifier());
  EXPECT_FALSE(Follow(p.tls, p.hq_spki, p.server->port(), s, "stranger").ok());
}

// A lying HQ: it registers factory a, then sends as a's log a revocation —
// validly signed by a's key, but a factory log may not revoke.
TEST(MirrorTest, AFactoryEventItsLogMayNotCarryIsRefusedAndNotStored) {
  net::testing::TestTls tls;
  const std::string hq_spki = tls.Issue("hq", true);
  tls.Issue("va", false);
  log::LogSigner hq_signer = testing::NewSigner("hq.example/log");
  log::LogSigner a_signer = testing::NewSigner("factory-a.example/log");
  Node hq(hq_signer, nullptr);
  Node a(a_signer, nullptr);
  engine::LogAuthority truth(hq_signer.name());
  ASSERT_TRUE(engine::RegisterFactory(*hq.log, truth, {.name = "a", .log_key = a_signer.verifier().VerifierKey()}).ok());
  a.Append(3);
  {
    log::EventDraft d;
    auto r = d.event().getKind().initCertificateRevoked();
    const Bytes ca_id(32, 0x11), serial{0x01, 0x02};
    r.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
    r.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    std::vector<log::EventDraft> drafts;
    drafts.push_back(std::move(d));
    ASSERT_TRUE(a.log->Append(std::move(drafts)).ok());
  }
  auto server_tls = net::ServerContext(tls.Identity("hq"), [](const std::string&) { return true; });
  ASSERT_TRUE(server_tls.ok());
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  std::thread liar([&] {
    asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    auto ch = TlsChannel::Accept(std::move(socket), *server_tls, std::chrono::milliseconds(5000));
    if (!ch.ok()) return;
    while (true) {
      auto frame = (*ch)->Receive();
      if (!frame.ok()) return;
      wire::Message::Reader m = (*frame)->message();
      if (!m.isHello()) return;
      const std::string wanted = m.getHello().getPeerLog().cStr();
      const uint64_t from = m.getHello().getPeerCopySize();
      log::EventLog& l = wanted == hq_signer.name() ? *hq.log : *a.log;
      capnp::MallocMessageBuilder b;
      auto h = b.initRoot<wire::Message>().initHello();
      h.setProtocolVersion(kProtocolVersion);
      h.setRole(wire::Role::HQ);
      h.setOwnLog(wanted);
      h.setOwnSize(l.Size());
      if (!(*ch)->Send(b).ok()) return;
      auto note = l.SignCheckpoint();
      if (!note.ok() || !SendLog(**ch, l, from, *note).ok()) return;
      if (!(*ch)->Receive().ok()) return;  // Ack, or the mirror's Refusal
    }
  });
  Mirror m(hq_signer.verifier());
  auto followed = Follow(tls, hq_spki, port, m);
  liar.join();
  EXPECT_FALSE(followed.ok());
  ASSERT_TRUE(m.client->refused().has_value());
  EXPECT_EQ(m.client->refused()->kind, RefusalKind::kAuthority);
  EXPECT_NE(m.client->refused()->detail.find("kind-not-owned"), std::string::npos) << m.client->refused()->detail;
  // HQ's log was verified and stored; nothing of a's package was.
  EXPECT_EQ(m.client->hq_log().Size(), hq.log->Size());
  ASSERT_NE(m.CopyOf(a_signer.name()), nullptr);
  EXPECT_EQ(m.CopyOf(a_signer.name())->Size(), 0u);
}

}  // namespace
}  // namespace mirrorca::replication
