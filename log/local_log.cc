#include "log/local_log.h"

#include "base/status_macros.h"

namespace mirrorca::log {
namespace {
constexpr std::string_view kSelfKey = "self";
constexpr std::string_view kRecoveryKey = "recovery_needed";
constexpr std::string_view kRestoredKey = "restored_at_ms";
}  // namespace

Result<std::string> SelfOrigin(Store* store) { return store->Get(store->meta(), std::string(kSelfKey)); }

std::string StorePath(const std::string& dir) { return dir + "/store"; }
std::string LogKeyPath(const std::string& dir) { return dir + "/log_key.pem"; }

namespace {

std::string NextKeyPath(const std::string& dir) { return LogKeyPath(dir) + ".next"; }

}  // namespace

Result<LocalLog> InitLocalLog(Env* env, const std::string& dir, const std::string& origin,
                              EventLogOptions options, const crypto::KeyStore& keys) {
  if (!IsValidKeyName(origin)) {
    return Status::InvalidArgument("origin '" + origin +
                                   "' is not a valid log name (no spaces, '+' or control chars)");
  }
  if (env->FileExists(StorePath(dir))) {
    return Status::AlreadyExists("a store already exists in " + dir);
  }
  RETURN_IF_ERROR(env->CreateDirs(dir));
  ASSIGN_OR_RETURN(LogSigner signer, LogSigner::Create(env, keys, LogKeyPath(dir), origin));
  LocalLog local;
  ASSIGN_OR_RETURN(local.store, Store::Open(StorePath(dir), StoreOptions{.create_if_missing = true,
                                                                         .min_free_bytes = options.min_free_bytes}));
  RETURN_IF_ERROR(EventLog::Create(local.store.get(), signer.verifier()));
  rocksdb::WriteBatch batch;
  batch.Put(local.store->meta(), std::string(kSelfKey), origin);
  RETURN_IF_ERROR(local.store->WriteDurably(&batch));
  ASSIGN_OR_RETURN(local.log, EventLog::Open(local.store.get(), origin, signer, options));
  return local;
}

Result<LocalLog> OpenLocalLog(Env* env, const std::string& dir, bool with_key,
                              EventLogOptions options) {
  LocalLog local;
  ASSIGN_OR_RETURN(local.store,
                   Store::Open(StorePath(dir), StoreOptions{.read_only = options.read_only_store,
                                                            .point_lookup_cache_bytes = options.point_lookup_cache_bytes,
                                                            .min_free_bytes = options.min_free_bytes}));
  Result<std::string> origin = local.store->Get(local.store->meta(), std::string(kSelfKey));
  if (!origin.ok()) {
    return Status::NotFound("the store in " + dir + " has no local log (run `mirrorca log init`)");
  }
  std::optional<LogSigner> signer;
  if (with_key) {
    ASSIGN_OR_RETURN(std::optional<std::string> waiting, RecoveryNeeded(local.store.get()));
    if (waiting) {
      return Status::FailedPrecondition("the log in " + dir + " waits for a recovery (" + *waiting +
                                        "): run `mirrorca factory recover --config <factory.toml>` so that it "
                                        "continues from what HQ holds, never from an older size");
    }
    ASSIGN_OR_RETURN(signer, LogSigner::Open(env, LogKeyPath(dir), *origin));
  }
  Result<std::unique_ptr<EventLog>> log = EventLog::Open(local.store.get(), *origin, std::move(signer), options);
  if (!log.ok() && with_key && log.status().code() == StatusCode::kPermissionDenied &&
      env->FileExists(NextKeyPath(dir))) {
    // A rotation that became durable before its new key took the old one's place.
    ASSIGN_OR_RETURN(LogSigner next, LogSigner::Open(env, NextKeyPath(dir), *origin));
    log = EventLog::Open(local.store.get(), *origin, next, options);
    if (log.ok()) RETURN_IF_ERROR(crypto::PromoteKey(env, NextKeyPath(dir), LogKeyPath(dir)));
  }
  if (!log.ok()) return log.status();
  local.log = std::move(*log);
  return local;
}

Status SetRecoveryNeeded(Store* store, const std::string& reason) {
  rocksdb::WriteBatch batch;
  batch.Put(store->meta(), std::string(kRecoveryKey), reason);
  return store->WriteDurably(&batch);
}

Status ClearRecoveryNeeded(Store* store) {
  rocksdb::WriteBatch batch;
  batch.Delete(store->meta(), std::string(kRecoveryKey));
  return store->WriteDurably(&batch);
}

Result<std::optional<std::string>> RecoveryNeeded(Store* store) {
  return store->Find(store->meta(), std::string(kRecoveryKey));
}

Status MarkRestored(Store* store, uint64_t millis) {
  rocksdb::WriteBatch batch;
  batch.Put(store->meta(), std::string(kRestoredKey), std::to_string(millis));
  return store->WriteDurably(&batch);
}

Result<uint64_t> RestoredAtMillis(Store* store) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, store->Find(store->meta(), std::string(kRestoredKey)));
  if (!v) return uint64_t{0};
  uint64_t out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || out > (UINT64_MAX - 9) / 10) return Status::Corruption("bad restored_at_ms in the store");
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return out;
}

Result<LocalLog> OpenOwnLogForRecovery(Env* env, const std::string& dir, const std::optional<LogVerifier>& registered,
                                       EventLogOptions options) {
  const bool existed = env->FileExists(StorePath(dir));
  if (!existed && !registered) {
    return Status::InvalidArgument("there is no store in " + dir +
                                   ": give the log's registered key (--log-key, the factory's log_key in hq.toml)");
  }
  RETURN_IF_ERROR(env->CreateDirs(dir));
  LocalLog local;
  ASSIGN_OR_RETURN(local.store, Store::Open(StorePath(dir), StoreOptions{.create_if_missing = !existed,
                                                                         .min_free_bytes = options.min_free_bytes}));
  Result<std::string> origin = SelfOrigin(local.store.get());
  if (origin.ok()) {
    if (registered && registered->name() != *origin) {
      return Status::InvalidArgument("the store in " + dir + " holds the log '" + *origin + "', not '" +
                                     registered->name() + "'");
    }
  } else if (origin.status().code() != StatusCode::kNotFound) {
    return origin.status();
  } else if (!registered) {
    return Status::InvalidArgument("the store in " + dir + " has no local log: give its registered key (--log-key)");
  }
  const std::string own = origin.ok() ? *origin : registered->name();
  RETURN_IF_ERROR(SetRecoveryNeeded(local.store.get(), "recovery from HQ under way"));
  if (registered) {
    ASSIGN_OR_RETURN(local.log, EventLog::OpenCopy(local.store.get(), *registered, options));
  } else {
    ASSIGN_OR_RETURN(local.log, EventLog::Open(local.store.get(), own, std::nullopt, options));
  }
  if (!origin.ok()) {
    rocksdb::WriteBatch batch;
    batch.Put(local.store->meta(), std::string(kSelfKey), own);
    RETURN_IF_ERROR(local.store->WriteDurably(&batch));
  }
  return local;
}

Result<KeyRotation> RotateLocalLogKey(Env* env, const std::string& dir, const std::string& reason,
                                      std::optional<crypto::KeyStore> keys) {
  ASSIGN_OR_RETURN(LocalLog local, OpenLocalLog(env, dir, /*with_key=*/true));
  if (env->FileExists(dir + "/delivery")) {
    return Status::FailedPrecondition(
        "this is HQ's store: HQ's log key also signs the delivery log of every factory, whose copies pin it; "
        "rotating HQ's log key is not supported yet (docs/key_custody.md)");
  }
  if (!keys) {
    ASSIGN_OR_RETURN(keys, crypto::StoreOfKeyAt(env, LogKeyPath(dir)));
  }
  RETURN_IF_ERROR(crypto::KeyRefAt(env, LogKeyPath(dir)).status());  // readable before anything changes
  RETURN_IF_ERROR(crypto::RemoveKey(env, NextKeyPath(dir)));  // a rotation that never became durable
  ASSIGN_OR_RETURN(LogSigner next, LogSigner::Create(env, *keys, NextKeyPath(dir), local.log->origin()));
  KeyRotation out;
  out.old_key = local.log->keys()->current().VerifierKey();
  out.new_key = next.verifier().VerifierKey();
  out.rotation_seq = local.log->Size();
  Result<std::string> checkpoint = local.log->RotateKey(next, reason);
  if (!checkpoint.ok()) {
    if (local.log->keys()->current().VerifierKey() != out.new_key) (void)crypto::RemoveKey(env, NextKeyPath(dir));
    return checkpoint.status();
  }
  out.checkpoint = *checkpoint;
  RETURN_IF_ERROR(crypto::PromoteKey(env, NextKeyPath(dir), LogKeyPath(dir)));
  return out;
}

}  // namespace mirrorca::log
