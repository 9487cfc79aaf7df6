// The `mirrorca log …` subcommands: thin wiring from CLI11 options to the log
// library. Each command prints its result on stdout, errors on stderr, and
// sets the process exit code (0 success, 1 verification failure, 2 error).
//
// Thread-safety: CLI setup and dispatch run on the main thread.
#ifndef MIRRORCA_CLI_LOG_COMMANDS_H_
#define MIRRORCA_CLI_LOG_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

// AddLogCommands registers `log` and its subcommands on `app`; the chosen
// command stores its exit code in *exit_code when it runs.
void AddLogCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_LOG_COMMANDS_H_
