// `mirrorca factory recover`: bring a factory whose disk was lost, or that
// was restored from an older backup, back to what HQ holds of its log
// (replication/log_recovery.h), so that it continues the same log without a
// fork and its batch ledger knows every device HQ knows it certified.
//
// Thread-safety: a CLI command; it refuses to run while `factory serve` does.
#ifndef MIRRORCA_CLI_RECOVER_COMMAND_H_
#define MIRRORCA_CLI_RECOVER_COMMAND_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddRecoverCommand(CLI::App& factory, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_RECOVER_COMMAND_H_
