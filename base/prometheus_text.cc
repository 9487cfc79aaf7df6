#include "base/prometheus_text.h"

#include <cmath>
#include <cstdio>

namespace mirrorca {
namespace {

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char b[32];
    std::snprintf(b, sizeof b, "%.0f", v);
    return b;
  }
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::string Escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void LatencyHistogram::Observe(uint64_t micros) {
  const double seconds = static_cast<double>(micros) / 1e6;
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

HistogramSnapshot LatencyHistogram::Snapshot() const {
  HistogramSnapshot h;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    h.buckets.emplace_back(kBounds[i], cumulative);
  }
  h.count = cumulative + counts_[kBounds.size()].load(std::memory_order_relaxed);
  h.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return h;
}

std::string FormatLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
  }
  return out + "}";
}

PrometheusText::Family& PrometheusText::FamilyOf(std::string_view name, std::string_view help,
                                                 std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    order_.emplace_back(name);
    it = families_.emplace(std::string(name), Family{std::string(help), std::string(type), {}}).first;
  }
  return it->second;
}

void PrometheusText::Counter(std::string_view name, std::string_view help, double value,
                             const MetricLabels& labels) {
  FamilyOf(name, help, "counter").samples +=
      std::string(name) + FormatLabels(labels) + " " + Number(value) + "\n";
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, double value,
                           const MetricLabels& labels) {
  FamilyOf(name, help, "gauge").samples += std::string(name) + FormatLabels(labels) + " " + Number(value) + "\n";
}

void PrometheusText::Histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                               const MetricLabels& labels) {
  Family& f = FamilyOf(name, help, "histogram");
  const std::string n(name);
  for (const auto& [bound, count] : h.buckets) {
    MetricLabels with = labels;
    with.emplace_back("le", Number(bound));
    f.samples += n + "_bucket" + FormatLabels(with) + " " + Number(static_cast<double>(count)) + "\n";
  }
  MetricLabels inf = labels;
  inf.emplace_back("le", "+Inf");
  f.samples += n + "_bucket" + FormatLabels(inf) + " " + Number(static_cast<double>(h.count)) + "\n";
  f.samples += n + "_sum" + FormatLabels(labels) + " " + Number(h.sum) + "\n";
  f.samples += n + "_count" + FormatLabels(labels) + " " + Number(static_cast<double>(h.count)) + "\n";
}

std::string PrometheusText::Render() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.find(name)->second;
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    out += f.samples;
  }
  return out;
}

}  // namespace mirrorca
