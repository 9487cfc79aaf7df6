// StoreLogs: a node's store opened read-only with every log it holds — what
// the audit commands (verify, prove, replay, index, report) start from. A
// read-only RocksDB open works beside a running node and sees the state as
// of the open.
//
// Thread-safety: the EventLogs are safe for concurrent reads; the struct
// itself is not synchronized.
#ifndef MIRRORCA_AUDIT_STORE_LOGS_H_
#define MIRRORCA_AUDIT_STORE_LOGS_H_

#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "engine/log_authority.h"
#include "log/event_log.h"
#include "log/store.h"

namespace mirrorca::audit {

struct StoreLogs {
  std::unique_ptr<log::Store> store;
  std::string self;  // origin of the node's own log (empty if the store has no "self")
  // What each log may say, learned from HQ's log (see LearnAuthority); every
  // audit tool applies it.
  std::unique_ptr<engine::LogAuthority> authority;
  std::map<std::string, std::unique_ptr<log::EventLog>> logs;  // by origin; destroyed before `store`

  // SignerName returns "name+keyid" of a log's verifier key (the name never
  // holds a '+').
  static std::string SignerName(const log::EventLog& l);
};

// OpenStoreLogs opens `data_dir`'s store read-only and every log in it, and
// learns the authority.
Result<StoreLogs> OpenStoreLogs(const std::string& data_dir);

// LearnAuthority returns the trust table of the logs in `s`, learned from
// HQ's log: the node's own log when it registers factories (an HQ store),
// else the one other log (a factory's store holds HQ's log beside its own).
// A store without registrations yields a table that trusts no factory.
Result<std::unique_ptr<engine::LogAuthority>> LearnAuthority(const StoreLogs& s);

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_STORE_LOGS_H_
