// FactoryCa: the factory's issuing service. Each request is vetted, checked
// against the HQ batch (BatchLedger), signed, and recorded as a signed event
// in the factory log; the certificate is returned only after that event is
// durable (EventLog group commit shares one fsync between concurrent
// requests). Every refusal is a clear error and an issuanceRejected event.
//
// Data: the node's LocalLog (its own log) holds, in the same store, the
// verified mirror copy of HQ's log, from which batch authorizations come.
// Each batch issues under the CA HQ named when it authorized the batch
// (the current one, or one it replaced whose key the factory still holds).
//
// Thread-safety: Enroll, EnrollBulk, Keygen and the readers are safe for
// concurrent use from any number of threads.
#ifndef MIRRORCA_ENGINE_FACTORY_CA_H_
#define MIRRORCA_ENGINE_FACTORY_CA_H_

#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/prometheus_text.h"
#include "base/env.h"
#include "base/result.h"
#include "ca/cert_template.h"
#include "ca/issuing_ca.h"
#include "ca/profile.h"
#include "engine/batch_ledger.h"
#include "log/event_log.h"
#include "log/local_log.h"

namespace mirrorca::engine {

// IssuingCaSource: where one issuing CA is, and the URLs its certificates name.
struct IssuingCaSource {
  std::string dir;  // ca.pem, ca.key, chain.pem
  ca::IssuingCaUrls urls;
};

struct FactoryCaOptions {
  Env* env = nullptr;                 // null = Env::Default()
  std::string data_dir;               // the factory LocalLog directory
  std::string ca_dir;                 // the current issuing CA (ca.pem, ca.key, chain.pem)
  ca::IssuingCaUrls urls;
  // The CAs the current one replaced: each batch issues under the CA HQ
  // authorized it for (batchAuthorized.caId), so batches authorized before
  // the change finish under the CA they began with.
  std::vector<IssuingCaSource> previous_cas;
  std::string organization;
  std::string factory_name;
  std::string production_line;        // recorded in events
  std::string hq_origin;              // HQ log origin
  std::string hq_verifier_key;        // HQ log verifier key (C2SP vkey)
  // The copy of HQ's log is this factory's delivery log (engine/delivery_log.h,
  // origin "<hq_origin>/to/<factory_name>"): HQ's events arrive relayed and
  // are applied after their HQ signature is checked. False: HQ's whole log.
  bool hq_delivery = false;
  std::map<std::string, std::string> profile_files;
  // RA id -> batches it may enroll in ("*" = every batch HQ allows it).
  std::map<std::string, std::set<std::string>> ra_batches;  // name -> TOML path overriding built-ins
  log::EventLogOptions log_options;
};

struct EnrollRequest {
  std::string batch_id;
  std::string device_serial;
  std::string csr;          // PEM or DER
  std::string ra_id;
  // Instead of a CSR: a SubjectPublicKeyInfo (DER) whose possession the
  // enrollment protocol has proved (CMP's POPO, checked by OpenSSL's CMP
  // server before the request reaches the CA). Vetted as a CSR's key is.
  std::string public_key_der;
  // A key update (CMP kur): the serial of the certificate it replaces, which
  // must be the device's latest from this factory; the new certificate also
  // needs HQ's re-issue authorization for the device in this batch.
  std::optional<Bytes> renews_serial;
  // by_device: the device itself authenticated with the certificate
  // renews_serial names (EST simplereenroll, its TLS client certificate);
  // no RA vouches, so ra_id is empty and no RA rule applies. HQ's re-issue
  // authorization for the device remains the gate.
  bool by_device = false;
};

struct KeygenRequest {
  std::string batch_id;
  std::string device_serial;
  std::string password;     // for the encrypted PKCS#8; never stored or logged
  std::string ra_id;
  // unencrypted_key: return the key as unencrypted PKCS#8 DER
  // (private_key_der) instead of a password-encrypted PEM, for a protocol
  // whose channel protects it (EST serverkeygen, RFC 7030 §4.4.2).
  bool unencrypted_key = false;
};

// Stable error codes for API clients (problem+json "code").
enum class EnrollError {
  kNone,
  kBadRequest,       // malformed CSR or device data
  kForbidden,        // RA not authorized / PoP failure
  kNotFound,         // unknown batch
  kConflict,         // duplicate device, batch closed / out of window
  kQuotaExhausted,
  kUnavailable,      // the log cannot record events
};

struct EnrollResult {
  EnrollError error = EnrollError::kNone;
  RejectionReason reason = RejectionReason::UNSPECIFIED;
  std::string detail;
  // On success:
  std::string device_serial;
  std::string serial_hex;
  std::string certificate_pem;
  std::string chain_pem;        // leaf first, then the CA chain
  std::string private_key_pem;  // keygen only: encrypted PKCS#8
  std::string private_key_der;  // keygen with unencrypted_key: PKCS#8 PrivateKeyInfo
  uint64_t log_seq = 0;
  bool ok() const { return error == EnrollError::kNone; }
};

std::string_view RejectionCode(RejectionReason r);  // "quota-exhausted", ...

struct FactoryMetrics {
  std::atomic<uint64_t> issued{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> keygen{0};
  std::atomic<uint64_t> append_failures{0};
  std::atomic<uint64_t> rejected_by_reason[16] = {};
};

class FactoryCa {
 public:
  static Result<std::unique_ptr<FactoryCa>> Open(FactoryCaOptions options);
  ~FactoryCa();

  EnrollResult Enroll(const EnrollRequest& request);
  // EnrollBulk processes up to kMaxBulk requests of one RA and one batch with
  // one durable append for all their events; results are in request order.
  std::vector<EnrollResult> EnrollBulk(const std::vector<EnrollRequest>& requests);
  EnrollResult Keygen(const KeygenRequest& request);
  // RecordRefusal records a request an enrollment protocol refuses before
  // it reaches the CA (a CMP revocation request: revocation belongs to HQ)
  // as the same issuanceRejected event every refusal is; returns the
  // refusal (kUnavailable if the log could not record it).
  EnrollResult RecordRefusal(const EnrollRequest& request, RejectionReason reason, std::string detail);

  static constexpr size_t kMaxBulk = 1000;

  // CatchUpHqLog applies the HQ events stored in the copy since the last
  // call (after a sync or bundle import) to the batch ledger; returns how
  // many were applied.
  Result<uint64_t> CatchUpHqLog();

  std::optional<BatchCounts> Batch(const std::string& batch_id) const {
    return ledger_->Batch(batch_id);
  }
  std::vector<BatchCounts> Batches() const { return ledger_->Batches(); }
  // issuing_ca: the current one (new batches); IssuingCaFor: the one with
  // SPKI hash `ca_id` (an empty id: the current one), null if not held.
  const ca::IssuingCa& issuing_ca() const { return *issuing_; }
  const ca::IssuingCa* IssuingCaFor(const Bytes& ca_id) const;
  // HeldCas: every issuing CA this factory holds, the current one first.
  std::vector<const ca::IssuingCa*> HeldCas() const;
  // IssuerOf: the held CA that issued `cert` — its name and key identifier
  // (X509_check_issued), and with kSignature its key verifies the
  // certificate's signature too; null if none.
  enum class IssuerCheck { kNameAndKeyId, kSignature };
  const ca::IssuingCa* IssuerOf(X509* cert, IssuerCheck check) const;
  // BatchProfile: the profile batch `batch_id` issues under (what EST's
  // csrattrs announces); NotFound for a batch HQ has not authorized here.
  Result<const ca::Profile*> BatchProfile(const std::string& batch_id);
  log::EventLog& log() { return *local_.log; }
  log::EventLog& hq_log() { return *hq_log_; }
  const FactoryMetrics& metrics() const { return metrics_; }
  // WriteMetrics adds issuance by batch and outcome, refusals by reason,
  // log size, fsync group sizes and the disk space left where the log is.
  void WriteMetrics(mirrorca::PrometheusText& m) const;

 private:
  struct Work;
  FactoryCa() = default;
  Status Replay();
  Result<const ca::Profile*> ProfileFor(const std::string& name);
  Result<const ca::CertificateTemplate*> TemplateFor(const ca::IssuingCa& issuer, const ca::Profile& profile);
  // The three steps of one request. Each may refuse it: it then fills
  // w.result and a rejection draft and the later steps skip it. Vet and Sign
  // run in parallel for a bulk request; Reserve runs in request order.
  void Vet(Work& w);
  void Reserve(Work& w);
  void Sign(Work& w);
  void Refuse(Work& w, RejectionReason reason, std::string detail);
  // Process runs the three steps and Record for a single request.
  EnrollResult Process(Work& w);
  // Record appends the drafts of `works` durably and completes them.
  void Record(std::vector<Work*>& works);

  FactoryCaOptions options_;
  Env* env_ = nullptr;
  log::LocalLog local_;
  std::unique_ptr<log::EventLog> hq_log_;
  std::optional<log::LogVerifier> hq_verifier_;  // HQ's own key (relayed events)
  std::mutex hq_applied_mu_;
  uint64_t hq_applied_ = 0;  // guarded by hq_applied_mu_: HQ events applied to the ledger
  std::unique_ptr<ca::IssuingCa> issuing_;
  std::vector<std::unique_ptr<ca::IssuingCa>> previous_;  // the CAs it replaced
  std::unique_ptr<BatchLedger> ledger_;
  std::mutex profiles_mu_;
  std::map<std::string, std::unique_ptr<ca::Profile>, std::less<>> profiles_;
  // One certificate template per (issuing CA, profile), made on first use
  // and kept: both keys live as long as the FactoryCa.
  std::shared_mutex templates_mu_;
  std::map<std::pair<const ca::IssuingCa*, const ca::Profile*>, std::unique_ptr<ca::CertificateTemplate>> templates_;
  FactoryMetrics metrics_;
};

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_FACTORY_CA_H_
