// LocalLog: a node's data directory holding its store and the log it writes.
//
//   DIR/store/        the RocksDB store (every log the node holds)
//   DIR/log_key.pem   the Ed25519 private key of the node's own log (0600),
//                     or a reference to it in a PKCS#11 token (crypto/key_store.h)
//
// The store's meta key "self" names the origin of the node's own log.
//
// Thread-safety: the returned objects follow Store / EventLog rules.
#ifndef MIRRORCA_LOG_LOCAL_LOG_H_
#define MIRRORCA_LOG_LOCAL_LOG_H_

#include <memory>
#include <string>

#include "base/env.h"
#include "base/result.h"
#include "crypto/key_store.h"
#include "log/event_log.h"
#include "log/store.h"

namespace mirrorca::log {

struct LocalLog {
  std::unique_ptr<Store> store;
  std::unique_ptr<EventLog> log;  // destroyed before `store`
  LocalLog() = default;
  LocalLog(LocalLog&&) = default;
  // Member order already destroys `log` before `store`; assignment must too,
  // or the old store would close under its still-open log.
  LocalLog& operator=(LocalLog&& other) {
    log.reset();
    store = std::move(other.store);
    log = std::move(other.log);
    return *this;
  }
};

std::string StorePath(const std::string& dir);
std::string LogKeyPath(const std::string& dir);

// InitLocalLog creates DIR, the store, a fresh log key (in `keys`: a token
// or a PEM file) and the log `origin`. AlreadyExists if DIR already holds a store.
Result<LocalLog> InitLocalLog(Env* env, const std::string& dir, const std::string& origin,
                              EventLogOptions options = {}, const crypto::KeyStore& keys = {});

// SelfOrigin returns the origin of the node's own log in `store` (meta key
// "self"); NotFound for a store no node initialized.
Result<std::string> SelfOrigin(Store* store);

// OpenLocalLog opens DIR's own log; with `with_key` it loads the private key
// so the log accepts appends, otherwise it opens read-only (the key file may
// then be absent, e.g. on an auditor's copy). With `with_key`,
// FailedPrecondition while the store waits for a recovery (below).
Result<LocalLog> OpenLocalLog(Env* env, const std::string& dir, bool with_key,
                              EventLogOptions options = {});

// A store that may hold less than its log's owner already published — a
// factory restored from a backup, or one whose recovery from HQ did not
// finish — waits for a recovery: appending at an older size would fork the
// log and re-issue to devices its batch ledger has forgotten. The marker (a
// meta key with the reason) is set by a restore and cleared by
// `mirrorca factory recover` once the log holds everything HQ holds.
Status SetRecoveryNeeded(Store* store, const std::string& reason);
Status ClearRecoveryNeeded(Store* store);
// RecoveryNeeded returns the reason, or nullopt.
Result<std::optional<std::string>> RecoveryNeeded(Store* store);

// MarkRestored records when the store was restored from a backup
// (milliseconds since the epoch); RestoredAtMillis returns it (0: never).
// HQ's CRL numbers after a restore start above it, so a number published
// after the backup is never reused.
Status MarkRestored(Store* store, uint64_t millis);
Result<uint64_t> RestoredAtMillis(Store* store);

// OpenOwnLogForRecovery opens DIR's store (creating it when absent) and its
// own log as a copy, without its key, for `factory recover`; it marks the
// store as waiting for a recovery. `registered` (the log's registered key,
// C2SP verifier) is needed only when the store is new.
Result<LocalLog> OpenOwnLogForRecovery(Env* env, const std::string& dir, const std::optional<LogVerifier>& registered,
                                       EventLogOptions options = {});

struct KeyRotation {
  std::string old_key, new_key;  // C2SP verifier keys
  uint64_t rotation_seq = 0;
  std::string checkpoint;        // the first checkpoint signed by the new key
};

// RotateLocalLogKey makes a new key for DIR's own log (in `keys`, default:
// where the current key is), appends the logKeyRotated event signed by the
// current key, and makes the new key the one at LogKeyPath(DIR); the old
// key is destroyed (a token object) or overwritten (a file). Run it while
// no node process has the store open. Crash-safe: the new key waits at
// LogKeyPath(DIR) + ".next" until the rotation is durable, and OpenLocalLog
// finishes a rotation a crash interrupted.
Result<KeyRotation> RotateLocalLogKey(Env* env, const std::string& dir, const std::string& reason,
                                      std::optional<crypto::KeyStore> keys = std::nullopt);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_LOCAL_LOG_H_
