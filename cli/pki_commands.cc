#include "cli/pki_commands.h"

#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/keys.h"
#include "cli/config.h"
#include "cli/hq_node.h"
#include "cli/key_inventory.h"
#include "cli/ca_change.h"
#include "cli/onboarding.h"
#include "cli/va_onboarding.h"
#include "cli/sync_support.h"
#include "engine/batch_authority.h"
#include "engine/delivery_log.h"
#include "log/local_log.h"
#include "net/free_ports.h"

namespace mirrorca::cli {
namespace {

constexpr const char* kOrganization = "Example OEM";
constexpr const char* kHqOrigin = "hq.mirrorca.example/log";

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

// QuickstartFactory: where quickstart puts factory k (1-based): F1 keeps
// the one-factory layout (factory/, factory.toml, ra/, ra.toml).
struct QuickstartFactory {
  std::string name, dir, config, ra_dir, ra_config;
};
QuickstartFactory FactoryLayout(const std::string& dir, int k) {
  const std::string suffix = k == 1 ? "" : "-f" + std::to_string(k);
  return {"F" + std::to_string(k), dir + "/factory" + suffix, dir + "/factory" + suffix + ".toml",
          dir + "/ra" + suffix, dir + "/ra" + suffix + ".toml"};
}

}  // namespace

Status Quickstart(const QuickstartOptions& o) {
  Env* env = Env::Default();
  std::string batch_profile = o.profile;
  if (o.profile == "matter") batch_profile = "matter-dac";
  if (o.profile != "idevid" && o.profile != "matter" && o.profile != "iec62443") {
    return Status::InvalidArgument("--profile must be idevid, matter or iec62443");
  }
  if (o.quota == 0) return Status::InvalidArgument("--quota must be positive");
  if (o.factories < 1 || o.factories > 20) return Status::InvalidArgument("--factories must be 1 to 20");
  const std::string dir = std::filesystem::absolute(o.dir).string();
  if (env->FileExists(dir + "/hq.toml") || env->FileExists(dir + "/factory.toml")) {
    return Status::AlreadyExists(dir + " already holds a quickstart setup");
  }
  ASSIGN_OR_RETURN(std::vector<uint16_t> ports, net::FreeLoopbackPorts(3 + o.factories));
  auto at = [](uint16_t port) { return "127.0.0.1:" + std::to_string(port); };

  // HQ: the OEM root, HQ's log and TLS identities, hq.toml.
  InitRootOptions root;
  root.dir = dir + "/hq";
  root.config = dir + "/hq.toml";
  root.organization = kOrganization;
  root.hq_origin = kHqOrigin;
  root.sync_listen = at(ports[0]);
  root.va_listen = at(ports[1]);
  root.admin_listen = at(ports[2]);
  root.keys = o.keys;
  root.log_keys = o.log_keys;
  RETURN_IF_ERROR(InitRoot(root).WithContext("pki init-root"));

  // Each factory: init, certified by HQ, joined, one RA.
  for (int k = 1; k <= o.factories; ++k) {
    const QuickstartFactory q = FactoryLayout(dir, k);
    FactoryInitOptions fi;
    fi.dir = q.dir;
    fi.name = q.name;
    fi.organization = kOrganization;
    fi.enroll_listen = at(ports[2 + k]);
    fi.keys = o.keys;
    fi.log_keys = o.log_keys;
    Result<std::string> request = FactoryInit(fi);
    if (!request.ok()) return request.status().WithContext("pki factory-init " + q.name);
    CertifyOptions co;
    co.hq_config = root.config;
    co.request = *request;
    co.grant = dir + "/hq/factories/" + q.name + ".grant";
    co.profile = o.profile;
    co.factory_data_dir = q.dir + "/data";
    RETURN_IF_ERROR(CertifyFactory(co).status().WithContext("pki certify-factory " + q.name));
    RETURN_IF_ERROR(FactoryJoin({q.dir, co.grant, q.config}).WithContext("pki factory-join " + q.name));
    AddRaOptions ra;
    ra.factory_config = q.config;
    ra.id = "ra-line1";
    ra.out_dir = q.ra_dir;
    ra.ra_config = q.ra_config;
    ra.keys = o.keys;
    RETURN_IF_ERROR(AddRa(ra).status().WithContext("pki add-ra " + q.name));
  }

  // Batch B1 of every factory (the same name: batches are FACTORY/BATCH),
  // authorized in HQ's log and delivered to each factory's copy of it.
  ASSIGN_OR_RETURN(HqConfig hq_config, LoadHqConfig(root.config));
  ASSIGN_OR_RETURN(log::LocalLog hq, log::OpenLocalLog(env, hq_config.data_dir, /*with_key=*/true));
  engine::LogAuthority authority(hq.log->origin());
  RETURN_IF_ERROR(authority.CatchUp(*hq.log));
  for (const FactoryRef& f : hq_config.factories) {
    ASSIGN_OR_RETURN(ca::X509Ptr ca_cert, ca::LoadCertificate(env, f.ca_mirror_dir + "/ca.pem"));
    engine::BatchTerms t;
    t.batch_id = "B1";
    t.profile = batch_profile;
    t.product = o.profile == "matter" ? "FFF1/8000" : "Widget";
    t.vendor_id = o.profile == "matter" ? 0xFFF1 : 0;
    t.product_id = o.profile == "matter" ? 0x8000 : 0;
    t.quota = o.quota;
    t.not_before = (NowSeconds() - 3600) * 1000000;
    t.not_after = (NowSeconds() + 365LL * 86400) * 1000000;
    t.factory_log_id = f.log_origin;
    ASSIGN_OR_RETURN(t.ca_id, ca::CaId(ca_cert.get()));
    RETURN_IF_ERROR(engine::AuthorizeBatch(*hq.log, authority, t).status());
  }
  // Each factory's delivery log: what HQ addressed to it, and nothing else.
  ASSIGN_OR_RETURN(log::LogSigner hq_signer,
                   log::LogSigner::Open(env, log::LogKeyPath(hq_config.data_dir), hq.log->origin()));
  ASSIGN_OR_RETURN(std::unique_ptr<log::Store> delivery_store, engine::OpenDeliveryStore(hq_config.data_dir));
  for (const FactoryRef& f : hq_config.factories) {
    ASSIGN_OR_RETURN(log::LocalLog fl, log::OpenLocalLog(env, f.data_dir, false));
    ASSIGN_OR_RETURN(log::LogVerifier delivery, engine::DeliveryVerifier(hq.log->verifier(), f.name));
    ASSIGN_OR_RETURN(auto hq_copy, log::EventLog::OpenCopy(fl.store.get(), delivery));
    RETURN_IF_ERROR(engine::DeliverTo(*hq.log, hq_signer, delivery_store.get(), f.name, f.log_origin, *hq_copy)
                        .status());
  }
  if (!o.quiet) {
    std::cout << "quickstart: " << dir << " (the onboarding commands in sequence: pki init-root, "
              << "factory-init, certify-factory, factory-join, add-ra)\n"
              << "  HQ             hq.toml; root CA hq/root/ca.pem; HQ log " << kHqOrigin << "\n";
    for (int k = 1; k <= o.factories; ++k) {
      const QuickstartFactory q = FactoryLayout(dir, k);
      std::cout << "  factory " << q.name << "     " << std::filesystem::relative(q.config, dir).string()
                << ", " << std::filesystem::relative(q.ra_config, dir).string() << "; batch " << q.name
                << "/B1, profile " << batch_profile << ", quota " << o.quota << "\n";
    }
  }
  return Status::Ok();
}

namespace {

// Run prints `ok` (a JSON line) or the error; exit 2 on error.
void Run(int* exit_code, const std::function<Result<nlohmann::json>()>& f) {
  Result<nlohmann::json> r = f();
  if (!r.ok()) {
    std::cerr << "error: " << r.status() << "\n";
    *exit_code = 2;
    return;
  }
  std::cout << r->dump() << "\n";
}

void AddCeremonyCommands(CLI::App& pki, int* exit_code) {
  auto ir = std::make_shared<InitRootOptions>();
  CLI::App* init_root = pki.add_subcommand(
      "init-root", "HQ: create the OEM root (keep it offline in production), HQ's log, HQ's TLS CA "
                   "and its sync/admin identities, and hq.toml with no factory yet");
  init_root->add_option("--dir", ir->dir, "HQ's folder")->required();
  init_root->add_option("--config", ir->config, "hq.toml to write (default DIR/hq.toml)");
  init_root->add_option("--organization", ir->organization, "The OEM's name");
  init_root->add_option("--origin", ir->hq_origin, "HQ log origin");
  init_root->add_option("--vid", ir->vendor_id, "Matter vendor id of a PAA root (4 hex digits)");
  init_root->add_option("--sync-listen", ir->sync_listen, "HOST:PORT of the sync port");
  init_root->add_option("--va-listen", ir->va_listen, "HOST:PORT of OCSP and CRLs");
  init_root->add_option("--admin-listen", ir->admin_listen, "HOST:PORT of the admin API");
  init_root->add_option("--public-url", ir->public_url, "How relying parties reach OCSP and CRLs");
  init_root->add_option("--key", ir->keys, "Key store for CA and TLS keys: pkcs11:token=LABEL?pin-source=file:PATH|env:VAR (default: PEM files)");
  init_root->add_option("--log-key", ir->log_keys, "Key store for the log key: a token of its own (pkcs11:token=…)");
  init_root->callback([ir, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      RETURN_IF_ERROR(InitRoot(*ir));
      return nlohmann::json{{"ok", true}, {"dir", std::filesystem::absolute(ir->dir).string()},
                            {"config", ir->config.empty() ? ir->dir + "/hq.toml" : ir->config}};
    });
  });

  auto fi = std::make_shared<FactoryInitOptions>();
  CLI::App* factory_init = pki.add_subcommand(
      "factory-init", "Factory: create the factory's log key, LAN TLS CA, enrollment identity, sync "
                      "TLS key and transport key; write the request file for HQ (public halves only)");
  factory_init->add_option("--dir", fi->dir, "The factory's folder")->required();
  factory_init->add_option("--name", fi->name, "Its name at HQ (batches are NAME/BATCH)")->required();
  factory_init->add_option("--origin", fi->origin, "Its log origin (default factory-NAME.mirrorca.example/log)");
  factory_init->add_option("--organization", fi->organization, "The OEM's name");
  factory_init->add_option("--line", fi->production_line, "Production line");
  factory_init->add_option("--enroll-listen", fi->enroll_listen, "HOST:PORT of the enrollment API");
  factory_init->add_option("--out", fi->request, "Request file (default DIR/NAME.req)");
  factory_init->add_option("--key", fi->keys, "Key store for CA and TLS keys: pkcs11:token=LABEL?pin-source=file:PATH|env:VAR (default: PEM files)");
  factory_init->add_option("--log-key", fi->log_keys, "Key store for the log key: a token of its own (pkcs11:token=…)");
  factory_init->callback([fi, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(std::string request, FactoryInit(*fi));
      return nlohmann::json{{"ok", true}, {"factory", fi->name}, {"request", request}};
    });
  });

  auto co = std::make_shared<CertifyOptions>();
  auto root_dir = std::make_shared<std::string>();
  CLI::App* certify = pki.add_subcommand(
      "certify-factory", "HQ: certify a factory's request — its issuing CA under the root, its sync "
                         "key, its [[factory]] in hq.toml and factoryRegistered in HQ's log (a running "
                         "hq serve takes it at once) — and write the grant (CA key sealed to the factory)");
  certify->add_option("--root", *root_dir, "HQ's folder (holding hq.toml), made by pki init-root");
  certify->add_option("--config", co->hq_config, "hq.toml (default ROOT/hq.toml)");
  certify->add_option("--request", co->request, "The factory's request file")->required();
  certify->add_option("--out", co->grant, "Grant file to write")->required();
  certify->add_option("--profile", co->profile, "idevid | matter | iec62443 (the CA profile)")
      ->check(CLI::IsMember({"idevid", "matter", "iec62443"}));
  certify->add_option("--vid", co->vendor_id, "Matter PAI vendor id (hex)");
  certify->add_option("--ca-name", co->ca_name, "URL name of its CA (/crl/NAME.crl)");
  certify->add_option("--unseen-serials", co->unseen_serials, "OCSP for serials HQ has not seen: revoked | unknown")
      ->check(CLI::IsMember({"revoked", "unknown"}));
  certify->add_option("--sync-address", co->sync_address, "HQ's sync address as the factory dials it");
  certify->callback([co, root_dir, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      if (co->hq_config.empty()) {
        if (root_dir->empty()) return Status::InvalidArgument("give --root DIR or --config hq.toml");
        co->hq_config = *root_dir + "/hq.toml";
      }
      ASSIGN_OR_RETURN(CertifyResult r, CertifyFactory(*co));
      return nlohmann::json{{"ok", true},
                            {"factory", r.factory},
                            {"log", r.log_origin},
                            {"ca_name", r.ca_name},
                            {"ca_key_fingerprint", r.ca_key_fingerprint},
                            {"grant", co->grant},
                            {"grant_sha256", r.grant_sha256},
                            {"registered_by_running_hq", r.registered_by_running_hq}};
    });
  });

  auto jo = std::make_shared<JoinOptions>();
  CLI::App* join = pki.add_subcommand(
      "factory-join", "Factory: open HQ's grant (checked against the request), install the issuing CA "
                      "and sync certificate, write factory.toml");
  join->add_option("--dir", jo->dir, "The folder pki factory-init made")->required();
  join->add_option("grant", jo->grant, "The grant file")->required();
  join->add_option("--config", jo->config, "factory.toml to write (default DIR/factory.toml)");
  join->callback([jo, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      RETURN_IF_ERROR(FactoryJoin(*jo));
      return nlohmann::json{{"ok", true},
                            {"config", jo->config.empty() ? jo->dir + "/factory.toml" : jo->config}};
    });
  });

  // A new issuing CA for a factory (cli/ca_change.h).
  auto cr = std::make_shared<CaRequestOptions>();
  CLI::App* ca_request = pki.add_subcommand(
      "ca-request", "Factory: ask HQ for a new issuing CA — a fresh transport key and a request file "
                    "naming the current CA");
  ca_request->add_option("--config", cr->factory_config, "factory.toml")->required();
  ca_request->add_option("--out", cr->request, "Request file to write (default <config folder>/<name>-ca.req)");
  ca_request->callback([cr, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(std::string request, CaRequest(*cr));
      return nlohmann::json{{"ok", true}, {"request", request}};
    });
  });

  auto cc = std::make_shared<CertifyCaOptions>();
  CLI::App* certify_ca = pki.add_subcommand(
      "certify-ca", "HQ: certify a new issuing CA for a factory under the root (same profile as its "
                    "current one), add [[factory_ca]] to hq.toml, register it in HQ's log (a running "
                    "hq serve serves it at once) and write the grant (CA key sealed to the factory)");
  certify_ca->add_option("--config", cc->hq_config, "hq.toml")->required();
  certify_ca->add_option("--request", cc->request, "The factory's ca-request file")->required();
  certify_ca->add_option("--out", cc->grant, "Grant file to write")->required();
  certify_ca->add_option("--ca-name", cc->ca_name, "URL name of the new CA (default <current>-g<N>)");
  certify_ca->callback([cc, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(CertifyCaResult r, CertifyCa(*cc));
      return nlohmann::json{{"ok", true},
                            {"factory", r.factory},
                            {"ca_name", r.ca_name},
                            {"previous_ca_name", r.previous_ca_name},
                            {"ca_id", r.ca_id},
                            {"ca_key_fingerprint", r.ca_key_fingerprint},
                            {"grant", cc->grant},
                            {"grant_sha256", r.grant_sha256},
                            {"registered_by_running_hq", r.registered_by_running_hq}};
    });
  });

  auto cj = std::make_shared<CaJoinOptions>();
  CLI::App* ca_join = pki.add_subcommand(
      "ca-join", "Factory: open HQ's new-CA grant, install the CA beside the current one and make it "
                 "the CA of new batches ([[issuing_ca]] in factory.toml; restart factory serve)");
  ca_join->add_option("--config", cj->factory_config, "factory.toml")->required();
  ca_join->add_option("grant", cj->grant, "The grant file")->required();
  ca_join->callback([cj, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(std::string dir, CaJoin(*cj));
      return nlohmann::json{{"ok", true}, {"ca_dir", dir}, {"config", cj->factory_config}};
    });
  });

  // A validation authority on another machine (cli/va_onboarding.h).
  auto vi = std::make_shared<VaInitOptions>();
  CLI::App* va_init = pki.add_subcommand(
      "va-init", "VA: make a validation authority's OCSP responder key and sync key (they stay here) "
                 "and the request for HQ");
  va_init->add_option("--dir", vi->dir, "The VA's folder")->required();
  va_init->add_option("--name", vi->name, "Its name at HQ (lower case)")->required();
  va_init->add_option("--listen", vi->listen, "HOST:PORT it answers OCSP on (default 127.0.0.1:8090)");
  va_init->add_option("--out", vi->request, "Request file to write (default DIR/NAME.req)");
  va_init->add_option("--key", vi->keys, "Key store for its keys: pkcs11:token=…?pin-source=… (default: PEM files)");
  va_init->callback([vi, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(std::string request, VaInit(*vi));
      return nlohmann::json{{"ok", true}, {"va", vi->name}, {"request", request}};
    });
  });

  auto cv = std::make_shared<CertifyVaOptions>();
  CLI::App* certify_va = pki.add_subcommand(
      "certify-va", "HQ: admit a validation authority — certify its sync key (it may follow HQ, read "
                    "only), keep its responder CSR (HQ certifies the key under every CA, each "
                    "certificate an event in HQ's log), add [[va]] to hq.toml, write the grant");
  certify_va->add_option("--config", cv->hq_config, "hq.toml")->required();
  certify_va->add_option("--request", cv->request, "The VA's request file")->required();
  certify_va->add_option("--out", cv->grant, "Grant file to write")->required();
  certify_va->add_option("--sync-address", cv->sync_address, "HQ's sync address as the VA dials it");
  certify_va->callback([cv, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(CertifyVaResult r, CertifyVa(*cv));
      return nlohmann::json{{"ok", true},
                            {"va", r.name},
                            {"sync_spki_sha256", r.sync_spki},
                            {"responder_spki_sha256", r.responder_spki},
                            {"grant", cv->grant},
                            {"taken_by_running_hq", r.taken_by_running_hq}};
    });
  });

  auto vj = std::make_shared<VaJoinOptions>();
  CLI::App* va_join = pki.add_subcommand(
      "va-join", "VA: check HQ's grant against this VA's keys and write va.toml");
  va_join->add_option("--dir", vj->dir, "The folder pki va-init made")->required();
  va_join->add_option("grant", vj->grant, "The grant file")->required();
  va_join->add_option("--config", vj->config, "va.toml to write (default DIR/va.toml)");
  va_join->callback([vj, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(std::string config, VaJoin(*vj));
      return nlohmann::json{{"ok", true}, {"config", config}};
    });
  });

  auto ra = std::make_shared<AddRaOptions>();
  auto ra_batches = std::make_shared<std::vector<std::string>>();
  CLI::App* add_ra = pki.add_subcommand(
      "add-ra", "Factory: a production line's RA identity (key, certificate from the factory LAN "
                "CA, ra.toml) and its pinned [[ra]] in factory.toml");
  add_ra->add_option("--config", ra->factory_config, "factory.toml")->required();
  add_ra->add_option("--id", ra->id, "RA id, e.g. ra-line2")->required();
  add_ra->add_option("--out", ra->out_dir, "The RA's folder")->required();
  add_ra->add_option("--ra-config", ra->ra_config, "ra.toml to write (default OUT/ra.toml)");
  add_ra->add_option("--batch", *ra_batches, "Batches it may enroll in (default: all)");
  add_ra->add_option("--key", ra->keys, "Key store for the RA's TLS key (default: a PEM file in OUT)");
  add_ra->callback([ra, ra_batches, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      if (!ra_batches->empty()) ra->batches = std::set<std::string>(ra_batches->begin(), ra_batches->end());
      ASSIGN_OR_RETURN(std::string spki, AddRa(*ra));
      return nlohmann::json{{"ok", true}, {"ra", ra->id}, {"spki_sha256", spki},
                            {"note", "restart factory serve to admit it"}};
    });
  });

  struct RemoveOpts {
    std::string config, name, reason = "removed by the operator";
  };
  auto rm = std::make_shared<RemoveOpts>();
  auto keys_config = std::make_shared<std::string>();
  auto keys_check = std::make_shared<bool>(false);
  CLI::App* keys = pki.add_subcommand(
      "keys", "List the private keys a node's config uses: PEM file or token object (never a PIN)");
  keys->add_option("--config", *keys_config, "hq.toml, factory.toml or ra.toml")->required();
  keys->add_flag("--check", *keys_check, "Open each key (token login) and sign a probe");
  keys->callback([exit_code, keys_config, keys_check] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(nlohmann::json inventory, KeyInventory(*keys_config, *keys_check));
      if (!inventory.value("ok", false)) *exit_code = 1;
      return inventory;
    });
  });

  CLI::App* remove = pki.add_subcommand(
      "remove-factory", "HQ: stop trusting a factory's log (factoryRemoved in HQ's log): its syncs "
                        "and bundles are refused from then on; what it issued stays");
  remove->add_option("--config", rm->config, "hq.toml")->required();
  remove->add_option("--name", rm->name, "Factory name")->required();
  remove->add_option("--reason", rm->reason, "Why (recorded in HQ's log)");
  remove->callback([rm, exit_code] {
    Run(exit_code, [&]() -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(rm->config));
      const nlohmann::json request{{"cmd", "remove-factory"}, {"factory", rm->name}, {"reason", rm->reason}};
      Result<std::string> line = Delegate(c.data_dir, request);
      if (line.ok()) {
        nlohmann::json j = nlohmann::json::parse(*line, nullptr, false);
        if (j.is_discarded() || !j.value("ok", false)) return Status::FailedPrecondition(*line);
        return j;
      }
      if (line.status().code() != StatusCode::kNotFound) return line.status().WithContext("ask the running hq serve");
      ASSIGN_OR_RETURN(log::LocalLog hq, log::OpenLocalLog(Env::Default(), c.data_dir, true));
      engine::LogAuthority authority(hq.log->origin());
      RETURN_IF_ERROR(authority.CatchUp(*hq.log));
      ASSIGN_OR_RETURN(engine::FactoryScope f, engine::ResolveFactory(authority, rm->name));
      RETURN_IF_ERROR(engine::RemoveFactory(*hq.log, authority, f.log_origin, rm->reason));
      return nlohmann::json{{"ok", true}, {"removed", f.name}, {"log", f.log_origin}};
    });
  });
}

}  // namespace

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
  qs->add_option("--factories", o->factories, "Factories to onboard (1 to 20), each with its batch B1");
  qs->add_option("--key", o->keys, "Key store for CA and TLS keys: pkcs11:token=LABEL?pin-source=file:PATH|env:VAR (default: PEM files)");
  qs->add_option("--log-key", o->log_keys, "Key store for the log key: a token of its own (pkcs11:token=…)");
  qs->callback([o, exit_code] {
    Status s = Quickstart(*o);
    if (!s.ok()) {
      std::cerr << "error: " << s << "\n";
      *exit_code = 2;
    }
  });
  AddCeremonyCommands(*pki, exit_code);
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
        ASSIGN_OR_RETURN(log::LogVerifier delivery, engine::DeliveryVerifier(hq_log.log->verifier(), f->name));
        ASSIGN_OR_RETURN(auto copy, log::EventLog::OpenCopy(fl->store.get(), delivery));
        ASSIGN_OR_RETURN(log::LogSigner hq_signer,
                         log::LogSigner::Open(Env::Default(), log::LogKeyPath(hq.data_dir), hq_log.log->origin()));
        ASSIGN_OR_RETURN(std::unique_ptr<log::Store> delivery_store, engine::OpenDeliveryStore(hq.data_dir));
        ASSIGN_OR_RETURN(uint64_t n, engine::DeliverTo(*hq_log.log, hq_signer, delivery_store.get(), f->name,
                                                       f->log_origin, *copy));
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
