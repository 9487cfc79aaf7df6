#include "base/utc_time.h"

#include <ctime>

namespace mirrorca {

Result<int64_t> ParseUtcTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0' || text.size() != 20) {
    return Status::InvalidArgument("time '" + text + "' is not YYYY-MM-DDTHH:MM:SSZ");
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

std::string FormatUtcTime(int64_t micros) {
  int64_t seconds = micros / 1000000;
  if (micros < 0 && micros % 1000000 != 0) --seconds;  // floor
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace mirrorca
