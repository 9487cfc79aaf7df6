// Google Benchmark for the event log: Ed25519 baselines, durable group-
// committed appends, full verification, and proofs on a large log.
//
// Environment:
//   MIRRORCA_BENCH_DIR         where to build the logs (default: /tmp/mirrorca-bench)
//   MIRRORCA_BENCH_PROOF_SIZE  events in the proof log (default 1,000,000; README uses 10,000,000)
//   MIRRORCA_BENCH_VERIFY_SIZE events in the verify log (default 200,000)
// Logs are built once and reused by later runs. bench/run_log_bench.sh runs
// this together with `openssl speed ed25519` and prints the ratios.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "base/env.h"
#include "log/event_log.h"
#include "log/log_verification.h"
#include "log/merkle.h"

namespace mirrorca::log {

uint64_t EnvSize(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : def;
}

std::string BenchDir() {
  const char* v = std::getenv("MIRRORCA_BENCH_DIR");
  return v ? v : "/tmp/mirrorca-bench";
}

double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kb;
      status >> kb;
      return kb / 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

EventDraft Draft(uint64_t i) {
  EventDraft d;
  auto t = d.event().getKind().initTestEvent();
  t.setNote("bench " + std::to_string(i));
  auto p = t.initPayload(128);  // about the size of an issuance event's fixed fields
  for (size_t j = 0; j < p.size(); ++j) p[j] = static_cast<kj::byte>(i + j);
  return d;
}

// BenchLog is a store + log built once per process (or reused from disk).
struct BenchLog {
  std::unique_ptr<Store> store;
  std::unique_ptr<EventLog> log;

  static BenchLog* Get(const std::string& name, uint64_t size) {
    auto& slot = All()[name];
    if (slot) return slot.get();
    slot = std::make_unique<BenchLog>();
    std::string path = BenchDir() + "/" + name;
    std::string origin = "bench.example/" + name;
    std::filesystem::create_directories(BenchDir());
    Env* env = Env::Default();
    std::string key_path = path + ".key.pem";
    bool fresh = !std::filesystem::exists(path + "/CURRENT");
    if (fresh) std::filesystem::remove_all(path);
    slot->store = std::move(*Store::Open(path, StoreOptions{.create_if_missing = true}));
    if (fresh) {
      LogSigner s = *LogSigner::Generate(origin);
      (void)s.SavePem(env, key_path);
      (void)EventLog::Create(slot->store.get(), s.verifier());
    }
    LogSigner signer = *LogSigner::Open(env, key_path, origin);
    slot->log = std::move(*EventLog::Open(slot->store.get(), origin, signer));
    bool grew = false;
    while (slot->log->Size() < size) {
      grew = true;
      uint64_t n = std::min<uint64_t>(16384, size - slot->log->Size());
      std::vector<EventDraft> drafts;
      for (uint64_t i = 0; i < n; ++i) drafts.push_back(Draft(slot->log->Size() + i));
      if (!slot->log->Append(std::move(drafts)).ok()) std::abort();
    }
    if (grew) {
      // Measure the steady state, not the backlog of a bulk load.
      (void)slot->store->db()->CompactRange(rocksdb::CompactRangeOptions(), slot->store->merkle(),
                                            nullptr, nullptr);
    }
    return slot.get();
  }

  static std::map<std::string, std::unique_ptr<BenchLog>>& All() {
    static auto* logs = new std::map<std::string, std::unique_ptr<BenchLog>>();
    return *logs;
  }
};

void BM_Ed25519Sign(benchmark::State& state) {
  LogSigner s = *LogSigner::Generate("bench");
  Bytes msg(300, 7);
  for (auto _ : state) benchmark::DoNotOptimize(s.Sign(msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  LogSigner s = *LogSigner::Generate("bench");
  Bytes msg(300, 7);
  Bytes sig = *s.Sign(msg);
  for (auto _ : state) benchmark::DoNotOptimize(s.verifier().Verify(msg, sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

// Durable appends: each benchmark thread is one appender (one event per
// Append, like one RA request); group commit shares the fsyncs.
void BM_DurableAppend(benchmark::State& state) {
  // Every thread count appends to the same log (opened once per process).
  static BenchLog* bench = BenchLog::Get("append", 0);
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<EventDraft> drafts;
    drafts.push_back(Draft(i++));
    if (!bench->log->Append(std::move(drafts)).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["groups"] = static_cast<double>(bench->log->CommittedGroups());
  }
}
BENCHMARK(BM_DurableAppend)->ThreadRange(1, 64)->UseRealTime()->MinTime(3);

// Batched durable appends: each thread appends 16 events per call, like the
// RA's bulk enrollment; one caller's events commit atomically.
void BM_DurableAppendBatch16(benchmark::State& state) {
  static BenchLog* bench = BenchLog::Get("append", 0);
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<EventDraft> drafts;
    for (int k = 0; k < 16; ++k) drafts.push_back(Draft(i++));
    if (!bench->log->Append(std::move(drafts)).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_DurableAppendBatch16)->Threads(8)->UseRealTime()->MinTime(3);

void BM_VerifyLog(benchmark::State& state) {
  uint64_t size = EnvSize("MIRRORCA_BENCH_VERIFY_SIZE", 200'000);
  BenchLog* bench = BenchLog::Get("verify", size);
  for (auto _ : state) {
    Result<VerifyReport> r = VerifyLog(*bench->log);
    if (!r.ok() || !r->ok) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_VerifyLog)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

// RunProofBenchmark times `prove(rng, n)` for random tree sizes n near the
// end of the proof log (and random indices chosen by `prove`).
template <typename Prove>
void RunProofBenchmark(benchmark::State& state, uint64_t seed, Prove prove) {
  uint64_t size = EnvSize("MIRRORCA_BENCH_PROOF_SIZE", 1'000'000);
  BenchLog* bench = BenchLog::Get("proof", size);
  std::mt19937_64 rng(seed);
  for (auto _ : state) {
    auto proof = prove(*bench->log, rng, size - rng() % 1000);
    if (!proof.ok()) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
  state.counters["log_events"] = static_cast<double>(size);
  state.counters["rss_MiB"] = RssMiB();
}

void BM_InclusionProof(benchmark::State& state) {
  RunProofBenchmark(state, 1, [](EventLog& log, std::mt19937_64& rng, uint64_t n) {
    return log.InclusionProof(rng() % n, n);
  });
}
BENCHMARK(BM_InclusionProof)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof(benchmark::State& state) {
  RunProofBenchmark(state, 2, [](EventLog& log, std::mt19937_64& rng, uint64_t n) {
    return log.ConsistencyProof(1 + rng() % (n - 1), n);
  });
}
BENCHMARK(BM_ConsistencyProof)->Unit(benchmark::kMicrosecond);

}  // namespace mirrorca::log

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Close every store before static destructors run (RocksDB's included).
  mirrorca::log::BenchLog::All().clear();
  return 0;
}
