// Google Benchmark for CRL generation: BuildCrl over N revoked entries
// (random 16-byte serials, a reason on every entry, an invalidity date on
// one in ten), signed with a P-256 issuing CA. Reports the CRL size and
// the process's peak RSS. bench/run_crl_bench.sh runs the 1,000,000-entry
// case in its own process beside `openssl ca -gencrl` on the same entries.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <random>

#include "ca/test_pki.h"
#include "validation/crl_builder.h"

namespace mirrorca::validation {
namespace {

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024;
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

}  // namespace
}  // namespace mirrorca::validation

BENCHMARK_MAIN();
