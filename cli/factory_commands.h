// `mirrorca factory serve`: wires factory.toml to FactoryCa, EnrollmentApi
// and the mTLS HttpServer, and runs until SIGINT/SIGTERM.
//
// Thread-safety: CLI setup and dispatch run on the main thread.
#ifndef MIRRORCA_CLI_FACTORY_COMMANDS_H_
#define MIRRORCA_CLI_FACTORY_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddFactoryCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_FACTORY_COMMANDS_H_
