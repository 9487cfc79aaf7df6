// Test helpers for replication: a factory node and an HQ node on temp
// stores, TLS identities on a test CA, and an HQ sync server on 127.0.0.1.
//
// Thread-safety: test-only.
#ifndef MIRRORCA_REPLICATION_TEST_SYNC_H_
#define MIRRORCA_REPLICATION_TEST_SYNC_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/delivery_log.h"
#include "engine/log_authority.h"
#include "log/event_log.h"
#include "log/store.h"
#include "log/test_util.h"
#include "net/test_tls.h"
#include "net/tls.h"
#include "replication/factory_sync.h"
#include "replication/hq_sync.h"
#include "replication/sync_server.h"
#include "replication/tls_channel.h"

namespace mirrorca::replication::testing {

// Node: a store holding one own log (with its signer) and a copy of a peer's.
struct Node {
  log::testing::TempDir dir;
  log::LogSigner signer;
  std::unique_ptr<log::Store> store;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<log::EventLog> peer_copy;

  Node(log::LogSigner s, const log::LogVerifier* peer) : signer(std::move(s)) {
    store = std::move(*log::Store::Open(dir.path() + "/store",
                                        log::StoreOptions{.create_if_missing = true}));
    EXPECT_TRUE(log::EventLog::Create(store.get(), signer.verifier()).ok());
    Reopen(peer);
  }
  void Reopen(const log::LogVerifier* peer) {
    peer_copy.reset();
    log.reset();
    log = std::move(*log::EventLog::Open(store.get(), signer.name(), signer));
    if (peer != nullptr) peer_copy = std::move(*log::EventLog::OpenCopy(store.get(), *peer));
  }
  void Append(size_t n, const std::string& tag = "e") {
    auto drafts = log::testing::TestDrafts(n, tag);
    while (!drafts.empty()) {
      size_t k = std::min<size_t>(drafts.size(), 4096);
      std::vector<log::EventDraft> part(std::make_move_iterator(drafts.begin()),
                                        std::make_move_iterator(drafts.begin() + k));
      drafts.erase(drafts.begin(), drafts.begin() + k);
      ASSERT_TRUE(log->Append(std::move(part)).ok());
    }
  }
};

inline log::LogSigner NewSigner(const std::string& origin) { return *log::LogSigner::Generate(origin); }

// Pair: HQ with one or two factories, TLS identities and a running server.
// HQ's log starts with the two factories' registrations.
struct Pair {
  static constexpr uint64_t kRegistrations = 2;
  net::testing::TestTls tls;
  log::LogSigner hq_signer = NewSigner("hq.example/log");
  log::LogSigner a_signer = NewSigner("factory-a.example/log");
  log::LogSigner b_signer = NewSigner("factory-b.example/log");
  std::string a_spki, b_spki, hq_spki;
  std::unique_ptr<Node> hq;
  std::unique_ptr<Node> a;
  std::unique_ptr<HqSync> sync;
  std::unique_ptr<SyncServer> server;
  std::vector<std::string> alerts;
  std::mutex alerts_mu;
  std::unique_ptr<engine::LogAuthority> authority;  // what each factory log may carry
  // with_delivery: HQ sends each factory its delivery log (engine/delivery_log.h)
  // kept in `delivery`, as HQ nodes do; otherwise HQ's whole log.
  bool with_delivery = false;
  std::unique_ptr<log::Store> delivery;

  Pair() {
    hq_spki = tls.Issue("hq", true);
    a_spki = tls.Issue("factory-a", false);
    b_spki = tls.Issue("factory-b", false);
    hq = std::make_unique<Node>(hq_signer, nullptr);
    a = std::make_unique<Node>(a_signer, &hq_signer.verifier());
    StartHq();
  }
  ~Pair() { StopHq(); }

  void StartHq(std::chrono::milliseconds io_timeout = std::chrono::milliseconds(5000)) {
    HqSyncOptions o;
    o.alert = [this](const std::string& line) {
      std::lock_guard lock(alerts_mu);
      alerts.push_back(line);
    };
    o.send.package_events = 100;  // many packages even in small tests
    authority = std::make_unique<engine::LogAuthority>(hq_signer.name());
    for (const auto& [name, signer, spki] : {std::tuple{"a", &a_signer, &a_spki}, std::tuple{"b", &b_signer, &b_spki}}) {
      engine::FactoryRegistration reg{.name = name, .log_key = signer->verifier().VerifierKey(), .sync_spki = {*spki}};
      auto registered = engine::RegisterFactory(*hq->log, *authority, reg);
      ASSERT_TRUE(registered.ok()) << registered.status();
    }
    o.authority = authority.get();
    if (with_delivery && !delivery) delivery = std::move(*engine::OpenDeliveryStore(hq->dir.path()));
    o.delivery_store = delivery.get();
    auto s = HqSync::Open(hq->log.get(), hq_signer, hq_signer, o);
    ASSERT_TRUE(s.ok()) << s.status();
    sync = std::move(*s);
    HqSync* bound = sync.get();
    auto ctx = net::ServerContext(tls.Identity("hq"), [bound](const std::string& spki) { return bound->Pinned(spki); });
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    SyncServerOptions so;
    so.io_timeout = io_timeout;
    server = std::make_unique<SyncServer>(*ctx, sync.get(), so);
    ASSERT_TRUE(server->Start().ok());
  }
  void StopHq() {
    if (server) server->Stop();
    server.reset();
    sync.reset();
    authority.reset();
  }

  log::EventLog* CopyOf(const std::string& origin) { return sync->Copy(origin); }

  // Round connects as `identity` (factory-a by default) and runs one round.
  Result<RoundResult> Round(Node& factory, const std::string& identity = "factory-a",
                            uint16_t port = 0, std::optional<Refused>* refused = nullptr,
                            FactorySyncOptions options = {}) {
    auto ctx = net::ClientContext(tls.Identity(identity), {hq_spki});
    if (!ctx.ok()) return ctx.status();
    auto ch = TlsChannel::Connect("127.0.0.1", port ? port : server->port(), *ctx,
                                  std::chrono::milliseconds(5000));
    if (!ch.ok()) return ch.status();
    options.send.package_events = 100;
    FactorySync fs(factory.log.get(), factory.peer_copy.get(), options);
    Result<RoundResult> r = fs.Round(**ch);
    if (refused != nullptr) *refused = fs.refused();
    if (r.ok()) (void)fs.Bye(**ch);
    (*ch)->Close();
    return r;
  }
};

}  // namespace mirrorca::replication::testing

#endif  // MIRRORCA_REPLICATION_TEST_SYNC_H_
