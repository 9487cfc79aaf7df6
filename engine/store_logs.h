// StoreLogs: a node's store opened read-only with every log it holds — what
// the audit commands (verify, prove, replay, index, report) start from. A
// read-only RocksDB open works beside a running node and sees the state as
// of the open.
//
// Thread-safety: the EventLogs are safe for concurrent reads; the struct
// itself is not synchronized.
#ifndef MIRRORCA_ENGINE_STORE_LOGS_H_
#define MIRRORCA_ENGINE_STORE_LOGS_H_

#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "log/event_log.h"
#include "log/store.h"

namespace mirrorca::engine {

struct StoreLogs {
  std::unique_ptr<log::Store> store;
  std::map<std::string, std::unique_ptr<log::EventLog>> logs;  // by origin; destroyed before `store`

  // SignerName returns "name+keyid" of a log's verifier key (the name never
  // holds a '+').
  static std::string SignerName(const log::EventLog& l);
};

// OpenStoreLogs opens `data_dir`'s store read-only and every log in it.
Result<StoreLogs> OpenStoreLogs(const std::string& data_dir);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_STORE_LOGS_H_
