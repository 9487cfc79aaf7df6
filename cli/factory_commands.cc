#include "cli/factory_commands.h"

#include <signal.h>

#include <iostream>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "base/logging.h"
#include "base/status_macros.h"
#include "cli/config.h"
#include "cli/sync_support.h"
#include "engine/enrollment_api.h"
#include "engine/factory_ca.h"
#include "enrollment/batch_secrets.h"
#include "enrollment/cmp_server.h"
#include "enrollment/est_server.h"
#include "ca/certificate.h"
#include "crypto/key_store.h"
#include "net/access_log.h"
#include "net/control_socket.h"
#include "net/http_server.h"
#include "cli/operator_hooks.h"
#include "cli/recover_command.h"
#include "net/tls.h"

namespace mirrorca::cli {
namespace {

// CmpOptionsFor: CMP answers are signed with the enrollment listener's TLS
// identity; RA protection certificates chain to its client CA (the LAN CA
// of the RAs' TLS certificates); MAC secrets are [enroll] cmp_secrets_dir's.
Result<enrollment::CmpServerOptions> CmpOptionsFor(const FactoryConfig& c) {
  Env* env = Env::Default();
  enrollment::CmpServerOptions o;
  ASSIGN_OR_RETURN(std::string cert_pem, env->ReadFile(c.tls.cert));
  ASSIGN_OR_RETURN(std::vector<ca::X509Ptr> chain, ca::ParseCertificateChainPem(cert_pem));
  if (chain.empty()) return Status::InvalidArgument(c.tls.cert + " holds no certificate");
  o.protection_cert = std::move(chain.front());
  for (size_t i = 1; i < chain.size(); ++i) o.protection_chain.push_back(std::move(chain[i]));
  ASSIGN_OR_RETURN(o.protection_key, crypto::OpenKeyAt(env, c.tls.key));
  ASSIGN_OR_RETURN(std::string ca_pem, env->ReadFile(c.tls.ca));
  ASSIGN_OR_RETURN(o.ra_trust, ca::ParseCertificateChainPem(ca_pem));
  auto secrets = std::make_shared<enrollment::BatchSecrets>(c.cmp_secrets_dir);
  o.batch_secret = [secrets](const std::string& batch) -> std::optional<std::string> {
    Result<std::optional<std::string>> s = secrets->Read(batch);
    if (!s.ok()) {
      logging::Warn("cmp-secret", {{"warning", "cmp-secret"}, {"batch", batch.substr(0, 64)}, {"detail", s.status().message()}});
      return std::nullopt;
    }
    return std::move(*s);
  };
  return o;
}

std::string Header(const net::HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

// HandleCmpHttp: RFC 6712 — POST /.well-known/cmp/p/<batch>, application/pkixcmp.
std::optional<net::HttpResponse> HandleCmpHttp(enrollment::CmpServer& cmp, const net::HttpRequest& r,
                                               const std::string& ra_id) {
  constexpr std::string_view kPrefix = "/.well-known/cmp";
  if (r.path.rfind(kPrefix, 0) != 0) return std::nullopt;
  net::HttpResponse out;
  std::string batch = r.path.size() > kPrefix.size() + 3 && r.path.compare(kPrefix.size(), 3, "/p/") == 0
                          ? r.path.substr(kPrefix.size() + 3)
                          : "";
  if (!batch.empty() && batch.back() == '/') batch.pop_back();
  if (batch.empty() || batch.find('/') != std::string::npos) {
    out.status = 404;
    out.body = "CMP is served at /.well-known/cmp/p/<batch>\n";
    return out;
  }
  if (r.method != "POST") {
    out.status = 405;
    out.body = "POST a DER PKIMessage (application/pkixcmp)\n";
    return out;
  }
  enrollment::CmpReply reply = cmp.Handle(batch, r.body, ra_id);
  out.status = reply.http_status;
  out.content_type = reply.content_type;
  out.body = std::move(reply.body);
  out.headers = {{"Cache-Control", "no-store"}};
  return out;
}

Status Serve(const std::string& config_path) {
  ASSIGN_OR_RETURN(FactoryConfig c, LoadFactoryConfig(config_path));
  // Block the stop signals before any thread starts, then wait for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  engine::FactoryCaOptions o;
  o.data_dir = c.data_dir;
  o.ca_dir = c.ca_dir;
  o.urls = {c.crl_url, c.ocsp_url};
  for (const IssuingCaFiles& p : c.previous_cas) o.previous_cas.push_back({p.dir, {p.crl_url, p.ocsp_url}});
  o.organization = c.organization;
  o.factory_name = c.name;
  o.production_line = c.production_line;
  o.hq_origin = c.hq_log_origin;
  o.hq_verifier_key = c.hq_log_key;
  o.hq_delivery = true;  // HQ sends this factory its delivery log
  o.profile_files = c.profile_files;
  o.log_options.checkpoint_interval = c.checkpoint_interval;
  o.log_options.min_free_bytes = c.min_free_bytes;
  o.log_options.max_clock_jump_micros = c.max_clock_jump_seconds * 1000000;
  std::map<std::string, std::string> ra_by_spki;
  std::set<std::string> pins;
  for (const RaEntry& ra : c.ras) {
    o.ra_batches[ra.id] = ra.batches;
    ra_by_spki[ra.spki_sha256] = ra.id;
    pins.insert(ra.spki_sha256);
  }
  if (pins.empty()) {  // an empty pin set would admit any key the LAN CA signed
    return Status::FailedPrecondition(c.path + " lists no [[ra]]: add one with `mirrorca pki add-ra`");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::FactoryCa> ca, engine::FactoryCa::Open(o));
  engine::EnrollmentApi api(ca.get());
  ASSIGN_OR_RETURN(enrollment::CmpServerOptions cmp_options, CmpOptionsFor(c));
  enrollment::CmpServer cmp(ca.get(), std::move(cmp_options));
  enrollment::EstServer est(ca.get());
  const net::OperatorHooks hooks = FactoryOperatorHooks(ca.get());
  // RAs are pinned; a device may also connect with a certificate of this
  // factory's CAs, to re-enroll over EST (nothing else answers it).
  net::DeviceIssuers devices;
  for (const ca::IssuingCa* held : ca->HeldCas()) devices.issuer_pems.push_back(held->chain_pem());
  ASSIGN_OR_RETURN(auto tls, net::ServerContext({c.tls.cert, c.tls.key, c.tls.ca}, pins, devices));
  net::HttpServerOptions so;
  so.address = c.listen_address;
  so.port = c.listen_port;
  net::HttpServer server(
      tls,
      net::WithAccessLog("enroll", logging::Level::kInfo, [&](const net::HttpRequest& r) {
        if (net::IsHealthPath(r.path)) return net::HandleOperator(HealthOnly(hooks), r);
        auto ra = ra_by_spki.find(r.peer_spki);
        const std::string ra_id = ra == ra_by_spki.end() ? "" : ra->second;
        enrollment::EstHttpRequest est_request{r.method, r.path, Header(r, "content-type"), r.body,
                                               {ra_id, ra_id.empty() ? r.peer_certificate_der : ""}};
        if (std::optional<enrollment::EstReply> est_answer = est.Handle(est_request)) {
          return net::HttpResponse{est_answer->http_status, std::move(est_answer->content_type),
                                   std::move(est_answer->headers), std::move(est_answer->body)};
        }
        if (ra_id.empty()) {  // a device: only EST re-enrollment answers it
          return net::HttpResponse{403, "text/plain", {}, "a device certificate may only re-enroll over EST\n"};
        }
        if (std::optional<net::HttpResponse> cmp_answer = HandleCmpHttp(cmp, r, ra_id)) return std::move(*cmp_answer);
        engine::ApiRequest req;
        req.method = r.method;
        req.path = r.path;
        req.query = r.query;
        req.content_type = Header(r, "content-type");
        req.body = r.body;
        req.ra_id = ra_id;
        engine::ApiResponse a = api.Handle(req);
        net::HttpResponse out;
        out.status = a.status;
        out.content_type = a.content_type;
        out.headers = std::move(a.headers);
        out.body = std::move(a.body);
        return out;
      }),
      so);
  RETURN_IF_ERROR(server.Start());
  ASSIGN_OR_RETURN(std::unique_ptr<net::OperatorEndpoint> operator_endpoint,
                   StartOperator(c.operator_listener, hooks));

  // Replication: continuous sync when configured, and the control socket
  // through which `mirrorca sync` / `bundle` reach this process's store.
  auto on_hq_events = [&ca] { (void)ca->CatchUpHqLog(); };
  std::mutex round_mu;
  std::condition_variable round_cv;
  std::optional<replication::SyncSummary> last_round;  // guarded by round_mu
  std::atomic<bool> stop_sync{false};
  std::thread continuous;
  const bool is_continuous = c.sync && c.sync->continuous;
  if (is_continuous) {
    ASSIGN_OR_RETURN(replication::SyncJobOptions job, SyncJobFor(c));
    job.continuous = true;
    job.sync.on_hq_events = on_hq_events;
    job.stopped = [&stop_sync] { return stop_sync.load(); };
    job.on_round = [&](const replication::SyncSummary& r) {
      std::lock_guard lock(round_mu);
      last_round = r;
      round_cv.notify_all();
    };
    continuous = std::thread([&, job] {
      replication::SyncSummary end = replication::RunSyncJob(&ca->log(), &ca->hq_log(), job);
      if (end.exit_code == 3) {
        logging::Error("sync-refused", {{"alert", "sync-refused"},
                                        {"summary", nlohmann::json::parse(end.ToJson(), nullptr, false)}});
      }
    });
  }
  std::mutex sync_mu;  // one on-demand sync at a time
  ASSIGN_OR_RETURN(
      auto control,
      net::ControlServer::Start(ControlPath(c.data_dir), [&](const std::string& req,
                                                             const net::ControlServer::Reply& reply) {
        if (is_continuous && req.find("\"sync\"") != std::string::npos) {
          // The continuous session already ships everything: report once it
          // has covered what the log holds now.
          const uint64_t want = ca->log().Size();
          std::unique_lock lock(round_mu);
          bool done = round_cv.wait_for(lock, std::chrono::minutes(10), [&] {
            return last_round && last_round->cosigned_size >= want;
          });
          if (done) {
            reply(last_round->ToJson());
          } else {
            reply("{\"ok\":false,\"error\":\"continuous sync has not caught up\"}");
          }
          return;
        }
        std::lock_guard lock(sync_mu);
        HandleFactoryControl(c, &ca->log(), &ca->hq_log(), on_hq_events, req, reply);
      }));
  std::cout << "{\"serving\":\"https://" << c.listen_address << ":" << server.port()
            << "\",\"factory_log\":\"" << ca->log().origin() << "\",\"log_size\":"
            << ca->log().Size() << ",\"batches\":" << ca->Batches().size() << "}" << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  control->Stop();
  operator_endpoint.reset();
  stop_sync = true;
  if (continuous.joinable()) continuous.join();
  server.Stop();
  std::cout << "{\"stopped\":true,\"signal\":" << sig << ",\"log_size\":" << ca->log().Size()
            << "}" << std::endl;
  return Status::Ok();
}

}  // namespace

void AddFactoryCommands(CLI::App& app, int* exit_code) {
  CLI::App* factory = app.add_subcommand("factory", "The factory CA node");
  factory->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  CLI::App* serve = factory->add_subcommand(
      "serve", "Serve the enrollment API (HTTPS, TLS 1.3, client certificates required)");
  serve->add_option("--config", *config, "factory.toml")->required();
  serve->callback([config, exit_code] {
    Status s = Serve(*config);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    }
  });
  AddRecoverCommand(*factory, exit_code);
}

}  // namespace mirrorca::cli
