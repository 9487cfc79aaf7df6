// Google Benchmark for the audit queries on a history built by
// bench/audit_history (bench/run_audit_bench.sh passes it):
//   BM_ReplaySerialIndexed  `audit replay --serial` through the replay index
//   BM_ReplayBatchIndexed   `audit replay --batch` through the replay index
// at random instants of the history, random serials (issued or not yet).
// Each iteration is one whole audit::Replay call: opening the store and the
// index read-only, the fold, the replay after the snapshot, the issuance
// event's signature check.
//
//   MIRRORCA_AUDIT_DATA=DIR audit_bench   (DIR holds DIR.json from audit_history)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "base/encoding.h"
#include "base/utc_time.h"
#include "audit/replay.h"
#include "crypto/sha256.h"

namespace mirrorca::audit {
namespace {

struct History {
  std::string data;
  int64_t from = 0, to = 0;
  uint64_t issued = 0;
};

const History* Load() {
  static const History* h = [] {
    const char* dir = std::getenv("MIRRORCA_AUDIT_DATA");
    if (dir == nullptr) return static_cast<History*>(nullptr);
    std::ifstream in(std::string(dir) + ".json");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) return static_cast<History*>(nullptr);
    auto* out = new History{dir, *ParseUtcTime(j["from"]), *ParseUtcTime(j["to"]), j["issued"].get<uint64_t>()};
    return out;
  }();
  return h;
}

Bytes SerialOf(uint64_t i) {  // as bench/audit_history makes them
  crypto::Hash h = crypto::Sha256(AsBytes("serial-" + std::to_string(i)));
  Bytes s(h.begin(), h.begin() + 16);
  s[0] &= 0x7f;
  s[0] |= 0x01;
  return s;
}

void BM_ReplaySerialIndexed(benchmark::State& state) {
  const History* h = Load();
  if (h == nullptr) return state.SkipWithError("set MIRRORCA_AUDIT_DATA to an audit_history directory");
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    ReplayQuery q;
    q.at = h->from + static_cast<int64_t>(rng() % static_cast<uint64_t>(h->to - h->from + 1));
    q.serial = SerialOf(rng() % h->issued);
    Result<ReplayAnswer> a = Replay(h->data, q);
    if (!a.ok() || a->method != "index") return state.SkipWithError("replay failed or had no index");
    benchmark::DoNotOptimize(a->certificate->state);
  }
}
BENCHMARK(BM_ReplaySerialIndexed)->Unit(benchmark::kMillisecond)->Iterations(50);

void BM_ReplayBatchIndexed(benchmark::State& state) {
  const History* h = Load();
  if (h == nullptr) return state.SkipWithError("set MIRRORCA_AUDIT_DATA to an audit_history directory");
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    ReplayQuery q;
    q.at = h->from + static_cast<int64_t>(rng() % static_cast<uint64_t>(h->to - h->from + 1));
    q.batch = "B" + std::to_string(rng() % (h->issued / 100000 + 1));
    Result<ReplayAnswer> a = Replay(h->data, q);
    if (!a.ok() || a->method != "index") return state.SkipWithError("replay failed or had no index");
    benchmark::DoNotOptimize(a->batch->issued);
  }
}
BENCHMARK(BM_ReplayBatchIndexed)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
}  // namespace mirrorca::audit

BENCHMARK_MAIN();
