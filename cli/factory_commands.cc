#include "cli/factory_commands.h"

#include <signal.h>

#include <iostream>
#include <memory>

#include "base/status_macros.h"
#include "cli/config.h"
#include "engine/enrollment_api.h"
#include "engine/factory_ca.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace mirrorca::cli {
namespace {

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
  o.organization = c.organization;
  o.factory_name = c.name;
  o.production_line = c.production_line;
  o.hq_origin = c.hq_log_origin;
  o.hq_verifier_key = c.hq_log_key;
  o.profile_files = c.profile_files;
  o.log_options.checkpoint_interval = c.checkpoint_interval;
  std::map<std::string, std::string> ra_by_spki;
  std::set<std::string> pins;
  for (const RaEntry& ra : c.ras) {
    o.ra_batches[ra.id] = ra.batches;
    ra_by_spki[ra.spki_sha256] = ra.id;
    pins.insert(ra.spki_sha256);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::FactoryCa> ca, engine::FactoryCa::Open(o));
  engine::EnrollmentApi api(ca.get());
  ASSIGN_OR_RETURN(auto tls, net::ServerContext({c.tls.cert, c.tls.key, c.tls.ca}, pins));
  net::HttpServerOptions so;
  so.address = c.listen_address;
  so.port = c.listen_port;
  net::HttpServer server(
      tls,
      [&](const net::HttpRequest& r) {
        engine::ApiRequest req;
        req.method = r.method;
        req.path = r.path;
        req.query = r.query;
        auto ct = r.headers.find("content-type");
        if (ct != r.headers.end()) req.content_type = ct->second;
        req.body = r.body;
        auto ra = ra_by_spki.find(r.peer_spki);
        req.ra_id = ra == ra_by_spki.end() ? "" : ra->second;
        engine::ApiResponse a = api.Handle(req);
        net::HttpResponse out;
        out.status = a.status;
        out.content_type = a.content_type;
        out.headers = std::move(a.headers);
        out.body = std::move(a.body);
        return out;
      },
      so);
  RETURN_IF_ERROR(server.Start());
  std::cout << "{\"serving\":\"https://" << c.listen_address << ":" << server.port()
            << "\",\"factory_log\":\"" << ca->log().origin() << "\",\"log_size\":"
            << ca->log().Size() << ",\"batches\":" << ca->Batches().size() << "}" << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
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
}

}  // namespace mirrorca::cli
