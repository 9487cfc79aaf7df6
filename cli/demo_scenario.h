// The main job, `mirrorca demo`: the complete factory → HQ scenario on
// embedded defaults, on 127.0.0.1, in a temp dir — quickstart PKI, HQ
// node, factory CA, an RA enrolling devices over mTLS, the nightly sync,
// HQ revoking, a CRL, and OCSP answers checked by `openssl ocsp`. It drives
// the real commands (this executable's own subcommands, as child processes)
// so every step is what an operator would type.
#ifndef MIRRORCA_CLI_DEMO_SCENARIO_H_
#define MIRRORCA_CLI_DEMO_SCENARIO_H_

#include <string>

namespace mirrorca::cli {

struct DemoKeys {
  // Key stores (crypto/key_store.h) for every CA/TLS key and every log key:
  // "" (PEM files) or pkcs11:token=…; the child processes open the keys
  // from the references in their folders.
  std::string keys, log_keys;
};

// RunFullDemo runs the scenario in `dir` (created if empty) with
// `factories` factories onboarded at one HQ (1 to 20), `devices` device
// certificates each; returns the process exit code (0 = every check held).
int RunFullDemo(const std::string& dir, int devices, int factories = 1, const DemoKeys& keys = {});

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_DEMO_SCENARIO_H_
