// AuditReport: `mirrorca audit report` — what the logs of a store say about
// a period, for a CRA audit or an incident review, as one JSON document
// (report.json; format in docs/audit.md §Report) that the HTML report is
// rendered from (audit/report_html.h):
//   - per log: its key, events in the period (first and last seq);
//   - issuance per hour per batch and production line; rejections by
//     reason; revocations, holds and releases by reason;
//   - batch reconciliation as of the period's end: authorized (quota) vs
//     issued vs rejected vs revoked vs on hold, quota use, attempts past
//     the quota, certificates issued past it;
//   - sync sessions and their lag (how long the oldest event a session
//     carried had waited), cosignatures;
//   - every anomaly in the period with the events behind it (log, seq):
//     refused sync sessions and log anomalies (forks, rewinds, bad
//     signatures), quota refusals, duplicate-device attempts, a device
//     serial certified twice, issuance past quota or without authorization.
// Everything comes from one replay of the events (merge order), up to the
// period's end; nothing is read from the projection.
//
// Thread-safety: functions.
#ifndef MIRRORCA_AUDIT_AUDIT_REPORT_H_
#define MIRRORCA_AUDIT_AUDIT_REPORT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "audit/store_logs.h"

namespace mirrorca::audit {

struct ReportOptions {
  int64_t from = 0;  // µs, inclusive
  int64_t to = 0;    // µs, inclusive
  size_t max_listed = 200;  // anomalies listed per kind (all are counted)
  std::string store_label;  // shown in the report (the data directory)
  int64_t generated_at = 0;  // µs
};

Result<nlohmann::json> BuildAuditReport(StoreLogs& logs, const ReportOptions& options);

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_AUDIT_REPORT_H_
