#include "engine/store_logs.h"

#include "base/status_macros.h"
#include "log/local_log.h"

namespace mirrorca::engine {

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
  return out;
}

}  // namespace mirrorca::engine
