// `mirrorca demo`: the README's main job. Until the factory, sync and HQ
// issues land it demonstrates the signed event log end to end on embedded
// defaults: create, append concurrently, checkpoint, verify, prove, and catch
// a tampered copy.
//
// Thread-safety: runs on the main thread (appends use worker threads).
#ifndef MIRRORCA_CLI_DEMO_COMMAND_H_
#define MIRRORCA_CLI_DEMO_COMMAND_H_

#include <CLI/CLI.hpp>

namespace mirrorca::cli {

void AddDemoCommand(CLI::App& app, int* exit_code);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_DEMO_COMMAND_H_
