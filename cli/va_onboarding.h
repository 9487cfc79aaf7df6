// VA onboarding: a validation authority on another machine joins HQ with
// the onboarding ceremony's three steps (docs/validation.md, "A VA on
// another machine"):
//
//   VA    VaInit     its OCSP responder key and its sync TLS key, made here
//                    (in a token with --key); the request carries their CSRs
//   HQ    CertifyVa  checks both proofs of possession, certifies the sync key
//                    (HQ's TLS CA), keeps the responder CSR, appends [[va]]
//                    to hq.toml (a running hq serve takes it at once: the
//                    key may follow HQ, and the responder key is certified
//                    under every CA, each certificate an event in HQ's log)
//   VA    VaJoin     checks the grant against its keys, writes va.toml
//
// No private key leaves the VA; HQ never holds its responder key.
//
// Thread-safety: CLI-time functions; one ceremony at a time per folder.
#ifndef MIRRORCA_CLI_VA_ONBOARDING_H_
#define MIRRORCA_CLI_VA_ONBOARDING_H_

#include <string>

#include "base/result.h"

namespace mirrorca::cli {

struct VaInitOptions {
  std::string dir;                          // the VA's folder
  std::string name;                         // its name at HQ
  std::string listen = "127.0.0.1:8090";    // where it answers OCSP
  std::string request;                      // default DIR/NAME.req
  std::string keys;                         // key store ("" : PEM files; or pkcs11:token=…)
};
// VaInit returns the request file's path.
Result<std::string> VaInit(const VaInitOptions& options);

struct CertifyVaOptions {
  std::string hq_config;
  std::string request;
  std::string grant;
  std::string sync_address;  // HQ's sync address as the VA dials it; default [sync] listen
};
struct CertifyVaResult {
  std::string name, sync_spki, responder_spki;
  bool taken_by_running_hq = false;
};
Result<CertifyVaResult> CertifyVa(const CertifyVaOptions& options);

struct VaJoinOptions {
  std::string dir;
  std::string grant;
  std::string config;  // va.toml to write; default DIR/va.toml
};
Result<std::string> VaJoin(const VaJoinOptions& options);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_VA_ONBOARDING_H_
