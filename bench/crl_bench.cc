// Google Benchmark for CRL generation.
//
//   BM_BuildCrl/N    the builder alone over N entries (random 16-byte serials,
//                    a reason on every entry, an invalidity date on one in ten)
//   BM_VaFullCrl     the VA publishing the full CRL of a CA with
//                    MIRRORCA_CRL_REVOKED (default 1,000,000) revoked
//                    certificates: scan of the projection, build, sign,
//                    crlPublished event
//   BM_VaDeltaCrl    then 1,000 more revocations and the delta CRL
//
// `crl_bench --prepare` builds (once, in MIRRORCA_BENCH_DIR) the logs behind
// the VA benchmarks: a factory log with the issuances, HQ's log with the
// revocations, the projection, and an `openssl ca` directory (index.txt with
// the same revoked serials) for the comparison in bench/run_crl_bench.sh,
// which runs each measurement in its own process so that peak RSS is its own.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <fstream>
#include <random>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/encoding.h"
#include "bench/bench_serials.h"
#include "ca/test_pki.h"
#include "log/event_draft.h"
#include "validation/crl_builder.h"
#include "validation/validation_authority.h"

namespace mirrorca::validation {
namespace {

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024;
}

double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      status >> kb;
      return kb / 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

std::vector<CrlEntry> Entries(size_t n) {
  std::mt19937_64 rng(42);
  std::vector<CrlEntry> out(n);
  const int64_t base = 1'790'000'000;
  for (size_t i = 0; i < n; ++i) {
    uint8_t serial[16];
    for (auto& b : serial) b = static_cast<uint8_t>(rng());
    serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x01);
    (void)out[i].SetSerial(serial);
    out[i].revocation_time = base + static_cast<int64_t>(i);
    out[i].reason = static_cast<uint8_t>(1 + i % 5);
    if (i % 10 == 0) out[i].invalidity_date = base - 3600;
  }
  return out;
}

void BM_BuildCrl(benchmark::State& state) {
  static ca::IssuingCa issuing = ca::testing::MakeTestCa();
  const std::vector<CrlEntry> entries = Entries(static_cast<size_t>(state.range(0)));
  CrlSpec spec{.number = 7, .this_update = 1'790'000'000, .next_update = 1'790'086'400,
               .distribution_point = "http://127.0.0.1/crl/f1.crl"};
  size_t bytes = 0;
  for (auto _ : state) {
    Result<std::string> der = BuildCrl(issuing.certificate(), issuing.key(), spec, entries);
    if (!der.ok()) state.SkipWithError(der.status().ToString().c_str());
    bytes = der.ok() ? der->size() : 0;
    benchmark::DoNotOptimize(der);
  }
  state.counters["crl_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BuildCrl)->Arg(1000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)
    ->Iterations(1);

std::string BenchDir() {
  const char* v = std::getenv("MIRRORCA_BENCH_DIR");
  return std::string(v ? v : "/tmp/mirrorca-bench") + "/crl";
}

uint64_t RevokedCount() {
  const char* v = std::getenv("MIRRORCA_CRL_REVOKED");
  return v ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

constexpr uint64_t kDeltaRevocations = 1000;
constexpr int64_t kMicros = 1'000'000;

// The VA world on disk: the CA, the two logs (and their stores).
struct VaWorld {
  std::unique_ptr<log::Store> factory_store, hq_store;
  std::unique_ptr<log::EventLog> factory, hq;
  std::unique_ptr<ValidationAuthority> va;

  static std::unique_ptr<log::EventLog> OpenLog(log::Store* store, const std::string& key_path,
                                                const std::string& origin, bool create) {
    Env* env = Env::Default();
    if (create) {
      log::LogSigner s = *log::LogSigner::Generate(origin);
      if (!s.SavePem(env, key_path).ok() || !log::EventLog::Create(store, s.verifier()).ok()) {
        std::abort();
      }
    }
    log::LogSigner signer = *log::LogSigner::Open(env, key_path, origin);
    return std::move(*log::EventLog::Open(store, origin, signer));
  }

  explicit VaWorld(bool create) {
    const std::string dir = BenchDir();
    factory_store = std::move(*log::Store::Open(dir + "/factory", {.create_if_missing = create}));
    hq_store = std::move(*log::Store::Open(dir + "/hq", {.create_if_missing = create}));
    factory = OpenLog(factory_store.get(), dir + "/factory.key", "factory.bench/log", create);
    hq = OpenLog(hq_store.get(), dir + "/hq.key", "hq.bench/log", create);
  }
  void OpenVa() {
    VaOptions o;
    o.organization = "Example OEM";
    auto v = ValidationAuthority::Open(hq.get(), {factory.get(), hq.get()},
                                       {{"f1", BenchDir() + "/ca", "http://127.0.0.1/crl/f1.crl"}}, o);
    if (!v.ok()) {
      std::fprintf(stderr, "VA: %s\n", v.status().ToString().c_str());
      std::abort();
    }
    va = std::move(*v);
  }
};

using bench::BenchSerial;

// Prepare builds the bench world: N + 1,000 issued, N revoked, the
// projection, and openssl ca's files for the same N revocations.
int Prepare() {
  const std::string dir = BenchDir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ca::IssuingCa issuing = ca::testing::MakeTestCa();
  std::vector<X509*> issuers;
  for (size_t i = 1; i < issuing.chain().size(); ++i) issuers.push_back(issuing.chain()[i].get());
  if (!ca::WriteCaDir(Env::Default(), dir + "/ca", issuing.certificate(), issuing.key(), issuers).ok()) {
    return 1;
  }
  const uint64_t n = RevokedCount();
  VaWorld w(/*create=*/true);
  const Bytes& ca_id = issuing.ca_id();
  const int64_t now = Env::Default()->NowMicros();
  std::ofstream index(dir + "/index.txt");
  for (uint64_t at = 0; at < n + kDeltaRevocations; at += 16384) {
    std::vector<log::EventDraft> drafts;
    for (uint64_t i = at; i < std::min(n + kDeltaRevocations, at + 16384); ++i) {
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateIssued();
      Bytes serial = BenchSerial(i);
      c.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setBatchId("B" + std::to_string(i / 100000));
      c.setDeviceSerial("dev" + std::to_string(i));
      c.setNotAfter(now + int64_t{86400} * 365 * 10 * kMicros);
      drafts.push_back(std::move(d));
    }
    if (!w.factory->Append(std::move(drafts)).ok()) return 1;
  }
  const char* reasons[] = {"", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
                           "cessationOfOperation"};
  for (uint64_t at = 0; at < n; at += 16384) {
    std::vector<log::EventDraft> drafts;
    for (uint64_t i = at; i < std::min(n, at + 16384); ++i) {
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateRevoked();
      Bytes serial = BenchSerial(i);
      const int reason = 1 + static_cast<int>(i % 5);
      const int64_t when = now / kMicros - 86400 + static_cast<int64_t>(i % 86400);
      c.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setReason(static_cast<log::schema::RevocationReason>(reason));
      c.setRevocationTime(when * kMicros);
      c.setRequestedBy("bench");
      drafts.push_back(std::move(d));
      char t[32];
      std::time_t tt = when;
      std::tm tm{};
      gmtime_r(&tt, &tm);
      std::strftime(t, sizeof(t), "%y%m%d%H%M%SZ", &tm);
      index << "R\t351231235959Z\t" << t << "," << reasons[reason] << "\t" << HexEncode(serial)
            << "\tunknown\t/CN=dev" << i << "\n";
    }
    if (!w.hq->Append(std::move(drafts)).ok()) return 1;
  }
  w.OpenVa();  // projects both logs
  std::printf("prepared %llu revoked certificates in %s\n", static_cast<unsigned long long>(n),
              dir.c_str());
  return 0;
}

void BM_VaFullCrl(benchmark::State& state) {
  VaWorld w(false);
  w.OpenVa();
  state.counters["rss_before_MiB"] = RssMiB();
  uint64_t entries = 0;
  for (auto _ : state) {
    Result<CrlInfo> crl = w.va->PublishCrl("f1", false);
    if (!crl.ok()) state.SkipWithError(crl.status().ToString().c_str());
    entries = crl.ok() ? crl->entries : 0;
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_VaFullCrl)->Unit(benchmark::kMillisecond)->Iterations(1);

// The delta after 1,000 revocations (one Revoke each, as an operator would):
// the time of PublishCrl(delta) alone.
void BM_VaDeltaCrl(benchmark::State& state) {
  VaWorld w(false);
  w.OpenVa();
  const uint64_t n = RevokedCount();
  if (!w.va->LatestCrl("f1", false).ok()) state.SkipWithError("no full CRL");
  uint64_t next = n;
  uint64_t entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (uint64_t i = 0; i < kDeltaRevocations && next < n + kDeltaRevocations; ++i, ++next) {
      engine::RevocationRequest r;
      r.serial = BenchSerial(next);
      r.reason = 1;
      r.requested_by = "bench";
      if (!w.va->Revoke(r).ok()) state.SkipWithError("revoke");
    }
    state.ResumeTiming();
    Result<CrlInfo> crl = w.va->PublishCrl("f1", true);
    if (!crl.ok()) state.SkipWithError(crl.status().ToString().c_str());
    entries = crl.ok() ? crl->entries : 0;
  }
  state.counters["entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_VaDeltaCrl)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace mirrorca::validation

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--prepare") return mirrorca::validation::Prepare();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
