// multi_factory_sync: many factories syncing concurrently into one HQ, on
// real RocksDB stores and mutual TLS on 127.0.0.1 — the scale figure of the
// multi-factory trust model (bench/run_multi_factory_bench.sh).
//
//   multi_factory_sync [FACTORIES=20] [EVENTS_PER_FACTORY=25000]
//
// 1. Baseline: one factory with FACTORIES x EVENTS events syncs alone into a
//    fresh HQ: events/s.
// 2. FACTORIES factories, each registered in HQ's log with its own CA and
//    sync key, each with EVENTS events, sync at the same time into one HQ:
//    total events/s, and the ratio to the baseline (goal >= 80 %).
// Every event is verified by HQ (signature, chain, consistency proof) and
// checked against the trust table; each factory's cosigned size must equal
// its log size, and each receives its own delivery log (HQ relays what it
// addressed to that factory, as `hq serve` does). The process's peak resident memory (VmHWM: HQ and all the
// factories, which share this process) is reported, with HQ's RocksDB
// block cache and memtables as its bound. One JSON line per phase.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "engine/delivery_log.h"
#include "engine/log_authority.h"
#include "replication/test_sync.h"

namespace mirrorca::replication {
namespace {

using testing::NewSigner;
using testing::Node;

long PeakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

struct Factory {
  log::LogSigner signer;
  std::unique_ptr<Node> node;
  std::string tls_name, spki;
  RoundResult result;
  Status status;
};

// Phase runs `factories` (each with `events` events) against one fresh HQ,
// all sessions at once; returns a JSON summary.
nlohmann::json Phase(const std::string& label, size_t factories, size_t events) {
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM: this phase's peak only
  net::testing::TestTls tls;
  log::LogSigner hq_signer = NewSigner("hq.bench.example/log");
  const std::string hq_spki = tls.Issue("hq", true);
  Node hq(hq_signer, nullptr);
  engine::LogAuthority authority(hq_signer.name());
  std::vector<std::unique_ptr<Factory>> fs;
  for (size_t i = 0; i < factories; ++i) {
    const std::string name = "F" + std::to_string(i + 1);
    auto f = std::make_unique<Factory>(Factory{NewSigner("factory-" + std::to_string(i + 1) + ".bench.example/log"),
                                               nullptr, "factory-" + std::to_string(i + 1), "", {}, Status::Ok()});
    f->spki = tls.Issue(f->tls_name, false);
    // Each factory holds its delivery log (what HQ addressed to it), as in production.
    const log::LogVerifier delivery = *engine::DeliveryVerifier(hq_signer.verifier(), name);
    f->node = std::make_unique<Node>(f->signer, &delivery);
    auto root = ca::CreateRoot({.organization = "Bench OEM", .factory = name}, ca::KeyType::kP256, 1790000000);
    const std::string der = *ca::CertificateDer(root->cert.get());
    engine::FactoryRegistration reg{.name = name, .log_key = f->signer.verifier().VerifierKey(), .sync_spki = {f->spki}};
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    if (Result<bool> r = engine::RegisterFactory(*hq.log, authority, reg); !r.ok()) {
      std::cerr << r.status() << "\n";
      std::exit(2);
    }
    fs.push_back(std::move(f));
  }
  // The factories' logs (test events: the trust table allows them; the
  // cost that matters here is HQ verifying every signature).
  std::vector<std::thread> writers;
  for (size_t w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (size_t i = w; i < fs.size(); i += 2) fs[i]->node->Append(events, "bench");
    });
  }
  for (auto& t : writers) t.join();

  auto delivery_store = engine::OpenDeliveryStore(hq.dir.path());
  if (!delivery_store.ok()) {
    std::cerr << delivery_store.status() << "\n";
    std::exit(2);
  }
  HqSyncOptions o;
  o.authority = &authority;
  o.delivery_store = delivery_store->get();
  o.alert = [](const std::string& line) { std::cerr << line << "\n"; };
  auto sync = HqSync::Open(hq.log.get(), hq_signer, hq_signer, o);
  if (!sync.ok()) {
    std::cerr << sync.status() << "\n";
    std::exit(2);
  }
  auto ctx = net::ServerContext(tls.Identity("hq"), (*sync)->PinnedSpkis());
  SyncServerOptions so;
  so.max_sessions = factories + 4;
  so.io_timeout = std::chrono::milliseconds(600000);
  SyncServer server(*ctx, sync->get(), so);
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << s << "\n";
    std::exit(2);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (auto& f : fs) {
    clients.emplace_back([&, fp = f.get()] {
      auto cctx = net::ClientContext(tls.Identity(fp->tls_name), {hq_spki});
      auto ch = TlsChannel::Connect("127.0.0.1", server.port(), *cctx, std::chrono::milliseconds(600000));
      if (!ch.ok()) {
        fp->status = ch.status();
        return;
      }
      FactorySyncOptions fo;
      fo.hq_cosigner = hq_signer.verifier();
      fo.hq_event_check = engine::DeliveredEventCheck(hq_signer.verifier());
      FactorySync sync_client(fp->node->log.get(), fp->node->peer_copy.get(), fo);
      Result<RoundResult> r = sync_client.Round(**ch);
      if (r.ok()) {
        fp->result = *r;
        (void)sync_client.Bye(**ch);
      } else {
        fp->status = r.status();
      }
      (*ch)->Close();
    });
  }
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  server.Stop();
  uint64_t total = 0;
  size_t cosigned_ok = 0;
  for (auto& f : fs) {
    if (!f->status.ok()) std::cerr << f->tls_name << ": " << f->status << "\n";
    total += f->result.events_sent;
    // Right: HQ cosigned exactly the factory's log, and the factory holds
    // its delivery log and nothing about any other factory.
    cosigned_ok += f->status.ok() && f->result.cosigned_size == f->node->log->Size() &&
                   (*sync)->Copy(f->signer.name())->Size() == f->node->log->Size() &&
                   f->node->peer_copy->Size() == (*sync)->Delivery(f->signer.name())->Size();
  }
  return {{"phase", label},
          {"factories", factories},
          {"events", total},
          {"seconds", seconds},
          {"events_per_second", static_cast<double>(total) / seconds},
          {"cosigned_correct", cosigned_ok},
          {"peak_rss_mib", PeakRssKiB() / 1024}};
}

}  // namespace
}  // namespace mirrorca::replication

int main(int argc, char** argv) {
  const size_t factories = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20;
  const size_t events = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 25000;
  using mirrorca::replication::Phase;
  nlohmann::json single = Phase("single factory", 1, factories * events);
  std::cout << single.dump() << std::endl;
  nlohmann::json many = Phase("concurrent factories", factories, events);
  std::cout << many.dump() << std::endl;
  const double ratio = many["events_per_second"].get<double>() / single["events_per_second"].get<double>();
  std::cout << nlohmann::json{{"ratio_to_single", ratio},
                              {"goal", 0.8},
                              {"met", ratio >= 0.8 && many["cosigned_correct"] == factories}}
                   .dump()
            << std::endl;
  return many["cosigned_correct"] == factories ? 0 : 1;
}
