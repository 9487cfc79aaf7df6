// ReportHtml renders report.json (audit/audit_report.h) as one
// self-contained HTML page: inline CSS, inline SVG charts, no script and no
// network (a Content-Security-Policy forbids both). Every number shown in a
// table carries data-k="<JSON pointer into report.json>", so a test (or an
// auditor) can check the page against the JSON.
//
// Thread-safety: a pure function.
#ifndef MIRRORCA_AUDIT_REPORT_HTML_H_
#define MIRRORCA_AUDIT_REPORT_HTML_H_

#include <nlohmann/json.hpp>
#include <string>

namespace mirrorca::audit {

std::string RenderReportHtml(const nlohmann::json& report);

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_REPORT_HTML_H_
