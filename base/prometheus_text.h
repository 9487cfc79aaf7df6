// PrometheusText: writes metrics in the Prometheus text exposition format
// (version 0.0.4): one "# HELP" and "# TYPE" per family, then its samples,
// label values escaped. Families may be added in any order and a family's
// samples from several places (each labeled series once); Render groups
// them. LatencyHistogram is a fixed-bucket histogram that many threads
// observe into without a lock.
//
//   PrometheusText m;
//   m.Counter("mirrorca_ocsp_requests_total", "OCSP requests, by status.", n, {{"status", "good"}});
//   m.Histogram("mirrorca_ocsp_seconds", "OCSP answer latency.", latency.Snapshot());
//   std::string body = m.Render();
//
// Thread-safety: PrometheusText is not thread-safe (one per scrape);
// LatencyHistogram::Observe and Snapshot may run concurrently.
#ifndef MIRRORCA_BASE_PROMETHEUS_TEXT_H_
#define MIRRORCA_BASE_PROMETHEUS_TEXT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mirrorca {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// HistogramSnapshot: cumulative counts per upper bound (seconds), the count
// of every observation and their sum.
struct HistogramSnapshot {
  std::vector<std::pair<double, uint64_t>> buckets;  // upper bound → observations ≤ it
  uint64_t count = 0;
  double sum = 0;
};

class LatencyHistogram {
 public:
  // Upper bounds in seconds, 100 µs to 10 s.
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1,     10};
  // Observe records one duration in microseconds.
  void Observe(uint64_t micros);
  HistogramSnapshot Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_ = {};  // last: above every bound
  std::atomic<uint64_t> sum_micros_{0};
};

class PrometheusText {
 public:
  void Counter(std::string_view name, std::string_view help, double value, const MetricLabels& labels = {});
  void Gauge(std::string_view name, std::string_view help, double value, const MetricLabels& labels = {});
  void Histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                 const MetricLabels& labels = {});
  // Render returns every family in the order first added.
  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::string samples;
  };
  Family& FamilyOf(std::string_view name, std::string_view help, std::string_view type);
  std::vector<std::string> order_;
  std::map<std::string, Family, std::less<>> families_;
};

// FormatLabels renders {a="x",b="y"} (empty for no labels), escaping
// backslash, double quote and newline in values.
std::string FormatLabels(const MetricLabels& labels);

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_PROMETHEUS_TEXT_H_
