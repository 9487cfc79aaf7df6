// Onboarding: the key ceremony as commands (docs/onboarding.md).
//
//   HQ        InitRoot        the OEM root, HQ's log and cosigner key, HQ's
//                             TLS CA and its sync/admin identities, hq.toml
//                             (no factory yet)
//   factory   FactoryInit     the factory's log key, its LAN TLS CA and
//                             enrollment identity, a sync TLS key and a
//                             transport key — the private halves stay; the
//                             public halves go into a request file
//   HQ        CertifyFactory  the factory's issuing CA (made here, certified
//                             by the root), HQ's copy of its key, the sync
//                             TLS certificate, the [[factory]] entry of
//                             hq.toml and the factoryRegistered event in
//                             HQ's log (by the running hq serve when there
//                             is one); the grant file carries the CA key
//                             sealed to the factory's transport key
//   factory   FactoryJoin     opens the grant, checks every piece against
//                             what it asked for, writes factory.toml
//   factory   AddRa           a production line's RA identity, its ra.toml
//                             and the [[ra]] entry of factory.toml
//
// No private key leaves the machine it was made on except the issuing-CA
// key, which moves once, sealed (ca/key_transport.h), and whose fingerprint
// HQ records in its log. Paths inside the written configs are relative to
// the config file's folder.
//
// Thread-safety: CLI-time functions; one ceremony at a time per directory.
#ifndef MIRRORCA_CLI_ONBOARDING_H_
#define MIRRORCA_CLI_ONBOARDING_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mirrorca::cli {

struct InitRootOptions {
  std::string dir;     // HQ's folder: root/, data/, tls/, factories/
  std::string config;  // hq.toml to write; default DIR/hq.toml
  std::string organization = "Example OEM";
  std::string hq_origin = "hq.mirrorca.example/log";
  std::string vendor_id;  // Matter PAA vendor id (4 hex digits), else empty
  std::string sync_listen = "127.0.0.1:4081";
  std::string va_listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:4083";
  std::string public_url;  // how relying parties reach the VA; default http://<va_listen>
  // Key stores (crypto/key_store.h): "" (PEM files) or pkcs11:token=…. CA and
  // TLS keys go to `keys`, the log key to `log_keys` (a token of its own:
  // docs/key_custody.md). Later keys of this node (HQ's copies of factory CA
  // keys) go where the root key is.
  std::string keys, log_keys;
};
Status InitRoot(const InitRootOptions& options);

struct FactoryInitOptions {
  std::string dir;   // the factory's folder: data/, tls/, transport key
  std::string name;  // its name at HQ (batches are NAME/BATCH)
  std::string origin;  // its log origin; default factory-<name>.mirrorca.example/log
  std::string organization = "Example OEM";
  std::string production_line = "line-1";
  std::string enroll_listen = "127.0.0.1:8443";
  std::string request;  // request file to write; default DIR/NAME.req
  std::string keys, log_keys;  // key stores, as for InitRoot; the CA key joins `keys`
};
// FactoryInit returns the request file's path.
Result<std::string> FactoryInit(const FactoryInitOptions& options);

struct CertifyOptions {
  std::string hq_config;  // hq.toml made by InitRoot
  std::string request;
  std::string grant;      // grant file to write
  std::string profile = "idevid";  // idevid | iec62443 (issuing-ca) | matter (matter-pai)
  std::string vendor_id;           // Matter PAI vendor id (hex)
  std::string ca_name;             // default: the first label of the log origin
  std::string unseen_serials;      // "revoked" (default) | "unknown"
  std::string sync_address;        // HQ's sync address as the factory dials it; default [sync] listen
  std::string factory_data_dir;    // the factory's store, when on this machine (batch authorize --deliver)
};
struct CertifyResult {
  std::string factory, log_origin, ca_name;
  std::string ca_key_fingerprint;  // hex
  std::string grant_sha256;        // hex: read it to the factory over another channel
  bool registered_by_running_hq = false;
};
Result<CertifyResult> CertifyFactory(const CertifyOptions& options);

// RegisterAtHq makes HQ take what hq.toml (`config_path`) now says: the
// running hq serve reloads it (control socket), or, when none runs, the
// registrations are appended to HQ's store (`data_dir`) here. The factory
// of log `origin` must then be active. Returns HQ's log origin and key.
struct HqRegistration {
  std::string hq_origin, hq_log_key;
  bool by_running_hq = false;
};
Result<HqRegistration> RegisterAtHq(const std::string& config_path, const std::string& data_dir,
                                    const std::string& origin);

// ReloadRunningHq asks the hq serve running on `data_dir` to read hq.toml
// again: its answer (ok, with "hq_log", "hq_log_key", "active", "vas"), or
// nullopt when no hq serve runs; FailedPrecondition when it refused.
Result<std::optional<nlohmann::json>> ReloadRunningHq(const std::string& data_dir);

struct JoinOptions {
  std::string dir;     // the folder FactoryInit made
  std::string grant;
  std::string config;  // factory.toml to write; default DIR/factory.toml
};
Status FactoryJoin(const JoinOptions& options);

struct AddRaOptions {
  std::string factory_config;  // factory.toml (FactoryJoin's)
  std::string id;              // RA id, e.g. ra-line2
  std::string out_dir;         // the RA's folder (its key, certificate, trust anchor)
  std::string ra_config;       // ra.toml to write; default OUT/ra.toml
  std::set<std::string> batches = {"*"};
  std::string keys;  // where the RA's TLS key goes ("" : a PEM file in OUT)
};
// AddRa returns the new RA key's SPKI SHA-256 (hex). A running factory
// serve picks the RA up at its next start.
Result<std::string> AddRa(const AddRaOptions& options);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_ONBOARDING_H_
