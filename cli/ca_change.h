// Issuing CA change: a factory is given a new issuing CA (a new key,
// certified by the root) with the onboarding ceremony's three steps
// (docs/onboarding.md §"A new issuing CA"):
//
//   factory   CaRequest   a fresh transport key; the request names the
//                         factory and its current CA
//   HQ        CertifyCa   the new CA (key made here, certified by the root),
//                         HQ's copy of its key, a [[factory_ca]] in hq.toml,
//                         the factory's registration with every CA it has
//                         had (HQ's log), and the grant with the key sealed
//                         to the transport key
//   factory   CaJoin      opens the grant, checks it, stores the CA and
//                         appends [[issuing_ca]] to factory.toml
//
// From then on HQ authorizes new batches under the new CA. The old CA stays
// registered and served: its CRLs and OCSP answers go on for what it issued,
// and batches authorized under it finish under it while the factory holds
// its key. A running `factory serve` takes the new CA at its next start.
//
// Thread-safety: CLI-time functions; one ceremony at a time per node.
#ifndef MIRRORCA_CLI_CA_CHANGE_H_
#define MIRRORCA_CLI_CA_CHANGE_H_

#include <string>

#include "base/result.h"

namespace mirrorca::cli {

struct CaRequestOptions {
  std::string factory_config;  // factory.toml
  std::string request;         // request file to write; default <config folder>/<name>-ca.req
};
// CaRequest returns the request file's path.
Result<std::string> CaRequest(const CaRequestOptions& options);

struct CertifyCaOptions {
  std::string hq_config;
  std::string request;
  std::string grant;    // grant file to write
  std::string ca_name;  // URL name of the new CA; default <current name>-g<N>
};
struct CertifyCaResult {
  std::string factory, ca_name, previous_ca_name;
  std::string ca_id;                // hex: SHA-256 of its SubjectPublicKeyInfo (events' caId)
  std::string ca_key_fingerprint;   // hex
  std::string grant_sha256;         // hex: read it to the factory over another channel
  bool registered_by_running_hq = false;
};
Result<CertifyCaResult> CertifyCa(const CertifyCaOptions& options);

struct CaJoinOptions {
  std::string factory_config;
  std::string grant;
};
// CaJoin returns the new CA's folder.
Result<std::string> CaJoin(const CaJoinOptions& options);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_CA_CHANGE_H_
