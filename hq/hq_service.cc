#include "hq/hq_service.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "crypto/key_store.h"
#include "engine/batch_authority.h"
#include "engine/cosigner.h"
#include "engine/delivery_log.h"

namespace mirrorca::hq {

Status RegisterFactories(const std::vector<FactorySettings>& factories, log::EventLog& hq_log,
                         engine::LogAuthority& authority, std::vector<std::string>* removed) {
  Env* env = Env::Default();
  for (const FactorySettings& f : factories) {
    engine::FactoryRegistration reg;
    reg.name = f.name;
    reg.log_key = f.log_key;
    reg.sync_spki = f.sync_spki;
    for (const CaSettings& c : f.AllCas()) {
      ASSIGN_OR_RETURN(std::string pem, env->ReadFile(c.ca_mirror_dir + "/ca.pem", 1 << 20));
      ASSIGN_OR_RETURN(ca::X509Ptr cert, ca::ParseCertificate(pem));
      ASSIGN_OR_RETURN(std::string der, ca::CertificateDer(cert.get()));
      reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
      // HQ's copy of the CA key: it must be the certificate's, and the
      // current one's fingerprint goes into the log (every holder of a CA
      // key is on record; an earlier CA's was recorded when it was current).
      reg.ca_key_fingerprint.clear();
      if (env->FileExists(c.ca_mirror_dir + "/ca.key")) {
        ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, crypto::OpenKeyAt(env, c.ca_mirror_dir + "/ca.key"));
        if (!ca::KeyMatchesCertificate(key.get(), cert.get())) {
          return Status::InvalidArgument(c.ca_mirror_dir + "/ca.key is not the key of " + c.ca_mirror_dir +
                                         "/ca.pem (factory '" + f.name + "')");
        }
        ASSIGN_OR_RETURN(reg.ca_key_fingerprint, ca::KeyFingerprint(key.get()));
      }
    }
    Status registered = engine::RegisterFactory(hq_log, authority, reg).status();
    if (registered.code() == StatusCode::kFailedPrecondition) {  // removed: stays removed, its sync is refused
      if (removed != nullptr) removed->push_back(f.name);
      continue;
    }
    RETURN_IF_ERROR(registered.WithContext("factory '" + f.name + "'"));
  }
  return authority.CatchUp(hq_log);
}

HqService::~HqService() {
  va_.reset();
  sync_.reset();
  delivery_store_.reset();
}

std::vector<CaSettings> FactorySettings::AllCas() const {
  std::vector<CaSettings> all = previous_cas;
  all.push_back({ca_name, ca_mirror_dir});
  return all;
}

validation::VaIssuer HqService::IssuerOf(const FactorySettings& f, const CaSettings& ca) const {
  return {ca.ca_name, ca.ca_mirror_dir, options_.public_url + "/crl/" + ca.ca_name + ".crl",
          /*crl_only=*/false, f.unseen_unknown};
}

Result<std::unique_ptr<HqService>> HqService::Open(HqOptions options) {
  Env* env = Env::Default();
  std::unique_ptr<HqService> s(new HqService());
  s->options_ = std::move(options);
  const HqOptions& o = s->options_;
  log::EventLogOptions local_options;
  local_options.point_lookup_cache_bytes = o.ocsp_store_cache_bytes;
  ASSIGN_OR_RETURN(s->local_, log::OpenLocalLog(env, o.data_dir, /*with_key=*/true, local_options));
  ASSIGN_OR_RETURN(log::LogSigner hq_signer,
                   log::LogSigner::Open(env, log::LogKeyPath(o.data_dir), s->local_.log->origin()));
  // The cosigner: its own key (engine/cosigner.h), or HQ's log key for a store made before it.
  ASSIGN_OR_RETURN(log::LogSigner cosigner, engine::OpenCosigner(env, o.data_dir, hq_signer));
  s->authority_ = std::make_unique<engine::LogAuthority>(s->local_.log->origin());
  std::vector<std::string> removed;
  RETURN_IF_ERROR(RegisterFactories(o.factories, *s->local_.log, *s->authority_, &removed)
                      .WithContext("learn the factories from HQ's log"));
  ASSIGN_OR_RETURN(s->delivery_store_, engine::OpenDeliveryStore(o.data_dir));
  replication::HqSyncOptions so;
  so.authority = s->authority_.get();
  so.delivery_store = s->delivery_store_.get();
  HqService* self = s.get();
  so.on_stored = [self] {
    if (self->va_) (void)self->va_->Refresh();  // OCSP reflects what HQ just cosigned
  };
  ASSIGN_OR_RETURN(s->sync_, replication::HqSync::Open(s->local_.log.get(), std::move(hq_signer), std::move(cosigner), so));
  std::vector<log::EventLog*> logs;
  std::vector<validation::VaIssuer> issuers;
  for (const FactorySettings& f : o.factories) {
    if (log::EventLog* copy = s->sync_->Copy(f.log_origin)) logs.push_back(copy);
    for (const CaSettings& ca : f.AllCas()) {
      issuers.push_back(s->IssuerOf(f, ca));
      s->served_.insert(ca.ca_name);
    }
  }
  // The root's CRL (the issuing CAs' CRL distribution point), when HQ holds
  // the root key; an offline root publishes it at its ceremony instead. It
  // has no issuing distribution point: it covers everything the root
  // signed, the root itself included (-crl_check_all checks that too).
  if (!o.root_dir.empty() && std::filesystem::exists(o.root_dir + "/ca.key")) {
    issuers.push_back({"root", o.root_dir, /*crl_url=*/"", /*crl_only=*/true});
  }
  logs.push_back(s->local_.log.get());
  validation::VaOptions vo;
  vo.authority = s->authority_.get();
  vo.organization = o.organization;
  vo.crl_validity_seconds = o.crl_validity_seconds;
  vo.crl_debounce_seconds = o.crl_debounce_seconds;
  vo.ocsp.validity_seconds = o.ocsp_validity_seconds;
  vo.ocsp.refresh_seconds = std::max<int64_t>(60, o.ocsp_validity_seconds / 4);
  vo.ocsp.http_max_age_seconds = o.ocsp_max_age_seconds;
  vo.ocsp.max_cache_bytes = o.ocsp_cache_bytes;
  vo.ocsp.on_demand_signatures_per_second = o.ocsp_signatures_per_second;
  ASSIGN_OR_RETURN(s->va_, validation::ValidationAuthority::Open(s->local_.log.get(), std::move(logs),
                                                                 std::move(issuers), vo));
  RETURN_IF_ERROR(s->SetVas(o.vas));
  return s;
}

Status HqService::SetVas(const std::vector<VaSettings>& vas) {
  Env* env = Env::Default();
  std::set<std::string> pins;
  std::vector<validation::RemoteResponder> responders;
  const std::set<std::string> factory_pins = sync_->PinnedSpkis();
  for (const VaSettings& v : vas) {
    if (factory_pins.count(v.sync_spki) != 0) {
      return Status::InvalidArgument("VA '" + v.name + "': its sync key is a factory's");
    }
    ASSIGN_OR_RETURN(std::string pem, env->ReadFile(v.responder_csr, 64 << 10));
    ASSIGN_OR_RETURN(ca::X509ReqPtr csr, ca::ParseRequest(pem));
    EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
    if (key == nullptr || X509_REQ_verify(csr.get(), key) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("VA '" + v.name + "': " + v.responder_csr + " does not verify (proof of possession)");
    }
    ASSIGN_OR_RETURN(Bytes spki, ca::SpkiDer(key));
    pins.insert(v.sync_spki);
    responders.push_back({v.name, std::move(spki)});
  }
  sync_->SetMirrors(std::move(pins));
  va_->SetRemoteResponders(std::move(responders));
  return Status::Ok();
}

Result<engine::RevocationResult> HqService::Revoke(const RevokeCommand& c) {
  engine::RevocationRequest r;
  r.serial = c.serial;
  r.serials = c.serials;
  if (!c.batch.empty()) {
    ASSIGN_OR_RETURN(engine::BatchRef batch, engine::ResolveBatchRef(*authority_, c.batch));
    r.factory_origin = batch.factory_origin;
    r.batch_id = batch.batch;
  }
  if (static_cast<int>(!r.serial.empty()) + static_cast<int>(!r.batch_id.empty()) + static_cast<int>(!r.serials.empty()) != 1) {
    return Status::InvalidArgument("give exactly one of a serial, a serial file and a batch");
  }
  r.hold = c.hold;
  r.release = c.release;
  if (!r.hold && !r.release) {
    ASSIGN_OR_RETURN(r.reason, engine::ParseReason(c.reason));
  }
  r.time = c.time;
  r.invalidity_date = c.invalidity_date;
  r.requested_by = c.requested_by;
  return va_->Revoke(r);
}

Result<std::vector<validation::CrlInfo>> HqService::PublishCrls(const std::string& ca, bool delta) {
  std::vector<std::string> names;
  for (const std::string& name : va_->IssuerNames()) {
    if (ca.empty() || ca == name) names.push_back(name);
  }
  if (names.empty()) return Status::NotFound("no CA named '" + ca + "'");
  std::vector<validation::CrlInfo> out;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(validation::CrlInfo crl, va_->PublishCrl(name, delta));
    out.push_back(std::move(crl));
  }
  return out;
}

Result<std::vector<LedgerRow>> HqService::Ledger(const LedgerQuery& q) {
  RETURN_IF_ERROR(va_->Refresh().status());
  ASSIGN_OR_RETURN(std::vector<engine::CertStatus::LedgerEntry> all, va_->status().Tallies());
  std::string only_factory, only_origin, only_batch;
  if (!q.batch.empty()) {
    ASSIGN_OR_RETURN(engine::BatchRef batch, engine::ResolveBatchRef(*authority_, q.batch));
    only_factory = batch.factory;
    only_origin = batch.factory_origin;
    only_batch = batch.batch;
  } else if (!q.factory.empty()) {
    ASSIGN_OR_RETURN(engine::FactoryScope f, engine::ResolveFactory(*authority_, q.factory));
    only_origin = f.log_origin;
  }
  std::vector<LedgerRow> rows;
  for (const auto& e : all) {
    if (!only_origin.empty() && e.factory_origin != only_origin) continue;
    if (!only_batch.empty() && e.batch_id != only_batch) continue;
    std::optional<engine::FactoryScope> f = authority_->Factory(e.factory_origin);
    rows.push_back({f ? f->name : e.factory_origin, e.factory_origin, e.batch_id, e.tally});
  }
  if (!only_batch.empty() && rows.empty()) {
    return Status::NotFound("no batch '" + only_factory + "/" + only_batch + "' in the logs");
  }
  return rows;
}

Result<uint64_t> HqService::AuthorizeBatch(const engine::BatchTerms& t) {
  if (sync_->Copy(t.factory_log_id) == nullptr) {
    return Status::NotFound("no factory log '" + t.factory_log_id + "' is registered at HQ");
  }
  ASSIGN_OR_RETURN(uint64_t seq, engine::AuthorizeBatch(*local_.log, *authority_, t));
  RETURN_IF_ERROR(va_->Refresh().status());  // the ledger shows it at once
  return seq;
}

Result<ImportOutcome> HqService::ImportBundle(const std::string& path, const replication::Progress& progress) {
  ImportOutcome out;
  Result<replication::BundleInfo> read = replication::ReadBundleHeader(path);
  if (!read.ok()) {  // not a bundle (or no file): refused as malformed, nothing stored
    out.refused = replication::Refused{replication::RefusalKind::kMalformed, read.status().ToString(), {}};
    return out;
  }
  const replication::BundleInfo& header = *read;
  out.log = header.log;
  log::EventLog* copy = sync_->Copy(header.log);
  const uint64_t before = copy ? copy->Size() : 0;
  std::optional<replication::Refused> refused;
  Result<std::string> cosigned = sync_->ImportFactoryBundle(path, progress, &refused);
  if (!cosigned.ok()) {
    if (!refused) return cosigned.status();
    out.refused = refused;
    return out;
  }
  copy = sync_->Copy(header.log);
  out.copy_size = copy->Size();
  out.events_imported = out.copy_size - before;
  out.cosigned = !cosigned->empty();
  RETURN_IF_ERROR(va_->Refresh().status());
  return out;
}

Result<replication::BundleInfo> HqService::ExportDelivery(const std::string& factory, uint64_t from,
                                                          const std::string& out) {
  ASSIGN_OR_RETURN(engine::FactoryScope f, engine::ResolveFactory(*authority_, factory));
  ASSIGN_OR_RETURN(log::EventLog * delivery, sync_->RelayTo(f.log_origin));
  return replication::ExportBundle(*delivery, from, delivery->origin(), Env::Default()->NowMicros(), out);
}

Result<ReloadOutcome> HqService::Reload(const std::vector<FactorySettings>& factories) {
  std::lock_guard lock(reload_mu_);
  ReloadOutcome out;
  RETURN_IF_ERROR(RegisterFactories(factories, *local_.log, *authority_, &out.removed));
  RETURN_IF_ERROR(sync_->Refresh());
  for (const FactorySettings& f : factories) {
    if (!authority_->Active(f.log_origin)) continue;
    bool added = false;
    for (const CaSettings& ca : f.AllCas()) {
      if (served_.count(ca.ca_name) != 0) continue;
      RETURN_IF_ERROR(va_->AddIssuer(IssuerOf(f, ca), sync_->Copy(f.log_origin))
                          .WithContext("serve the CA '" + ca.ca_name + "' of factory '" + f.name + "'"));
      served_.insert(ca.ca_name);
      added = true;
    }
    if (added) out.added.push_back(f.name);
  }
  for (const engine::FactoryScope& f : authority_->Factories()) {
    if (!f.removed) out.active.push_back(f.log_origin);
  }
  return out;
}

Result<engine::FactoryScope> HqService::RemoveFactory(const std::string& name, const std::string& reason) {
  ASSIGN_OR_RETURN(engine::FactoryScope f, engine::ResolveFactory(*authority_, name));
  RETURN_IF_ERROR(engine::RemoveFactory(*local_.log, *authority_, f.log_origin, reason));
  RETURN_IF_ERROR(va_->Refresh().status());
  return f;
}

}  // namespace mirrorca::hq
