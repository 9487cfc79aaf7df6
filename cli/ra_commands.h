// `mirrorca ra enroll`: the production computer's client. Reads one
// <device-serial>.csr per device, sends them in bulk requests over several
// mTLS connections, writes <device-serial>.pem (leaf, then CA chain) for each
// device issued, skips devices already done, shows progress on a terminal,
// prints a JSON summary and exits 1 if any device failed.
//
// Thread-safety: CLI setup and dispatch run on the main thread.
#ifndef MIRRORCA_CLI_RA_COMMANDS_H_
#define MIRRORCA_CLI_RA_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddRaCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_RA_COMMANDS_H_
