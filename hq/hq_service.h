// HqService: the HQ node as one typed service — HQ's store and own log, the
// delivery logs, the trust table, the sync service over the factory copies
// and the validation authority projecting them — with the operator's
// commands (revoke, CRLs, the batch ledger, batch authorization, bundle
// import and export, onboarding reload, factory removal) as typed requests
// and results. Every transport calls these: the CLI on a stopped node, the
// control socket of a running `hq serve`, the admin API. Transports only
// translate (cli/hq_node.h is the JSON one).
//
// Thread-safety: the commands may run concurrently (the services serialize
// what they must; Reload runs one at a time).
#ifndef MIRRORCA_HQ_HQ_SERVICE_H_
#define MIRRORCA_HQ_HQ_SERVICE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/batch_ledger.h"
#include "engine/status_records.h"
#include "engine/log_authority.h"
#include "engine/revocation.h"
#include "log/local_log.h"
#include "replication/bundle.h"
#include "replication/hq_sync.h"
#include "validation/validation_authority.h"

namespace mirrorca::hq {

// CaSettings: one issuing CA of a factory, as HQ holds it.
struct CaSettings {
  std::string ca_name;           // /crl/<ca_name>.crl
  std::string ca_mirror_dir;     // HQ's copy of it (ca.pem, ca.key)
};

// FactorySettings: what HQ's configuration says about one factory.
struct FactorySettings {
  std::string name;
  std::string ca_name;           // its current issuing CA: /crl/<ca_name>.crl
  bool unseen_unknown = false;   // OCSP "unknown" for serials HQ has not seen issued
  std::string log_origin;
  std::string log_key;
  std::string ca_mirror_dir;     // HQ's copy of the current issuing CA (ca.pem, ca.key)
  std::set<std::string> sync_spki;
  // The CAs the current one replaced, oldest first: registered and served
  // (CRLs, OCSP) for what they issued.
  std::vector<CaSettings> previous_cas;
  std::vector<CaSettings> AllCas() const;  // previous_cas, then the current one
};

// VaSettings: a validation authority on another machine that follows HQ
// (va/va_node.h): its sync TLS key (pinned as a mirror's: it may only read)
// and its OCSP responder key, from the CSR it sent (proof of possession
// checked), which HQ certifies under every CA it serves.
struct VaSettings {
  std::string name;
  std::string sync_spki;      // hex SHA-256 of its TLS key
  std::string responder_csr;  // path of its responder key's CSR (PEM)
};

struct HqOptions {
  std::string data_dir;
  std::string root_dir;          // the root's CRL is served when ca.key is there
  std::string organization;
  std::string public_url = "http://127.0.0.1";  // CRL distribution points
  int64_t crl_validity_seconds = 24 * 3600;
  int64_t crl_debounce_seconds = 2;
  int64_t ocsp_validity_seconds = 4 * 3600;
  size_t ocsp_cache_bytes = 256u << 20;  // pre-signed OCSP answers kept in memory
  size_t ocsp_store_cache_bytes = 256u << 20;  // the block cache of the pre-signed answers' store
  double ocsp_signatures_per_second = 1000;  // on-demand OCSP signatures (OcspOptions)
  int64_t ocsp_max_age_seconds = 60;
  std::vector<FactorySettings> factories;
  std::vector<VaSettings> vas;
};

// RegisterFactories records each factory in HQ's log (engine::RegisterFactory:
// once, and again when it gains a CA or sync keys change; every CA
// certificate it has had is listed, the current one last, whose key
// fingerprint the event records; a
// removed factory stays removed and is reported in `removed`) and catches
// `authority` up.
Status RegisterFactories(const std::vector<FactorySettings>& factories, log::EventLog& hq_log,
                         engine::LogAuthority& authority, std::vector<std::string>* removed = nullptr);

struct RevokeCommand {
  Bytes serial;                  // or
  std::vector<Bytes> serials;    // (engine::ParseSerialList) or
  std::string batch;             // FACTORY/BATCH (a bare BATCH while one factory is registered)
  std::string reason = "unspecified";
  bool hold = false, release = false;
  int64_t time = 0, invalidity_date = 0;  // microseconds; 0: now / none
  std::string requested_by = "cli";
};

struct LedgerQuery {
  std::string batch;             // FACTORY/BATCH, or
  std::string factory;           // every batch of one factory; both empty: all
};
struct LedgerRow {
  std::string factory;           // its name (the log origin when unregistered)
  std::string factory_log;
  std::string batch;
  engine::BatchTally tally;
};

struct ImportOutcome {
  std::string log;
  uint64_t events_imported = 0;
  uint64_t copy_size = 0;
  bool cosigned = false;
  std::optional<replication::Refused> refused;  // set when the bundle was refused
};

struct ReloadOutcome {
  std::vector<std::string> added;    // factories now served
  std::vector<std::string> removed;  // in the settings but removed in HQ's log
  std::vector<std::string> active;   // log origins of every active factory
};

class HqService {
 public:
  static Result<std::unique_ptr<HqService>> Open(HqOptions options);
  ~HqService();

  Result<engine::RevocationResult> Revoke(const RevokeCommand& command);
  // PublishCrls publishes the CRL of the CA named `ca` (empty: of every CA served).
  Result<std::vector<validation::CrlInfo>> PublishCrls(const std::string& ca, bool delta);
  Result<std::vector<LedgerRow>> Ledger(const LedgerQuery& query);
  // AuthorizeBatch records batchAuthorized in HQ's log (the ledger shows it at once).
  Result<uint64_t> AuthorizeBatch(const engine::BatchTerms& terms);
  // ImportBundle applies a factory's bundle file; a refusal is an outcome
  // with `refused` set, an I/O failure an error.
  Result<ImportOutcome> ImportBundle(const std::string& path, const replication::Progress& progress = nullptr);
  // ExportDelivery writes the delivery log of `factory` (what a sync would
  // send it) from seq `from` to the bundle file `out`.
  Result<replication::BundleInfo> ExportDelivery(const std::string& factory, uint64_t from, const std::string& out);
  // Reload registers new or changed factories and serves the new ones at
  // once (sync pins and bindings, OCSP and CRLs for their CAs).
  Result<ReloadOutcome> Reload(const std::vector<FactorySettings>& factories);
  // SetVas replaces the remote validation authorities: their sync keys may
  // follow HQ (and only that), and their responder keys are certified
  // under every CA at the next maintenance. InvalidArgument for a CSR that
  // does not verify or a sync key that is a factory's.
  Status SetVas(const std::vector<VaSettings>& vas);
  // RemoveFactory records factoryRemoved: its syncs are refused from then on.
  Result<engine::FactoryScope> RemoveFactory(const std::string& name, const std::string& reason);

  log::EventLog& log() { return *local_.log; }
  engine::LogAuthority& authority() { return *authority_; }
  replication::HqSync& sync() { return *sync_; }
  validation::ValidationAuthority& va() { return *va_; }
  log::Store* delivery_store() { return delivery_store_.get(); }

 private:
  HqService() = default;
  validation::VaIssuer IssuerOf(const FactorySettings& f, const CaSettings& ca) const;

  HqOptions options_;
  log::LocalLog local_;
  std::unique_ptr<log::Store> delivery_store_;
  std::unique_ptr<engine::LogAuthority> authority_;
  std::unique_ptr<replication::HqSync> sync_;
  std::unique_ptr<validation::ValidationAuthority> va_;
  std::mutex reload_mu_;
  std::set<std::string> served_;  // names of the CAs the VA serves; guarded by reload_mu_
};

}  // namespace mirrorca::hq

#endif  // MIRRORCA_HQ_HQ_SERVICE_H_
