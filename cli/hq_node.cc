#include "cli/hq_node.h"

#include <iostream>
#include <set>
#include <vector>

#include "base/logging.h"
#include "base/encoding.h"
#include "base/status_macros.h"
#include "cli/sync_support.h"
#include "log/node_backup.h"
#include "replication/bundle.h"

namespace mirrorca::cli {
namespace {

std::string Fail(const Status& s) { return nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump(); }

}  // namespace

std::vector<hq::FactorySettings> SettingsOf(const HqConfig& c) {
  std::vector<hq::FactorySettings> out;
  for (const FactoryRef& f : c.factories) {
    hq::FactorySettings s{f.name, f.ca_name, f.unseen_serials == "unknown", f.log_origin, f.log_key, f.ca_mirror_dir,
                          f.sync_spki_sha256, {}};
    for (const CaMirror& p : f.previous_cas) s.previous_cas.push_back({p.ca_name, p.ca_mirror_dir});
    out.push_back(std::move(s));
  }
  return out;
}

hq::HqOptions OptionsOf(const HqConfig& c) {
  hq::HqOptions o;
  o.data_dir = c.data_dir;
  o.root_dir = c.root_dir;
  o.organization = c.organization;
  if (c.validation) {
    o.public_url = c.validation->public_url;
    o.crl_validity_seconds = c.validation->crl_validity_seconds;
    o.crl_debounce_seconds = c.validation->crl_debounce_seconds;
    o.ocsp_validity_seconds = c.validation->ocsp_validity_seconds;
    o.ocsp_max_age_seconds = c.validation->ocsp_max_age_seconds;
    o.ocsp_cache_bytes = c.validation->ocsp_cache_bytes;
    o.ocsp_store_cache_bytes = c.validation->ocsp_store_cache_bytes;
    o.ocsp_signatures_per_second = static_cast<double>(c.validation->ocsp_signatures_per_second);
  }
  o.factories = SettingsOf(c);
  for (const VaRef& v : c.vas) o.vas.push_back({v.name, v.sync_spki_sha256, v.responder_csr});
  return o;
}

Status RegisterFactories(const HqConfig& c, log::EventLog& hq_log, engine::LogAuthority& authority) {
  std::vector<std::string> removed;
  RETURN_IF_ERROR(hq::RegisterFactories(SettingsOf(c), hq_log, authority, &removed).WithContext(c.path));
  for (const std::string& name : removed) {
    logging::Warn("factory-removed", {{"warning", "factory '" + name + "' of " + c.path + " was removed at HQ"}});
  }
  return Status::Ok();
}

Result<HqNode> OpenHqNode(const HqConfig& c) {
  HqNode n;
  n.config = c;
  ASSIGN_OR_RETURN(n.service, hq::HqService::Open(OptionsOf(c)));
  return n;
}

Result<nlohmann::json> ReloadFactories(HqNode& n) {
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(n.config.path));
  ASSIGN_OR_RETURN(hq::ReloadOutcome r, n.service->Reload(SettingsOf(c)));
  RETURN_IF_ERROR(n.service->SetVas(OptionsOf(c).vas));
  std::vector<std::string> vas;
  for (const VaRef& v : c.vas) vas.push_back(v.name);
  return nlohmann::json{{"ok", true},
                        {"vas", vas},
                        {"added", r.added},
                        {"removed", r.removed},
                        {"active", r.active},
                        {"hq_log", n.service->log().origin()},
                        {"hq_log_key", n.service->log().verifier().VerifierKey()}};
}

std::string RevokeJson(HqNode& n, const nlohmann::json& j) {
  hq::RevokeCommand c;
  if (j.contains("serial")) {
    Result<Bytes> serial = HexDecode(j.value("serial", ""));
    if (!serial.ok()) return Fail(serial.status());
    c.serial = std::move(*serial);
  }
  if (j.contains("serial_file")) {
    const std::string path = j.value("serial_file", "");
    if (path.empty() || path.front() != '/') {
      return Fail(Status::InvalidArgument("serial_file needs an absolute path (the node's working directory is not the caller's): '" +
                                          path + "'"));
    }
    Result<std::string> text = Env::Default()->ReadFile(path, size_t{512} << 20);
    if (!text.ok()) return Fail(text.status());
    Result<std::vector<Bytes>> serials = engine::ParseSerialList(*text);
    if (!serials.ok()) return Fail(serials.status().WithContext(path));
    c.serials = std::move(*serials);
  }
  c.batch = j.value("batch", "");
  c.reason = j.value("reason", "unspecified");
  c.hold = j.value("hold", false);
  c.release = j.value("release", false);
  c.time = j.value("time_us", int64_t{0});
  c.invalidity_date = j.value("invalidity_us", int64_t{0});
  c.requested_by = j.value("requested_by", "cli");
  Result<engine::RevocationResult> done = n.service->Revoke(c);
  if (!done.ok()) return Fail(done.status());
  return nlohmann::json{{"ok", true}, {"revoked", done->revoked}, {"skipped", done->skipped},
                        {"first_seq", done->first_seq}}
      .dump();
}

std::string CrlJson(HqNode& n, const nlohmann::json& req) {
  Result<std::vector<validation::CrlInfo>> crls = n.service->PublishCrls(req.value("ca", ""), req.value("delta", false));
  if (!crls.ok()) return Fail(crls.status());
  nlohmann::json out = {{"ok", true}, {"crls", nlohmann::json::array()}};
  for (const validation::CrlInfo& crl : *crls) {
    std::string file = req.value("out", "");
    if (!file.empty()) {
      if (crls->size() > 1) file += "." + crl.issuer;
      Status s = Env::Default()->WriteFileAtomic(file, crl.der, 0644);
      if (!s.ok()) return Fail(s);
    }
    out["crls"].push_back({{"ca", crl.issuer}, {"number", crl.number}, {"delta", crl.delta},
                           {"entries", crl.entries}, {"file", file}});
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
    if (!ca_id.ok()) return Fail(ca_id.status());
    t.ca_id = std::move(*ca_id);
  } catch (const nlohmann::json::exception& e) {
    return Fail(Status::InvalidArgument(std::string("bad batch-authorize request: ") + e.what()));
  }
  Result<uint64_t> seq = n.service->AuthorizeBatch(t);
  if (!seq.ok()) return Fail(seq.status());
  return nlohmann::json{{"ok", true}, {"batch", t.batch_id}, {"quota", t.quota}, {"hq_seq", *seq}}.dump();
}

std::string ImportJson(const std::string& log, const replication::TransferStats& s,
                       uint64_t copy_size, const std::string& cosigned) {
  return nlohmann::json{{"ok", true},        {"log", log},
                        {"events_imported", s.events}, {"events_skipped", s.skipped},
                        {"copy_size", copy_size},      {"cosigned", !cosigned.empty()}}
      .dump();
}

std::string ImportJson(const hq::ImportOutcome& o) {
  if (o.refused) {
    return nlohmann::json{{"ok", false},
                          {"log", o.log},
                          {"refused", std::string(replication::RefusalCode(o.refused->kind))},
                          {"error", o.refused->detail}}
        .dump();
  }
  return nlohmann::json{{"ok", true},         {"log", o.log},           {"events_imported", o.events_imported},
                        {"events_skipped", 0}, {"copy_size", o.copy_size}, {"cosigned", o.cosigned}}
      .dump();
}

std::string LedgerJson(HqNode& n, const nlohmann::json& req) {
  Result<std::vector<hq::LedgerRow>> rows = n.service->Ledger({req.value("batch", ""), req.value("factory", "")});
  if (!rows.ok()) return Fail(rows.status());
  nlohmann::json batches = nlohmann::json::array();
  for (const hq::LedgerRow& r : *rows) {
    const engine::BatchTally& t = r.tally;
    batches.push_back({{"factory", r.factory},
                       {"batch", r.batch},     {"factory_log", r.factory_log},
                       {"authorized", t.quota},
                       {"issued", t.issued},   {"rejected", t.rejected}, {"revoked", t.revoked},
                       {"on_hold", t.held},    {"closed", t.closed},
                       {"over_quota", t.quota != 0 && t.issued > t.quota}});
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
    Result<hq::ImportOutcome> r = n.service->ImportBundle(req.value("file", ""));
    if (!r.ok()) {
      return error(r.status().ToString(), r.status().code() == StatusCode::kInvalidArgument ? "malformed" : "internal");
    }
    return (void)reply(ImportJson(*r));
  }
  if (cmd == "reload") {
    Result<nlohmann::json> r = ReloadFactories(n);
    if (!r.ok()) return error(r.status().ToString());
    return (void)reply(r->dump());
  }
  if (cmd == "remove-factory") {
    Result<engine::FactoryScope> f = n.service->RemoveFactory(req.value("factory", ""), req.value("reason", ""));
    if (!f.ok()) return error(f.status().ToString());
    return (void)reply(nlohmann::json{{"ok", true}, {"removed", f->name}, {"log", f->log_origin}}.dump());
  }
  if (cmd == "revoke") return (void)reply(RevokeJson(n, req));
  if (cmd == "crl-generate") return (void)reply(CrlJson(n, req));
  if (cmd == "batch-ledger") return (void)reply(LedgerJson(n, req));
  if (cmd == "batch-authorize") return (void)reply(AuthorizeJson(n, req));
  if (cmd == "backup") {
    const std::string out = req.value("out", "");
    if (out.empty() || out.front() != '/') return error("backup needs an absolute path: '" + out + "'");
    Result<log::BackupInfo> b = log::BackupNode(
        Env::Default(), n.config.data_dir,
        {{"store", n.service->log().store()}, {"delivery", n.service->delivery_store()}}, n.service->log(), out);
    if (!b.ok()) return error(b.status().ToString());
    return (void)reply(BackupJson(*b).dump());
  }
  if (cmd == "bundle-export") {
    const std::string out = req.value("out", "");
    if (out.empty() || out.front() != '/') {
      return error("bundle-export needs an absolute path (the node's working directory is not the caller's): '" +
                   out + "'");
    }
    // What a factory would receive by sync: its delivery log.
    Result<replication::BundleInfo> r =
        n.service->ExportDelivery(req.value("factory", ""), req.value("from", uint64_t{0}), req.value("out", ""));
    if (!r.ok()) return error(r.status().ToString());
    return (void)reply(nlohmann::json{{"ok", true}, {"log", r->log}, {"from", r->from},
                                      {"tree_size", r->tree_size}, {"bytes", r->bytes}, {"file", out}}
                           .dump());
  }
  error("unknown command '" + cmd + "'");
}

}  // namespace mirrorca::cli
