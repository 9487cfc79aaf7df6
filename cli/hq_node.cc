#include "cli/hq_node.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <vector>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "engine/batch_authority.h"
#include "engine/delivery_log.h"
#include "engine/revocation.h"
#include "replication/bundle.h"

namespace mirrorca::cli {


Status RegisterFactories(const HqConfig& c, log::EventLog& hq_log, engine::LogAuthority& authority) {
  Env* env = Env::Default();
  for (const FactoryRef& f : c.factories) {
    engine::FactoryRegistration reg;
    reg.name = f.name;
    reg.log_key = f.log_key;
    reg.sync_spki = f.sync_spki_sha256;
    ASSIGN_OR_RETURN(std::string pem, env->ReadFile(f.ca_mirror_dir + "/ca.pem", 1 << 20));
    ASSIGN_OR_RETURN(ca::X509Ptr cert, ca::ParseCertificate(pem));
    ASSIGN_OR_RETURN(std::string der, ca::CertificateDer(cert.get()));
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    // HQ's copy of the CA key: it must be the certificate's, and its
    // fingerprint goes into the log (every holder of a CA key is on record).
    if (env->FileExists(f.ca_mirror_dir + "/ca.key")) {
      ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, ca::LoadPrivateKeyPem(env, f.ca_mirror_dir + "/ca.key"));
      if (!ca::KeyMatchesCertificate(key.get(), cert.get())) {
        return Status::InvalidArgument(f.ca_mirror_dir + "/ca.key is not the key of " + f.ca_mirror_dir +
                                       "/ca.pem (factory '" + f.name + "')");
      }
      ASSIGN_OR_RETURN(reg.ca_key_fingerprint, ca::KeyFingerprint(key.get()));
    }
    Status registered = engine::RegisterFactory(hq_log, authority, reg).status();
    if (registered.code() == StatusCode::kFailedPrecondition) {  // removed: stays removed, its sync is refused
      std::cerr << "{\"warning\":\"factory '" << f.name << "' of " << c.path << " was removed at HQ\"}" << std::endl;
      continue;
    }
    RETURN_IF_ERROR(registered.WithContext("factory '" + f.name + "' of " + c.path));
  }
  return authority.CatchUp(hq_log);
}

validation::VaIssuer IssuerOf(const HqConfig& c, const FactoryRef& f) {
  const std::string public_url =
      c.validation ? c.validation->public_url : std::string("http://127.0.0.1");
  return {f.ca_name, f.ca_mirror_dir, public_url + "/crl/" + f.ca_name + ".crl",
          /*crl_only=*/false, /*unseen_unknown=*/f.unseen_serials == "unknown"};
}

Result<nlohmann::json> ReloadFactories(HqNode& n) {
  std::lock_guard lock(*n.reload_mu);
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(n.config.path));
  RETURN_IF_ERROR(RegisterFactories(c, *n.local.log, *n.authority));
  RETURN_IF_ERROR(n.sync->Refresh());
  nlohmann::json added = nlohmann::json::array();
  for (const FactoryRef& f : c.factories) {
    const bool known = std::any_of(n.config.factories.begin(), n.config.factories.end(),
                                   [&](const FactoryRef& o) { return o.log_origin == f.log_origin; });
    if (known || !n.authority->Active(f.log_origin)) continue;
    RETURN_IF_ERROR(n.va->AddIssuer(IssuerOf(c, f), n.sync->Copy(f.log_origin))
                        .WithContext("serve the CA of factory '" + f.name + "'"));
    n.config.factories.push_back(f);
    added.push_back(f.name);
  }
  nlohmann::json active = nlohmann::json::array();
  for (const engine::FactoryScope& f : n.authority->Factories()) {
    if (!f.removed) active.push_back(f.log_origin);
  }
  return nlohmann::json{{"ok", true},
                        {"added", added},
                        {"active", active},
                        {"hq_log", n.local.log->origin()},
                        {"hq_log_key", n.local.log->verifier().VerifierKey()}};
}

Result<HqNode> OpenHqNode(const HqConfig& c) {
  Env* env = Env::Default();
  HqNode n;
  n.config = c;
  ASSIGN_OR_RETURN(n.local, log::OpenLocalLog(env, c.data_dir, /*with_key=*/true));
  ASSIGN_OR_RETURN(log::LogSigner cosigner,
                   log::LogSigner::LoadPem(env, log::LogKeyPath(c.data_dir), n.local.log->origin()));
  n.authority = std::make_unique<engine::LogAuthority>(n.local.log->origin());
  RETURN_IF_ERROR(RegisterFactories(c, *n.local.log, *n.authority).WithContext("learn the factories from HQ's log"));
  ASSIGN_OR_RETURN(n.delivery_store, engine::OpenDeliveryStore(c.data_dir));
  replication::HqSyncOptions so;
  so.authority = n.authority.get();
  so.delivery_store = n.delivery_store.get();
  ASSIGN_OR_RETURN(n.sync, replication::HqSync::Open(n.local.log.get(), std::move(cosigner), so));
  std::vector<log::EventLog*> logs;
  std::vector<validation::VaIssuer> issuers;
  const std::string public_url =
      c.validation ? c.validation->public_url : std::string("http://127.0.0.1");
  for (const FactoryRef& f : c.factories) {
    if (log::EventLog* copy = n.sync->Copy(f.log_origin)) logs.push_back(copy);
    issuers.push_back(IssuerOf(c, f));
  }
  // The root's CRL (the issuing CAs' CRL distribution point), when HQ holds
  // the root key; an offline root publishes it at its ceremony instead. It
  // has no issuing distribution point: it covers everything the root
  // signed, the root itself included (-crl_check_all checks that too).
  if (!c.root_dir.empty() && std::filesystem::exists(c.root_dir + "/ca.key")) {
    issuers.push_back({"root", c.root_dir, /*crl_url=*/"", /*crl_only=*/true});
  }
  logs.push_back(n.local.log.get());
  validation::VaOptions vo;
  vo.authority = n.authority.get();
  vo.organization = c.organization;
  if (c.validation) {
    vo.crl_validity_seconds = c.validation->crl_validity_seconds;
    vo.crl_debounce_seconds = c.validation->crl_debounce_seconds;
    vo.ocsp.validity_seconds = c.validation->ocsp_validity_seconds;
    vo.ocsp.refresh_seconds = std::max<int64_t>(60, c.validation->ocsp_validity_seconds / 4);
    vo.ocsp.http_max_age_seconds = c.validation->ocsp_max_age_seconds;
  }
  ASSIGN_OR_RETURN(n.va, validation::ValidationAuthority::Open(n.local.log.get(), std::move(logs),
                                                               std::move(issuers), vo));
  return n;
}

static Result<engine::RevocationRequest> RevocationFromJson(const engine::LogAuthority& authority,
                                                            const nlohmann::json& j) {
  engine::RevocationRequest r;
  if (j.contains("serial")) {
    ASSIGN_OR_RETURN(r.serial, HexDecode(j.value("serial", "")));
  }
  if (const std::string ref = j.value("batch", ""); !ref.empty()) {
    ASSIGN_OR_RETURN(engine::BatchRef batch, engine::ResolveBatchRef(authority, ref));
    r.factory_origin = batch.factory_origin;
    r.batch_id = batch.batch;
  }
  r.hold = j.value("hold", false);
  r.release = j.value("release", false);
  if (!r.hold && !r.release) {
    ASSIGN_OR_RETURN(r.reason, engine::ParseReason(j.value("reason", "unspecified")));
  }
  r.time = j.value("time_us", int64_t{0});
  r.invalidity_date = j.value("invalidity_us", int64_t{0});
  r.requested_by = j.value("requested_by", "cli");
  return r;
}

std::string RevokeJson(HqNode& n, const nlohmann::json& req) {
  Result<engine::RevocationRequest> r = RevocationFromJson(*n.authority, req);
  Result<engine::RevocationResult> done =
      r.ok() ? n.va->Revoke(*r) : Result<engine::RevocationResult>(r.status());
  if (!done.ok()) return nlohmann::json{{"ok", false}, {"error", done.status().ToString()}}.dump();
  return nlohmann::json{{"ok", true}, {"revoked", done->revoked}, {"skipped", done->skipped},
                        {"first_seq", done->first_seq}}
      .dump();
}

std::string CrlJson(HqNode& n, const nlohmann::json& req) {
  std::vector<std::string> names;
  const std::string one = req.value("ca", "");
  for (const std::string& name : n.va->IssuerNames()) {
    if (one.empty() || one == name) names.push_back(name);
  }
  if (names.empty()) return nlohmann::json{{"ok", false}, {"error", "no CA named '" + one + "'"}}.dump();
  nlohmann::json out = {{"ok", true}, {"crls", nlohmann::json::array()}};
  for (const std::string& name : names) {
    Result<validation::CrlInfo> crl = n.va->PublishCrl(name, req.value("delta", false));
    if (!crl.ok()) return nlohmann::json{{"ok", false}, {"error", crl.status().ToString()}}.dump();
    std::string file = req.value("out", "");
    if (!file.empty()) {
      if (names.size() > 1) file += "." + name;
      Status s = Env::Default()->WriteFileAtomic(file, crl->der, 0644);
      if (!s.ok()) return nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump();
    }
    out["crls"].push_back({{"ca", name}, {"number", crl->number}, {"delta", crl->delta},
                           {"entries", crl->entries}, {"file", file}});
  }
  return out.dump();
}

nlohmann::json BatchTermsJson(const engine::BatchTerms& t) {
  return {{"cmd", "batch-authorize"},
          {"batch", t.batch_id},
          {"profile", t.profile},
          {"product", t.product},
          {"vid", t.vendor_id},
          {"pid", t.product_id},
          {"quota", t.quota},
          {"not_before_us", t.not_before},
          {"not_after_us", t.not_after},
          {"factory_log", t.factory_log_id},
          {"ras", t.allowed_ras},
          {"reissue", t.allow_reissue},
          {"ca_id", HexEncode(t.ca_id)}};
}

std::string AuthorizeJson(HqNode& n, const nlohmann::json& req) {
  auto fail = [](const Status& s) { return nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump(); };
  engine::BatchTerms t;
  try {
    t.batch_id = req.at("batch").get<std::string>();
    t.profile = req.at("profile").get<std::string>();
    t.product = req.at("product").get<std::string>();
    t.vendor_id = req.at("vid").get<uint16_t>();
    t.product_id = req.at("pid").get<uint16_t>();
    t.quota = req.at("quota").get<uint64_t>();
    t.not_before = req.at("not_before_us").get<int64_t>();
    t.not_after = req.at("not_after_us").get<int64_t>();
    t.factory_log_id = req.at("factory_log").get<std::string>();
    t.allowed_ras = req.at("ras").get<std::vector<std::string>>();
    t.allow_reissue = req.at("reissue").get<std::set<std::string>>();
    Result<Bytes> ca_id = HexDecode(req.at("ca_id").get<std::string>());
    if (!ca_id.ok()) return fail(ca_id.status());
    t.ca_id = std::move(*ca_id);
  } catch (const nlohmann::json::exception& e) {
    return fail(Status::InvalidArgument(std::string("bad batch-authorize request: ") + e.what()));
  }
  if (n.sync && n.sync->Copy(t.factory_log_id) == nullptr) {
    return fail(Status::NotFound("no factory log '" + t.factory_log_id + "' is configured at HQ"));
  }
  Result<uint64_t> seq = engine::AuthorizeBatch(*n.local.log, *n.authority, t);
  if (!seq.ok()) return fail(seq.status());
  if (Result<uint64_t> r = n.va->Refresh(); !r.ok()) return fail(r.status());  // the ledger shows it at once
  return nlohmann::json{{"ok", true}, {"batch", t.batch_id}, {"quota", t.quota}, {"hq_seq", *seq}}.dump();
}

std::string ImportJson(const std::string& log, const replication::TransferStats& s,
                       uint64_t copy_size, const std::string& cosigned) {
  return nlohmann::json{{"ok", true},        {"log", log},
                        {"events_imported", s.events}, {"events_skipped", s.skipped},
                        {"copy_size", copy_size},      {"cosigned", !cosigned.empty()}}
      .dump();
}

std::string LedgerJson(HqNode& n, const nlohmann::json& req) {
  auto fail = [](const Status& s) { return nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump(); };
  if (Result<uint64_t> r = n.va->Refresh(); !r.ok()) return fail(r.status());
  Result<std::vector<engine::CertStatus::LedgerEntry>> all = n.va->status().Tallies();
  if (!all.ok()) return fail(all.status());
  std::string only_factory, only_origin, only_batch;
  if (const std::string ref = req.value("batch", ""); !ref.empty()) {
    Result<engine::BatchRef> batch = engine::ResolveBatchRef(*n.authority, ref);
    if (!batch.ok()) return fail(batch.status());
    only_factory = batch->factory;
    only_origin = batch->factory_origin;
    only_batch = batch->batch;
  } else if (const std::string name = req.value("factory", ""); !name.empty()) {
    Result<engine::FactoryScope> f = engine::ResolveFactory(*n.authority, name);
    if (!f.ok()) return fail(f.status());
    only_origin = f->log_origin;
  }
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& e : *all) {
    if (!only_origin.empty() && e.factory_origin != only_origin) continue;
    if (!only_batch.empty() && e.batch_id != only_batch) continue;
    std::optional<engine::FactoryScope> f = n.authority->Factory(e.factory_origin);
    const engine::BatchTally& t = e.tally;
    batches.push_back({{"factory", f ? f->name : e.factory_origin},
                       {"batch", e.batch_id},  {"factory_log", e.factory_origin},
                       {"authorized", t.quota},
                       {"issued", t.issued},   {"rejected", t.rejected}, {"revoked", t.revoked},
                       {"on_hold", t.held},    {"closed", t.closed},
                       {"over_quota", t.quota != 0 && t.issued > t.quota}});
  }
  if (!only_batch.empty() && batches.empty()) {
    return fail(Status::NotFound("no batch '" + only_factory + "/" + only_batch + "' in the logs"));
  }
  return nlohmann::json{{"ok", true}, {"batches", batches}}.dump();
}

void HandleHqControl(HqNode& n, const std::string& request, const net::ControlServer::Reply& reply) {
  nlohmann::json req = nlohmann::json::parse(request, nullptr, false);
  auto error = [&](const std::string& e, const std::string& refused = "") {
    nlohmann::json out{{"ok", false}, {"error", e}};
    if (!refused.empty()) out["refused"] = refused;
    reply(out.dump());
  };
  if (req.is_discarded() || !req.is_object()) return error("bad control request");
  const std::string cmd = req.value("cmd", "");
  if (cmd == "bundle-import") {
    const std::string path = req.value("file", "");
    Result<replication::BundleInfo> header = replication::ReadBundleHeader(path);
    if (!header.ok()) return error(header.status().ToString(), "malformed");
    log::EventLog* copy = n.sync->Copy(header->log);
    const uint64_t before = copy ? copy->Size() : 0;
    std::optional<replication::Refused> refused;
    Result<std::string> r = n.sync->ImportFactoryBundle(path, nullptr, &refused);
    if (!r.ok()) {
      return error(r.status().ToString(),
                   refused ? std::string(replication::RefusalCode(refused->kind)) : "internal");
    }
    replication::TransferStats s;
    s.events = copy->Size() - before;
    (void)n.va->Refresh();
    return (void)reply(ImportJson(header->log, s, copy->Size(), *r));
  }
  if (cmd == "reload") {
    Result<nlohmann::json> r = ReloadFactories(n);
    if (!r.ok()) return error(r.status().ToString());
    return (void)reply(r->dump());
  }
  if (cmd == "remove-factory") {
    Result<engine::FactoryScope> f = engine::ResolveFactory(*n.authority, req.value("factory", ""));
    if (!f.ok()) return error(f.status().ToString());
    Status s = engine::RemoveFactory(*n.local.log, *n.authority, f->log_origin, req.value("reason", ""));
    if (!s.ok()) return error(s.ToString());
    (void)n.va->Refresh();
    return (void)reply(nlohmann::json{{"ok", true}, {"removed", f->name}, {"log", f->log_origin}}.dump());
  }
  if (cmd == "revoke") return (void)reply(RevokeJson(n, req));
  if (cmd == "crl-generate") return (void)reply(CrlJson(n, req));
  if (cmd == "batch-ledger") return (void)reply(LedgerJson(n, req));
  if (cmd == "batch-authorize") return (void)reply(AuthorizeJson(n, req));
  if (cmd == "bundle-export") {
    // What a factory would receive by sync: its delivery log.
    Result<engine::FactoryScope> f = engine::ResolveFactory(*n.authority, req.value("factory", ""));
    if (!f.ok()) return error(f.status().ToString());
    Result<log::EventLog*> delivery = n.sync->RelayTo(f->log_origin);
    if (!delivery.ok()) return error(delivery.status().ToString());
    Result<replication::BundleInfo> r = replication::ExportBundle(
        **delivery, req.value("from", uint64_t{0}), (*delivery)->origin(),
        Env::Default()->NowMicros(), req.value("out", ""));
    if (!r.ok()) return error(r.status().ToString());
    return (void)reply(nlohmann::json{{"ok", true}, {"log", r->log}, {"from", r->from},
                                      {"tree_size", r->tree_size}, {"bytes", r->bytes}}
                           .dump());
  }
  error("unknown command '" + cmd + "'");
}


}  // namespace mirrorca::cli
