// Node backup: a consistent copy of a node's data folder, taken while the
// node runs, and its restore (docs/operations.md "Backup and restore").
//
//   OUT/MANIFEST.json     format, the node's log origin and size, a
//                         checkpoint signed at the backup, what is inside
//   OUT/data/<store>/     each open store as a RocksDB checkpoint (a
//                         consistent point; hard links where it can)
//   OUT/data/*.pem        the key files: a PEM key (0600) or a one-line key
//                         reference — never a token's key, which stays in
//                         its HSM
//
// Thread-safety: BackupNode may run while the node serves (RocksDB
// checkpoints are consistent under writes); RestoreNode with the node stopped.
#ifndef MIRRORCA_LOG_NODE_BACKUP_H_
#define MIRRORCA_LOG_NODE_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "log/event_log.h"
#include "log/store.h"

namespace mirrorca::log {

struct BackupStore {
  std::string name;  // its folder in the data folder: "store", "delivery"
  Store* store = nullptr;
};

struct BackupInfo {
  std::string out;
  std::string origin;
  uint64_t log_size = 0;
  std::vector<std::string> stores, files;
  bool recovery_needed = false;  // restore: a factory waits for `factory recover`
};

// BackupNode writes `out` (which must not exist) from the node whose data
// folder is `data_dir`, whose open stores are `stores` and whose own log is
// `own` (it signs the manifest's checkpoint).
Result<BackupInfo> BackupNode(Env* env, const std::string& data_dir, const std::vector<BackupStore>& stores,
                              EventLog& own, const std::string& out);

// RestoreNode copies the backup `from` into `data_dir` (absent or empty:
// nothing is overwritten) and checks that the restored log opens and
// verifies, and is the one the manifest names. It marks the store restored
// (HQ's CRL numbers then start above the restore time) and a factory's as
// waiting for a recovery from HQ (log/local_log.h).
Result<BackupInfo> RestoreNode(Env* env, const std::string& from, const std::string& data_dir);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_NODE_BACKUP_H_
