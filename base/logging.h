// Logging: one structured line per event on stderr, through spdlog —
//
//   {"ts":"2026-12-02T03:50:01.123Z","level":"info","event":"enroll","ra":"ra-line1","status":200,"ms":1.9}
//
// JSON, so an operator's collector (journald, Loki, Elastic) indexes the
// fields. Callers pass what happened, never a secret: no private key, PIN,
// password, CSR or certificate body — names, counts, codes and statuses.
// Levels: trace < debug < info < warn < error < off; `mirrorca --log-level`
// (or MIRRORCA_LOG_LEVEL) sets it for the process, default info. High-volume
// anonymous traffic (each OCSP or CRL request) logs at debug, so a flood of
// requests cannot flood the disk at the default level.
//
// Thread-safety: every function may be called from any thread.
#ifndef MIRRORCA_BASE_LOGGING_H_
#define MIRRORCA_BASE_LOGGING_H_

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mirrorca::logging {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// ParseLevel reads "trace" … "off"; InvalidArgument otherwise.
Result<Level> ParseLevel(std::string_view name);
void SetLevel(Level level);
bool Enabled(Level level);

// Log writes {"ts", "level", "event", ...fields} when `level` is enabled.
// `fields` must be a JSON object (other values are logged under "detail").
void Log(Level level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());

inline void Info(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Log(Level::kInfo, event, fields);
}
inline void Warn(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Log(Level::kWarn, event, fields);
}
inline void Error(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Log(Level::kError, event, fields);
}

}  // namespace mirrorca::logging

#endif  // MIRRORCA_BASE_LOGGING_H_
