#include "cli/ra_commands.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/env.h"
#include "base/status_macros.h"
#include "cli/config.h"
#include "net/http_client.h"
#include "net/tls.h"

namespace mirrorca::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Device {
  std::string serial;
  std::string csr;
};

struct Tally {
  std::atomic<uint64_t> issued{0}, failed{0}, done{0};
  std::mutex mu;
  std::map<std::string, uint64_t> failures_by_code;  // guarded by mu
  std::vector<std::string> examples;                 // guarded by mu
};

void Progress(const Tally& t, uint64_t total, bool final) {
  const uint64_t done = t.done.load();
  const int width = 40;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
            << done << "/" << total << " issued " << t.issued.load() << " failed "
            << t.failed.load() << (final ? "\n" : "") << std::flush;
}

Status Enroll(const std::string& config_path, const std::string& batch, const std::string& csr_dir,
              const std::string& out_dir, bool* any_failed) {
  ASSIGN_OR_RETURN(RaConfig c, LoadRaConfig(config_path));
  ASSIGN_OR_RETURN(net::Url url, net::ParseUrl(c.factory_url));
  if (url.scheme != "https") return Status::InvalidArgument("factory_url must be https://");
  Env* env = Env::Default();
  RETURN_IF_ERROR(env->CreateDirs(out_dir));
  std::vector<Device> todo;
  uint64_t skipped = 0;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(csr_dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".csr") files.push_back(e.path());
  }
  if (ec) return Status::IOError("read " + csr_dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    const std::string serial = p.stem().string();
    if (env->FileExists(out_dir + "/" + serial + ".pem")) {
      ++skipped;
      continue;
    }
    ASSIGN_OR_RETURN(std::string csr, env->ReadFile(p.string(), 16 * 1024));
    todo.push_back({serial, std::move(csr)});
  }
  ASSIGN_OR_RETURN(auto tls, net::ClientContext({c.tls.cert, c.tls.key, c.tls.ca}));

  const auto start = std::chrono::steady_clock::now();
  Tally tally;
  std::atomic<size_t> next{0};
  const size_t chunk = c.bulk_size;
  const size_t chunks = (todo.size() + chunk - 1) / chunk;
  const bool tty = isatty(STDERR_FILENO) != 0;
  std::atomic<bool> stop_progress{false};
  std::thread progress;
  if (tty && !todo.empty()) {
    progress = std::thread([&] {
      while (!stop_progress.load()) {
        Progress(tally, todo.size(), false);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }
  Status connection_error;
  std::mutex error_mu;
  auto fail_chunk = [&](size_t begin, size_t end, const std::string& code, const std::string& why) {
    std::lock_guard lock(tally.mu);
    for (size_t i = begin; i < end; ++i) {
      tally.failed++;
      tally.done++;
      tally.failures_by_code[code]++;
    }
    if (tally.examples.size() < 5) tally.examples.push_back(why);
  };
  auto worker = [&] {
    Result<std::unique_ptr<net::HttpClient>> client = Status::Unavailable("not connected");
    while (true) {
      const size_t k = next.fetch_add(1);
      if (k >= chunks) return;
      const size_t begin = k * chunk, end = std::min(todo.size(), begin + chunk);
      json items = json::array();
      for (size_t i = begin; i < end; ++i) {
        items.push_back({{"device_serial", todo[i].serial}, {"csr", todo[i].csr}});
      }
      Result<net::HttpClientResponse> r = Status::Unavailable("");
      for (int attempt = 0; attempt < 3; ++attempt) {
        if (!client.ok()) client = net::HttpClient::Connect(url.host, url.port, tls);
        if (!client.ok()) continue;
        r = (*client)->Request("POST", "/v1/batches/" + batch + "/enroll-bulk",
                               "application/json", items.dump());
        if (r.ok()) break;
        client = Status::Unavailable("reconnect");
      }
      if (!r.ok()) {
        std::lock_guard lock(error_mu);
        connection_error = client.ok() ? r.status() : client.status();
        fail_chunk(begin, end, "connection", connection_error.message());
        continue;
      }
      json j = json::parse(r->body, nullptr, false);
      if (r->status != 200 || j.is_discarded() || !j.contains("results")) {
        std::string code = "http-" + std::to_string(r->status);
        if (!j.is_discarded() && j.contains("code") && j["code"].is_string()) code = j["code"];
        fail_chunk(begin, end, code, r->body.substr(0, 300));
        continue;
      }
      const json& results = j["results"];
      for (size_t i = begin; i < end; ++i) {
        const json& item = results.at(i - begin);
        if (item.value("status", "") == "issued") {
          Status w = env->WriteFileAtomic(out_dir + "/" + todo[i].serial + ".pem",
                                          item.value("certificate_chain", ""), 0644);
          if (w.ok()) {
            tally.issued++;
            tally.done++;
            continue;
          }
          fail_chunk(i, i + 1, "write", w.message());
          continue;
        }
        std::string code = item.contains("error") ? item["error"].value("code", "rejected") : "rejected";
        fail_chunk(i, i + 1, code,
                   todo[i].serial + ": " + (item.contains("error") ? item["error"].value("detail", "") : ""));
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::min<unsigned>(c.connections, static_cast<unsigned>(chunks)));
  for (unsigned i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  stop_progress = true;
  if (progress.joinable()) {
    progress.join();
    Progress(tally, todo.size(), true);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  json summary{{"batch", batch},
               {"devices", todo.size() + skipped},
               {"issued", tally.issued.load()},
               {"failed", tally.failed.load()},
               {"skipped_already_done", skipped},
               {"seconds", secs},
               {"certificates_per_second", secs > 0 ? tally.issued.load() / secs : 0.0},
               {"failures_by_code", tally.failures_by_code},
               {"examples", tally.examples}};
  std::cout << summary.dump() << std::endl;
  *any_failed = tally.failed.load() > 0;
  return Status::Ok();
}

}  // namespace

void AddRaCommands(CLI::App& app, int* exit_code) {
  CLI::App* ra = app.add_subcommand("ra", "The production computer (registration authority)");
  ra->require_subcommand(1);
  struct Opts {
    std::string config, batch, csr_dir, out;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* enroll = ra->add_subcommand("enroll", "Enroll every <device-serial>.csr of a directory");
  enroll->add_option("--config", o->config, "ra.toml")->required();
  enroll->add_option("--batch", o->batch, "Batch id")->required();
  enroll->add_option("--csr-dir", o->csr_dir, "Directory of <device-serial>.csr files")->required();
  enroll->add_option("--out", o->out, "Directory for <device-serial>.pem chains")->required();
  enroll->callback([o, exit_code] {
    bool any_failed = false;
    Status s = Enroll(o->config, o->batch, o->csr_dir, o->out, &any_failed);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    } else if (any_failed) {
      *exit_code = 1;
    }
  });
}

}  // namespace mirrorca::cli
