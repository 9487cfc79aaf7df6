// HqNode: the HQ node as the CLI opens it — HQ's store and own log, the
// sync service over the factory copies, and the validation authority
// projecting them all — plus the control-socket requests a running
// `hq serve` answers (revoke, crl-generate, bundle import/export), so the
// CLI commands work the same whether or not the node runs.
//
// Thread-safety: HandleHqControl may run concurrently (the services
// serialize what they must).
#ifndef MIRRORCA_CLI_HQ_NODE_H_
#define MIRRORCA_CLI_HQ_NODE_H_

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/config.h"
#include "engine/batch_ledger.h"
#include "engine/log_authority.h"
#include "log/local_log.h"
#include "net/control_socket.h"
#include "replication/hq_sync.h"
#include "validation/validation_authority.h"

namespace mirrorca::cli {

struct HqNode {
  HqConfig config;
  log::LocalLog local;
  std::unique_ptr<log::Store> delivery_store;  // each factory's delivery log; outlives sync
  std::unique_ptr<engine::LogAuthority> authority;  // learned from HQ's log; outlives sync and va
  std::unique_ptr<replication::HqSync> sync;
  std::unique_ptr<validation::ValidationAuthority> va;  // destroyed first
  std::unique_ptr<std::mutex> reload_mu = std::make_unique<std::mutex>();  // one ReloadFactories at a time
  HqNode() = default;
  HqNode(HqNode&&) = default;
  ~HqNode() {
    va.reset();
    sync.reset();
    delivery_store.reset();
  }
};

// OpenHqNode opens HQ's store and registers every factory of hq.toml in
// HQ's log (a factoryRegistered event the first time, or when its CA or sync
// keys change): what each factory may say is then learned from the log alone.
Result<HqNode> OpenHqNode(const HqConfig& c);

// RegisterFactories records every factory of `c` in HQ's log (RegisterFactory:
// once, and again when its CA or sync keys change) and catches `authority` up.
Status RegisterFactories(const HqConfig& c, log::EventLog& hq_log, engine::LogAuthority& authority);

// ReloadFactories re-reads hq.toml in a running node: new factories are
// registered in HQ's log and served at once (sync pins and bindings, OCSP
// and CRLs for their CAs). Returns {"ok", "added", "active", "hq_log",
// "hq_log_key"}.
Result<nlohmann::json> ReloadFactories(HqNode& n);



// RevokeJson / CrlJson run a revocation or CRL request given as JSON and
// return the one-line JSON answer the CLI prints.
std::string RevokeJson(HqNode& n, const nlohmann::json& request);
std::string CrlJson(HqNode& n, const nlohmann::json& request);
// LedgerJson: the batch ledger (authorized / issued / rejected / revoked /
// on hold per batch, from the logs); {"batch": B} for one.
std::string LedgerJson(HqNode& n, const nlohmann::json& request);
// BatchTermsJson / AuthorizeJson: `batch authorize` as a control request —
// the terms as JSON (the CLI resolves the factory and CA from hq.toml), and
// the batchAuthorized event appended to HQ's log by the node that owns it.
nlohmann::json BatchTermsJson(const engine::BatchTerms& t);
std::string AuthorizeJson(HqNode& n, const nlohmann::json& request);
std::string ImportJson(const std::string& log, const replication::TransferStats& s,
                       uint64_t copy_size, const std::string& cosigned);

void HandleHqControl(HqNode& n, const std::string& request, const net::ControlServer::Reply& reply);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_HQ_NODE_H_
