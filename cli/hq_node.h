// The HQ node as the CLI opens it (HqConfig → hq::HqService) and the JSON
// transport of its typed commands: the one-line JSON requests and answers
// of the control socket a running `hq serve` answers, which the CLI
// commands print whether or not the node runs, and which the admin API
// wraps in HTTP. Business rules live in hq/hq_service.h; this file only
// translates.
//
// Thread-safety: HandleHqControl may run concurrently (the service
// serializes what it must).
#ifndef MIRRORCA_CLI_HQ_NODE_H_
#define MIRRORCA_CLI_HQ_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/config.h"
#include "hq/hq_service.h"
#include "net/control_socket.h"

namespace mirrorca::cli {

struct HqNode {
  HqConfig config;
  std::unique_ptr<hq::HqService> service;
};

// SettingsOf / OptionsOf: hq.toml as the service's typed settings.
std::vector<hq::FactorySettings> SettingsOf(const HqConfig& c);
hq::HqOptions OptionsOf(const HqConfig& c);

// OpenHqNode opens HQ's store and registers every factory of hq.toml in
// HQ's log (a factoryRegistered event the first time, or when its CA or sync
// keys change): what each factory may say is then learned from the log alone.
Result<HqNode> OpenHqNode(const HqConfig& c);

// RegisterFactories records every factory of `c` in HQ's log and catches
// `authority` up (hq::RegisterFactories), warning on stderr about the
// factories HQ removed.
Status RegisterFactories(const HqConfig& c, log::EventLog& hq_log, engine::LogAuthority& authority);

// ReloadFactories re-reads hq.toml in a running node (hq::HqService::Reload).
// Returns {"ok", "added", "removed", "active", "hq_log", "hq_log_key"}.
Result<nlohmann::json> ReloadFactories(HqNode& n);

// The JSON transport: each runs one request and returns the one-line JSON
// answer ({"ok": true, ...} or {"ok": false, "error": ...}).
std::string RevokeJson(HqNode& n, const nlohmann::json& request);
std::string CrlJson(HqNode& n, const nlohmann::json& request);
// LedgerJson: the batch ledger (authorized / issued / rejected / revoked /
// on hold per batch, from the logs); {"batch": F/B} or {"factory": F}.
std::string LedgerJson(HqNode& n, const nlohmann::json& request);
// BatchTermsJson / AuthorizeJson: `batch authorize` as a control request.
nlohmann::json BatchTermsJson(const engine::BatchTerms& t);
std::string AuthorizeJson(HqNode& n, const nlohmann::json& request);
std::string ImportJson(const std::string& log, const replication::TransferStats& s,
                       uint64_t copy_size, const std::string& cosigned);
std::string ImportJson(const hq::ImportOutcome& outcome);

void HandleHqControl(HqNode& n, const std::string& request, const net::ControlServer::Reply& reply);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_HQ_NODE_H_
