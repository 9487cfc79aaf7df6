// CLI: the auditor's commands — `audit verify` (audit/audit_verify.h).
#ifndef MIRRORCA_CLI_AUDIT_COMMANDS_H_
#define MIRRORCA_CLI_AUDIT_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddAuditCommands(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_AUDIT_COMMANDS_H_
