// CLI: HQ's validation authority — `revoke`, `crl generate`, `batch ledger`,
// and `ocsp serve` (a responder process beside HQ; cli/ocsp_serve.cc).
#ifndef MIRRORCA_CLI_VA_COMMANDS_H_
#define MIRRORCA_CLI_VA_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddVaCommands(CLI::App& app, int* exit_code);
void AddOcspCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_VA_COMMANDS_H_
