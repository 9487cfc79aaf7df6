#include "cli/operator_hooks.h"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/status_macros.h"

namespace mirrorca::cli {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string MiB(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// LogWritable: no latched append failure, the store writable and above its
// free-space floor.
net::ReadinessCheck LogWritable(log::EventLog& log) {
  net::ReadinessCheck c{"log-writable", true, ""};
  if (Status e = log.AppendError(); !e.ok()) return {"log-writable", false, e.ToString()};
  log::Store* store = log.store();
  if (store->read_only()) return {"log-writable", false, "the store is open read-only"};
  Result<uint64_t> free_bytes = store->FreeBytes();
  if (!free_bytes.ok()) return {"log-writable", false, free_bytes.status().ToString()};
  const uint64_t floor = store->min_free_bytes();
  c.ok = *free_bytes >= floor;
  c.detail = MiB(*free_bytes) + " free" + (floor > 0 ? ", appends need " + MiB(floor) : "");
  return c;
}

void LogSize(PrometheusText& m, log::EventLog& log) {
  m.Gauge("mirrorca_log_size", "Events in the log.", static_cast<double>(log.Size()), {{"log", log.origin()}});
}

}  // namespace

net::OperatorHooks FactoryOperatorHooks(engine::FactoryCa* ca) {
  net::OperatorHooks h;
  h.metrics = [ca](PrometheusText& m) { ca->WriteMetrics(m); };
  h.readiness = [ca] {
    std::vector<net::ReadinessCheck> checks;
    checks.push_back(LogWritable(ca->log()));
    checks.push_back({"keys-loaded", true, "the issuing CAs' keys and the log key opened at start"});
    const int64_t behind = ca->log().LastEventTime() / 1000000 - NowSeconds();
    checks.push_back({"clock", behind <= 60,
                      behind <= 60 ? "not behind the log's last event"
                                   : "the clock is " + std::to_string(behind) +
                                         " s behind the log's last event: new events are pinned to its time"});
    const uint64_t hq = ca->hq_log().Size();
    checks.push_back({"hq-log-known", hq > 0,
                      hq > 0 ? std::to_string(hq) + " HQ events, " + std::to_string(ca->Batches().size()) + " batches"
                             : "no HQ event yet: sync or import HQ's bundle before issuing"});
    return checks;
  };
  return h;
}

net::OperatorHooks HqOperatorHooks(HqNode* node, const OperatorConfig& config) {
  net::OperatorHooks h;
  h.metrics = [node](PrometheusText& m) {
    hq::HqService& s = *node->service;
    LogSize(m, s.log());
    for (log::EventLog* copy : s.sync().Copies()) LogSize(m, *copy);
    m.Histogram("mirrorca_log_commit_group_events", "Events per durable commit of HQ's log (one fsync each).",
                s.log().GroupSizes());
    m.Histogram("mirrorca_log_commit_seconds", "Time to write and fsync one durable commit of HQ's log.",
                s.log().CommitLatency());
    if (Result<uint64_t> free_bytes = s.log().store()->FreeBytes(); free_bytes.ok()) {
      m.Gauge("mirrorca_disk_free_bytes", "Space left where HQ's store is.", static_cast<double>(*free_bytes));
    }
    s.sync().WriteMetrics(m);
    s.va().WriteMetrics(m);
  };
  const int64_t max_age = config.max_sync_age_seconds;
  h.readiness = [node, max_age] {
    hq::HqService& s = *node->service;
    std::vector<net::ReadinessCheck> checks;
    checks.push_back(LogWritable(s.log()));
    checks.push_back({"keys-loaded", true, std::to_string(s.va().IssuerNames().size()) + " CAs served"});
    net::ReadinessCheck age{"factory-sync-age", true, ""};
    const int64_t now = NowSeconds();
    std::string stale, never;
    for (const replication::HqSync::FactorySyncState& f : s.sync().SyncStates()) {
      if (!f.active) continue;
      if (f.cosigned_at == 0) {
        never += (never.empty() ? "" : ", ") + f.origin;
      } else if (max_age > 0 && now - f.cosigned_at > max_age) {
        stale += (stale.empty() ? "" : ", ") + f.origin + " (" + std::to_string((now - f.cosigned_at) / 3600) + " h)";
      }
    }
    age.ok = stale.empty();
    age.detail = max_age == 0 ? "not checked (max_sync_age_hours = 0)"
                 : stale.empty() ? "every factory synced within " + std::to_string(max_age / 3600) + " h"
                                 : "not synced within " + std::to_string(max_age / 3600) + " h: " + stale;
    if (!never.empty()) age.detail += "; never synced: " + never;
    checks.push_back(std::move(age));
    return checks;
  };
  return h;
}

net::OperatorHooks VaOperatorHooks(validation::OcspResponder* responder, const FollowState* follow,
                                   std::function<size_t()> issuers) {
  net::OperatorHooks h;
  h.metrics = [responder, follow, issuers](PrometheusText& m) {
    responder->WriteMetrics(m);
    m.Gauge("mirrorca_va_issuers", "CAs this VA answers for.", static_cast<double>(issuers()));
    m.Counter("mirrorca_va_follow_failures_total", "Failed follows of HQ.", static_cast<double>(follow->failures.load()));
    if (const int64_t ok = follow->last_ok.load(); ok > 0) {
      m.Gauge("mirrorca_va_follow_age_seconds", "Seconds since the VA last followed HQ successfully.",
              static_cast<double>(NowSeconds() - ok));
    }
  };
  h.readiness = [follow, issuers] {
    std::vector<net::ReadinessCheck> checks;
    const int64_t ok = follow->last_ok.load();
    const int64_t bound = std::max<int64_t>(30, 10 * follow->interval_seconds);
    const int64_t age = NowSeconds() - ok;
    checks.push_back({"following-hq", ok > 0 && age <= bound,
                      ok == 0 ? "has not followed HQ yet"
                              : "last followed " + std::to_string(age) + " s ago (bound " + std::to_string(bound) + " s)"});
    const size_t n = issuers();
    checks.push_back({"issuers", n > 0, std::to_string(n) + " CAs answered for"});
    return checks;
  };
  return h;
}

net::OperatorHooks HealthOnly(const net::OperatorHooks& hooks) {
  net::OperatorHooks h;
  h.readiness = hooks.readiness;
  return h;
}

Result<std::unique_ptr<net::OperatorEndpoint>> StartOperator(const std::optional<OperatorConfig>& config,
                                                             net::OperatorHooks hooks) {
  if (!config) return std::unique_ptr<net::OperatorEndpoint>();
  ASSIGN_OR_RETURN(std::unique_ptr<net::OperatorEndpoint> e,
                   net::OperatorEndpoint::Start(config->listen_address, config->listen_port, std::move(hooks)));
  std::cout << nlohmann::json{{"serving_operator", "http://" + config->listen_address + ":" + std::to_string(e->port())}}
                   .dump()
            << std::endl;
  return e;
}

}  // namespace mirrorca::cli
