// The operator listener's hooks for each kind of node: what /metrics shows
// and what /readyz checks (net/operator_endpoint.h). Each reads state through
// the libraries' typed accessors; nothing here changes a node.
//
// Readiness:
//   factory  log-writable (no latched append failure, disk above min_free_mb),
//            keys-loaded, hq-log-known (HQ's terms have arrived: it can issue)
//   hq       log-writable, keys-loaded, factory-sync-age (each active factory
//            that has synced before did so within [operator] max_sync_age_hours)
//   va       following-hq (the last follow succeeded, recently), issuers
//
// Thread-safety: the hooks run concurrently on the listener's workers; the
// objects they read must outlive the listener.
#ifndef MIRRORCA_CLI_OPERATOR_HOOKS_H_
#define MIRRORCA_CLI_OPERATOR_HOOKS_H_

#include <atomic>
#include <cstdint>

#include "cli/config.h"
#include "cli/hq_node.h"
#include "engine/factory_ca.h"
#include "net/operator_endpoint.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::cli {

net::OperatorHooks FactoryOperatorHooks(engine::FactoryCa* ca);
net::OperatorHooks HqOperatorHooks(HqNode* node, const OperatorConfig& config);

// FollowState: a VA's last successful and last failed follow of HQ (seconds
// since the epoch; 0: never), updated by its follower.
struct FollowState {
  std::atomic<int64_t> last_ok{0};
  std::atomic<int64_t> last_failure{0};
  std::atomic<uint64_t> failures{0};
  int64_t interval_seconds = 1;
  // Record notes one follow's outcome at `now` (seconds).
  void Record(bool ok, int64_t now) {
    if (ok) {
      last_ok = now;
    } else {
      last_failure = now;
      failures++;
    }
  }
};
// VaOperatorHooks: a VA (remote, or a secondary beside hq serve); `issuers`
// returns how many CAs it answers for.
net::OperatorHooks VaOperatorHooks(validation::OcspResponder* responder, const FollowState* follow,
                                   std::function<size_t()> issuers);

// StartOperator starts the listener of `config` (none when absent) and
// prints where it listens on stdout; the public port's /healthz and /readyz
// use the same hooks (HealthOnly).
Result<std::unique_ptr<net::OperatorEndpoint>> StartOperator(const std::optional<OperatorConfig>& config,
                                                             net::OperatorHooks hooks);
// HealthOnly: hooks without metrics, for a public port.
net::OperatorHooks HealthOnly(const net::OperatorHooks& hooks);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_OPERATOR_HOOKS_H_
