#include "cli/pki_commands.h"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/keys.h"
#include "cli/config.h"
#include "cli/hq_node.h"
#include "cli/sync_support.h"
#include "engine/batch_authority.h"
#include "log/local_log.h"
#include "net/free_ports.h"

namespace mirrorca::cli {
namespace {

constexpr const char* kOrganization = "Example OEM";
constexpr const char* kFactoryName = "F1";
constexpr const char* kHqOrigin = "hq.mirrorca.example/log";
constexpr const char* kFactoryOrigin = "factory-f1.mirrorca.example/log";

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

Status WritePem(Env* env, const std::string& path, X509* cert) {
  ASSIGN_OR_RETURN(std::string pem, ca::CertificatePem(cert));
  return env->WriteFileAtomic(path, pem, 0644);
}

struct TlsOut {
  std::string cert, key, spki;
};

Result<TlsOut> WriteTlsIdentity(Env* env, const std::string& dir, const std::string& name,
                                bool server, ca::KeyAndCertificate& tls_ca) {
  ASSIGN_OR_RETURN(ca::KeyAndCertificate id,
                   ca::IssueTlsIdentity(name, server, kOrganization, tls_ca.cert.get(),
                                        tls_ca.key.get(), NowSeconds()));
  TlsOut out{dir + "/" + name + ".pem", dir + "/" + name + ".key", ""};
  RETURN_IF_ERROR(WritePem(env, out.cert, id.cert.get()));
  RETURN_IF_ERROR(ca::SavePrivateKeyPem(env, out.key, id.key.get()));
  ASSIGN_OR_RETURN(out.spki, ca::SpkiSha256Hex(id.cert.get()));
  return out;
}

std::string Rel(const std::string& path, const std::string& base) {
  return std::filesystem::relative(path, base).string();
}

}  // namespace

Status Quickstart(const QuickstartOptions& o) {
  Env* env = Env::Default();
  std::string batch_profile, ca_profile_name = "issuing-ca", vid;
  if (o.profile == "idevid") {
    batch_profile = "idevid";
  } else if (o.profile == "matter") {
    batch_profile = "matter-dac";
    ca_profile_name = "matter-pai";
    vid = "FFF1";
  } else if (o.profile == "iec62443") {
    batch_profile = "iec62443";
  } else {
    return Status::InvalidArgument("--profile must be idevid, matter or iec62443");
  }
  if (o.quota == 0) return Status::InvalidArgument("--quota must be positive");
  const std::string dir = std::filesystem::absolute(o.dir).string();
  if (env->FileExists(dir + "/hq.toml") || env->FileExists(dir + "/factory.toml")) {
    return Status::AlreadyExists(dir + " already holds a quickstart setup");
  }
  for (const char* sub : {"hq", "hq/root", "factory", "ra", "tls"}) {
    RETURN_IF_ERROR(env->CreateDirs(dir + "/" + sub));
  }
  ASSIGN_OR_RETURN(std::vector<uint16_t> ports, net::FreeLoopbackPorts(4));
  const uint16_t enroll_port = ports[0], sync_port = ports[1], va_port = ports[2], admin_port = ports[3];
  const std::string va = "http://127.0.0.1:" + std::to_string(va_port);

  // 1. OEM root (offline, at HQ).
  const ca::CaSubject subject{kOrganization, kFactoryName, vid};
  ASSIGN_OR_RETURN(ca::KeyAndCertificate root, ca::CreateRoot(subject, ca::KeyType::kP256, NowSeconds()));
  RETURN_IF_ERROR(ca::WriteCaDir(env, dir + "/hq/root", root.cert.get(), root.key.get(), {}));

  // 2. Key ceremony: the factory CA key and CSR, signed by the root at HQ.
  ASSIGN_OR_RETURN(ca::Profile ca_profile, ca::BuiltinProfile(ca_profile_name));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr ca_key, ca::GenerateKey(ca::KeyType::kP256));
  ASSIGN_OR_RETURN(ca::X509ReqPtr csr, ca::CreateCaRequest(ca_key.get(), ca_profile, subject));
  ASSIGN_OR_RETURN(std::string csr_pem, ca::RequestPem(csr.get()));
  ASSIGN_OR_RETURN(ca::X509Ptr ca_cert,
                   ca::SignCaRequest(csr_pem, ca_profile, subject, root.cert.get(), root.key.get(),
                                     {va + "/crl/root.crl", va + "/ocsp"}, NowSeconds()));
  // The factory imports it; HQ keeps the mirror copy for CRL signing only.
  RETURN_IF_ERROR(ca::WriteCaDir(env, dir + "/factory/ca", ca_cert.get(), ca_key.get(), {root.cert.get()}));
  RETURN_IF_ERROR(ca::WriteCaDir(env, dir + "/hq/factory-ca-mirror", ca_cert.get(), ca_key.get(), {root.cert.get()}));
  ASSIGN_OR_RETURN(Bytes ca_id, ca::CaId(ca_cert.get()));

  // 3. Event logs (Ed25519 keys) of HQ and the factory.
  ASSIGN_OR_RETURN(log::LocalLog hq, log::InitLocalLog(env, dir + "/hq/data", kHqOrigin));
  ASSIGN_OR_RETURN(log::LocalLog factory, log::InitLocalLog(env, dir + "/factory/data", kFactoryOrigin));
  const std::string hq_vkey = hq.log->verifier().VerifierKey();
  const std::string factory_vkey = factory.log->verifier().VerifierKey();

  // 4. TLS identities under a loopback TLS CA.
  ASSIGN_OR_RETURN(ca::KeyAndCertificate tls_ca,
                   ca::CreateRoot({"Example OEM loopback TLS", "", ""}, ca::KeyType::kP256, NowSeconds()));
  RETURN_IF_ERROR(WritePem(env, dir + "/tls/ca.pem", tls_ca.cert.get()));
  RETURN_IF_ERROR(ca::SavePrivateKeyPem(env, dir + "/tls/ca.key", tls_ca.key.get()));
  ASSIGN_OR_RETURN(TlsOut enroll_tls, WriteTlsIdentity(env, dir + "/tls", "factory-enroll", true, tls_ca));
  ASSIGN_OR_RETURN(TlsOut ra_tls, WriteTlsIdentity(env, dir + "/tls", "ra-line1", false, tls_ca));
  ASSIGN_OR_RETURN(TlsOut hq_sync_tls, WriteTlsIdentity(env, dir + "/tls", "hq-sync", true, tls_ca));
  ASSIGN_OR_RETURN(TlsOut factory_sync_tls, WriteTlsIdentity(env, dir + "/tls", "factory-sync", false, tls_ca));
  ASSIGN_OR_RETURN(TlsOut admin_tls, WriteTlsIdentity(env, dir + "/tls", "hq-admin", false, tls_ca));
  ASSIGN_OR_RETURN(TlsOut admin_api_tls, WriteTlsIdentity(env, dir + "/tls", "hq-admin-api", true, tls_ca));

  // 5. Batch B1, authorized in HQ's log and delivered to the factory's copy.
  engine::BatchTerms t;
  t.batch_id = "B1";
  t.profile = batch_profile;
  t.product = o.profile == "matter" ? "FFF1/8000" : "Widget";
  t.vendor_id = o.profile == "matter" ? 0xFFF1 : 0;
  t.product_id = o.profile == "matter" ? 0x8000 : 0;
  t.quota = o.quota;
  t.not_before = (NowSeconds() - 3600) * 1000000;
  t.not_after = (NowSeconds() + 365LL * 86400) * 1000000;
  t.factory_log_id = kFactoryOrigin;
  t.ca_id = ca_id;
  // HQ registers the factory (its log, CA and sync key) before authorizing
  // any batch for it: a batch for an unregistered factory is refused.
  engine::LogAuthority authority(hq.log->origin());
  engine::FactoryRegistration reg{.name = kFactoryName, .log_key = factory_vkey, .sync_spki = {factory_sync_tls.spki}};
  ASSIGN_OR_RETURN(std::string ca_der, ca::CertificateDer(ca_cert.get()));
  reg.ca_certificates.push_back(Bytes(ca_der.begin(), ca_der.end()));
  RETURN_IF_ERROR(engine::RegisterFactory(*hq.log, authority, reg).status());
  RETURN_IF_ERROR(engine::AuthorizeBatch(*hq.log, authority, t).status());
  ASSIGN_OR_RETURN(auto hq_copy, log::EventLog::OpenCopy(factory.store.get(), hq.log->verifier()));
  RETURN_IF_ERROR(engine::DeliverLog(*hq.log, *hq_copy).status());
  hq_copy.reset();

  // 6. Configuration files (paths relative to DIR).
  const std::string factory_toml =
      "# factory.toml — the factory CA node (mirrorca factory serve --config factory.toml)\n"
      "[factory]\n"
      "name = \"" + std::string(kFactoryName) + "\"\n"
      "organization = \"" + kOrganization + "\"\n"
      "production_line = \"line-1\"\n"
      "data_dir = \"factory/data\"        # RocksDB store + log_key.pem (0600)\n"
      "checkpoint_interval = 1000\n\n"
      "[ca]\n"
      "dir = \"factory/ca\"               # ca.pem, ca.key (0600), chain.pem\n"
      "crl_url = \"" + va + "/crl/factory-f1.crl\"\n"
      "ocsp_url = \"" + va + "/ocsp\"\n\n"
      "[hq]\n"
      "log_origin = \"" + kHqOrigin + "\"\n"
      "log_key = \"" + hq_vkey + "\"\n\n"
      "[enroll]\n"
      "listen = \"127.0.0.1:" + std::to_string(enroll_port) + "\"\n"
      "tls_cert = \"" + Rel(enroll_tls.cert, dir) + "\"\n"
      "tls_key = \"" + Rel(enroll_tls.key, dir) + "\"\n"
      "tls_ca = \"tls/ca.pem\"           # RA client certificates must chain here\n\n"
      "[[ra]]\n"
      "id = \"ra-line1\"\n"
      "spki_sha256 = \"" + ra_tls.spki + "\"   # pinned client key\n"
      "batches = [\"*\"]\n\n"
      "[sync]                            # mirrorca sync --config factory.toml\n"
      "hq_address = \"127.0.0.1:" + std::to_string(sync_port) + "\"\n"
      "tls_cert = \"" + Rel(factory_sync_tls.cert, dir) + "\"\n"
      "tls_key = \"" + Rel(factory_sync_tls.key, dir) + "\"\n"
      "tls_ca = \"tls/ca.pem\"\n"
      "hq_spki_sha256 = \"" + hq_sync_tls.spki + "\"   # pinned HQ sync key\n"
      "continuous = false                # true: factory serve ships events as they happen\n";
  const std::string hq_toml =
      "# hq.toml — the HQ mirror node\n"
      "[hq]\n"
      "name = \"HQ\"\n"
      "organization = \"" + std::string(kOrganization) + "\"\n"
      "data_dir = \"hq/data\"\n\n"
      "[root]\n"
      "dir = \"hq/root\"                  # the OEM root: keep offline in production\n\n"
      "[[factory]]\n"
      "name = \"" + kFactoryName + "\"\n"
      "log_origin = \"" + kFactoryOrigin + "\"\n"
      "log_key = \"" + factory_vkey + "\"\n"
      "ca_mirror_dir = \"hq/factory-ca-mirror\"   # CRL signing only\n"
      "data_dir = \"factory/data\"        # local delivery (mirrorca batch authorize --deliver)\n"
      "sync_spki_sha256 = [\"" + factory_sync_tls.spki + "\"]   # TLS keys bound to this log\n\n"
      "[sync]\n"
      "listen = \"127.0.0.1:" + std::to_string(sync_port) + "\"\n"
      "tls_cert = \"" + Rel(hq_sync_tls.cert, dir) + "\"\n"
      "tls_key = \"" + Rel(hq_sync_tls.key, dir) + "\"\n"
      "tls_ca = \"tls/ca.pem\"\n\n"
      "[validation]\n"
      "listen = \"127.0.0.1:" + std::to_string(va_port) + "\"\n\n"
      "[admin]                           # HQ admin API (mutual TLS): revoke, CRLs, batch ledger\n"
      "listen = \"127.0.0.1:" + std::to_string(admin_port) + "\"\n"
      "tls_cert = \"" + Rel(admin_api_tls.cert, dir) + "\"\n"
      "tls_key = \"" + Rel(admin_api_tls.key, dir) + "\"\n"
      "tls_ca = \"tls/ca.pem\"\n"
      "spki_sha256 = [\"" + admin_tls.spki + "\"]   # admin client keys (tls/hq-admin.pem)\n";
  const std::string ra_toml =
      "# ra.toml — the production computer (mirrorca ra enroll --config ra.toml ...)\n"
      "[ra]\n"
      "id = \"ra-line1\"\n"
      "factory_url = \"https://127.0.0.1:" + std::to_string(enroll_port) + "\"\n"
      "tls_cert = \"" + Rel(ra_tls.cert, dir) + "\"\n"
      "tls_key = \"" + Rel(ra_tls.key, dir) + "\"\n"
      "tls_ca = \"tls/ca.pem\"\n"
      "connections = 2\n"
      "bulk_size = 250\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/factory.toml", factory_toml, 0644));
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/hq.toml", hq_toml, 0644));
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/ra.toml", ra_toml, 0644));
  if (!o.quiet) {
    std::cout << "quickstart: " << dir << "\n"
              << "  root CA        hq/root/ca.pem\n"
              << "  factory CA     factory/ca/chain.pem (" << ca_profile_name << ")\n"
              << "  HQ log         " << kHqOrigin << "\n"
              << "  factory log    " << kFactoryOrigin << "\n"
              << "  batch B1       profile " << batch_profile << ", quota " << o.quota
              << " (authorized by HQ, delivered to the factory)\n"
              << "  configs        factory.toml (enroll on 127.0.0.1:" << enroll_port
              << "), hq.toml, ra.toml\n";
  }
  return Status::Ok();
}

void AddPkiCommands(CLI::App& app, int* exit_code) {
  CLI::App* pki = app.add_subcommand("pki", "PKI setup: CAs, keys, TLS identities");
  pki->require_subcommand(1);
  auto o = std::make_shared<QuickstartOptions>();
  CLI::App* qs = pki->add_subcommand(
      "quickstart", "Create a complete loopback setup: root, factory CA, log keys, TLS "
                    "identities, factory.toml / hq.toml / ra.toml and batch B1");
  qs->add_option("--dir", o->dir, "Directory to create")->required();
  qs->add_option("--profile", o->profile, "idevid | matter | iec62443")
      ->check(CLI::IsMember({"idevid", "matter", "iec62443"}));
  qs->add_option("--quota", o->quota, "Quota of batch B1");
  qs->callback([o, exit_code] {
    Status s = Quickstart(*o);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    }
  });
}

void AddBatchCommands(CLI::App& app, int* exit_code) {
  CLI::App* batch = app.add_subcommand("batch", "Production batches (HQ)");
  batch->require_subcommand(1);
  struct Opts {
    std::string config, id, profile = "idevid", product = "Widget", factory;
    uint64_t quota = 0;
    std::string vid = "0", pid = "0";
    int64_t valid_days = 365;
    std::vector<std::string> ras, reissue;
    bool deliver = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* auth = batch->add_subcommand(
      "authorize", "Record a batchAuthorized event in HQ's log (signed with HQ's log key)");
  auth->add_option("--config", o->config, "hq.toml")->required();
  auth->add_option("--batch", o->id, "Batch id")->required();
  auth->add_option("--quota", o->quota, "Certificates allowed")->required();
  auth->add_option("--profile", o->profile, "Certificate profile");
  auth->add_option("--product", o->product, "Product (model name)");
  auth->add_option("--vid", o->vid, "Matter vendor id (hex)");
  auth->add_option("--pid", o->pid, "Matter product id (hex)");
  auth->add_option("--valid-days", o->valid_days, "Days the batch stays open");
  auth->add_option("--factory", o->factory, "Factory name (default: the only one)");
  auth->add_option("--ra", o->ras, "RA ids allowed (default: all of the factory's)");
  auth->add_option("--reissue", o->reissue, "Device serials allowed a second certificate");
  auth->add_flag("--deliver", o->deliver,
                 "Also deliver HQ's log into the factory's store now, on one machine (factory "
                 "and hq serve stopped; otherwise the next sync delivers it)");
  auth->callback([o, exit_code] {
    Status s = [&]() -> Status {
      ASSIGN_OR_RETURN(HqConfig hq, LoadHqConfig(o->config));
      const FactoryRef* f = nullptr;
      for (const FactoryRef& r : hq.factories) {
        if (o->factory.empty() || r.name == o->factory) f = &r;
      }
      if (f == nullptr) return Status::NotFound("no such factory in " + o->config);
      ASSIGN_OR_RETURN(ca::X509Ptr ca_cert, ca::LoadCertificate(Env::Default(), f->ca_mirror_dir + "/ca.pem"));
      engine::BatchTerms t;
      t.batch_id = o->id;
      t.profile = o->profile;
      t.product = o->product;
      try {
        t.vendor_id = static_cast<uint16_t>(std::stoul(o->vid, nullptr, 16));
        t.product_id = static_cast<uint16_t>(std::stoul(o->pid, nullptr, 16));
      } catch (...) {
        return Status::InvalidArgument("--vid/--pid must be hex");
      }
      t.quota = o->quota;
      t.not_before = (NowSeconds() - 60) * 1000000;
      t.not_after = (NowSeconds() + o->valid_days * 86400) * 1000000;
      t.factory_log_id = f->log_origin;
      t.allowed_ras = o->ras;
      t.allow_reissue = std::set<std::string>(o->reissue.begin(), o->reissue.end());
      ASSIGN_OR_RETURN(t.ca_id, ca::CaId(ca_cert.get()));
      if (!o->deliver) {
        // A running `hq serve` owns HQ's store: it appends the event (the
        // factory learns the batch at its next sync).
        Result<std::string> line = Delegate(hq.data_dir, BatchTermsJson(t));
        if (line.ok()) {
          std::cout << *line << "\n";
          nlohmann::json j = nlohmann::json::parse(*line, nullptr, false);
          if (j.is_discarded() || !j.value("ok", false)) *exit_code = 1;
          return Status::Ok();
        }
        if (line.status().code() != StatusCode::kNotFound) {
          return line.status().WithContext("ask the running hq serve");
        }
      }
      Result<log::LocalLog> opened = log::OpenLocalLog(Env::Default(), hq.data_dir, true);
      if (!opened.ok()) {
        return opened.status().WithContext(o->deliver ? "open HQ's store (--deliver needs hq serve stopped; "
                                                        "without it a running hq serve records the batch)"
                                                      : "open HQ's store");
      }
      log::LocalLog hq_log = std::move(*opened);
      engine::LogAuthority authority(hq_log.log->origin());
      RETURN_IF_ERROR(RegisterFactories(hq, *hq_log.log, authority));
      ASSIGN_OR_RETURN(uint64_t seq, engine::AuthorizeBatch(*hq_log.log, authority, t));
      std::cout << "{\"ok\":true,\"batch\":\"" << t.batch_id << "\",\"quota\":" << t.quota
                << ",\"hq_seq\":" << seq;
      if (o->deliver) {
        if (f->data_dir.empty()) return Status::InvalidArgument("factory has no data_dir for delivery");
        Result<log::LocalLog> fl = log::OpenLocalLog(Env::Default(), f->data_dir, false);
        if (!fl.ok()) {
          return fl.status().WithContext("open the factory store (is the factory running?)");
        }
        ASSIGN_OR_RETURN(auto copy,
                         log::EventLog::OpenCopy(fl->store.get(), hq_log.log->verifier()));
        ASSIGN_OR_RETURN(uint64_t n, engine::DeliverLog(*hq_log.log, *copy));
        std::cout << ",\"delivered_events\":" << n;
      }
      std::cout << "}\n";
      return Status::Ok();
    }();
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    }
  });
}

}  // namespace mirrorca::cli
