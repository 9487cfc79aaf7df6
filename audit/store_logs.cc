#include "audit/store_logs.h"

#include "base/status_macros.h"
#include "log/local_log.h"

namespace mirrorca::audit {

std::string StoreLogs::SignerName(const log::EventLog& l) {
  const std::string vkey = l.verifier().VerifierKey();
  return vkey.substr(0, vkey.find('+', vkey.find('+') + 1));
}

Result<StoreLogs> OpenStoreLogs(const std::string& data_dir) {
  StoreLogs out;
  ASSIGN_OR_RETURN(out.store, log::Store::Open(log::StorePath(data_dir), {.read_only = true}));
  ASSIGN_OR_RETURN(std::vector<std::string> origins, log::EventLog::ListOrigins(out.store.get()));
  for (const std::string& origin : origins) {
    ASSIGN_OR_RETURN(out.logs[origin], log::EventLog::Open(out.store.get(), origin, std::nullopt));
  }
  Result<std::string> self = log::SelfOrigin(out.store.get());
  if (self.ok()) {
    out.self = *self;
  } else if (self.status().code() != StatusCode::kNotFound) {
    return self.status();
  }
  ASSIGN_OR_RETURN(out.authority, LearnAuthority(out));
  return out;
}

Result<std::unique_ptr<engine::LogAuthority>> LearnAuthority(const StoreLogs& s) {
  auto learn = [&](const std::string& origin) -> Result<std::unique_ptr<engine::LogAuthority>> {
    // A factory holds HQ's events in its delivery log "<HQ origin>/to/<name>".
    const size_t to = origin.rfind("/to/");
    auto a = std::make_unique<engine::LogAuthority>(to == std::string::npos ? origin : origin.substr(0, to));
    if (to != std::string::npos && !a->IsDeliveryOf(origin)) a = std::make_unique<engine::LogAuthority>(origin);
    auto it = s.logs.find(origin);
    // A log that stops decoding teaches what came before; the verification
    // names the bad event.
    if (it != s.logs.end()) (void)a->CatchUp(*it->second);
    return a;
  };
  // Where HQ's log can be: the node's own log; beside it in a factory's
  // store, the one other log; in a store without "self", any log.
  std::vector<std::string> candidates;
  if (!s.self.empty()) {
    candidates.push_back(s.self);
    if (s.logs.size() == 2) {
      for (const auto& [origin, l] : s.logs) {
        if (origin != s.self) candidates.push_back(origin);
      }
    }
  } else {
    for (const auto& [origin, l] : s.logs) candidates.push_back(origin);
  }
  for (const std::string& origin : candidates) {
    ASSIGN_OR_RETURN(std::unique_ptr<engine::LogAuthority> a, learn(origin));
    if (!a->Factories().empty()) return a;
  }
  return std::make_unique<engine::LogAuthority>(candidates.empty() ? std::string() : candidates.front());
}

}  // namespace mirrorca::audit
