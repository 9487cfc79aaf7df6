// enroll_load: end-to-end load driver for the factory enrollment API.
//
// In one process on the same 2 cores: a quickstart setup (quota 10^6), the
// factory (FactoryCa + EnrollmentApi + HttpServer: real mTLS on 127.0.0.1,
// durable RocksDB log), and clients (net::HttpClient, one mTLS connection per
// thread) posting pre-generated P-256 device CSRs.
//   1. peak: bulk requests (--bulk items) on --connections connections
//   2. single enrolls (one certificate per request): their own peak (32
//      connections, closed loop), then paced at 50 % of it; p50/p99
//   3. EST simpleenroll (RFC 7030, base64 PKCS#10) and CMP p10cr (RFC 9483,
//      OpenSSL's CMP client, RA signature protection, certConf/pkiConf: the
//      `openssl cmp` flow) on the same port: each at its peak (16
//      connections, one certificate per request) and paced at half of it
//   4. cfssl (if installed): `cfssl serve` signing the same CSRs through
//      /api/v1/cfssl/sign (plain HTTP, one CSR per request, its best case)
// Every CSR is P-256 with the device serial in its subject (serialNumber),
// made the same way; each phase takes its own devices, since a factory
// certifies a device once.
// Every phase reports the CPU it took: the process's, the load driver's
// (its client threads, measured per thread) and the rest, the server's,
// per certificate, since the driver shares the two cores.
// Prints one JSON object. Usage: enroll_load [--certs N] [--connections C]
//   [--bulk B] [--latency-seconds S] [--no-cfssl] [--no-standards] [--bulk-only | --single-only]
//   [--single-rate R (single enrolls paced at R/s, not at half of their peak)] [--paced-connections C]
//   [--latency-dump FILE (each paced single enroll: "scheduled_ms latency_ms")]
//   [--key STORE --log-key STORE]
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <openssl/cmp.h>

#include <functional>
#include <thread>

#include "base/parallel_for.h"
#include "bench/host_probe.h"
#include "ca/keys.h"
#include "ca/test_pki.h"
#include "cli/config.h"
#include "cli/pki_commands.h"
#include "engine/enrollment_api.h"
#include "engine/factory_ca.h"
#include "enrollment/cmp_server.h"
#include "enrollment/est_codec.h"
#include "enrollment/est_server.h"
#include "crypto/key_store.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/tls.h"

using namespace mirrorca;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using bench::LatencyTail;
using bench::Percentile;

namespace {

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::cerr << "enroll_load: " << what << ": " << s << "\n";
  std::exit(2);
}

std::string DeviceSerial(size_t i) { return "D" + std::to_string(i); }

// MakeCsrs: PEM CSRs of fresh P-256 keys, CSR i naming device DeviceSerial(i).
std::vector<std::string> MakeCsrs(size_t n) {
  std::vector<std::string> csrs(n);
  ParallelFor(n, HardwareThreads(), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      auto key = ca::GenerateKey(ca::KeyType::kP256);
      ca::X509ReqPtr req(X509_REQ_new());
      const std::string serial = DeviceSerial(i);
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "serialNumber", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(serial.data()),
                                 static_cast<int>(serial.size()), -1, 0);
      X509_REQ_set_pubkey(req.get(), key->get());
      X509_REQ_sign(req.get(), key->get(), EVP_sha256());
      csrs[i] = *ca::RequestPem(req.get());
    }
  });
  return csrs;
}

// StealSeconds: CPU time the hypervisor has taken from this VM, all CPUs
// (the "steal" column of /proc/stat); 0 where it is not reported.
double StealSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return 0;
  return static_cast<double>(steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU accounting: the process's CPU seconds, and the driver's, summed over
// its client threads as each one ends (CLOCK_THREAD_CPUTIME_ID).
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double ThisThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
std::atomic<uint64_t> g_driver_cpu_ns{0};
// DriverThreadDone: a client thread adds its CPU before it ends.
void DriverThreadDone() { g_driver_cpu_ns += static_cast<uint64_t>(ThisThreadCpuSeconds() * 1e9); }

// CpuMeter: the CPU a phase took, split between driver and server.
class CpuMeter {
 public:
  CpuMeter() : process_(ProcessCpuSeconds()), driver_ns_(g_driver_cpu_ns.load()) {}
  json Report(size_t certificates, double seconds) const {
    const double process = ProcessCpuSeconds() - process_;
    const double driver = (g_driver_cpu_ns.load() - driver_ns_) / 1e9;
    const double server = process - driver;
    return json{{"process_seconds", process},
                {"driver_seconds", driver},
                {"server_seconds", server},
                {"server_cores_busy", seconds > 0 ? server / seconds : 0},
                {"server_us_per_certificate", certificates ? server * 1e6 / certificates : 0},
                {"driver_us_per_certificate", certificates ? driver * 1e6 / certificates : 0}};
  }

 private:
  double process_;
  uint64_t driver_ns_;
};

struct PhaseResult {
  size_t ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> latency_ms;  // paced phases: from each request's scheduled start
  std::vector<double> scheduled_ms;  // paced phases: each request's scheduled start, ms from the phase's start
  Clock::time_point started;         // the phase's start (steady clock = CLOCK_MONOTONIC, as perf's)
  // Paced phases: how late each client thread woke for its request's
  // scheduled start (a late wake on idle cores is the machine's, not the
  // server's), and the CPU time the hypervisor took from this VM (steal).
  std::vector<double> wake_late_ms;
  double steal_seconds = 0;
  json cpu;
  double per_second() const { return seconds > 0 ? ok / seconds : 0; }
};

// OneRequest sends request `i` on `client`; true when it was answered with a certificate.
using OneRequest = std::function<bool(net::HttpClient& client, size_t i)>;
using Connect = std::function<std::unique_ptr<net::HttpClient>()>;

// ClosedLoop: `connections` clients, each sending the next index in
// [begin, end) as soon as its previous answer arrives.
PhaseResult ClosedLoop(unsigned connections, size_t begin, size_t end, const Connect& connect, const OneRequest& one) {
  std::atomic<size_t> next{begin}, ok{0}, failed{0};
  // Connections are made first: a phase measures requests, not handshakes.
  std::vector<std::unique_ptr<net::HttpClient>> clients;
  for (unsigned t = 0; t < connections; ++t) clients.push_back(connect());
  const CpuMeter cpu;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      net::HttpClient& client = *clients[t];
      for (size_t i = next++; i < end; i = next++) (one(client, i) ? ok : failed)++;
      DriverThreadDone();
    });
  }
  for (auto& t : threads) t.join();
  PhaseResult r;
  r.ok = ok;
  r.failed = failed;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.cpu = cpu.Report(r.ok, r.seconds);
  return r;
}

// Paced: an open loop at `rate` requests/s in all, spread over
// `connections` clients, for `seconds`, indices from `begin` (below `end`);
// each latency counts from the request's scheduled start (no coordinated omission).
PhaseResult Paced(unsigned connections, double rate, double seconds, size_t begin, size_t end, const Connect& connect,
                  const OneRequest& one) {
  const double interval = connections / rate;
  std::vector<std::vector<double>> lat(connections), late(connections), scheduled(connections);
  std::atomic<size_t> next{begin}, ok{0}, failed{0};
  std::vector<std::unique_ptr<net::HttpClient>> clients;  // made first, as in ClosedLoop
  for (unsigned t = 0; t < connections; ++t) clients.push_back(connect());
  // The client threads start first and wait for a common start: the phase
  // measures requests, not thread starts (32 of them at once take
  // milliseconds here, which the first requests would otherwise count).
  std::atomic<unsigned> started{0};
  std::atomic<bool> go{false};
  Clock::time_point t0;  // written before `go`
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      struct Done {
        ~Done() { DriverThreadDone(); }
      } done;
      started++;
      started.notify_one();
      go.wait(false);
      net::HttpClient* client = clients[t].get();
      auto due = t0 + std::chrono::duration<double>(interval * t / connections);
      const auto end_at = t0 + std::chrono::duration<double>(seconds);
      while (due < end_at) {
        std::this_thread::sleep_until(due);
        late[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
        const size_t i = next++;
        if (i >= end) return;
        if (one(*client, i)) {
          ok++;
          lat[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
          scheduled[t].push_back(std::chrono::duration<double, std::milli>(due - t0).count());
        } else {
          failed++;
        }
        due += std::chrono::duration<double>(interval);
      }
    });
  }
  for (unsigned n = started; n < connections; n = started) started.wait(n);
  const double steal_before = StealSeconds();
  const CpuMeter cpu;
  t0 = Clock::now();
  go = true;
  go.notify_all();
  for (auto& t : threads) t.join();
  PhaseResult r;
  r.ok = ok;
  r.failed = failed;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.started = t0;
  r.cpu = cpu.Report(r.ok, r.seconds);
  for (auto& v : lat) r.latency_ms.insert(r.latency_ms.end(), v.begin(), v.end());
  for (auto& v : scheduled) r.scheduled_ms.insert(r.scheduled_ms.end(), v.begin(), v.end());
  for (auto& v : late) r.wake_late_ms.insert(r.wake_late_ms.end(), v.begin(), v.end());
  r.steal_seconds = StealSeconds() - steal_before;
  return r;
}

// ReadBulkCounts: an enroll-bulk answer's counts without parsing its
// JSON (the driver's CPU takes the server's cores, and the answer is half a
// megabyte of certificate chains; cfssl's answers are checked by a search
// too). The body leads with {"issued":N,"rejected":M; the counts are
// believed only if they add up to the items sent and as many items say
// "status":"issued"; otherwise every item counts as failed.
struct BulkCounts {
  size_t issued = 0, rejected = 0;
};
BulkCounts ReadBulkCounts(std::string_view body, size_t items) {
  BulkCounts c;
  const int n = std::sscanf(std::string(body.substr(0, 64)).c_str(), "{\"issued\":%zu,\"rejected\":%zu", &c.issued,
                            &c.rejected);
  size_t said_issued = 0;
  for (size_t at = body.find("\"status\":\"issued\""); at != std::string_view::npos;
       at = body.find("\"status\":\"issued\"", at + 1)) {
    ++said_issued;
  }
  if (n != 2 || c.issued + c.rejected != items || said_issued != c.issued) return {0, items};
  return c;
}

// SlowCommits: the log's durable commits slower than 2.5 ms, placed in
// time (EventLogOptions::on_commit).
class SlowCommits {
 public:
  void Observe(int64_t micros) {
    if (micros <= 2500) return;
    const Clock::time_point end = Clock::now();
    std::lock_guard lock(mu_);
    slow_.push_back(bench::Interval{end - std::chrono::microseconds(micros), end});
  }
  std::vector<bench::Interval> Between(Clock::time_point from, Clock::time_point to) {
    std::lock_guard lock(mu_);
    std::vector<bench::Interval> out;
    for (const bench::Interval& i : slow_) {
      if (i.to >= from && i.from <= to) out.push_back(i);
    }
    return out;  // in commit order: by `from`
  }

 private:
  std::mutex mu_;
  std::vector<bench::Interval> slow_;
};

// HostShare: the paced phase's tail beside the machine's own: the disk's
// commit latency with the server idle, the moments the host slowed or took
// the CPUs, the log's slow commits, and how many of the requests over 5 ms
// shared their time with one of those (or started within 30 ms after one:
// the backlog a stall leaves drains about as long).
json HostShare(const PhaseResult& r, const bench::CapacityMonitor::Report& capacity,
               const std::vector<bench::Interval>& slow_commits, const LatencyTail& disk) {
  json out{{"durable_writes_3KiB_server_idle", bench::ToJson(disk)},
           {"cpu_capacity", bench::ToJson(capacity)},
           {"log_commits_over_2_5ms", slow_commits.size()}};
  constexpr auto kDrain = std::chrono::milliseconds(30);
  size_t over = 0, slowed = 0, taken = 0, commits = 0, any = 0;
  std::vector<double> away;
  for (size_t i = 0; i < r.latency_ms.size(); ++i) {
    const auto start = r.started + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double, std::milli>(r.scheduled_ms[i]));
    const auto latency =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(r.latency_ms[i]));
    const bool near_slowed = bench::Overlaps(capacity.slowed, start, latency, kDrain);
    const bool near_taken = bench::Overlaps(capacity.taken, start, latency, kDrain);
    const bool near_commit = bench::Overlaps(slow_commits, start, latency, kDrain);
    const bool near = near_slowed || near_taken || near_commit;
    if (!near) away.push_back(r.latency_ms[i]);
    if (r.latency_ms[i] <= 5) continue;
    ++over;
    slowed += near_slowed;
    taken += near_taken;
    commits += near_commit;
    any += near;
  }
  out["requests"] = r.latency_ms.size();
  out["requests_over_5ms"] = over;
  out["over_5ms_near"] = {{"cpus_slowed", slowed}, {"cpu_taken", taken}, {"slow_commit", commits}, {"any", any}};
  out["requests_away_from_all"] = away.size();
  out["p99_ms_away_from_all"] = Percentile(away, 0.99);
  return out;
}

// WriteLatencyDump: one line per request of a paced phase, "scheduled_ms
// latency_ms", by scheduled start: to see when a tail happened and for how
// long. The first line, a comment, gives the phase's start in seconds of
// CLOCK_MONOTONIC, the clock of `perf` and of CapacityMonitor.
void WriteLatencyDump(const std::string& path, const PhaseResult& r) {
  std::vector<std::pair<double, double>> rows;
  for (size_t i = 0; i < r.latency_ms.size(); ++i) rows.emplace_back(r.scheduled_ms[i], r.latency_ms[i]);
  std::sort(rows.begin(), rows.end());
  std::ofstream out(path);
  out << "# phase start, CLOCK_MONOTONIC seconds: " << std::fixed
      << std::chrono::duration<double>(r.started.time_since_epoch()).count() << '\n';
  out.unsetf(std::ios::fixed);
  for (const auto& [at, ms] : rows) out << at << ' ' << ms << '\n';
  if (!out) Die("latency dump", Status::IOError("cannot write " + path));
}


// CommitsBetween: the log's durable commits between two snapshots of its
// commit-latency histogram: how many, the bucket bound under which half and
// 99 % of them fell, and the share slower than 1 and 2.5 ms.
json CommitsBetween(const HistogramSnapshot& before, const HistogramSnapshot& after) {
  const uint64_t n = after.count - before.count;
  json out{{"commits", n}};
  if (n == 0) return out;
  auto at_most = [&](size_t i) { return after.buckets[i].second - before.buckets[i].second; };
  auto bound_ms = [&](double q) {
    for (size_t i = 0; i < after.buckets.size(); ++i) {
      if (at_most(i) >= q * n) return after.buckets[i].first * 1000;
    }
    return std::numeric_limits<double>::infinity();
  };
  auto slower_than = [&](double seconds) {
    for (size_t i = 0; i < after.buckets.size(); ++i) {
      if (after.buckets[i].first == seconds) return 1.0 - static_cast<double>(at_most(i)) / n;
    }
    return 0.0;
  };
  out["mean_ms"] = (after.sum - before.sum) * 1000 / n;
  out["p50_at_most_ms"] = bound_ms(0.5);
  out["p99_at_most_ms"] = bound_ms(0.99);
  out["share_over_1ms"] = slower_than(0.001);
  out["share_over_2_5ms"] = slower_than(0.0025);
  return out;
}

struct Args {
  size_t certs = 20000;
  unsigned connections = 4;
  size_t bulk = 250;
  double latency_seconds = 5;
  std::string latency_dump;  // --latency-dump FILE: the paced single enrolls, one line each
  bool cfssl = true;
  bool standards = true;  // EST and CMP beside REST
  bool bulk_only = false;    // phase 1 alone (for profiling it)
  bool single_only = false;  // phase 2 alone
  unsigned paced_connections = 32;  // single enrolls at half of their peak
  double single_rate = 0;           // > 0: single enrolls paced at this rate instead
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
    else if (k == "--latency-dump") a.latency_dump = next();
    else if (k == "--no-cfssl") a.cfssl = false;
    else if (k == "--no-standards") a.standards = false;
    else if (k == "--bulk-only") a.bulk_only = true;
    else if (k == "--single-only") a.single_only = true;
    else if (k == "--paced-connections") a.paced_connections = std::stoul(next());
    else if (k == "--single-rate") a.single_rate = std::stod(next());
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
  // Slices: REST bulk [0, certs), REST singles, then EST and CMP (peak, paced).
  // Single enrolls: 10,000 at their peak, then up to 20,000 paced, so the
  // paced phase lasts its --latency-seconds at up to 4,000/s.
  const size_t kSinglePeak = 10000, kSingles = kSinglePeak + 20000, kStandardPeak = std::min<size_t>(a.certs, 4000), kStandardPaced = 10000;
  const size_t rest_singles = a.certs, est_from = rest_singles + kSingles;
  const size_t cmp_from = est_from + (a.standards ? kStandardPeak + kStandardPaced : 0);
  const size_t total = cmp_from + (a.standards ? kStandardPeak + kStandardPaced : 0);
  std::vector<std::string> csrs = MakeCsrs(a.bulk_only ? a.certs : a.single_only ? est_from : total);

  engine::FactoryCaOptions o;
  SlowCommits slow_commits;
  o.log_options.on_commit = [&slow_commits](int64_t micros) { slow_commits.Observe(micros); };
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
  enrollment::EstServer est(factory->get());
  enrollment::CmpServerOptions cmp_options;
  Env* env = Env::Default();
  auto enroll_cert = ca::LoadCertificate(env, c->tls.cert);
  auto enroll_key = crypto::OpenKeyAt(env, c->tls.key);
  auto lan_ca = ca::LoadCertificate(env, c->tls.ca);
  auto ra_cert = ca::LoadCertificate(env, dir + "/ra/ra-line1.pem");
  auto ra_key = crypto::OpenKeyAt(env, dir + "/ra/ra-line1.key");
  if (!enroll_cert.ok() || !enroll_key.ok() || !lan_ca.ok() || !ra_cert.ok() || !ra_key.ok()) {
    Die("CMP identities", Status::InvalidArgument("the quickstart's TLS files do not load"));
  }
  cmp_options.protection_cert = ca::UpRef(enroll_cert->get());
  cmp_options.protection_key = ca::UpRef(enroll_key->get());
  cmp_options.ra_trust.push_back(ca::UpRef(lan_ca->get()));
  enrollment::CmpServer cmp(factory->get(), std::move(cmp_options));
  auto server_tls = net::ServerContext({c->tls.cert, c->tls.key, c->tls.ca}, {c->ras[0].spki_sha256});
  if (!server_tls.ok()) Die("tls", server_tls.status());
  const std::string ra_id = c->ras[0].id;
  net::HttpServer server(*server_tls, [&](const net::HttpRequest& r) {
    auto type = r.headers.find("content-type");
    const std::string content_type = type == r.headers.end() ? "" : type->second;
    if (std::optional<enrollment::EstReply> e = est.Handle({r.method, r.path, content_type, r.body, {ra_id, ""}})) {
      return net::HttpResponse{e->http_status, e->content_type, std::move(e->headers), std::move(e->body)};
    }
    if (r.path == "/.well-known/cmp/p/B1") {
      enrollment::CmpReply m = cmp.Handle("B1", r.body, ra_id);
      return net::HttpResponse{m.http_status, m.content_type, {}, std::move(m.body)};
    }
    engine::ApiResponse x = api.Handle({r.method, r.path, r.query, "", r.body, ra_id});
    return net::HttpResponse{x.status, x.content_type, std::move(x.headers), std::move(x.body)};
  });
  if (Status st = server.Start(); !st.ok()) Die("start", st);
  auto client_tls = net::ClientContext({dir + "/ra/ra-line1.pem", dir + "/ra/ra-line1.key", c->tls.ca});
  if (!client_tls.ok()) Die("client tls", client_tls.status());

  const Connect connect = [&]() {
    auto client = net::HttpClient::Connect("127.0.0.1", server.port(), *client_tls);
    if (!client.ok()) Die("connect", client.status());
    // In TLS 1.3 a client's handshake ends before the server has checked
    // its certificate and Finished: the server does that when the first
    // request arrives. One small request per connection before the phase
    // keeps such checks out of its first milliseconds.
    auto warm = (*client)->Request("GET", "/v1/batches/B1", "", "");
    if (!warm.ok()) Die("first request", warm.status());
    if (warm->status != 200) Die("first request", Status::Internal("HTTP status " + std::to_string(warm->status)));
    return std::move(*client);
  };

  // 1. Peak throughput with bulk requests. Their bodies are written, and
  // the connections made, before the clock starts (a load driver's JSON and
  // TLS handshakes are not the server's cost per certificate).
  std::vector<std::string> bulk_bodies;
  for (size_t begin = 0; begin < a.certs && !a.single_only; begin += a.bulk) {
    json items = json::array();
    for (size_t i = begin; i < std::min(a.certs, begin + a.bulk); ++i) {
      items.push_back({{"device_serial", DeviceSerial(i)}, {"csr", csrs[i]}});
    }
    bulk_bodies.push_back(items.dump());
  }
  std::atomic<size_t> next{0}, issued{0}, failed{0};
  std::vector<std::unique_ptr<net::HttpClient>> bulk_clients;
  for (unsigned t = 0; t < a.connections && !a.single_only; ++t) bulk_clients.push_back(connect());
  const CpuMeter bulk_cpu;
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < a.connections && !a.single_only; ++t) {
    threads.emplace_back([&, t] {
      net::HttpClient* client = bulk_clients[t].get();
      while (true) {
        size_t begin = next.fetch_add(a.bulk);
        if (begin >= a.certs || a.single_only) return DriverThreadDone();
        size_t end = std::min(a.certs, begin + a.bulk);
        auto r = client->Request("POST", "/v1/batches/B1/enroll-bulk", "application/json",
                                    bulk_bodies[begin / a.bulk]);
        if (!r.ok() || r->status != 200) {
          failed += end - begin;
          continue;
        }
        const BulkCounts counts = ReadBulkCounts(r->body, end - begin);
        issued += counts.issued;
        failed += counts.rejected;
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  bulk_clients.clear();
  const double peak_secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double peak = issued / peak_secs;
  const json bulk_cpu_report = bulk_cpu.Report(issued, peak_secs);
  std::cerr << "peak: " << issued << " certificates in " << peak_secs << " s = " << peak << "/s\n";
  if (a.bulk_only) {
    std::cout << json{{"certificates_per_second", peak}, {"failed", failed.load()}, {"cpu", bulk_cpu_report}}.dump(2)
              << std::endl;
    server.Stop();
    factory->reset();
    std::filesystem::remove_all(dir);
    return 0;
  }

  // 2. Single enrolls: their own peak, then paced at half of it.
  const OneRequest single_one = [&](net::HttpClient& client, size_t i) {
    auto r = client.Request("POST", "/v1/batches/B1/enroll?device_serial=" + DeviceSerial(i), "application/pkcs10",
                            csrs[i]);
    return r.ok() && r->status == 200;
  };
  const size_t single_peak_n = kSinglePeak;
  const PhaseResult single_peak = ClosedLoop(32, rest_singles, rest_singles + single_peak_n, connect, single_one);
  // The disk's own commit tail, with the server idle (bench/host_probe.h).
  Result<LatencyTail> durable_writes = bench::ProbeDurableWrites(c->data_dir, 2);
  if (!durable_writes.ok()) Die("durable-write probe", durable_writes.status());
  std::cerr << "single enroll peak: " << single_peak.ok << " certificates in " << single_peak.seconds
            << " s = " << single_peak.per_second() << "/s\n";
  const double target = a.single_rate > 0 ? a.single_rate : single_peak.per_second() / 2;
  const HistogramSnapshot commits_before = (*factory)->log().CommitLatency();
  // The host's share, measured while the phase runs (bench/host_probe.h).
  bench::CapacityMonitor capacity;
  const PhaseResult single_paced =
      Paced(a.paced_connections, target, a.latency_seconds, rest_singles + single_peak_n, est_from, connect, single_one);
  const json host_probe =
      HostShare(single_paced, capacity.Stop(),
                slow_commits.Between(single_paced.started,
                                     single_paced.started + std::chrono::duration_cast<Clock::duration>(
                                                                std::chrono::duration<double>(single_paced.seconds))),
                *durable_writes);
  // Each single enroll waits for the commit in flight, then its own.
  const json paced_commits = CommitsBetween(commits_before, (*factory)->log().CommitLatency());
  const std::vector<double>& all = single_paced.latency_ms;
  if (!a.latency_dump.empty()) WriteLatencyDump(a.latency_dump, single_paced);
  if (a.single_only) {
    std::cout << json{{"peak_per_second", single_peak.per_second()}, {"peak_cpu", single_peak.cpu},
                      {"paced_per_second", single_paced.per_second()}, {"failed", single_paced.failed},
                      {"p50_ms", Percentile(all, 0.50)}, {"p90_ms", Percentile(all, 0.90)},
                      {"p99_ms", Percentile(all, 0.99)}, {"max_ms", Percentile(all, 1.0)},
                      {"paced_cpu", single_paced.cpu}, {"paced_commits", paced_commits},
                      {"driver_wake_late_p99_ms", Percentile(single_paced.wake_late_ms, 0.99)},
                      {"steal_seconds", single_paced.steal_seconds}, {"host_probe", host_probe}}
                     .dump(2)
              << std::endl;
    server.Stop();
    factory->reset();
    std::filesystem::remove_all(dir);
    return 0;
  }

  // 3. EST and CMP: one certificate per request, at peak and at half of it.
  json standards = nullptr;
  if (a.standards) {
    std::vector<std::string> est_bodies(csrs.size());
    for (size_t i = est_from; i < cmp_from; ++i) {
      est_bodies[i] = enrollment::EncodeBase64Body(*ca::RequestDer(ca::ParseRequest(csrs[i])->get()));
    }
    const OneRequest est_one = [&](net::HttpClient& client, size_t i) {
      auto r = client.Request("POST", "/.well-known/est/B1/simpleenroll", "application/pkcs10", est_bodies[i]);
      return r.ok() && r->status == 200;
    };
    std::vector<ca::X509ReqPtr> cmp_requests(csrs.size());
    for (size_t i = cmp_from; i < total; ++i) cmp_requests[i] = std::move(*ca::ParseRequest(csrs[i]));
    const OneRequest cmp_one = [&](net::HttpClient& client, size_t i) {
      ca::OpenSslPtr<OSSL_CMP_CTX, OSSL_CMP_CTX_free> ctx(OSSL_CMP_CTX_new(nullptr, nullptr));
      OSSL_CMP_CTX_set_log_verbosity(ctx.get(), OSSL_CMP_LOG_EMERG);
      OSSL_CMP_CTX_set_transfer_cb(ctx.get(), [](OSSL_CMP_CTX* x, const OSSL_CMP_MSG* req) -> OSSL_CMP_MSG* {
        auto* http = static_cast<net::HttpClient*>(OSSL_CMP_CTX_get_transfer_cb_arg(x));
        unsigned char* der = nullptr;
        const int n = i2d_OSSL_CMP_MSG(req, &der);
        if (n <= 0) return nullptr;
        std::string body(reinterpret_cast<char*>(der), static_cast<size_t>(n));
        OPENSSL_free(der);
        auto r = http->Request("POST", "/.well-known/cmp/p/B1", "application/pkixcmp", body);
        if (!r.ok() || r->status != 200) return nullptr;
        const auto* p = reinterpret_cast<const unsigned char*>(r->body.data());
        return d2i_OSSL_CMP_MSG(nullptr, &p, static_cast<long>(r->body.size()));
      });
      OSSL_CMP_CTX_set_transfer_cb_arg(ctx.get(), &client);
      OSSL_CMP_CTX_set1_srvCert(ctx.get(), enroll_cert->get());
      OSSL_CMP_CTX_set1_cert(ctx.get(), ra_cert->get());
      OSSL_CMP_CTX_set1_pkey(ctx.get(), ra_key->get());
      OSSL_CMP_CTX_set1_p10CSR(ctx.get(), cmp_requests[i].get());
      const bool ok = OSSL_CMP_exec_P10CR_ses(ctx.get()) != nullptr;
      ERR_clear_error();
      return ok;
    };
    auto measure = [&](const char* name, size_t from, const OneRequest& one) {
      PhaseResult peak_run = ClosedLoop(16, from, from + kStandardPeak, connect, one);
      std::cerr << name << " peak: " << peak_run.ok << " certificates in " << peak_run.seconds
                << " s = " << peak_run.per_second() << "/s\n";
      const double half = peak_run.per_second() / 2;
      PhaseResult paced = Paced(32, half, a.latency_seconds, from + kStandardPeak,
                                from + kStandardPeak + kStandardPaced, connect, one);
      return json{{"peak", {{"certificates", peak_run.ok}, {"failed", peak_run.failed}, {"seconds", peak_run.seconds},
                            {"certificates_per_second", peak_run.per_second()}, {"connections", 16},
                            {"cpu", peak_run.cpu}}},
                  {"at_half_peak", {{"target_per_second", half}, {"achieved_per_second", paced.per_second()},
                                    {"requests", paced.ok}, {"failed", paced.failed},
                                    {"p50_ms", Percentile(paced.latency_ms, 0.50)},
                                    {"p99_ms", Percentile(paced.latency_ms, 0.99)},
                                    {"max_ms", Percentile(paced.latency_ms, 1.0)}}}};
    };
    json est_result = measure("EST simpleenroll", est_from, est_one);
    json cmp_result = measure("CMP p10cr", cmp_from, cmp_one);
    standards = json{{"est_simpleenroll", est_result},
                     {"cmp_p10cr_with_certconf", cmp_result},
                     {"rest_bulk_per_second", peak},
                     {"rest_single_p99_ms", Percentile(all, 0.99)}};
  }
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
    std::vector<std::string> cf_bodies;  // written before the clock, as for mirrorca
    for (size_t i = 0; i < cf_n; ++i) cf_bodies.push_back(json{{"certificate_request", csrs[i]}}.dump());
    std::atomic<size_t> cf_next{0}, cf_ok{0}, cf_fail{0};
    auto t2 = Clock::now();
    for (unsigned t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        auto client = net::HttpClient::Connect("127.0.0.1", port, nullptr);
        if (!client.ok()) return;
        while (true) {
          size_t i = cf_next.fetch_add(1);
          if (i >= cf_n) return;
          auto r = (*client)->Request("POST", "/api/v1/cfssl/sign", "application/json", cf_bodies[i]);
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
    rusage cf_usage{};  // cfssl's own CPU, start-up included
    wait4(pid, nullptr, 0, &cf_usage);
    const double cf_cpu = cf_usage.ru_utime.tv_sec + cf_usage.ru_stime.tv_sec +
                          (cf_usage.ru_utime.tv_usec + cf_usage.ru_stime.tv_usec) / 1e6;
    cfssl_result = json{{"certificates", cf_ok.load()},
                        {"failed", cf_fail.load()},
                        {"seconds", cf_secs},
                        {"certificates_per_second", cf_ok / cf_secs},
                        {"server_us_per_certificate", cf_ok ? cf_cpu * 1e6 / cf_ok : 0},
                        {"connections", 16},
                        {"transport", "plain HTTP, one CSR per request, no durable log"}};
  }
  json out{{"peak", {{"certificates", issued.load()},
                     {"failed", failed.load()},
                     {"seconds", peak_secs},
                     {"certificates_per_second", peak},
                     {"connections", a.connections},
                     {"bulk", a.bulk},
                     {"cpu", bulk_cpu_report}}},
           {"single_enroll_peak",
            {{"certificates", single_peak.ok},
             {"failed", single_peak.failed},
             {"seconds", single_peak.seconds},
             {"certificates_per_second", single_peak.per_second()},
             {"connections", 32},
             {"cpu", single_peak.cpu}}},
           {"single_enroll_at_half_peak",
            {{"target_per_second", target},
             {"achieved_per_second", single_paced.per_second()},
             {"cpu", single_paced.cpu},
             {"requests", single_paced.ok},
             {"failed", single_paced.failed},
             {"p50_ms", Percentile(all, 0.50)},
             {"p99_ms", Percentile(all, 0.99)},
             {"max_ms", Percentile(all, 1.0)},
             {"log_commits", paced_commits},
             {"driver_wake_late_p99_ms", Percentile(single_paced.wake_late_ms, 0.99)},
             {"driver_wake_late_max_ms", Percentile(single_paced.wake_late_ms, 1.0)},
             {"steal_seconds", single_paced.steal_seconds},
             {"host_probe", host_probe}}},
           {"log", {{"events", log_size}, {"fsync_groups", log_groups}}},
           {"keys", a.keys.empty() ? "files" : "token"},
           {"standards", standards},
           {"cfssl", cfssl_result}};
  if (!cfssl_result.is_null() && cfssl_result["certificates_per_second"].get<double>() > 0) {
    out["ratio_vs_cfssl"] = peak / cfssl_result["certificates_per_second"].get<double>();
  }
  std::cout << out.dump(2) << std::endl;
  factory->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
