// CLI: replication — `hq serve`, `sync`, `bundle export`, `bundle import`.
#ifndef MIRRORCA_CLI_SYNC_COMMANDS_H_
#define MIRRORCA_CLI_SYNC_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddSyncCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_SYNC_COMMANDS_H_
