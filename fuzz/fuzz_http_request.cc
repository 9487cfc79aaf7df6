// Fuzz target: HTTP/1.1 request framing (net/http_request_parser.h) as a
// client's bytes arrive — split at a point the input chooses, pipelined
// requests taken one at a time under small limits — and the enrollment
// API's JSON bodies (engine/enrollment_api.h) parsed from each request.
// Any bytes are requests or an error status (400/413/431); never a crash,
// never more than the limits held.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "net/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca::net;
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = all.empty() ? 0 : data[0] % (all.size() + 1);
  HttpRequestParser p(HttpLimits{.max_header_bytes = 2048, .max_body_bytes = 4096});
  std::string pending;
  int requests = 0;
  for (std::string_view part : {all.substr(0, split), all.substr(split)}) {
    pending.append(part);
    while (!pending.empty()) {
      const size_t used = p.Feed(pending);
      pending.erase(0, used);
      if (p.state() == HttpRequestParser::State::kComplete) {
        HttpRequest& r = p.request();
        if (r.body.size() > 4096 || r.path.size() > 2048) __builtin_trap();  // a limit was not enforced
        (void)nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
        (void)p.keep_alive();
        p.Next();
        if (++requests > 64) return 0;
        continue;
      }
      if (p.state() == HttpRequestParser::State::kError) {
        const int s = p.error_status();
        if (s != 400 && s != 413 && s != 431) __builtin_trap();
        return 0;
      }
      if (used == 0) break;
    }
  }
  return 0;
}
