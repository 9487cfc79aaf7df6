#include "cli/va_commands.h"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/config.h"
#include "cli/hq_node.h"
#include "base/utc_time.h"
#include "cli/sync_support.h"
#include "net/control_socket.h"

namespace mirrorca::cli {
namespace {

// RunOnHq sends `request` to a running `hq serve`, or runs it on the store.
int RunOnHq(const std::string& config_path, const nlohmann::json& request,
            std::string (*local)(HqNode&, const nlohmann::json&)) {
  Result<HqConfig> c = LoadHqConfig(config_path);
  if (!c.ok()) {
    std::cerr << "error: " << c.status() << "\n";
    return 2;
  }
  std::string line;
  Status s = net::ControlRequest(ControlPath(c->data_dir), request.dump(),
                                 [&](const std::string& l) { line = l; });
  if (s.code() == StatusCode::kNotFound) {
    Result<HqNode> n = OpenHqNode(*c);
    if (!n.ok()) {
      std::cerr << "error: " << n.status() << "\n";
      return 2;
    }
    line = local(*n, request);
  } else if (!s.ok()) {
    std::cerr << "error: " << s << "\n";
    return 2;
  }
  std::cout << line << std::endl;
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  return !j.is_discarded() && j.value("ok", false) ? 0 : 1;
}

}  // namespace

void AddVaCommands(CLI::App& app, int* exit_code) {
  struct RevokeArgs {
    std::string config, serial, batch, serial_file, reason = "unspecified", time, invalidity;
    bool hold = false, release = false;
  };
  auto ra = std::make_shared<RevokeArgs>();
  CLI::App* revoke = app.add_subcommand(
      "revoke", "Revoke (or hold / release) a certificate or a whole batch: an event in HQ's log");
  revoke->add_option("--config", ra->config, "hq.toml")->required();
  auto* serial = revoke->add_option("--serial", ra->serial, "certificate serial, hex");
  auto* batch = revoke->add_option("--batch", ra->batch, "revoke every certificate of a batch: FACTORY/BATCH");
  auto* file = revoke->add_option("--serial-file", ra->serial_file,
                                  "revoke a list: one hex serial per line (# comments); one event each, checked whole first");
  serial->excludes(batch);
  file->excludes(serial);
  file->excludes(batch);
  revoke->add_option("--reason", ra->reason,
                     "keyCompromise, cACompromise, affiliationChanged, superseded, "
                     "cessationOfOperation, privilegeWithdrawn, aACompromise, unspecified");
  auto* hold = revoke->add_flag("--hold", ra->hold, "certificateHold (can be released)");
  auto* release = revoke->add_flag("--release", ra->release, "release a certificateHold");
  hold->excludes(release);
  revoke->add_option("--time", ra->time, "revocation time, YYYY-MM-DDTHH:MM:SSZ (default now)");
  revoke->add_option("--invalidity-date", ra->invalidity, "YYYY-MM-DDTHH:MM:SSZ");
  revoke->callback([ra, exit_code] {
    nlohmann::json req = {{"cmd", "revoke"}, {"reason", ra->reason}, {"hold", ra->hold},
                          {"release", ra->release}, {"requested_by", "cli"}};
    if (!ra->serial.empty()) req["serial"] = ra->serial;
    if (!ra->batch.empty()) req["batch"] = ra->batch;
    if (!ra->serial_file.empty()) {
      req["serial_file"] = std::filesystem::absolute(ra->serial_file).lexically_normal().string();
    }
    for (auto [flag, key] : {std::pair{&ra->time, "time_us"}, {&ra->invalidity, "invalidity_us"}}) {
      if (flag->empty()) continue;
      Result<int64_t> t = ParseUtcTime(*flag);
      if (!t.ok()) {
        std::cerr << "error: " << t.status() << "\n";
        *exit_code = 2;
        return;
      }
      req[key] = *t;
    }
    *exit_code = RunOnHq(ra->config, req, &RevokeJson);
  });

  // `batch ledger`: beside `batch authorize` (cli/pki_commands.cc).
  CLI::App* batch_cmd = app.get_subcommand("batch");
  struct LedgerArgs {
    std::string config, batch, factory;
  };
  auto la = std::make_shared<LedgerArgs>();
  CLI::App* ledger = batch_cmd->add_subcommand(
      "ledger", "Per batch: authorized quota, issued, rejected, revoked, on hold (from the logs)");
  ledger->add_option("--config", la->config, "hq.toml")->required();
  ledger->add_option("--batch", la->batch, "one batch, FACTORY/BATCH (default: all)");
  ledger->add_option("--factory", la->factory, "the batches of one factory (default: all)");
  ledger->callback([la, exit_code] {
    nlohmann::json req = {{"cmd", "batch-ledger"}};
    if (!la->batch.empty()) req["batch"] = la->batch;
    if (!la->factory.empty()) req["factory"] = la->factory;
    *exit_code = RunOnHq(la->config, req, &LedgerJson);
  });

  CLI::App* crl = app.add_subcommand("crl", "Certificate revocation lists");
  crl->require_subcommand(1);
  struct CrlArgs {
    std::string config, out, ca;
    bool delta = false;
  };
  auto ca = std::make_shared<CrlArgs>();
  CLI::App* gen = crl->add_subcommand(
      "generate", "Publish a new CRL (number recorded in HQ's log) and write it (DER)");
  gen->add_option("--config", ca->config, "hq.toml")->required();
  gen->add_option("--out", ca->out, "file to write (DER)")->required();
  gen->add_option("--ca", ca->ca, "issuing CA name (default: every CA; file suffixed .NAME)");
  gen->add_flag("--delta", ca->delta, "a delta CRL against the latest full CRL");
  gen->callback([ca, exit_code] {
    nlohmann::json req = {{"cmd", "crl-generate"}, {"delta", ca->delta}, {"ca", ca->ca},
                          {"out", std::filesystem::absolute(ca->out).string()}};
    *exit_code = RunOnHq(ca->config, req, &CrlJson);
  });
}

}  // namespace mirrorca::cli
