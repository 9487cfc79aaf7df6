#include "base/prometheus_text.h"

#include <gtest/gtest.h>

namespace mirrorca {
namespace {

TEST(PrometheusTextTest, GroupsSamplesOfAFamilyUnderOneHeader) {
  PrometheusText m;
  m.Counter("a_total", "A things.", 1, {{"kind", "x"}});
  m.Gauge("b", "B level.", 2.5);
  m.Counter("a_total", "A things.", 3, {{"kind", "y"}});
  EXPECT_EQ(m.Render(),
            "# HELP a_total A things.\n# TYPE a_total counter\n"
            "a_total{kind=\"x\"} 1\na_total{kind=\"y\"} 3\n"
            "# HELP b B level.\n# TYPE b gauge\nb 2.5\n");
}

TEST(PrometheusTextTest, EscapesLabelValues) {
  EXPECT_EQ(FormatLabels({{"f", "a\"b\\c\nd"}}), "{f=\"a\\\"b\\\\c\\nd\"}");
  EXPECT_EQ(FormatLabels({}), "");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulative) {
  LatencyHistogram h;
  h.Observe(50);        // ≤ 100 µs
  h.Observe(800);       // ≤ 1 ms
  h.Observe(20000000);  // above 10 s
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.buckets.front().second, 1u);
  EXPECT_EQ(s.buckets[3].first, 0.001);
  EXPECT_EQ(s.buckets[3].second, 2u);
  EXPECT_EQ(s.buckets.back().second, 2u);
  EXPECT_NEAR(s.sum, 20.00085, 1e-9);
  PrometheusText m;
  m.Histogram("lat_seconds", "Latency.", s, {{"path", "ocsp"}});
  const std::string text = m.Render();
  EXPECT_NE(text.find("lat_seconds_bucket{path=\"ocsp\",le=\"0.0001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{path=\"ocsp\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{path=\"ocsp\"} 3\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mirrorca
