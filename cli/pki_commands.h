// `mirrorca pki …` (quickstart, CA ceremony) and `mirrorca batch authorize`:
// thin wiring from CLI options to ca/, log/ and engine/.
//
// Thread-safety: CLI setup and dispatch run on the main thread.
#ifndef MIRRORCA_CLI_PKI_COMMANDS_H_
#define MIRRORCA_CLI_PKI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "base/result.h"

namespace mirrorca::cli {

void AddPkiCommands(CLI::App& app, int* exit_code);
void AddBatchCommands(CLI::App& app, int* exit_code);

struct QuickstartOptions {
  std::string dir;
  std::string profile = "idevid";  // idevid | matter | iec62443
  uint64_t quota = 1000;
  int factories = 1;
  bool quiet = false;
  // Key stores for every node's keys (crypto/key_store.h): "" (PEM files) or
  // pkcs11:token=…; CA and TLS keys in `keys`, log keys in `log_keys`.
  std::string keys, log_keys;
};

// Quickstart creates the complete loopback setup in options.dir (see
// `mirrorca pki quickstart --help`); also used by `mirrorca demo` and tests.
Status Quickstart(const QuickstartOptions& options);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_PKI_COMMANDS_H_
