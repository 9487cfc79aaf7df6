// enroll_load: end-to-end load driver for the factory enrollment API.
//
// In one process on the same 2 cores: a quickstart setup (quota 10^6), the
// factory (FactoryCa + EnrollmentApi + HttpServer: real mTLS on 127.0.0.1,
// durable RocksDB log), and clients (net::HttpClient, one mTLS connection per
// thread) posting pre-generated P-256 device CSRs.
//   1. peak: bulk requests (--bulk items) on --connections connections
//   2. latency: single enrolls paced at 50 % of the peak rate; p50/p99
//   3. cfssl (if installed): `cfssl serve` signing the same CSRs through
//      /api/v1/cfssl/sign (plain HTTP, one CSR per request, its best case)
// Prints one JSON object. Usage: enroll_load [--certs N] [--connections C]
//   [--bulk B] [--latency-seconds S] [--no-cfssl] [--key STORE --log-key STORE]
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/parallel_for.h"
#include "ca/keys.h"
#include "ca/test_pki.h"
#include "cli/config.h"
#include "cli/pki_commands.h"
#include "engine/enrollment_api.h"
#include "engine/factory_ca.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/tls.h"

using namespace mirrorca;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::cerr << "enroll_load: " << what << ": " << s << "\n";
  std::exit(2);
}

std::vector<std::string> MakeCsrs(size_t n) {
  std::vector<std::string> csrs(n);
  ParallelFor(n, HardwareThreads(), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      auto key = ca::GenerateKey(ca::KeyType::kP256);
      csrs[i] = ca::testing::MakeCsr(key->get(), "device");
    }
  });
  return csrs;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

struct Args {
  size_t certs = 20000;
  unsigned connections = 4;
  size_t bulk = 250;
  double latency_seconds = 5;
  bool cfssl = true;
  std::string keys, log_keys;  // key stores for the quickstart (default: PEM files)
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : "0"); };
    if (k == "--certs") a.certs = std::stoul(next());
    else if (k == "--connections") a.connections = std::stoul(next());
    else if (k == "--bulk") a.bulk = std::stoul(next());
    else if (k == "--latency-seconds") a.latency_seconds = std::stod(next());
    else if (k == "--no-cfssl") a.cfssl = false;
    else if (k == "--key") a.keys = next();
    else if (k == "--log-key") a.log_keys = next();
  }
  const char* base = getenv("MIRRORCA_BENCH_DIR");
  std::string dir = std::string(base ? base : "/tmp") + "/mirrorca_enroll_load_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  cli::QuickstartOptions qo{dir, "idevid", 1000000, 1, true};
  qo.keys = a.keys;  // key stores (bench/run_key_custody_bench.sh): every key in a token
  qo.log_keys = a.log_keys;
  Status s = cli::Quickstart(qo);
  if (!s.ok()) Die("quickstart", s);
  Result<cli::FactoryConfig> c = cli::LoadFactoryConfig(dir + "/factory.toml");
  if (!c.ok()) Die("config", c.status());

  std::cerr << "generating " << a.certs << " CSRs...\n";
  std::vector<std::string> csrs = MakeCsrs(a.certs + 20000);

  engine::FactoryCaOptions o;
  o.data_dir = c->data_dir;
  o.ca_dir = c->ca_dir;
  o.urls = {c->crl_url, c->ocsp_url};
  o.organization = c->organization;
  o.factory_name = c->name;
  o.hq_origin = c->hq_log_origin;
  o.hq_verifier_key = c->hq_log_key;
  o.hq_delivery = true;
  o.ra_batches[c->ras[0].id] = {"*"};
  auto factory = engine::FactoryCa::Open(o);
  if (!factory.ok()) Die("open factory", factory.status());
  engine::EnrollmentApi api(factory->get());
  auto server_tls = net::ServerContext({c->tls.cert, c->tls.key, c->tls.ca}, {c->ras[0].spki_sha256});
  if (!server_tls.ok()) Die("tls", server_tls.status());
  const std::string ra_id = c->ras[0].id;
  net::HttpServer server(*server_tls, [&](const net::HttpRequest& r) {
    engine::ApiResponse x = api.Handle({r.method, r.path, r.query, "", r.body, ra_id});
    return net::HttpResponse{x.status, x.content_type, std::move(x.headers), std::move(x.body)};
  });
  if (Status st = server.Start(); !st.ok()) Die("start", st);
  auto client_tls = net::ClientContext({dir + "/ra/ra-line1.pem", dir + "/ra/ra-line1.key", c->tls.ca});
  if (!client_tls.ok()) Die("client tls", client_tls.status());

  // 1. Peak throughput with bulk requests.
  std::atomic<size_t> next{0}, issued{0}, failed{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < a.connections; ++t) {
    threads.emplace_back([&] {
      auto client = net::HttpClient::Connect("127.0.0.1", server.port(), *client_tls);
      if (!client.ok()) Die("connect", client.status());
      while (true) {
        size_t begin = next.fetch_add(a.bulk);
        if (begin >= a.certs) return;
        size_t end = std::min(a.certs, begin + a.bulk);
        json items = json::array();
        for (size_t i = begin; i < end; ++i) {
          items.push_back({{"device_serial", "D" + std::to_string(i)}, {"csr", csrs[i]}});
        }
        auto r = (*client)->Request("POST", "/v1/batches/B1/enroll-bulk", "application/json", items.dump());
        if (!r.ok() || r->status != 200) {
          failed += end - begin;
          continue;
        }
        json j = json::parse(r->body);
        issued += j["issued"].get<size_t>();
        failed += j["rejected"].get<size_t>();
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  const double peak_secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double peak = issued / peak_secs;
  std::cerr << "peak: " << issued << " certificates in " << peak_secs << " s = " << peak << "/s\n";

  // 2. Single-enroll latency at 50 % of the peak rate (open loop per thread).
  const double target = peak / 2;
  const unsigned lat_threads = 32;
  const double per_thread_interval = lat_threads / target;
  std::vector<std::vector<double>> lat(lat_threads);
  std::atomic<size_t> single_next{a.certs};
  std::atomic<size_t> single_done{0}, single_failed{0};
  auto t1 = Clock::now();
  for (unsigned t = 0; t < lat_threads; ++t) {
    threads.emplace_back([&, t] {
      auto client = net::HttpClient::Connect("127.0.0.1", server.port(), *client_tls);
      if (!client.ok()) Die("connect", client.status());
      auto due = Clock::now() + std::chrono::duration<double>(per_thread_interval * t / lat_threads);
      const auto end_at = t1 + std::chrono::duration<double>(a.latency_seconds);
      while (due < end_at) {
        std::this_thread::sleep_until(due);
        size_t i = single_next.fetch_add(1);
        if (i >= csrs.size()) return;
        auto start = Clock::now();
        auto r = (*client)->Request("POST", "/v1/batches/B1/enroll?device_serial=S" + std::to_string(i),
                                    "application/pkcs10", csrs[i]);
        auto stop = Clock::now();
        if (!r.ok() || r->status != 200) {
          single_failed++;
        } else {
          single_done++;
          // Latency from the scheduled start (no coordinated omission).
          lat[t].push_back(std::chrono::duration<double, std::milli>(stop - due).count());
          (void)start;
        }
        due += std::chrono::duration<double>(per_thread_interval);
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  const double lat_secs = std::chrono::duration<double>(Clock::now() - t1).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  server.Stop();
  const uint64_t log_groups = (*factory)->log().CommittedGroups();
  const uint64_t log_size = (*factory)->log().Size();

  // 3. cfssl on the same CSRs.
  json cfssl_result = nullptr;
  if (a.cfssl && access("/usr/bin/cfssl", X_OK) == 0) {
    const std::string cfg = dir + "/cfssl.json";
    std::ofstream(cfg) << R"({"signing":{"default":{"expiry":"87600h","usages":["digital signature"]}}})";
    asio::io_context io;
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    const uint16_t port = acc.local_endpoint().port();
    acc.close();
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl("/usr/bin/cfssl", "cfssl", "serve", "-address", "127.0.0.1", "-port",
            std::to_string(port).c_str(), "-ca", (c->ca_dir + "/ca.pem").c_str(), "-ca-key",
            (c->ca_dir + "/ca.key").c_str(), "-config", cfg.c_str(), nullptr);
      _exit(127);
    }
    std::unique_ptr<net::HttpClient> probe;
    for (int i = 0; i < 100 && !probe; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto p = net::HttpClient::Connect("127.0.0.1", port, nullptr);
      if (p.ok()) probe = std::move(*p);
    }
    const size_t cf_n = std::min<size_t>(a.certs, 5000);
    std::atomic<size_t> cf_next{0}, cf_ok{0}, cf_fail{0};
    auto t2 = Clock::now();
    for (unsigned t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        auto client = net::HttpClient::Connect("127.0.0.1", port, nullptr);
        if (!client.ok()) return;
        while (true) {
          size_t i = cf_next.fetch_add(1);
          if (i >= cf_n) return;
          auto r = (*client)->Request("POST", "/api/v1/cfssl/sign", "application/json",
                                      json{{"certificate_request", csrs[i]}}.dump());
          if (r.ok() && r->status == 200 && r->body.find("\"success\":true") != std::string::npos) {
            cf_ok++;
          } else {
            cf_fail++;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    const double cf_secs = std::chrono::duration<double>(Clock::now() - t2).count();
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    cfssl_result = json{{"certificates", cf_ok.load()},
                        {"failed", cf_fail.load()},
                        {"seconds", cf_secs},
                        {"certificates_per_second", cf_ok / cf_secs},
                        {"connections", 16},
                        {"transport", "plain HTTP, one CSR per request, no durable log"}};
  }
  json out{{"peak", {{"certificates", issued.load()},
                     {"failed", failed.load()},
                     {"seconds", peak_secs},
                     {"certificates_per_second", peak},
                     {"connections", a.connections},
                     {"bulk", a.bulk}}},
           {"single_enroll_at_half_peak",
            {{"target_per_second", target},
             {"achieved_per_second", single_done / lat_secs},
             {"requests", single_done.load()},
             {"failed", single_failed.load()},
             {"p50_ms", Percentile(all, 0.50)},
             {"p99_ms", Percentile(all, 0.99)},
             {"max_ms", Percentile(all, 1.0)}}},
           {"log", {{"events", log_size}, {"fsync_groups", log_groups}}},
           {"keys", a.keys.empty() ? "files" : "token"},
           {"cfssl", cfssl_result}};
  if (!cfssl_result.is_null() && cfssl_result["certificates_per_second"].get<double>() > 0) {
    out["ratio_vs_cfssl"] = peak / cfssl_result["certificates_per_second"].get<double>();
  }
  std::cout << out.dump(2) << std::endl;
  factory->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
