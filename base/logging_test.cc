#include "base/logging.h"

#include <gtest/gtest.h>

namespace mirrorca::logging {
namespace {

TEST(LoggingTest, LevelsParseAndFilter) {
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(ParseLevel("verbose").status().code(), StatusCode::kInvalidArgument);
  SetLevel(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  SetLevel(Level::kOff);
  EXPECT_FALSE(Enabled(Level::kError));
  SetLevel(Level::kInfo);
}

TEST(LoggingTest, OneJsonLinePerEventEvenWithHostileText) {
  SetLevel(Level::kInfo);
  ::testing::internal::CaptureStderr();
  Info("enroll", {{"ra", "ra-1"}, {"status", 200}, {"event", "spoofed"}});
  Warn("odd", {{"peer", std::string("a\nb\xff\"c")}});
  Log(Level::kDebug, "hidden");
  const std::string out = ::testing::internal::GetCapturedStderr();
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(out.substr(start, nl - start));
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["event"], "enroll") << "a field cannot overwrite the event";
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["ts"].get<std::string>().size(), 24u);
  auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warn");
  EXPECT_NE(second["peer"].get<std::string>().find("a\nb"), std::string::npos);
}

}  // namespace
}  // namespace mirrorca::logging
