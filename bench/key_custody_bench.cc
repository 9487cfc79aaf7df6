// Google Benchmark: the cost of keeping keys in a PKCS#11 token, file keys
// and SoftHSM2 keys side by side in the same run (bench/run_key_custody_bench.sh).
// SoftHSM2 is software, so the difference is our per-call overhead (the
// PKCS#11 C API for Ed25519 log keys, libp11's engine for CA keys), not a
// hardware HSM's speed.
//
//   BM_LogSign/{file,token}         one Ed25519 event signature
//   BM_CaSign/{file,token}          one P-256 ECDSA signature over SHA-256 (a certificate's)
//   BM_IssueCertificate/{file,token} a device certificate built and signed by an issuing CA
//   BM_DurableAppend/{file,token}   one event per durable append (RocksDB, fsync), 1 thread
//   BM_DurableAppendBatch16/{file,token}  16 events per append, 4 threads
//
// Environment: SOFTHSM2_CONF and MIRRORCA_BENCH_TOKEN_CA / MIRRORCA_BENCH_TOKEN_LOG
// (key stores, pkcs11:token=…?pin-source=…), set by the script.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "ca/serial.h"
#include "crypto/ed25519_signer.h"
#include "crypto/key_store.h"
#include "log/event_log.h"
#include "log/local_log.h"

namespace mirrorca {
namespace {

std::string Dir() {
  static std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / "mirrorca-keybench-XXXXXX").string();
    if (::mkdtemp(d.data()) == nullptr) std::abort();
    return d;
  }();
  return dir;
}

crypto::KeyStore StoreFor(bool token, bool log) {
  if (!token) return {};
  const char* v = std::getenv(log ? "MIRRORCA_BENCH_TOKEN_LOG" : "MIRRORCA_BENCH_TOKEN_CA");
  if (v == nullptr) {
    std::fprintf(stderr, "set MIRRORCA_BENCH_TOKEN_CA and _LOG (bench/run_key_custody_bench.sh)\n");
    std::exit(2);
  }
  Result<crypto::KeyStore> s = crypto::ParseKeyStore(v);
  if (!s.ok()) std::abort();
  return *s;
}

const char* Where(const benchmark::State& state) { return state.range(0) ? "token" : "file"; }

void BM_LogSign(benchmark::State& state) {
  const bool token = state.range(0) != 0;
  auto s = crypto::Ed25519Signer::Create(Env::Default(), StoreFor(token, true),
                                         Dir() + "/sign-" + Where(state) + ".pem");
  if (!s.ok()) return state.SkipWithError(s.status().ToString().c_str());
  Bytes msg(300, 7);
  for (auto _ : state) {
    if (!s->Sign(msg).ok()) state.SkipWithError("sign");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Where(state));
}
BENCHMARK(BM_LogSign)->Arg(0)->Arg(1);

// CaKey: one P-256 CA key per kind for the process.
EVP_PKEY* CaKey(bool token) {
  static std::map<bool, crypto::EvpPkeyPtr> keys;
  auto& k = keys[token];
  if (!k) {
    auto made = crypto::CreateKey(Env::Default(), StoreFor(token, false),
                                  Dir() + std::string("/ca-") + (token ? "token" : "file") + ".key",
                                  crypto::TokenKeyType::kP256);
    if (!made.ok()) {
      std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
      std::abort();
    }
    k = std::move(*made);
  }
  return k.get();
}

void BM_CaSign(benchmark::State& state) {
  EVP_PKEY* key = CaKey(state.range(0) != 0);
  const unsigned char msg[512] = {1};
  Bytes sig(128);
  for (auto _ : state) {
    crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    size_t len = sig.size();
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, msg, sizeof(msg)) != 1) {
      state.SkipWithError("sign");
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Where(state));
}
BENCHMARK(BM_CaSign)->Arg(0)->Arg(1);

void BM_IssueCertificate(benchmark::State& state) {
  const bool token = state.range(0) != 0;
  EVP_PKEY* key = CaKey(token);
  // A CA certificate for the key: the issuing CA, self-signed for the bench.
  auto ca = ca::CreateRoot({"Bench OEM", "F1", ""}, crypto::EvpPkeyPtr([&] {
                             EVP_PKEY_up_ref(key);
                             return key;
                           }()),
                           1767225600);
  if (!ca.ok()) return state.SkipWithError(ca.status().ToString().c_str());
  std::vector<ca::X509Ptr> chain;
  auto issuing = ca::IssuingCa::FromParts(std::move(ca->cert), std::move(ca->key), std::move(chain),
                                          {"http://va/crl/f1.crl", "http://va/ocsp"});
  if (!issuing.ok()) return state.SkipWithError(issuing.status().ToString().c_str());
  auto profile = ca::BuiltinProfile("idevid");
  if (!profile.ok()) return state.SkipWithError("profile");
  auto device = ca::GenerateKey(ca::KeyType::kP256);
  uint64_t i = 0;
  for (auto _ : state) {
    auto serial = ca::RandomSerial();
    auto cert = issuing->Issue(*profile,
                               {{"organization", "Bench OEM"}, {"device_serial", "D" + std::to_string(i++)},
                                {"product", "Widget"}, {"factory", "F1"}},
                               device->get(), *serial, 1767225600);
    if (!cert.ok()) {
      state.SkipWithError(cert.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Where(state));
}
BENCHMARK(BM_IssueCertificate)->Arg(0)->Arg(1);

log::EventDraft Draft(uint64_t i) {
  log::EventDraft d;
  auto t = d.event().getKind().initTestEvent();
  t.setNote("bench " + std::to_string(i));
  auto p = t.initPayload(128);
  for (size_t j = 0; j < p.size(); ++j) p[j] = static_cast<kj::byte>(i + j);
  return d;
}

log::EventLog* BenchLog(bool token) {
  // Never destroyed: a store closed from a static destructor would run
  // after RocksDB's own statics are gone.
  static auto& logs = *new std::map<bool, log::LocalLog>();
  auto it = logs.find(token);
  if (it == logs.end()) {
    auto local = log::InitLocalLog(Env::Default(), Dir() + std::string("/log-") + (token ? "token" : "file"),
                                   std::string("bench.example/") + (token ? "token" : "file"), {},
                                   StoreFor(token, true));
    if (!local.ok()) {
      std::fprintf(stderr, "%s\n", local.status().ToString().c_str());
      std::abort();
    }
    it = logs.emplace(token, std::move(*local)).first;
  }
  return it->second.log.get();
}

void BM_DurableAppend(benchmark::State& state) {
  log::EventLog* log = BenchLog(state.range(0) != 0);
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<log::EventDraft> drafts;
    drafts.push_back(Draft(i++));
    if (!log->Append(std::move(drafts)).ok()) state.SkipWithError("append");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Where(state));
}
BENCHMARK(BM_DurableAppend)->Arg(0)->Arg(1)->UseRealTime()->MinTime(2);

void BM_DurableAppendBatch16(benchmark::State& state) {
  log::EventLog* log = BenchLog(state.range(0) != 0);
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<log::EventDraft> drafts;
    for (int k = 0; k < 16; ++k) drafts.push_back(Draft(i++));
    if (!log->Append(std::move(drafts)).ok()) state.SkipWithError("append");
  }
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetLabel(Where(state));
}
BENCHMARK(BM_DurableAppendBatch16)->Arg(0)->Arg(1)->Threads(4)->UseRealTime()->MinTime(2);

}  // namespace
}  // namespace mirrorca

BENCHMARK_MAIN();
