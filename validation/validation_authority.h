// ValidationAuthority: HQ's VA — keeps the certificate-status projection
// caught up with every log HQ holds, revokes (as HQ's log events), publishes
// CRLs (full and delta; each CRL number recorded as a crlPublished event,
// so numbers only grow, across restarts and rebuilds) and answers OCSP, all
// over plain HTTP (signed objects; cacheable, RFC 5019):
//
//   POST /ocsp                  application/ocsp-request
//   GET  /ocsp/<base64 request> (RFC 5019; the path is used as sent, `//` kept)
//   GET  /crl/<name>.crl        the latest full CRL of issuing CA <name>
//   GET  /crl/<name>-delta.crl  the latest delta CRL
//
// Each issuing CA is served from HQ's mirror copy of it (ca.pem, ca.key):
// the CRL is signed by the CA key, OCSP by a delegated responder certificate
// (DIR/ocsp-responder.pem, .key) issued from it at start and renewed when
// less than a third of its validity remains.
//
// Thread-safety: Handle may run concurrently; Refresh, Revoke and
// PublishCrl are serialized internally.
#ifndef MIRRORCA_VALIDATION_VALIDATION_AUTHORITY_H_
#define MIRRORCA_VALIDATION_VALIDATION_AUTHORITY_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "engine/cert_status.h"
#include "engine/log_authority.h"
#include "engine/revocation.h"
#include "log/event_log.h"
#include "net/http_server.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::validation {

struct VaIssuer {
  std::string name;          // URL name: /crl/<name>.crl
  std::string ca_dir;        // ca.pem, ca.key (0600), chain.pem
  std::string crl_url;       // the issuing distribution point written into its CRLs
  // crl_only: a CA that gets CRLs but no OCSP responder — the OEM root, whose
  // CRL lets relying parties check the issuing CAs (openssl -crl_check_all).
  bool crl_only = false;
  bool unseen_unknown = false;  // OCSP "unknown" (not "revoked") for serials no log issued
};

// RemoteResponder: the OCSP responder key of a validation authority on
// another machine (va/va_node.h). HQ certifies it under every CA it serves
// (renewed like its own responders), and records each certificate in its
// log, where that VA finds it.
struct RemoteResponder {
  std::string name;  // the VA's name: <ca_dir>/ocsp-responder-<name>.pem
  Bytes spki_der;    // its public key (DER SubjectPublicKeyInfo)
};

struct VaOptions {
  Env* env = nullptr;
  // The trust table (required; outlives the VA): only what each log may
  // say is projected. Refresh catches it up with HQ's log first.
  engine::LogAuthority* authority = nullptr;
  std::string organization;
  int64_t crl_validity_seconds = 24 * 3600;  // nextUpdate - thisUpdate
  int64_t crl_debounce_seconds = 2;          // revocations gathered into one delta CRL
  OcspOptions ocsp;
  std::vector<RemoteResponder> remote_responders;
};

struct CrlInfo {
  std::string issuer;
  uint64_t number = 0;
  bool delta = false;
  uint64_t base = 0;
  uint64_t entries = 0;
  int64_t this_update = 0;   // seconds
  int64_t next_update = 0;
  std::string der;
};

class ValidationAuthority {
 public:
  // `hq_log` (with its signer) and `logs` (every log to project: the
  // factory copies and HQ's own) must outlive the VA.
  static Result<std::unique_ptr<ValidationAuthority>> Open(log::EventLog* hq_log,
                                                           std::vector<log::EventLog*> logs,
                                                           std::vector<VaIssuer> issuers,
                                                           VaOptions options);
  ~ValidationAuthority();

  // Refresh projects the events not yet applied; returns how many.
  Result<uint64_t> Refresh();
  // Revoke validates and records a revocation, then refreshes: OCSP answers
  // change at once; Maintain publishes the delta CRL a few seconds later.
  Result<engine::RevocationResult> Revoke(const engine::RevocationRequest& request);
  // PublishCrl builds, records (crlPublished) and keeps the CRL of `issuer`.
  Result<CrlInfo> PublishCrl(const std::string& issuer, bool delta);
  // LatestCrl returns the latest CRL of `issuer` (publishing one if none):
  // for the node's operator and tests, never for anonymous requests.
  Result<CrlInfo> LatestCrl(const std::string& issuer, bool delta);
  // PublishedCrl returns the latest CRL published and still valid, without
  // ever signing (what GET /crl/<name>.crl serves); Unavailable when there
  // is none yet, NotFound for an unknown CA.
  Result<CrlInfo> PublishedCrl(const std::string& issuer, bool delta);

  // Maintain does what is due (hq serve calls it at start and every second):
  // renews an OCSP responder certificate with less than a third of its life
  // left, publishes a full CRL for a CA that has none valid (first start,
  // or lost), a delta CRL once revocations are crl_debounce_seconds old,
  // and a full CRL once half of the current one's validity has passed.
  // Published CRLs are kept in each CA's folder (published-full.crl,
  // published-delta.crl) and served after a restart without signing again.
  Status Maintain();

  net::HttpResponse Handle(const net::HttpRequest& request);
  // PresignStep signs ahead what is due, for at most `budget` (hq serve
  // calls it ten times a second, with a 300 ms budget): every urgent change
  // (a revocation — Refresh already did those), then new issuances, then
  // answers whose refresh time has come. Returns how many it signed.
  Result<size_t> PresignStep(std::chrono::milliseconds budget);
  // WarmPresigned reads the pre-signed answers into their block cache
  // (PresignedStore::WarmUp); hq serve runs it once at start, beside
  // serving, on a thread of its own. Takes no lock.
  Result<PresignedStore::WarmUpResult> WarmPresigned(const std::atomic<bool>& stop) {
    return presigned_->WarmUp(stop);
  }
  // presign_caught_up: the last PresignStep left no new issuance unsigned.
  bool presign_caught_up() const { return presign_caught_up_.load(); }
  // WriteMetrics adds the OCSP responder's metrics and, per CA, the age,
  // number and time left of its latest full CRL and the projection's size.
  void WriteMetrics(PrometheusText& m);

  OcspResponder& ocsp() { return *ocsp_; }
  engine::CertStatus& status() { return *status_; }
  std::vector<std::string> IssuerNames();
  // SetRemoteResponders replaces the remote VAs' keys; the next Maintain
  // certifies each under every CA that has no current certificate for it.
  void SetRemoteResponders(std::vector<RemoteResponder> responders);
  // AddIssuer starts serving one more CA (a factory onboarded while HQ
  // runs) and projects `log` (its factory's copy; null for none) from now on.
  Status AddIssuer(VaIssuer issuer, log::EventLog* log);

 private:
  struct Ca;
  ValidationAuthority() = default;
  // CatchUpLocked projects every log (HQ's first learned by the authority);
  // returns how many events were applied. Caller holds mu_ or is Open.
  Result<uint64_t> CatchUpLocked();
  // AddIssuerLocked loads a CA (and its responder, logged first); caller
  // holds mu_ or is Open.
  Status AddIssuerLocked(VaIssuer issuer);
  // CasSnapshot: the CAs served now (never removed, so the pointers stay).
  std::vector<Ca*> CasSnapshot();
  // LogResponder records `cert`, a responder certificate HQ signed with the
  // CA key of `c`, as a certificateIssued event in HQ's log — unless the
  // projection already has it — so every certificate a CA key signs is in
  // a log. Called before the certificate is used.
  Status LogResponder(const Ca& c, X509* cert, const std::string& device_serial);
  // MaintainRemote certifies (or renews) each remote responder key under `c`.
  Status MaintainRemote(Ca& c, int64_t now);

  Env* env_ = nullptr;
  VaOptions options_;
  log::EventLog* hq_log_ = nullptr;
  std::vector<log::EventLog*> logs_;
  std::unique_ptr<engine::CertStatus> status_;
  std::unique_ptr<OcspResponder> ocsp_;
  std::vector<std::unique_ptr<Ca>> cas_;  // guarded by mu_ (appended only)
  // After a restore from a backup, CRL numbers start at the restore time in
  // milliseconds: above any number published before it, including those
  // published after the backup and lost with it (log/local_log.h).
  uint64_t crl_number_floor_ = 0;
  std::unique_ptr<PresignedStore> presigned_;  // the "ocsp" column family of HQ's store
  std::atomic<bool> presign_caught_up_{false};
  // PresignLocked drains the change journal of one kind (caller holds mu_).
  Result<size_t> PresignLocked(bool urgent, std::chrono::steady_clock::time_point deadline);
  std::mutex mu_;  // serializes Refresh, Revoke, PublishCrl; guards cas_, logs_ and the latest CRLs
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_VALIDATION_AUTHORITY_H_
