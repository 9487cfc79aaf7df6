#include "audit/report_html.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "base/utc_time.h"

namespace mirrorca::audit {
namespace {

using json = nlohmann::json;

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Text of a JSON scalar as the page shows it.
std::string Text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Ptr builds a JSON pointer (RFC 6901) from path parts.
std::string Ptr(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& p : parts) {
    out.push_back('/');
    for (char c : p) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

// Num is a table cell with the value at `ptr`.
std::string Num(const json& report, const std::string& ptr, const char* tag = "td") {
  const json& v = report.at(json::json_pointer(ptr));
  return std::string("<") + tag + " class=\"n\" data-k=\"" + Esc(ptr) + "\">" + Esc(Text(v)) + "</" + tag + ">";
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v == static_cast<double>(static_cast<int64_t>(v)) ? "%.0f" : "%.1f", v);
  return buf;
}

// HBars: a horizontal bar chart of (label, value).
std::string HBars(const std::vector<std::pair<std::string, double>>& items, const char* color) {
  if (items.empty()) return "<p class=\"none\">none</p>";
  double max = 1;
  for (const auto& [l, v] : items) max = std::max(max, v);
  const int row = 22, width = 640, label = 200;
  std::string svg = "<svg class=\"chart\" role=\"img\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(row * static_cast<int>(items.size()) + 4) + "\">";
  int y = 2;
  for (const auto& [l, v] : items) {
    const double w = (width - label - 80) * v / max;
    svg += "<text x=\"" + std::to_string(label - 6) + "\" y=\"" + std::to_string(y + 15) +
           "\" text-anchor=\"end\">" + Esc(l) + "</text>";
    svg += "<rect x=\"" + std::to_string(label) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + Fmt(w) +
           "\" height=\"16\" fill=\"" + color + "\"/>";
    svg += "<text x=\"" + Fmt(label + w + 6) + "\" y=\"" + std::to_string(y + 15) + "\">" + Fmt(v) + "</text>";
    y += row;
  }
  return svg + "</svg>";
}

// Columns: a column chart of values over time slots (hours), with the
// first and last slot labelled.
std::string Columns(const std::vector<std::pair<std::string, double>>& slots, const char* color,
                    const char* unit) {
  if (slots.empty()) return "<p class=\"none\">none</p>";
  double max = 1;
  for (const auto& [l, v] : slots) max = std::max(max, v);
  const int width = 900, height = 180, left = 50, bottom = 30;
  const double step = static_cast<double>(width - left - 10) / static_cast<double>(slots.size());
  std::string svg = "<svg class=\"chart\" role=\"img\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\">";
  svg += "<text x=\"4\" y=\"14\">" + Fmt(max) + " " + unit + "</text>";
  svg += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(height - bottom) + "\" x2=\"" +
         std::to_string(width - 10) + "\" y2=\"" + std::to_string(height - bottom) + "\" stroke=\"#999\"/>";
  for (size_t i = 0; i < slots.size(); ++i) {
    const double h = (height - bottom - 20) * slots[i].second / max;
    svg += "<rect x=\"" + Fmt(left + step * static_cast<double>(i)) + "\" y=\"" + Fmt(height - bottom - h) +
           "\" width=\"" + Fmt(std::max(1.0, step - 1)) + "\" height=\"" + Fmt(h) + "\" fill=\"" + color +
           "\"><title>" + Esc(slots[i].first) + ": " + Fmt(slots[i].second) + "</title></rect>";
  }
  svg += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(height - 8) + "\">" +
         Esc(slots.front().first) + "</text>";
  svg += "<text x=\"" + std::to_string(width - 10) + "\" y=\"" + std::to_string(height - 8) +
         "\" text-anchor=\"end\">" + Esc(slots.back().first) + "</text>";
  return svg + "</svg>";
}

std::string QuotaBar(double percent) {
  const double w = std::min(100.0, std::max(0.0, percent)) * 1.2;
  const char* color = percent > 100 ? "#c0392b" : percent > 90 ? "#e67e22" : "#2e86c1";
  return "<svg width=\"124\" height=\"12\"><rect x=\"0\" y=\"1\" width=\"120\" height=\"10\" fill=\"#eee\"/>"
         "<rect x=\"0\" y=\"1\" width=\"" + Fmt(w) + "\" height=\"10\" fill=\"" + color + "\"/></svg>";
}

std::string EventRefs(const json& events) {
  std::string out;
  for (const json& e : events) {
    if (!out.empty()) out += "<br>";
    out += Esc(Text(e.value("log", json()))) + " #" + Esc(Text(e.value("seq", json())));
    if (e.contains("serial")) out += " serial " + Esc(Text(e["serial"]));
    if (e.contains("time")) out += " <span class=\"t\">" + Esc(Text(e["time"])) + "</span>";
  }
  return out;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 "DejaVu Sans",Arial,sans-serif;margin:24px 32px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card .n{font-size:22px;font-weight:bold;display:block}.card .l{color:#666;font-size:12px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#c0392b;font-weight:bold}.ok{color:#1e8449}.none{color:#888}.t{color:#777;font-size:12px}
svg.chart text{font-size:11px;fill:#333}details{margin:6px 0}
)";

}  // namespace

std::string RenderReportHtml(const json& r) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";
  h += "<title>mirrorca audit report " + Esc(Text(r["from"])) + " to " + Esc(Text(r["to"])) + "</title>";
  h += "<style>" + std::string(kStyle) + "</style></head><body>\n";
  h += "<h1>mirrorca audit report</h1><p class=\"meta\">Period <b data-k=\"/from\">" + Esc(Text(r["from"])) +
       "</b> to <b data-k=\"/to\">" + Esc(Text(r["to"])) + "</b> &middot; store " + Esc(Text(r["store"])) +
       " &middot; generated " + Esc(Text(r["generated_at"])) +
       " &middot; every figure is replayed from the signed logs (report.json holds the same numbers)</p>\n";

  h += "<div class=\"cards\">";
  for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
           {"issued", "certificates issued"}, {"rejected", "issuances rejected"},
           {"revocation_events", "revocations, holds, releases"}, {"sync_sessions", "sync sessions"},
           {"anomalies", "anomalies"}, {"duplicate_device_serials", "device serials certified twice"}}) {
    const std::string ptr = Ptr({"totals", key});
    const bool alarm = (key == "anomalies" || key == "duplicate_device_serials") && r.at(json::json_pointer(ptr)) != 0;
    h += "<div class=\"card\"><span class=\"n" + std::string(alarm ? " bad" : "") + "\" data-k=\"" + ptr + "\">" +
         Esc(Text(r.at(json::json_pointer(ptr)))) + "</span><span class=\"l\">" + label + "</span></div>";
  }
  h += "</div>\n";

  h += "<h2>Logs</h2><table><tr><th>log</th><th>signing key</th><th>events in period</th><th>first seq</th>"
       "<th>last seq</th><th>size at the end</th></tr>";
  for (size_t i = 0; i < r["logs"].size(); ++i) {
    const json& l = r["logs"][i];
    const std::string n = std::to_string(i);
    h += "<tr><td>" + Esc(Text(l["log"])) + "</td><td>" + Esc(Text(l["key"])) + "</td>" +
         Num(r, Ptr({"logs", n, "events_in_period"})) +
         (l.contains("first_seq") ? Num(r, Ptr({"logs", n, "first_seq"})) + Num(r, Ptr({"logs", n, "last_seq"}))
                                  : std::string("<td></td><td></td>")) +
         Num(r, Ptr({"logs", n, "size_at_end"})) + "</tr>";
  }
  h += "</table>\n";

  // Issuance per hour: the chart sums batches and lines; the table lists them.
  std::map<int64_t, double> hours;  // hour start (µs) -> issued, hours without issuance included
  for (const json& e : r["issuance_per_hour"]) {
    Result<int64_t> t = ParseUtcTime(e["hour"].get<std::string>());
    if (t.ok()) hours[*t] += e["issued"].get<double>();
  }
  constexpr int64_t kHour = int64_t{3600} * 1000000;
  if (!hours.empty() && (hours.rbegin()->first - hours.begin()->first) / kHour <= 24 * 92) {
    for (int64_t t = hours.begin()->first; t < hours.rbegin()->first; t += kHour) hours.try_emplace(t, 0.0);
  }
  std::vector<std::pair<std::string, double>> slots;
  for (const auto& [t, n] : hours) slots.emplace_back(FormatUtcTime(t), n);
  h += "<h2>Issuance per hour</h2>" + Columns(slots, "#2e86c1", "per hour");
  h += "<details><summary>by batch and production line (" + std::to_string(r["issuance_per_hour"].size()) +
       " rows)</summary><table><tr><th>hour (UTC)</th><th>batch</th><th>line</th><th>issued</th></tr>";
  for (size_t i = 0; i < r["issuance_per_hour"].size(); ++i) {
    const json& e = r["issuance_per_hour"][i];
    h += "<tr><td>" + Esc(Text(e["hour"])) + "</td><td>" + Esc(Text(e["batch"])) + "</td><td>" +
         Esc(Text(e["line"])) + "</td>" + Num(r, Ptr({"issuance_per_hour", std::to_string(i), "issued"})) + "</tr>";
  }
  h += "</table></details>\n";

  for (const auto& [key, title, color] : std::vector<std::tuple<std::string, std::string, const char*>>{
           {"rejections_by_reason", "Rejections by reason", "#e67e22"},
           {"revocations_by_reason", "Revocations, holds and releases by reason", "#c0392b"}}) {
    std::vector<std::pair<std::string, double>> items;
    for (const auto& [k, v] : r[key].items()) items.emplace_back(k, v.get<double>());
    h += "<h2>" + title + "</h2>" + HBars(items, color);
    if (!items.empty()) {
      h += "<table><tr><th>reason</th><th>events</th></tr>";
      for (const auto& [k, v] : r[key].items()) h += "<tr><td>" + Esc(k) + "</td>" + Num(r, Ptr({key, k})) + "</tr>";
      h += "</table>";
    }
    h += "\n";
  }

  h += "<h2>Batch reconciliation and quota use</h2><table><tr><th>batch</th><th>quota</th><th>issued</th>"
       "<th>rejected</th><th>revoked</th><th>on hold</th><th>quota used %</th><th></th><th>attempts past quota</th>"
       "<th>issued past quota</th><th>issued in period</th><th>reconciliation</th></tr>";
  for (size_t i = 0; i < r["batches"].size(); ++i) {
    const json& b = r["batches"][i];
    const std::string n = std::to_string(i);
    const bool ok = b["reconciliation"] == "ok";
    h += "<tr><td>" + Esc(Text(b["batch"])) + "</td>" + Num(r, Ptr({"batches", n, "quota"})) +
         Num(r, Ptr({"batches", n, "issued"})) + Num(r, Ptr({"batches", n, "rejected"})) +
         Num(r, Ptr({"batches", n, "revoked"})) + Num(r, Ptr({"batches", n, "on_hold"})) +
         Num(r, Ptr({"batches", n, "quota_used_percent"})) + "<td>" +
         QuotaBar(b["quota_used_percent"].get<double>()) + "</td>" +
         Num(r, Ptr({"batches", n, "past_quota_attempts"})) + Num(r, Ptr({"batches", n, "issued_past_quota"})) +
         Num(r, Ptr({"batches", n, "issued_in_period"})) + "<td class=\"" + (ok ? "ok" : "bad") + "\" data-k=\"" +
         Ptr({"batches", n, "reconciliation"}) + "\">" + Esc(Text(b["reconciliation"])) + "</td></tr>";
  }
  h += "</table>\n";

  h += "<h2>Sync sessions</h2>";
  std::vector<std::pair<std::string, double>> lags;
  for (const json& s : r["sync_sessions"]) {
    if (s.contains("lag_seconds")) lags.emplace_back(Text(s["time"]), s["lag_seconds"].get<double>() / 3600);
  }
  if (!lags.empty()) h += "<p>Lag: how long the oldest event a session carried had waited (hours)</p>" +
                          Columns(lags, "#7d3c98", "h");
  if (r["sync_sessions"].empty()) {
    h += "<p class=\"none\">none in the period</p>";
  } else {
    h += "<details open><summary>" + std::to_string(r["sync_sessions"].size()) +
         " sessions</summary><table><tr><th>time</th><th>recorded in</th><th>peer</th><th>direction</th>"
         "<th>received</th><th>sent</th><th>peer size</th><th>lag (s)</th><th>result</th></tr>";
    for (size_t i = 0; i < r["sync_sessions"].size(); ++i) {
      const json& s = r["sync_sessions"][i];
      const std::string n = std::to_string(i);
      h += "<tr><td>" + Esc(Text(s["time"])) + "</td><td>" + Esc(Text(s["log"])) + " #" + Esc(Text(s["seq"])) +
           "</td><td>" + Esc(Text(s["peer"])) + "</td><td>" + Esc(Text(s["direction"])) + "</td>" +
           Num(r, Ptr({"sync_sessions", n, "events_received"})) + Num(r, Ptr({"sync_sessions", n, "events_sent"})) +
           Num(r, Ptr({"sync_sessions", n, "peer_tree_size"})) +
           (s.contains("lag_seconds") ? Num(r, Ptr({"sync_sessions", n, "lag_seconds"})) : std::string("<td></td>")) +
           "<td class=\"" + (s["result"] == "ok" ? "ok" : "bad") + "\">" + Esc(Text(s["result"])) + "</td></tr>";
    }
    h += "</table></details>";
  }
  if (!r["cosignatures"].empty()) {
    h += "<table><tr><th>cosignatures recorded</th><th>count</th></tr>";
    for (const auto& [k, v] : r["cosignatures"].items()) {
      h += "<tr><td>" + Esc(k) + "</td>" + Num(r, Ptr({"cosignatures", k})) + "</tr>";
    }
    h += "</table>";
  }
  h += "\n";

  h += "<h2>Anomalies</h2>";
  if (r["anomaly_counts"].empty()) {
    h += "<p class=\"ok\">none in the period</p>";
  } else {
    h += "<table><tr><th>kind</th><th>count</th></tr>";
    for (const auto& [k, v] : r["anomaly_counts"].items()) {
      h += "<tr><td class=\"bad\">" + Esc(k) + "</td>" + Num(r, Ptr({"anomaly_counts", k})) + "</tr>";
    }
    h += "</table><table><tr><th>time</th><th>kind</th><th>detail</th><th>events</th></tr>";
    for (const json& a : r["anomalies"]) {
      h += "<tr><td>" + Esc(Text(a["time"])) + "</td><td class=\"bad\">" + Esc(Text(a["kind"])) + "</td><td>" +
           Esc(Text(a["detail"]));
      if (a.contains("evidence")) {
        for (const json& line : a["evidence"]) h += "<br><code>" + Esc(Text(line)) + "</code>";
      }
      h += "</td><td>" + EventRefs(a["events"]) + "</td></tr>";
    }
    h += "</table>";
  }
  h += "\n<h2>Device serials certified more than once</h2>";
  if (r["duplicate_device_serials"].empty()) {
    h += "<p class=\"ok\">none in the period</p>";
  } else {
    h += "<table><tr><th>device serial</th><th>batch</th><th>allowed re-issue</th><th>certificates</th></tr>";
    for (const json& d : r["duplicate_device_serials"]) {
      h += "<tr><td>" + Esc(Text(d["device_serial"])) + "</td><td>" + Esc(Text(d["batch"])) + "</td><td class=\"" +
           (d["reissue"].get<bool>() ? "ok\">yes" : "bad\">no") + "</td><td>" + EventRefs(d["certificates"]) +
           "</td></tr>";
    }
    h += "</table>";
  }
  h += "\n</body></html>\n";
  return h;
}

}  // namespace mirrorca::audit
