#include "base/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace mirrorca::logging {
namespace {

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* Name(Level l) {
  switch (l) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

// The process's logger: stderr, the line as given (we format the JSON), a
// lock per line so concurrent lines never interleave.
spdlog::logger& Logger() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto* l = new spdlog::logger("mirrorca", sink);  // lives for the process
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::trace);
    if (const char* env = std::getenv("MIRRORCA_LOG_LEVEL")) {
      if (Result<Level> lv = ParseLevel(env); lv.ok()) l->set_level(ToSpd(*lv));
    }
    return l;
  }();
  return *logger;
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  for (Level l : {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (name == Name(l)) return l;
  }
  return Status::InvalidArgument("log level '" + std::string(name) + "': one of trace, debug, info, warn, error, off");
}

void SetLevel(Level level) { Logger().set_level(ToSpd(level)); }

bool Enabled(Level level) { return level != Level::kOff && Logger().should_log(ToSpd(level)); }

void Log(Level level, std::string_view event, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = Timestamp();
  line["level"] = Name(level);
  line["event"] = std::string(event);
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) {
      if (k != "ts" && k != "level" && k != "event") line[k] = v;
    }
  } else if (!fields.is_null()) {
    line["detail"] = fields;
  }
  // Invalid UTF-8 from a peer is replaced, never thrown.
  Logger().log(ToSpd(level), "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace mirrorca::logging
