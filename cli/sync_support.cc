#include "cli/sync_support.h"

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "base/status_macros.h"
#include "engine/delivery_log.h"
#include "net/tls.h"
#include "replication/bundle.h"

namespace mirrorca::cli {

std::string ControlPath(const std::string& data_dir) { return data_dir + "/control.sock"; }

Result<std::string> Delegate(const std::string& data_dir, const nlohmann::json& request,
                             bool print_each) {
  std::string last;
  Status s = net::ControlRequest(ControlPath(data_dir), request.dump(), [&](const std::string& l) {
    if (print_each) std::cout << l << std::endl;
    last = l;
  });
  if (!s.ok()) return s;
  if (last.empty()) return Status::Unavailable("the running node closed the request without an answer");
  return last;
}

Result<HqCopyKeys> HqCopyKeysOf(const FactoryConfig& c) {
  Result<log::LogVerifier> hq = log::LogVerifier::Parse(c.hq_log_key);
  if (!hq.ok()) return hq.status().WithContext(c.path + ": hq.log_key");
  if (hq->name() != c.hq_log_origin) {
    return Status::InvalidArgument(c.path + ": hq.log_key is the key of '" + hq->name() + "', not of hq.log_origin");
  }
  ASSIGN_OR_RETURN(log::LogVerifier copy, engine::DeliveryVerifier(*hq, c.name));
  replication::EventCheck check = engine::DeliveredEventCheck(*hq);
  return HqCopyKeys{std::move(*hq), std::move(copy), std::move(check)};
}

Result<replication::SyncJobOptions> SyncJobFor(const FactoryConfig& c) {
  if (!c.sync) return Status::InvalidArgument(c.path + ": no [sync] section");
  replication::SyncJobOptions o;
  ASSIGN_OR_RETURN(HqCopyKeys keys, HqCopyKeysOf(c));
  o.sync.hq_cosigner = keys.hq;
  o.sync.hq_event_check = keys.check;
  o.host = c.sync->hq_host;
  o.port = c.sync->hq_port;
  ASSIGN_OR_RETURN(o.tls, net::ClientContext({c.sync->tls.cert, c.sync->tls.key, c.sync->tls.ca},
                                             {c.sync->hq_spki_sha256}));
  o.io_timeout = std::chrono::seconds(c.sync->io_timeout_seconds);
  return o;
}

int ExitCodeOfSummary(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 1;
  if (j.value("ok", false)) return 0;
  return j.contains("refused") ? 3 : 1;
}

nlohmann::json BackupJson(const log::BackupInfo& b) {
  return nlohmann::json{{"ok", true}, {"dir", b.out}, {"log", b.origin}, {"log_size", b.log_size},
                        {"stores", b.stores}, {"key_files", b.files}, {"recovery_needed", b.recovery_needed}};
}

void HandleFactoryControl(const FactoryConfig& c, log::EventLog* own, log::EventLog* hq_copy,
                          const std::function<void()>& on_hq_events, const std::string& request,
                          const net::ControlServer::Reply& reply) {
  nlohmann::json req = nlohmann::json::parse(request, nullptr, false);
  auto error = [&](const std::string& e) {
    reply(nlohmann::json{{"ok", false}, {"error", e}}.dump());
  };
  if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
    return error("bad control request");
  }
  const std::string cmd = req["cmd"];
  if (cmd == "sync") {
    Result<replication::SyncJobOptions> o = SyncJobFor(c);
    if (!o.ok()) return error(o.status().ToString());
    o->deadline = std::chrono::milliseconds(req.value("deadline_ms", int64_t{600000}));
    o->continuous = req.value("continuous", false);
    o->sync.on_hq_events = on_hq_events;
    bool client_gone = false;
    o->stopped = [&] { return client_gone; };
    o->on_round = [&](const replication::SyncSummary& s) {
      if (!reply(s.ToJson())) client_gone = true;
    };
    replication::SyncSummary s = replication::RunSyncJob(own, hq_copy, *o);
    reply(s.ToJson());
    return;
  }
  if (cmd == "bundle-import") {
    const std::string path = req.value("file", "");
    std::optional<replication::Refused> refused;
    Result<HqCopyKeys> keys = HqCopyKeysOf(c);
    if (!keys.ok()) return error(keys.status().ToString());
    Result<replication::BundleImport> r = replication::ImportBundle(*hq_copy, path, nullptr, &refused, keys->check);
    if (!r.ok()) {
      nlohmann::json out{{"ok", false}, {"error", r.status().ToString()}};
      if (refused) out["refused"] = std::string(replication::RefusalCode(refused->kind));
      reply(out.dump());
      return;
    }
    if (r->stats.events > 0 && on_hq_events) on_hq_events();
    reply(nlohmann::json{{"ok", true}, {"log", r->info.log}, {"events_imported", r->stats.events},
                         {"events_skipped", r->stats.skipped}, {"copy_size", hq_copy->Size()}}
              .dump());
    return;
  }
  if (cmd == "backup") {
    const std::string out = req.value("out", "");
    if (out.empty() || out.front() != '/') return error("backup needs an absolute path: '" + out + "'");
    Result<log::BackupInfo> b = log::BackupNode(Env::Default(), c.data_dir, {{"store", own->store()}}, *own, out);
    if (!b.ok()) return error(b.status().ToString());
    reply(BackupJson(*b).dump());
    return;
  }
  if (cmd == "bundle-export") {
    const std::string path = req.value("out", "");
    if (path.empty() || path.front() != '/') {
      return error("bundle-export needs an absolute path (the node's working directory is not the caller's): '" +
                   path + "'");
    }
    const uint64_t from = req.value("from", uint64_t{0});
    Result<replication::BundleInfo> r = replication::ExportBundle(
        *own, from, own->origin(),
        static_cast<int64_t>(Env::Default()->NowMicros()), path);
    if (!r.ok()) return error(r.status().ToString());
    reply(nlohmann::json{{"ok", true}, {"log", r->log}, {"from", r->from},
                         {"tree_size", r->tree_size}, {"bytes", r->bytes}, {"file", path}}
              .dump());
    return;
  }
  error("unknown command '" + cmd + "'");
}

ProgressLine::ProgressLine(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::cerr << "\n";
}

void ProgressLine::Update(uint64_t done, uint64_t total) {
  if (!tty_ || total == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  std::cerr << "\r" << label_ << " [" << std::string(filled, '#')
            << std::string(kWidth - filled, ' ') << "] " << done << "/" << total << std::flush;
  drawn_ = true;
}

}  // namespace mirrorca::cli
