#include "cli/recover_command.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "base/status_macros.h"
#include "cli/config.h"
#include "cli/sync_support.h"
#include "log/local_log.h"
#include "replication/log_recovery.h"
#include "replication/sync_job.h"
#include "replication/tls_channel.h"

namespace mirrorca::cli {
namespace {

struct RecoverArgs {
  std::string config;
  std::string log_key;  // the log's registered key; needed only without a store
};

// Recover returns the JSON answer; `exit` is 2 for the operator's mistakes,
// 3 for a refusal by either side, 1 otherwise.
Result<nlohmann::json> Recover(const RecoverArgs& a, int* exit) {
  *exit = 2;
  ASSIGN_OR_RETURN(FactoryConfig c, LoadFactoryConfig(a.config));
  if (!c.sync) return Status::InvalidArgument(a.config + ": no [sync] section: recovery needs HQ's sync address");
  Env* env = Env::Default();
  if (Delegate(c.data_dir, {{"cmd", "ping"}}).ok()) {
    return Status::FailedPrecondition("factory serve is running on " + c.data_dir + ": stop it first");
  }
  if (!env->FileExists(log::LogKeyPath(c.data_dir))) {
    return Status::FailedPrecondition(
        "no log key at " + log::LogKeyPath(c.data_dir) +
        ": a log continues only under its own key — put it back first (a backup's data/log_key.pem, or the "
        "reference to its token object)");
  }
  std::optional<log::LogVerifier> registered;
  if (!a.log_key.empty()) {
    ASSIGN_OR_RETURN(registered, log::LogVerifier::Parse(a.log_key));
  }
  log::EventLogOptions lo;
  lo.min_free_bytes = c.min_free_bytes;
  ASSIGN_OR_RETURN(log::LocalLog local, log::OpenOwnLogForRecovery(env, c.data_dir, registered, lo));
  ASSIGN_OR_RETURN(log::LogSigner signer, log::LogSigner::Open(env, log::LogKeyPath(c.data_dir), local.log->origin()));
  ASSIGN_OR_RETURN(replication::SyncJobOptions job, SyncJobFor(c));
  *exit = 1;
  ASSIGN_OR_RETURN(std::unique_ptr<replication::TlsChannel> ch,
                   replication::TlsChannel::Connect(job.host, job.port, job.tls, job.io_timeout));
  std::optional<replication::Refused> refused;
  Result<replication::RecoveryResult> r = replication::RecoverOwnLog(*ch, *local.log, &refused);
  ch->Close();
  if (!r.ok()) {
    if (refused) *exit = 3;
    nlohmann::json out{{"ok", false}, {"log", local.log->origin()}, {"held", local.log->Size()},
                       {"error", r.status().ToString()}};
    if (refused) out["refused"] = std::string(replication::RefusalCode(refused->kind));
    return out;
  }
  // The log continues under its current key (after any rotation HQ's copy
  // carried): the key file must be that one, or the log stays waiting.
  if (local.log->keys()->current().VerifierKey() != signer.verifier().VerifierKey()) {
    *exit = 2;
    return Status::PermissionDenied(log::LogKeyPath(c.data_dir) + " is not the current key of the log '" +
                                    local.log->origin() + "' (" + local.log->keys()->current().VerifierKey() +
                                    "): the log stays waiting for a recovery");
  }
  // Everything HQ holds is here (or HQ held no more): the log may continue.
  RETURN_IF_ERROR(log::ClearRecoveryNeeded(local.store.get()));
  nlohmann::json out{{"ok", true},
                     {"log", local.log->origin()},
                     {"held_before", r->held_before},
                     {"hq_size", r->hq_size},
                     {"events_received", r->events_received},
                     {"log_size", r->size_after}};
  // Then one ordinary sync round, so that the factory also holds what HQ
  // addressed to it (batch terms, quotas) before it serves again.
  local = log::LocalLog();
  ASSIGN_OR_RETURN(log::LocalLog own, log::OpenLocalLog(env, c.data_dir, /*with_key=*/true, lo));
  ASSIGN_OR_RETURN(HqCopyKeys keys, HqCopyKeysOf(c));
  ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> hq_copy, log::EventLog::OpenCopy(own.store.get(), keys.copy));
  replication::SyncSummary s = replication::RunSyncJob(own.log.get(), hq_copy.get(), job);
  out["sync"] = nlohmann::json::parse(s.ToJson(), nullptr, false);
  *exit = s.exit_code == 0 ? 0 : 1;
  if (s.exit_code != 0) out["ok"] = false;
  return out;
}

}  // namespace

void AddRecoverCommand(CLI::App& factory, int* exit_code) {
  auto a = std::make_shared<RecoverArgs>();
  CLI::App* recover = factory.add_subcommand(
      "recover", "Bring the factory's log back from HQ's copy (after a lost disk or an older backup's restore)");
  recover->add_option("--config", a->config, "factory.toml")->required();
  recover->add_option("--log-key", a->log_key,
                      "the log's registered key (hq.toml [[factory]] log_key): only when the store is gone");
  recover->callback([a, exit_code] {
    int exit = 1;
    Result<nlohmann::json> r = Recover(*a, &exit);
    if (!r.ok()) {
      std::cerr << "error: " << r.status() << "\n";
      *exit_code = exit;
      return;
    }
    std::cout << r->dump() << std::endl;
    *exit_code = exit;
  });
}

}  // namespace mirrorca::cli
