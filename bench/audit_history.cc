// audit_history: builds, for the audit benchmarks, a store like HQ's after
// months of production — a factory log (HQ's copy) and HQ's own log:
//   - factory: certificateIssued (a ~450-byte certificate each, 16-byte
//     serials, batches of 100,000, two production lines) and about 2 %
//     issuanceRejected (bad CSR, proof of possession, duplicate device,
//     quota exhausted);
//   - HQ: batchAuthorized per batch, revocations of about 1 % of the
//     certificates (a tenth of them holds, a third of the holds released),
//     and every 256 groups a sync: checkpointCosigned (a real C2SP
//     cosignature of the factory's checkpoint) and syncSession;
//   - the events spread over 30 days on a simulated clock;
//   - with --projection, HQ's certificate-status projection (as hq serve
//     keeps it), so `audit verify` checks it too.
//
//   audit_history --data DIR --events N [--projection]
// Prints one JSON line: events per log, the first and last instants, and a
// sample of serials with instants to query (for bench/run_audit_bench.sh).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "base/mem_env.h"
#include "base/utc_time.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "engine/cert_status.h"
#include "engine/log_authority.h"
#include "log/cosignature.h"
#include "log/event_draft.h"
#include "log/event_log.h"
#include "log/local_log.h"
#include "log/log_key.h"
#include "crypto/sha256.h"

namespace mirrorca {
namespace {

constexpr uint64_t kGroup = 2048;        // events per factory append
constexpr uint64_t kBatchSize = 100000;  // issuances per batch

int Fail(const Status& s) {
  std::cerr << "audit_history: " << s << "\n";
  return 2;
}

Bytes SerialOf(uint64_t i) {
  crypto::Hash h = crypto::Sha256(AsBytes("serial-" + std::to_string(i)));
  Bytes s(h.begin(), h.begin() + 16);
  s[0] &= 0x7f;
  s[0] |= 0x01;
  return s;
}

int Run(const std::string& data, uint64_t events, bool projection) {
  std::filesystem::create_directories(data);
  auto store_or = log::Store::Open(log::StorePath(data), {.create_if_missing = true});
  if (!store_or.ok()) return Fail(store_or.status());
  auto store = std::move(*store_or);
  log::LogSigner hq_signer = *log::LogSigner::Generate("hq.bench.example/log");
  log::LogSigner f_signer = *log::LogSigner::Generate("factory-f1.bench.example/log");
  if (Status s = log::EventLog::Create(store.get(), hq_signer.verifier()); !s.ok()) return Fail(s);
  if (Status s = log::EventLog::Create(store.get(), f_signer.verifier()); !s.ok()) return Fail(s);
  {  // HQ's store: its own log is HQ's (what `log init` records as "self")
    rocksdb::WriteBatch self;
    self.Put(store->meta(), "self", hq_signer.verifier().name());
    if (Status s = store->WriteDurably(&self); !s.ok()) return Fail(s);
  }
  MemEnv clock;
  const int64_t start = int64_t{1793000000} * 1000000;  // 2026-10-26
  const int64_t span = int64_t{30} * 86400 * 1000000;
  clock.SetNowMicros(start);
  auto hq = std::move(*log::EventLog::Open(store.get(), hq_signer.verifier().name(), hq_signer, {.env = &clock}));
  auto factory =
      std::move(*log::EventLog::Open(store.get(), f_signer.verifier().name(), f_signer, {.env = &clock}));

  std::mt19937_64 rng(7);
  // A real CA certificate: the factory is registered in HQ's log with it, so
  // the audit's trust table lets the factory issue under its caId.
  Result<ca::KeyAndCertificate> root =
      ca::CreateRoot({.organization = "Bench OEM", .factory = "F1"}, ca::KeyType::kP256,
                     start / 1000000);
  if (!root.ok()) return Fail(root.status());
  Result<Bytes> ca_or = ca::CaId(root->cert.get());
  if (!ca_or.ok()) return Fail(ca_or.status());
  const Bytes ca = *ca_or;
  {
    engine::LogAuthority authority(hq_signer.verifier().name());
    engine::FactoryRegistration reg{.name = "F1", .log_key = f_signer.verifier().VerifierKey()};
    std::string der = *ca::CertificateDer(root->cert.get());
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    if (Result<bool> r = engine::RegisterFactory(*hq, authority, reg); !r.ok()) return Fail(r.status());
  }
  Bytes cert(450);
  for (auto& b : cert) b = static_cast<uint8_t>(rng());
  uint64_t issued = 0, rejected = 0, revoked = 0, groups = 0;
  std::vector<uint64_t> held;
  nlohmann::json samples = nlohmann::json::array();
  auto authorize = [&](uint64_t batch) -> Status {
    log::EventDraft d;
    auto b = d.event().getKind().initBatchAuthorized();
    b.setBatchId("B" + std::to_string(batch));
    b.setProfile("idevid");
    b.setProduct("sensor-x");
    b.setQuota(kBatchSize + kBatchSize / 50);
    b.setFactoryLogId(f_signer.verifier().name());
    b.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    return hq->Append(std::move(v)).status();
  };
  if (Status s = authorize(0); !s.ok()) return Fail(s);
  const uint64_t target_factory = events - events / 80;  // HQ's share is about 1.3 %
  while (factory->Size() < target_factory) {
    clock.SetNowMicros(start + static_cast<int64_t>(static_cast<double>(span) *
                                                    static_cast<double>(factory->Size()) /
                                                    static_cast<double>(target_factory)));
    std::vector<log::EventDraft> drafts;
    const uint64_t n = std::min(kGroup, target_factory - factory->Size());
    for (uint64_t i = 0; i < n; ++i) {
      log::EventDraft d;
      const std::string line = (i % 2) ? "line-1" : "line-3";
      const uint64_t batch = issued / kBatchSize;
      if (rng() % 50 == 0) {
        auto r = d.event().getKind().initIssuanceRejected();
        r.setBatchId("B" + std::to_string(batch));
        r.setDeviceSerial("SN" + std::to_string(issued));
        r.setRaId("ra-1");
        static const log::schema::RejectionReason kReasons[] = {
            log::schema::RejectionReason::BAD_CSR, log::schema::RejectionReason::PROOF_OF_POSSESSION,
            log::schema::RejectionReason::DUPLICATE_DEVICE, log::schema::RejectionReason::QUOTA_EXHAUSTED};
        r.setReason(kReasons[rng() % 4]);
        r.setDetail("refused by the bench");
        r.setProductionLine(line);
        ++rejected;
      } else {
        auto c = d.event().getKind().initCertificateIssued();
        const Bytes serial = SerialOf(issued);
        c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
        c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
        c.setDeviceSerial("SN" + std::to_string(issued));
        c.setBatchId("B" + std::to_string(batch));
        c.setProfile("idevid");
        cert[0] = static_cast<uint8_t>(issued);
        c.setCertificate(capnp::Data::Reader(cert.data(), cert.size()));
        c.setNotBefore(clock.NowMicros());
        c.setNotAfter(clock.NowMicros() + int64_t{20} * 365 * 86400 * 1000000);
        c.setRaId("ra-1");
        c.setProductionLine(line);
        ++issued;
        if (issued % kBatchSize == 0) {
          if (Status s = authorize(issued / kBatchSize); !s.ok()) return Fail(s);
        }
      }
      drafts.push_back(std::move(d));
    }
    Result<log::AppendResult> r = factory->Append(std::move(drafts));
    if (!r.ok()) return Fail(r.status());
    ++groups;
    // Revocations: about 1 % of what this group issued, of earlier certificates.
    std::vector<log::EventDraft> hq_drafts;
    for (uint64_t i = 0; i < n / 100 && issued > 0; ++i) {
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateRevoked();
      uint64_t target = rng() % issued;
      const int kind = static_cast<int>(rng() % 30);
      if (kind == 0 && !held.empty()) {  // release a hold
        target = held.back();
        held.pop_back();
        c.setRelease(true);
      } else {
        const int reason = kind < 4 ? 6 : 1 + static_cast<int>(rng() % 5);
        c.setReason(static_cast<log::schema::RevocationReason>(reason));
        if (reason == 6) held.push_back(target);
      }
      const Bytes serial = SerialOf(target);
      c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setRevocationTime(clock.NowMicros());
      c.setRequestedBy("admin:bench");
      c.setBatchId("B" + std::to_string(target / kBatchSize));
      hq_drafts.push_back(std::move(d));
      ++revoked;
      if (samples.size() < 64 && rng() % 8 == 0) {
        samples.push_back({{"serial", HexEncode(serial)}, {"at", FormatUtcTime(clock.NowMicros())}});
      }
    }
    if (groups % 256 == 0 || factory->Size() >= target_factory) {  // a sync
      Result<std::string> note = factory->SignCheckpoint();
      if (!note.ok()) return Fail(note.status());
      const uint64_t when = static_cast<uint64_t>(clock.NowMicros() / 1000000);
      log::EventDraft d;
      auto c = d.event().getKind().initCheckpointCosigned();
      c.setLogId(f_signer.verifier().name());
      c.setTreeSize(factory->Size());
      c.setCosignedNote(*log::Cosign(*note, hq_signer, when));
      c.setTimestamp(when);
      hq_drafts.push_back(std::move(d));
      log::EventDraft s;
      auto ss = s.event().getKind().initSyncSession();
      ss.setPeerLogId(f_signer.verifier().name());
      ss.setDirection("push");
      ss.setEventsReceived(kGroup * 256);
      ss.setPeerTreeSize(factory->Size());
      ss.setResult("ok");
      hq_drafts.push_back(std::move(s));
    }
    if (!hq_drafts.empty()) {
      Result<log::AppendResult> h = hq->Append(std::move(hq_drafts));
      if (!h.ok()) return Fail(h.status());
    }
    if (groups % 512 == 0) {
      std::cerr << "\raudit_history: " << factory->Size() + hq->Size() << " events" << std::flush;
    }
  }
  std::cerr << "\n";
  if (projection) {
    auto status = engine::CertStatus::Open(store.get());
    if (!status.ok()) return Fail(status.status());
    engine::LogAuthority authority(hq_signer.verifier().name());
    if (Status s = authority.CatchUp(*hq); !s.ok()) return Fail(s);
    for (log::EventLog* l : {factory.get(), hq.get()}) {
      if (Result<uint64_t> n = (*status)->CatchUp(*l, authority); !n.ok()) return Fail(n.status());
    }
  }
  if (Status s = store->Flush(); !s.ok()) return Fail(s);
  std::cout << nlohmann::json{{"factory_events", factory->Size()},
                              {"hq_events", hq->Size()},
                              {"issued", issued},
                              {"rejected", rejected},
                              {"revocations", revoked},
                              {"from", FormatUtcTime(start)},
                              {"to", FormatUtcTime(clock.NowMicros())},
                              {"factory_key", f_signer.verifier().VerifierKey()},
                              {"hq_key", hq_signer.verifier().VerifierKey()},
                              {"samples", samples}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace
}  // namespace mirrorca

int main(int argc, char** argv) {
  std::string data;
  uint64_t events = 0;
  bool projection = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (a == "--events" && i + 1 < argc) {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--projection") {
      projection = true;
    } else {
      std::cerr << "usage: audit_history --data DIR --events N [--projection]\n";
      return 2;
    }
  }
  if (data.empty() || events < 100) {
    std::cerr << "usage: audit_history --data DIR --events N [--projection]  (N >= 100)\n";
    return 2;
  }
  if (std::filesystem::exists(data)) {
    std::cerr << "audit_history: " << data << " exists\n";
    return 2;
  }
  return mirrorca::Run(data, events, projection);
}
