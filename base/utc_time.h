// UTC instants as the CLI and the APIs write them: "2026-11-20T03:00:00Z"
// (RFC 3339, UTC, whole seconds), held as µs since the Unix epoch.
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_BASE_UTC_TIME_H_
#define MIRRORCA_BASE_UTC_TIME_H_

#include <cstdint>
#include <string>

#include "base/result.h"

namespace mirrorca {

// ParseUtcTime reads "YYYY-MM-DDTHH:MM:SSZ"; InvalidArgument otherwise.
Result<int64_t> ParseUtcTime(const std::string& text);

// FormatUtcTime writes µs since the epoch as "YYYY-MM-DDTHH:MM:SSZ"
// (sub-second digits are dropped).
std::string FormatUtcTime(int64_t micros);

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_UTC_TIME_H_
