// `mirrorca audit ...`: the auditor's commands (engine/audit_verify.h).
#include "cli/audit_commands.h"

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/sync_support.h"
#include "engine/audit_verify.h"

namespace mirrorca::cli {
namespace {

struct VerifyArgs {
  std::string data;
  unsigned threads = 0;
};

int AuditVerifyCommand(const VerifyArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::unique_ptr<ProgressLine>> bars;
  engine::AuditOptions o;
  o.threads = a.threads;
  o.progress = [&](const std::string& stage, uint64_t done, uint64_t total) {
    auto& bar = bars[stage];
    if (!bar) bar = std::make_unique<ProgressLine>(stage);
    bar->Update(done, total);
  };
  Result<engine::AuditVerdict> v = engine::AuditVerify(a.data, o);
  bars.clear();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!v.ok()) {
    std::cout << nlohmann::json{{"ok", false}, {"error", v.status().ToString()}}.dump() << std::endl;
    return 2;
  }
  nlohmann::json logs = nlohmann::json::array();
  for (const engine::AuditLogResult& r : v->logs) {
    logs.push_back({{"log", r.origin},
                    {"events", r.events},
                    {"checkpoints", r.checkpoints},
                    {"cosignatures", r.cosignatures},
                    {"consistency_proofs", r.consistency_proofs}});
  }
  nlohmann::json out = {{"ok", v->ok},
                        {"events", v->events},
                        {"logs", logs},
                        {"projection", v->projection_checked ? "checked" : "none"},
                        {"projection_keys", v->projection_keys},
                        {"seconds", seconds}};
  if (!v->ok) {
    out["bad_log"] = v->bad_log;
    out["bad_seq"] = v->bad_seq ? nlohmann::json(*v->bad_seq) : nlohmann::json(nullptr);
    out["reason"] = v->reason;
  }
  std::cout << out.dump() << std::endl;
  return v->ok ? 0 : 1;
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Auditor's commands: verify a node's store");
  audit->require_subcommand(1);
  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Verify every log held (signatures, chain, Merkle tree, checkpoints, cosignatures, "
      "consistency) and the projections; one-line JSON verdict, exit 0 only if all holds");
  verify->add_option("--data", va->data, "the node's data directory (data_dir of its config)")
      ->required();
  verify->add_option("--threads", va->threads, "threads verifying signatures (default: all CPUs)");
  verify->callback([va, exit_code] { *exit_code = AuditVerifyCommand(*va); });
}

}  // namespace mirrorca::cli
