// mirrorca: the single executable. Subcommands are registered by the
// *_commands.cc files; all logic lives in the libraries.
#include <CLI/CLI.hpp>

#include <iostream>

#include "base/logging.h"

#include "cli/demo_command.h"
#include "cli/factory_commands.h"
#include "cli/pki_commands.h"
#include "cli/ra_commands.h"
#include "cli/sync_commands.h"
#include "cli/audit_commands.h"
#include "cli/va_commands.h"
#include "cli/log_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"mirrorca — event-sourced PKI for device manufacturing"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level also after the subcommand
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& v) {
           if (auto l = mirrorca::logging::ParseLevel(v); l.ok()) mirrorca::logging::SetLevel(*l);
         },
         "trace, debug, info (default), warn, error or off: JSON lines on stderr (or MIRRORCA_LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  int exit_code = 0;
  mirrorca::cli::AddDemoCommand(app, &exit_code);
  mirrorca::cli::AddLogCommands(app, &exit_code);
  mirrorca::cli::AddPkiCommands(app, &exit_code);
  mirrorca::cli::AddBatchCommands(app, &exit_code);
  mirrorca::cli::AddFactoryCommands(app, &exit_code);
  mirrorca::cli::AddRaCommands(app, &exit_code);
  mirrorca::cli::AddSyncCommands(app, &exit_code);
  mirrorca::cli::AddVaCommands(app, &exit_code);
  mirrorca::cli::AddOcspCommands(app, &exit_code);
  mirrorca::cli::AddAuditCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
