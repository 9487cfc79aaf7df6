// Node configuration files (TOML, docs/configuration.md): factory.toml,
// hq.toml and ra.toml. Relative paths are resolved against the directory of
// the config file. Unknown keys and missing required keys are errors naming
// the key, so a typo never silently falls back to a default.
//
// Thread-safety: plain values.
#ifndef MIRRORCA_CLI_CONFIG_H_
#define MIRRORCA_CLI_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace mirrorca::cli {

struct TlsFiles {
  std::string cert;  // PEM chain
  std::string key;   // PEM key (0600), a key reference file, or a pkcs11: URI (crypto/key_store.h)
  std::string ca;    // trust anchor for the peer
};

// The operator listener ([operator] in factory.toml, hq.toml and va.toml):
// plain HTTP /healthz, /readyz and /metrics, reachable without an RA, sync
// or admin key — bind it to a management address (net/operator_endpoint.h).
struct OperatorConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  // HQ: /readyz fails while an active factory that has synced before has
  // not synced for longer than this (0: not checked).
  int64_t max_sync_age_seconds = 48 * 3600;
};

struct RaEntry {
  std::string id;
  std::string spki_sha256;
  std::set<std::string> batches;
};

// The factory's sync client ([sync] in factory.toml).
struct SyncClientConfig {
  std::string hq_host;
  uint16_t hq_port = 0;
  TlsFiles tls;
  std::string hq_spki_sha256;   // pinned HQ sync key
  bool continuous = false;      // factory serve keeps a session open
  int io_timeout_seconds = 30;
};

// One issuing CA of the factory: its folder and the URLs its certificates name.
struct IssuingCaFiles {
  std::string dir;  // ca.pem, ca.key (0600 or a key reference), chain.pem
  std::string crl_url;
  std::string ocsp_url;
};

struct FactoryConfig {
  std::string path;
  std::string name;
  std::string organization;
  std::string production_line;
  std::string data_dir;
  // The issuing CA new batches are authorized under: [ca], or the last
  // [[issuing_ca]] that `pki ca-join` appended.
  std::string ca_dir;
  std::string crl_url;
  std::string ocsp_url;
  // The CAs it replaced, oldest first: batches HQ authorized under them
  // still issue under them while the factory holds their keys.
  std::vector<IssuingCaFiles> previous_cas;
  std::string hq_log_origin;
  std::string hq_log_key;
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  TlsFiles tls;
  // [enroll] cmp_secrets_dir: <batch>.secret files (0600), the shared secrets
  // of CMP MAC protection per batch ("": MAC protection is refused).
  std::string cmp_secrets_dir;
  std::vector<RaEntry> ras;
  std::map<std::string, std::string> profile_files;
  uint64_t checkpoint_interval = 1000;
  uint64_t min_free_bytes = 64u << 20;  // [factory] min_free_mb: below it the log refuses appends (503)
  // [factory] max_clock_jump_minutes: a forward jump of the wall clock beyond
  // it refuses appends (503) until fixed or restarted (0: not checked).
  int64_t max_clock_jump_seconds = 600;
  std::optional<SyncClientConfig> sync;
  std::optional<OperatorConfig> operator_listener;
};

// One issuing CA of a factory as HQ holds it.
struct CaMirror {
  std::string ca_name;        // URL name (/crl/<ca_name>.crl); unique at HQ, not "root"
  std::string ca_mirror_dir;  // HQ's copy: ca.pem, ca.key (CRL and responder signing only)
};

struct FactoryRef {
  std::string name;           // unique at this HQ: batches are NAME/BATCH
  // Its current issuing CA (new batches are authorized under it): the
  // [[factory]] entry's, or that of the last [[factory_ca]] for it that
  // `pki certify-ca` appended.
  std::string ca_name;        // URL name of its issuing CA (/crl/<ca_name>.crl); unique, not "root"
  // What OCSP answers for a serial of this factory's CA that HQ has not seen
  // issued (docs/validation.md): "revoked" (RFC 6960 §2.2; a device issued
  // since the last sync is refused until then) or "unknown".
  std::string unseen_serials = "revoked";
  std::string log_origin;
  std::string log_key;
  std::string ca_mirror_dir;  // HQ's copy of the factory issuing CA (CRL signing only)
  std::string data_dir;       // for local delivery (batch authorize --deliver)
  std::set<std::string> sync_spki_sha256;  // TLS keys bound to this factory's log
  // The CAs the current one replaced, oldest first: still registered, their
  // CRLs and OCSP still served for what they issued.
  std::vector<CaMirror> previous_cas;
  // AllCas: previous_cas, then the current one.
  std::vector<CaMirror> AllCas() const;
};

// A validation authority on another machine that follows HQ ([[va]] in
// hq.toml, appended by `pki certify-va`).
struct VaRef {
  std::string name;
  std::string sync_spki_sha256;  // its sync TLS key: may follow HQ, nothing else
  std::string responder_csr;     // its OCSP responder key's CSR (HQ certifies the key under every CA)
};

// HQ's replication port ([sync] in hq.toml).
struct SyncServerConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  TlsFiles tls;
  int io_timeout_seconds = 30;
  int max_sessions = 64;
};

// HQ's admin API ([admin] in hq.toml): mutual TLS, only the pinned admin
// keys (never an RA's or a sync peer's).
struct AdminConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  TlsFiles tls;
  std::set<std::string> spki_sha256;  // admin client keys allowed
};

// HQ's validation authority ([validation] in hq.toml).
struct ValidationConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string public_url;               // how relying parties reach it: CRL IDP, docs
  int64_t crl_validity_seconds = 24 * 3600;
  int64_t crl_debounce_seconds = 2;  // revocations gathered into one delta CRL
  int64_t ocsp_validity_seconds = 4 * 3600;
  unsigned io_threads = 2;  // threads answering OCSP and CRL requests
  int64_t ocsp_max_age_seconds = 60;  // Cache-Control max-age of OCSP answers
  size_t ocsp_cache_bytes = 256u << 20;  // pre-signed answers kept in memory (ocsp_cache_mb)
  size_t ocsp_store_cache_bytes = 256u << 20;  // their store's block cache (ocsp_store_cache_mb)
  // Signatures an anonymous client can cause: a nonce echoed, an answer not
  // yet signed ahead (ocsp_signatures_per_second); beyond it, the stored
  // answer without the nonce, or tryLater.
  int64_t ocsp_signatures_per_second = 1000;
  // served_by = "hq" (default): `hq serve` opens the public port itself.
  // "ocsp-serve": it does not; `mirrorca ocsp serve` (holding responder keys
  // only, never a CA key) answers OCSP and serves the CRLs hq serve publishes.
  bool served_by_hq = true;
};

struct HqConfig {
  std::string path;
  std::string name;
  std::string organization;
  std::string data_dir;
  std::string root_dir;
  std::vector<FactoryRef> factories;
  std::vector<VaRef> vas;
  std::optional<SyncServerConfig> sync;
  std::optional<ValidationConfig> validation;
  std::optional<AdminConfig> admin;  // set when [admin] has a listen address
  std::optional<OperatorConfig> operator_listener;
};

// va.toml: a validation authority on another machine (`mirrorca ocsp serve
// --config va.toml`), written by `pki va-join`.
struct VaConfig {
  std::string path;
  std::string name;
  std::string data_dir;         // its store: the mirrored logs and the projection
  std::string responder_key;    // its OCSP responder key (0600 PEM or a key reference)
  bool unseen_unknown = false;  // unseen_serials = "unknown" (default "revoked")
  int follow_seconds = 2;       // how often it asks HQ for what is new
  std::string hq_log_origin;
  std::string hq_log_key;       // pinned
  std::string hq_host;
  uint16_t hq_port = 0;
  TlsFiles tls;                 // its sync identity; tls.ca: HQ's TLS CA
  std::string hq_spki_sha256;   // pinned HQ sync key
  int io_timeout_seconds = 30;
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  int64_t ocsp_validity_seconds = 4 * 3600;
  int64_t ocsp_max_age_seconds = 60;
  size_t ocsp_cache_bytes = 256u << 20;
  size_t ocsp_store_cache_bytes = 256u << 20;
  int64_t ocsp_signatures_per_second = 1000;
  unsigned io_threads = 2;
  std::optional<OperatorConfig> operator_listener;
};

struct RaConfig {
  std::string path;
  std::string id;
  std::string factory_url;
  TlsFiles tls;
  unsigned connections = 2;
  unsigned bulk_size = 250;
};

Result<FactoryConfig> LoadFactoryConfig(const std::string& path);
Result<HqConfig> LoadHqConfig(const std::string& path);
Result<RaConfig> LoadRaConfig(const std::string& path);
Result<VaConfig> LoadVaConfig(const std::string& path);

// HostPort splits "host:port" (`key` and `path` name it in errors).
Result<std::pair<std::string, uint16_t>> HostPort(const std::string& s, const std::string& key,
                                                  const std::string& path);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_CONFIG_H_
