// `mirrorca ocsp serve`: the public validation process beside `hq serve` —
// OCSP from HQ's store read as a RocksDB secondary instance
// (validation/ocsp_replica.h), and the CRLs hq serve published
// (validation/published_crl_files.h). It holds delegated responder keys
// only: no CA key, nothing that can mint a certificate or sign a CRL.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/logging.h"
#include "base/periodic_task.h"
#include "base/status_macros.h"
#include "cli/cache_warm_up.h"
#include "cli/config.h"
#include "cli/hq_node.h"
#include "cli/operator_hooks.h"
#include "cli/sync_support.h"
#include "cli/va_commands.h"
#include "log/local_log.h"
#include "validation/ocsp_replica.h"
#include "validation/published_crl_files.h"
#include "va/va_node.h"
#include "net/access_log.h"
#include "net/tls.h"
#include "replication/tls_channel.h"
#include <toml++/toml.h>

namespace mirrorca::cli {
namespace {

struct OcspServeArgs {
  std::string config, listen, secondary_dir;
  unsigned io_threads = 2;
};

// IsVaConfig: the file is a va.toml (a [va] table), not an hq.toml.
bool IsVaConfig(const std::string& path) {
  Result<std::string> text = Env::Default()->ReadFile(path, 1 << 20);
  if (!text.ok()) return false;
  try {
    toml::table t = toml::parse(*text, path);
    return t.get("va") != nullptr && t.get("va")->is_table();
  } catch (const toml::parse_error&) {
    return false;
  }
}

// RemoteVaServe: a VA on another machine (va/va_node.h): it follows HQ over
// the sync channel every follow_seconds and answers OCSP from its own copy.
Status RemoteVaServe(const OcspServeArgs& a) {
  ASSIGN_OR_RETURN(VaConfig c, LoadVaConfig(a.config));
  std::string listen = a.listen.empty() ? c.listen_address + ":" + std::to_string(c.listen_port) : a.listen;
  ASSIGN_OR_RETURN(auto hp, HostPort(listen, "--listen", "the command line"));
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  va::VaNodeOptions o;
  o.name = c.name;
  o.data_dir = c.data_dir;
  o.hq_log_key = c.hq_log_key;
  o.responder_key = c.responder_key;
  o.unseen_unknown = c.unseen_unknown;
  o.ocsp.validity_seconds = c.ocsp_validity_seconds;
  o.ocsp.refresh_seconds = std::max<int64_t>(60, c.ocsp_validity_seconds / 4);
  o.ocsp.http_max_age_seconds = c.ocsp_max_age_seconds;
  o.ocsp.max_cache_bytes = c.ocsp_cache_bytes;
  o.ocsp.store_cache_bytes = c.ocsp_store_cache_bytes;
  o.ocsp.on_demand_signatures_per_second = static_cast<double>(c.ocsp_signatures_per_second);
  ASSIGN_OR_RETURN(std::unique_ptr<va::VaNode> node, va::VaNode::Open(o));
  ASSIGN_OR_RETURN(auto tls, net::ClientContext({c.tls.cert, c.tls.key, c.tls.ca}, {c.hq_spki_sha256}));
  // One session with HQ: what is new of every log, verified, then projected.
  auto follow = [&]() -> Result<va::FollowResult> {
    ASSIGN_OR_RETURN(std::unique_ptr<replication::TlsChannel> ch,
                     replication::TlsChannel::Connect(c.hq_host, c.hq_port, tls,
                                                      std::chrono::seconds(c.io_timeout_seconds)));
    Result<va::FollowResult> r = node->Follow(*ch);
    ch->Close();
    return r;
  };
  FollowState state;
  state.interval_seconds = c.follow_seconds;
  auto record = [&state](const Status& s) { state.Record(s.ok(), Env::Default()->NowMicros() / 1000000); };
  Result<va::FollowResult> first = follow();
  record(first.status());
  if (!first.ok()) {
    logging::Warn("follow-hq", {{"warning", "follow-hq"}, {"detail", first.status().ToString()}});
  }
  const net::OperatorHooks hooks =
      VaOperatorHooks(&node->responder(), &state, [&node] { return node->issuers(); });
  const net::OperatorHooks public_hooks = HealthOnly(hooks);
  net::HttpServerOptions ho;
  ho.address = hp.first;
  ho.port = hp.second;
  ho.max_body_bytes = 64 * 1024;
  ho.max_connections_per_source = kPublicConnectionsPerSource;
  ho.inline_handlers = true;
  ho.io_threads = std::max(a.io_threads, c.io_threads);
  net::HttpServer server(nullptr, net::WithAccessLog("validation", logging::Level::kDebug, [&](const net::HttpRequest& r) {
    if (net::IsHealthPath(r.path)) return net::HandleOperator(public_hooks, r);
    return node->Handle(r);
  }), ho);
  RETURN_IF_ERROR(server.Start());
  ASSIGN_OR_RETURN(std::unique_ptr<net::OperatorEndpoint> operator_endpoint,
                   StartOperator(c.operator_listener, hooks));
  std::cout << nlohmann::json{{"serving_ocsp", hp.first + ":" + std::to_string(server.port())},
                              {"mode", "follow-hq"},
                              {"va", c.name},
                              {"hq", c.hq_host + ":" + std::to_string(c.hq_port)},
                              {"issuers", node->issuers()}}
                   .dump()
            << std::endl;
  PeriodicTask follower(std::chrono::seconds(c.follow_seconds), [&] {
    Result<va::FollowResult> r = follow();
    record(r.status());
    if (!r.ok()) {
      logging::Warn("follow-hq", {{"warning", "follow-hq"}, {"detail", r.status().ToString()}});
    } else if (r->events_received > 0) {
      logging::Info("followed-hq", {{"events_received", r->events_received}, {"applied", r->applied},
                                    {"issuers", r->issuers}});
    }
  });
  CacheWarmUp warm_up([&](const std::atomic<bool>& stopping) { return node->WarmPresigned(stopping); });
  int sig = 0;
  sigwait(&stop, &sig);
  follower.Stop();
  operator_endpoint.reset();
  server.Stop();
  std::cout << nlohmann::json{{"stopped", true}, {"signal", sig}}.dump() << std::endl;
  return Status::Ok();
}

Status OcspServe(const OcspServeArgs& a) {
  if (IsVaConfig(a.config)) return RemoteVaServe(a);
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(a.config));
  std::string listen = a.listen;
  if (listen.empty()) {
    if (!c.validation || c.validation->served_by_hq) {
      return Status::InvalidArgument("give --listen (or set [validation] served_by = \"ocsp-serve\" in " + a.config +
                                     ": this process then takes the public port)");
    }
    listen = c.validation->listen_address + ":" + std::to_string(c.validation->listen_port);
  }
  ASSIGN_OR_RETURN(auto hp, HostPort(listen, "--listen", "the command line"));
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::string secondary = a.secondary_dir;
  bool remove_secondary = false;
  if (secondary.empty()) {  // a private directory for RocksDB's secondary files
    std::string tmpl = (std::filesystem::temp_directory_path() / "mirrorca-ocsp-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a temporary directory");
    secondary = tmpl;
    remove_secondary = true;
  }
  std::vector<validation::ReplicaIssuer> issuers;
  for (const FactoryRef& f : c.factories) {
    for (const CaMirror& ca : f.AllCas()) issuers.push_back({ca.ca_name, ca.ca_mirror_dir, f.unseen_serials == "unknown"});
  }
  validation::OcspOptions oo;
  if (c.validation) {
    oo.validity_seconds = c.validation->ocsp_validity_seconds;
    oo.refresh_seconds = std::max<int64_t>(60, c.validation->ocsp_validity_seconds / 4);
    oo.http_max_age_seconds = c.validation->ocsp_max_age_seconds;
    oo.max_cache_bytes = c.validation->ocsp_cache_bytes;
    oo.store_cache_bytes = c.validation->ocsp_store_cache_bytes;
    oo.on_demand_signatures_per_second = static_cast<double>(c.validation->ocsp_signatures_per_second);
  }
  Result<std::unique_ptr<validation::OcspReplica>> opened =
      validation::OcspReplica::Open(log::StorePath(c.data_dir), secondary, std::move(issuers), oo);
  if (!opened.ok()) {
    if (remove_secondary) std::filesystem::remove_all(secondary);
    return opened.status();
  }
  std::unique_ptr<validation::OcspReplica> replica = std::move(*opened);
  // The CRLs hq serve published (files in each CA folder; this process has
  // no CA key and never signs one).
  std::vector<validation::CrlFolder> folders{{"root", c.root_dir}};
  for (const FactoryRef& f : c.factories) {
    for (const CaMirror& ca : f.AllCas()) folders.push_back({ca.ca_name, ca.ca_mirror_dir});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<validation::PublishedCrlFiles> crls, validation::PublishedCrlFiles::Open(folders));
  net::HttpServerOptions ho;
  ho.address = hp.first;
  ho.port = hp.second;
  ho.max_body_bytes = 64 * 1024;
  ho.max_connections_per_source = kPublicConnectionsPerSource;
  ho.inline_handlers = true;
  ho.io_threads = a.io_threads;
  FollowState state;
  state.last_ok = Env::Default()->NowMicros() / 1000000;  // opened: caught up with the primary
  const size_t served = folders.size() - 1;
  const net::OperatorHooks public_hooks =
      HealthOnly(VaOperatorHooks(&replica->responder(), &state, [served] { return served; }));
  net::HttpServer server(nullptr, net::WithAccessLog("validation", logging::Level::kDebug, [&](const net::HttpRequest& r) {
    if (net::IsHealthPath(r.path)) return net::HandleOperator(public_hooks, r);
    if (std::optional<net::HttpResponse> crl = crls->Handle(r)) return std::move(*crl);
    return replica->Handle(r);
  }), ho);
  RETURN_IF_ERROR(server.Start());
  std::cout << nlohmann::json{{"serving_ocsp", hp.first + ":" + std::to_string(server.port())},
                              {"store", log::StorePath(c.data_dir)},
                              {"mode", "rocksdb-secondary"},
                              {"crls", folders.size()}}
                   .dump()
            << std::endl;
  PeriodicTask follower(std::chrono::seconds(1), [&] {
    Result<bool> moved = replica->Follow();
    state.Record(moved.ok(), Env::Default()->NowMicros() / 1000000);
    if (!moved.ok()) {
      logging::Warn("follow-hq", {{"warning", "follow-hq"}, {"detail", moved.status().ToString()}});
    }
  });
  std::optional<CacheWarmUp> warm_up;
  warm_up.emplace([&](const std::atomic<bool>& stopping) { return replica->WarmPresigned(stopping); });
  int sig = 0;
  sigwait(&stop, &sig);
  warm_up.reset();  // before the replica it reads
  follower.Stop();
  server.Stop();
  replica.reset();
  if (remove_secondary) std::filesystem::remove_all(secondary);
  std::cout << nlohmann::json{{"stopped", true}, {"signal", sig}}.dump() << std::endl;
  return Status::Ok();
}

}  // namespace

void AddOcspCommands(CLI::App& app, int* exit_code) {
  CLI::App* ocsp = app.add_subcommand("ocsp", "OCSP responders");
  ocsp->require_subcommand(1);
  auto a = std::make_shared<OcspServeArgs>();
  CLI::App* serve = ocsp->add_subcommand(
      "serve", "Answer OCSP and serve published CRLs beside `hq serve` (responder keys only, no CA key)");
  serve->add_option("--config", a->config, "hq.toml (beside hq serve), or va.toml (a VA on another machine, pki va-join)")->required();
  serve->add_option("--listen", a->listen,
                    "HOST:PORT to answer on (port 0: any); default [validation] listen when served_by = \"ocsp-serve\"");
  serve->add_option("--secondary-dir", a->secondary_dir,
                    "directory for RocksDB's secondary-instance files (default: a private temp dir)");
  serve->add_option("--io-threads", a->io_threads, "threads answering requests")
      ->check(CLI::Range(1, 64));
  serve->callback([a, exit_code] {
    Status s = OcspServe(*a);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = s.code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
  });
}

}  // namespace mirrorca::cli
