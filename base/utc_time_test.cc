#include "base/utc_time.h"

#include <gtest/gtest.h>

namespace mirrorca {
namespace {

TEST(UtcTimeTest, ParsesAndFormatsRoundTrip) {
  Result<int64_t> t = ParseUtcTime("2026-11-20T03:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, int64_t{1795143600} * 1000000);
  EXPECT_EQ(FormatUtcTime(*t), "2026-11-20T03:00:00Z");
  EXPECT_EQ(FormatUtcTime(*t + 999999), "2026-11-20T03:00:00Z");
  EXPECT_EQ(FormatUtcTime(0), "1970-01-01T00:00:00Z");
}

TEST(UtcTimeTest, RefusesOtherShapes) {
  for (const char* bad : {"", "2026-11-20", "2026-11-20T03:00:00", "2026-11-20T03:00:00+01:00",
                          "2026-11-20T03:00:00Zjunk", "2026-13-40T03:00:00Z", "yesterday"}) {
    EXPECT_FALSE(ParseUtcTime(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace mirrorca
