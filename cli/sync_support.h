// Sync support for the CLI: building the sync job from factory.toml, the
// control-socket requests a running node answers (sync, bundle import and
// export), and a progress line for long transfers on a terminal.
//
// Thread-safety: functions; ProgressLine is used by one thread.
#ifndef MIRRORCA_CLI_SYNC_SUPPORT_H_
#define MIRRORCA_CLI_SYNC_SUPPORT_H_

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "log/node_backup.h"

#include "base/result.h"
#include "cli/config.h"
#include "log/event_log.h"
#include "net/control_socket.h"
#include "replication/sync_job.h"

namespace mirrorca::cli {

// ControlPath is where a node listens for its operator's CLI.
std::string ControlPath(const std::string& data_dir);

// The public OCSP/CRL port admits more connections per source address than
// the mTLS ports: a caching proxy or a carrier NAT is one address.
inline constexpr size_t kPublicConnectionsPerSource = 512;

// BackupJson: the one-line answer of `mirrorca backup` and `restore`.
nlohmann::json BackupJson(const log::BackupInfo& b);

// Delegate asks the node running on `data_dir` to do `request` and returns
// its last answer line (each line printed as it comes if `print_each`);
// NotFound if no node runs there.
Result<std::string> Delegate(const std::string& data_dir, const nlohmann::json& request,
                             bool print_each = false);

// HqCopyKeys: how a factory holds HQ's log — `hq` is HQ's own log key (it
// cosigns, it signs every relayed event), `copy` the key of the factory's
// delivery log (docs/replication_protocol.md §9), which the factory's store
// mirrors, and `check` what that log may carry.
struct HqCopyKeys {
  log::LogVerifier hq;
  log::LogVerifier copy;
  replication::EventCheck check;
};
Result<HqCopyKeys> HqCopyKeysOf(const FactoryConfig& c);

// SyncJobFor builds the sync job of `c` ([sync] must be present).
Result<replication::SyncJobOptions> SyncJobFor(const FactoryConfig& c);

// ExitCodeOfSummary maps a summary JSON line to the sync exit code.
int ExitCodeOfSummary(const std::string& json);

// HandleFactoryControl serves one control request against the factory's
// logs (used by `factory serve`). `on_hq_events` refreshes the running CA.
void HandleFactoryControl(const FactoryConfig& c, log::EventLog* own, log::EventLog* hq_copy,
                          const std::function<void()>& on_hq_events, const std::string& request,
                          const net::ControlServer::Reply& reply);

// ProgressLine draws "label [#####     ] done/total" on stderr when it is a
// terminal, at most ~10 times a second.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ~ProgressLine();
  void Update(uint64_t done, uint64_t total);

 private:
  std::string label_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_SYNC_SUPPORT_H_
