#include "cli/sync_commands.h"

#include <signal.h>

#include <iostream>
#include <thread>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "base/periodic_task.h"
#include "base/status_macros.h"
#include "crypto/key_store.h"
#include "engine/cosigner.h"
#include "cli/config.h"
#include "cli/admin_api.h"
#include "cli/cache_warm_up.h"
#include "cli/hq_node.h"
#include "cli/operator_hooks.h"
#include "cli/sync_support.h"
#include "engine/delivery_log.h"
#include "log/local_log.h"
#include "net/access_log.h"
#include "net/control_socket.h"
#include "net/tls.h"
#include "replication/bundle.h"
#include "replication/hq_sync.h"
#include "replication/sync_job.h"
#include "replication/sync_server.h"
#include "validation/validation_authority.h"
#include "base/encoding.h"
#include "net/http_server.h"

namespace mirrorca::cli {
namespace {

Status HqServe(const std::string& config_path) {
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(config_path));
  if (!c.sync) return Status::InvalidArgument(config_path + ": no [sync] section");
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  ASSIGN_OR_RETURN(HqNode n, OpenHqNode(c));
  // What is due before the public port opens (a CRL for every CA that has
  // none): GET /crl/ serves only what the node published.
  if (Status m = n.service->va().Maintain(); !m.ok()) {
    logging::Warn("validation-maintenance", {{"warning", "validation-maintenance"}, {"detail", m.ToString()}});
  }
  const std::string metrics_path = c.data_dir + "/sync_metrics.prom";
  std::mutex metrics_mu;
  std::string last_metrics;  // guarded by metrics_mu: skip rewriting an unchanged file
  auto write_metrics = [&] {
    std::lock_guard lock(metrics_mu);
    PrometheusText m;
    n.service->sync().WriteMetrics(m);
    std::string text = m.Render();
    if (text == last_metrics) return;
    if (Env::Default()->WriteFileAtomic(metrics_path, text, 0644).ok()) last_metrics = std::move(text);
  };
  write_metrics();
  // Pins follow HQ's log: a factory onboarded (or re-keyed) while HQ runs
  // is admitted, a removed one is refused by the session.
  replication::HqSync* bound = &n.service->sync();
  ASSIGN_OR_RETURN(auto tls, net::ServerContext({c.sync->tls.cert, c.sync->tls.key, c.sync->tls.ca},
                                                [bound](const std::string& spki) { return bound->Pinned(spki); }));
  replication::SyncServerOptions so;
  so.address = c.sync->listen_address;
  so.port = c.sync->listen_port;
  so.io_timeout = std::chrono::seconds(c.sync->io_timeout_seconds);
  so.max_sessions = static_cast<size_t>(c.sync->max_sessions);
  so.on_session_end = [&](const Status& s) {
    (void)n.service->va().Refresh();  // new factory events reach OCSP and CRLs at once
    // Refusals were already reported by HqSync; report transport-level ones
    // (failed handshakes: unknown keys, TLS 1.2, garbage) here.
    if (s.code() == StatusCode::kPermissionDenied && s.message().find("handshake") != std::string::npos) {
      logging::Warn("sync-handshake-failed", {{"alert", "sync-handshake-failed"}, {"detail", s.message()}});
    }
    logging::Info("sync-session", {{"result", s.ok() ? std::string("ok") : s.ToString()}});
    write_metrics();
  };
  replication::SyncServer server(tls, &n.service->sync(), so);
  RETURN_IF_ERROR(server.Start());
  const net::OperatorHooks hooks = HqOperatorHooks(&n, c.operator_listener.value_or(OperatorConfig{}));
  const net::OperatorHooks public_hooks = HealthOnly(hooks);
  std::unique_ptr<net::HttpServer> va_server;
  // served_by = "ocsp-serve": the public side is a process without CA keys.
  if (c.validation && c.validation->served_by_hq) {
    net::HttpServerOptions ho;
    ho.address = c.validation->listen_address;
    ho.port = c.validation->listen_port;
    ho.max_body_bytes = 64 * 1024;
    ho.max_connections_per_source = kPublicConnectionsPerSource;
    ho.inline_handlers = true;  // OCSP answers are cached or signed in ~100 µs
    ho.io_threads = c.validation->io_threads;
    va_server = std::make_unique<net::HttpServer>(
        nullptr,
        net::WithAccessLog("validation", logging::Level::kDebug,
                           [&](const net::HttpRequest& r) {
                             if (net::IsHealthPath(r.path)) return net::HandleOperator(public_hooks, r);
                             return n.service->va().Handle(r);
                           }),
        ho);
    RETURN_IF_ERROR(va_server->Start());
  }
  // The admin API: mutual TLS with its own pinned keys (least privilege:
  // the sync port accepts only sync keys, this one only admin keys).
  std::unique_ptr<net::HttpServer> admin_server;
  if (c.admin) {
    ASSIGN_OR_RETURN(auto admin_tls,
                     net::ServerContext({c.admin->tls.cert, c.admin->tls.key, c.admin->tls.ca},
                                        c.admin->spki_sha256));
    net::HttpServerOptions ao;
    ao.address = c.admin->listen_address;
    ao.port = c.admin->listen_port;
    ao.max_body_bytes = 64 * 1024;
    ao.worker_threads = 4;
    admin_server = std::make_unique<net::HttpServer>(
        admin_tls, net::WithAccessLog("admin", logging::Level::kInfo, [&](const net::HttpRequest& r) { return HandleAdmin(n, r); }),
        ao);
    RETURN_IF_ERROR(admin_server->Start());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<net::OperatorEndpoint> operator_endpoint,
                   StartOperator(c.operator_listener, hooks));
  ASSIGN_OR_RETURN(auto control,
                   net::ControlServer::Start(ControlPath(c.data_dir),
                                             [&](const std::string& req, const auto& reply) {
                                               HandleHqControl(n, req, reply);
                                               write_metrics();
                                             }));
  std::cout << nlohmann::json{{"serving_sync", c.sync->listen_address + ":" +
                                                   std::to_string(server.port())},
                              {"hq_log", n.service->log().origin()},
                              {"log_size", n.service->log().Size()},
                              {"factories", n.service->authority().Factories().size()},
                              {"serving_validation",
                               va_server ? c.validation->listen_address + ":" +
                                               std::to_string(va_server->port())
                                         : std::string()},
                              {"serving_admin", admin_server ? c.admin->listen_address + ":" +
                                                                   std::to_string(admin_server->port())
                                                             : std::string()},
                              {"metrics", metrics_path}}
                   .dump()
            << std::endl;
  // Refresh the metrics every second too, so a long import shows progress.
  PeriodicTask ticker(std::chrono::seconds(1), [&] {
    (void)n.service->va().Refresh();  // a session still running (continuous) has stored events
    if (Status m = n.service->va().Maintain(); !m.ok()) {
      logging::Warn("validation-maintenance", {{"warning", "validation-maintenance"}, {"detail", m.ToString()}});
    }
    write_metrics();
  });
  // Every issued serial's answer signed ahead: changed statuses, new
  // issuances, then refreshes — in steps of at most 300 ms with 100 ms
  // between them: a backlog (a night's sync of a million issuances) holds
  // the VA's lock at most three quarters of the time, and a revocation or a
  // CRL waits for at most one step.
  PeriodicTask presigner(std::chrono::milliseconds(100), [&] {
    if (Result<size_t> signed_ahead = n.service->va().PresignStep(std::chrono::milliseconds(300)); !signed_ahead.ok()) {
      logging::Warn("ocsp-presign", {{"warning", "ocsp-presign"}, {"detail", signed_ahead.status().ToString()}});
    }
  });
  // A restart answers from memory at once: the stored answers are read
  // into their block cache in the background.
  CacheWarmUp warm_up([&](const std::atomic<bool>& stopping) { return n.service->va().WarmPresigned(stopping); });
  int sig = 0;
  sigwait(&stop, &sig);
  presigner.Stop();
  ticker.Stop();
  control->Stop();
  operator_endpoint.reset();
  if (admin_server) admin_server->Stop();
  if (va_server) va_server->Stop();
  server.Stop();
  write_metrics();
  std::cout << nlohmann::json{{"stopped", true}, {"signal", sig}, {"log_size", n.service->log().Size()}}
                   .dump()
            << std::endl;
  return Status::Ok();
}

int Sync(const std::string& config_path, int deadline_s, bool continuous) {
  Result<FactoryConfig> c = LoadFactoryConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  if (!c->sync) {
    std::cerr << "error: " << config_path << ": no [sync] section\n";
    return 2;
  }
  // A running `factory serve` owns the store: ask it.
  Result<std::string> delegated = Delegate(
      c->data_dir,
      {{"cmd", "sync"}, {"deadline_ms", int64_t{deadline_s} * 1000}, {"continuous", continuous}},
      continuous);
  if (delegated.ok()) {
    if (!continuous) std::cout << *delegated << std::endl;
    return ExitCodeOfSummary(*delegated);
  }
  if (delegated.status().code() != StatusCode::kNotFound) {
    std::cerr << "error: " << delegated.status() << "\n";
    return 1;
  }
  Env* env = Env::Default();
  Result<log::LocalLog> local = log::OpenLocalLog(env, c->data_dir, /*with_key=*/true);
  if (!local.ok()) {
    std::cerr << "error: " << local.status() << "\n";
    return 2;
  }
  Result<HqCopyKeys> keys = HqCopyKeysOf(*c);
  if (!keys.ok()) {
    std::cerr << "error: " << keys.status() << "\n";
    return 2;
  }
  Result<std::unique_ptr<log::EventLog>> hq_copy = log::EventLog::OpenCopy(local->store.get(), keys->copy);
  Result<replication::SyncJobOptions> o = SyncJobFor(*c);
  if (!hq_copy.ok() || !o.ok()) {
    std::cerr << "error: " << (!hq_copy.ok() ? hq_copy.status() : o.status()) << "\n";
    return 2;
  }
  o->deadline = std::chrono::seconds(deadline_s);
  o->continuous = continuous;
  ProgressLine sending("sync: sending"), receiving("sync: receiving");
  o->sync.send.progress = [&](uint64_t d, uint64_t t) { sending.Update(d, t); };
  o->sync.receive_progress = [&](uint64_t d, uint64_t t) { receiving.Update(d, t); };
  static std::atomic<bool> interrupted{false};
  if (continuous) {
    signal(SIGINT, [](int) { interrupted = true; });
    signal(SIGTERM, [](int) { interrupted = true; });
    o->stopped = [] { return interrupted.load(); };
    o->on_round = [](const replication::SyncSummary& s) { std::cout << s.ToJson() << std::endl; };
  }
  replication::SyncSummary s = replication::RunSyncJob(local->log.get(), hq_copy->get(), *o);
  std::cout << s.ToJson() << std::endl;
  return s.exit_code;
}

// NodeKind: which node a config file describes.
struct AnyConfig {
  std::optional<FactoryConfig> factory;
  std::optional<HqConfig> hq;
  std::string data_dir;
};

Result<AnyConfig> LoadAnyConfig(const std::string& path) {
  AnyConfig a;
  Result<FactoryConfig> f = LoadFactoryConfig(path);
  if (f.ok()) {
    a.data_dir = f->data_dir;
    a.factory = std::move(*f);
    return a;
  }
  Result<HqConfig> h = LoadHqConfig(path);
  if (h.ok()) {
    a.data_dir = h->data_dir;
    a.hq = std::move(*h);
    return a;
  }
  return Status::InvalidArgument(path + " is neither a factory.toml (" + f.status().message() +
                                 ") nor an hq.toml (" + h.status().message() + ")");
}

int BundleExport(const std::string& config_path, const std::string& out, uint64_t from,
                 const std::string& factory) {
  Result<AnyConfig> c = LoadAnyConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  // A running node has a working directory of its own (/ under systemd):
  // it is given, and reports, the absolute path.
  const std::string abs_out = std::filesystem::absolute(out).lexically_normal().string();
  Result<std::string> delegated =
      Delegate(c->data_dir, {{"cmd", "bundle-export"}, {"out", abs_out}, {"from", from}, {"factory", factory}}, false);
  if (delegated.ok()) {
    std::cout << *delegated << std::endl;
    return ExitCodeOfSummary(*delegated) == 0 ? 0 : 2;
  }
  Result<log::LocalLog> local = log::OpenLocalLog(Env::Default(), c->data_dir, /*with_key=*/true);
  if (!local.ok()) {
    std::cerr << "error: " << local.status() << "\n";
    return 2;
  }
  // At HQ the bundle carries what a sync would: that factory's delivery log.
  log::EventLog* exported = local->log.get();
  std::unique_ptr<log::Store> delivery_store;
  std::unique_ptr<log::EventLog> delivery;
  if (c->hq) {
    Status s = [&]() -> Status {
      engine::LogAuthority authority(local->log->origin());
      RETURN_IF_ERROR(authority.CatchUp(*local->log));
      ASSIGN_OR_RETURN(engine::FactoryScope f, engine::ResolveFactory(authority, factory));
      ASSIGN_OR_RETURN(log::LogSigner signer, log::LogSigner::Open(Env::Default(), log::LogKeyPath(c->data_dir),
                                                                      local->log->origin()));
      ASSIGN_OR_RETURN(delivery_store, engine::OpenDeliveryStore(c->data_dir));
      ASSIGN_OR_RETURN(delivery, engine::OpenDelivery(delivery_store.get(), signer, f.name));
      return engine::Relay(*local->log, *delivery, f.log_origin).status();
    }();
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      return 2;
    }
    exported = delivery.get();
  }
  ProgressLine progress("bundle: writing");
  replication::SendOptions so;
  so.progress = [&](uint64_t d, uint64_t t) { progress.Update(d, t); };
  Result<replication::BundleInfo> r = replication::ExportBundle(
      *exported, from, exported->origin(), Env::Default()->NowMicros(), abs_out, so);
  if (!r.ok()) {
    std::cerr << "error: " << r.status() << "\n";
    return 2;
  }
  std::cout << nlohmann::json{{"ok", true}, {"log", r->log}, {"from", r->from},
                              {"tree_size", r->tree_size}, {"bytes", r->bytes}, {"file", abs_out}}
                   .dump()
            << std::endl;
  return 0;
}

// Backup: through the running node (it owns the stores), else on the stopped one.
int Backup(const std::string& config_path, const std::string& out) {
  Result<AnyConfig> c = LoadAnyConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  const std::string abs_out = std::filesystem::absolute(out).lexically_normal().string();
  Result<std::string> delegated = Delegate(c->data_dir, {{"cmd", "backup"}, {"out", abs_out}}, false);
  if (delegated.ok()) {
    std::cout << *delegated << std::endl;
    return ExitCodeOfSummary(*delegated) == 0 ? 0 : 2;
  }
  Result<log::BackupInfo> b = [&]() -> Result<log::BackupInfo> {
    ASSIGN_OR_RETURN(log::LocalLog local, log::OpenLocalLog(Env::Default(), c->data_dir, /*with_key=*/true));
    std::vector<log::BackupStore> stores = {{"store", local.store.get()}};
    std::unique_ptr<log::Store> delivery;
    if (c->hq) {
      ASSIGN_OR_RETURN(delivery, engine::OpenDeliveryStore(c->data_dir));
      stores.push_back({"delivery", delivery.get()});
    }
    return log::BackupNode(Env::Default(), c->data_dir, stores, *local.log, abs_out);
  }();
  if (!b.ok()) {
    std::cerr << "error: " << b.status() << "\n";
    return 2;
  }
  std::cout << BackupJson(*b).dump() << std::endl;
  return 0;
}

// Restore: into the node's data folder, which must be empty (the node stopped).
int Restore(const std::string& config_path, const std::string& from) {
  Result<AnyConfig> c = LoadAnyConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  Result<log::BackupInfo> r = log::RestoreNode(Env::Default(), from, c->data_dir);
  if (!r.ok()) {
    std::cerr << "error: " << r.status() << "\n";
    return r.status().code() == StatusCode::kCorruption ? 1 : 2;
  }
  std::cout << BackupJson(*r).dump() << std::endl;
  return 0;
}

int BundleImport(const std::string& config_path, const std::string& file) {
  Result<AnyConfig> c = LoadAnyConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  const std::string abs = std::filesystem::absolute(file).lexically_normal().string();
  // A file that is not there is the operator's mistake (2), not a malformed bundle (3).
  std::error_code ec;
  if (!std::filesystem::is_regular_file(abs, ec)) {
    std::cerr << "error: " << abs << ": " << (std::filesystem::exists(abs, ec) ? "not a regular file" : "no such file")
              << "\n";
    return 2;
  }
  Result<std::string> delegated =
      Delegate(c->data_dir, {{"cmd", "bundle-import"}, {"file", abs}}, false);
  if (delegated.ok()) {
    std::cout << *delegated << std::endl;
    return ExitCodeOfSummary(*delegated);
  }
  ProgressLine progress("bundle: importing");
  auto on_progress = [&](uint64_t d, uint64_t t) { progress.Update(d, t); };
  std::string line;
  if (c->hq) {
    Result<HqNode> n = OpenHqNode(*c->hq);
    if (!n.ok()) {
      std::cerr << "error: " << n.status() << "\n";
      return 2;
    }
    Result<hq::ImportOutcome> r = n->service->ImportBundle(abs, on_progress);
    if (!r.ok()) {
      std::cout << nlohmann::json{{"ok", false}, {"refused", "internal"}, {"error", r.status().ToString()}}.dump()
                << std::endl;
      return 3;
    }
    line = ImportJson(*r);
    if (r->refused) {
      std::cout << line << std::endl;
      return 3;
    }
  } else {
    Result<log::LocalLog> local = log::OpenLocalLog(Env::Default(), c->data_dir, true);
    Result<HqCopyKeys> keys = HqCopyKeysOf(*c->factory);
    if (!local.ok() || !keys.ok()) {
      std::cerr << "error: " << (!local.ok() ? local.status() : keys.status()) << "\n";
      return 2;
    }
    Result<std::unique_ptr<log::EventLog>> copy = log::EventLog::OpenCopy(local->store.get(), keys->copy);
    if (!copy.ok()) {
      std::cerr << "error: " << copy.status() << "\n";
      return 2;
    }
    std::optional<replication::Refused> refused;
    Result<replication::BundleImport> r =
        replication::ImportBundle(**copy, abs, on_progress, &refused, keys->check);
    if (!r.ok()) {
      nlohmann::json out{{"ok", false}, {"error", r.status().ToString()}};
      if (refused) out["refused"] = std::string(replication::RefusalCode(refused->kind));
      std::cout << out.dump() << std::endl;
      return 3;
    }
    line = ImportJson(r->info.log, r->stats, (*copy)->Size(), "");
  }
  std::cout << line << std::endl;
  return 0;
}

}  // namespace

void AddSyncCommands(CLI::App& app, int* exit_code) {
  CLI::App* hq = app.add_subcommand("hq", "The HQ mirror node");
  hq->require_subcommand(1);
  auto hq_config = std::make_shared<std::string>();
  CLI::App* serve = hq->add_subcommand(
      "serve", "Serve the replication port (TLS 1.3, factory identities pinned and bound to logs)");
  serve->add_option("--config", *hq_config, "hq.toml")->required();
  serve->callback([hq_config, exit_code] {
    Status s = HqServe(*hq_config);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    }
  });

  // HQ's cosigner key (engine/cosigner.h): show it, or rotate it.
  struct CosignerArgs {
    std::string config, key_store, reason;
  };
  auto ca = std::make_shared<CosignerArgs>();
  auto cosigner_command = [exit_code, ca](bool rotate) {
    Result<HqConfig> c = LoadHqConfig(ca->config);
    Result<log::LocalLog> hq = c.ok() ? log::OpenLocalLog(Env::Default(), c->data_dir, /*with_key=*/rotate)
                                      : Result<log::LocalLog>(c.status());
    Result<nlohmann::json> out = [&]() -> Result<nlohmann::json> {
      RETURN_IF_ERROR(hq.status().WithContext("open HQ's store (stop hq serve to rotate)"));
      if (rotate) {
        std::optional<crypto::KeyStore> keys;
        if (!ca->key_store.empty()) {
          ASSIGN_OR_RETURN(keys, crypto::ParseKeyStore(ca->key_store));
        }
        ASSIGN_OR_RETURN(log::LogVerifier next,
                         engine::SetCosigner(Env::Default(), c->data_dir, *hq->log, ca->reason, keys));
        return nlohmann::json{{"ok", true}, {"cosigner_key", next.VerifierKey()}};
      }
      ASSIGN_OR_RETURN(std::vector<engine::CosignerEpoch> epochs, engine::CosignersOfHq(*hq->log));
      nlohmann::json all = nlohmann::json::array();
      for (const engine::CosignerEpoch& e : epochs) all.push_back({{"hq_seq", e.from_hq_seq}, {"key", e.key.VerifierKey()}});
      return nlohmann::json{{"cosigner_key", engine::CurrentCosigner(epochs, hq->log->verifier()).VerifierKey()},
                            {"history", all}};
    }();
    if (!out.ok()) {
      std::cerr << "error: " << out.status() << "\n";
      *exit_code = 2;
      return;
    }
    std::cout << out->dump() << std::endl;
  };
  CLI::App* cosigner = hq->add_subcommand("cosigner", "Print HQ's cosigner key in force and its history");
  cosigner->add_option("--config", ca->config, "hq.toml")->required();
  cosigner->callback([cosigner_command] { cosigner_command(false); });
  CLI::App* rotate = hq->add_subcommand(
      "rotate-cosigner", "Rotate HQ's cosigner key: a cosignerKeySet event in HQ's log, relayed to every factory");
  rotate->add_option("--config", ca->config, "hq.toml")->required();
  rotate->add_option("--key", ca->key_store, "Where the new key goes: files or pkcs11:token=… (default: where the old one is)");
  rotate->add_option("--reason", ca->reason, "Why (recorded in the event)");
  rotate->callback([cosigner_command] { cosigner_command(true); });

  struct SyncArgs {
    std::string config;
    int deadline = 600;
    bool continuous = false;
  };
  auto sa = std::make_shared<SyncArgs>();
  CLI::App* sync = app.add_subcommand(
      "sync", "Exchange logs with HQ (nightly job): exit 0 only when HQ has cosigned everything");
  sync->add_option("--config", sa->config, "factory.toml")->required();
  sync->add_option("--deadline", sa->deadline, "give up after this many seconds (retries with backoff)")
      ->check(CLI::Range(1, 7 * 24 * 3600));
  sync->add_flag("--continuous", sa->continuous,
                 "keep the session open and ship events within a second of issuance");
  sync->callback([sa, exit_code] { *exit_code = Sync(sa->config, sa->deadline, sa->continuous); });

  CLI::App* bundle = app.add_subcommand("bundle", "Offline transfer of a log on a file");
  bundle->require_subcommand(1);
  struct BundleArgs {
    std::string config, out, file, factory;
    uint64_t from = 0;
  };
  auto ba = std::make_shared<BundleArgs>();
  CLI::App* exp = bundle->add_subcommand("export", "Write this node's log to a self-verifying file");
  exp->add_option("--config", ba->config, "factory.toml or hq.toml")->required();
  exp->add_option("--out", ba->out, "bundle file to write")->required();
  exp->add_option("--from", ba->from, "first seq to include (default 0: the whole log)");
  exp->add_option("--factory", ba->factory,
                  "At HQ: the factory whose delivery log to write (what a sync sends it; default: the only one)");
  exp->callback([ba, exit_code] { *exit_code = BundleExport(ba->config, ba->out, ba->from, ba->factory); });
  CLI::App* imp = bundle->add_subcommand(
      "import", "Verify a bundle whole, then apply it to this node's copy of that log");
  imp->add_option("--config", ba->config, "factory.toml or hq.toml")->required();
  imp->add_option("file", ba->file, "bundle file")->required();
  imp->callback([ba, exit_code] { *exit_code = BundleImport(ba->config, ba->file); });

  auto bk = std::make_shared<BundleArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup", "A consistent copy of this node's data (stores as RocksDB checkpoints, key files or "
                "references — never a token's key) into a new folder, while the node runs");
  backup->add_option("--config", bk->config, "factory.toml or hq.toml")->required();
  backup->add_option("--out", bk->out, "the backup folder to create")->required();
  backup->callback([bk, exit_code] { *exit_code = Backup(bk->config, bk->out); });
  CLI::App* restore = app.add_subcommand(
      "restore", "Restore a backup into this node's (empty) data folder and check that its log verifies");
  restore->add_option("--config", bk->config, "factory.toml or hq.toml")->required();
  restore->add_option("--from", bk->file, "the backup folder")->required();
  restore->callback([bk, exit_code] { *exit_code = Restore(bk->config, bk->file); });
}

}  // namespace mirrorca::cli
