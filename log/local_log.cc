#include "log/local_log.h"

#include "base/status_macros.h"

namespace mirrorca::log {
namespace {
constexpr std::string_view kSelfKey = "self";
}  // namespace

Result<std::string> SelfOrigin(Store* store) { return store->Get(store->meta(), std::string(kSelfKey)); }

std::string StorePath(const std::string& dir) { return dir + "/store"; }
std::string LogKeyPath(const std::string& dir) { return dir + "/log_key.pem"; }

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
  ASSIGN_OR_RETURN(local.store, Store::Open(StorePath(dir), StoreOptions{.create_if_missing = true}));
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
  ASSIGN_OR_RETURN(local.store, Store::Open(StorePath(dir), StoreOptions{}));
  Result<std::string> origin = local.store->Get(local.store->meta(), std::string(kSelfKey));
  if (!origin.ok()) {
    return Status::NotFound("the store in " + dir + " has no local log (run `mirrorca log init`)");
  }
  std::optional<LogSigner> signer;
  if (with_key) {
    ASSIGN_OR_RETURN(signer, LogSigner::Open(env, LogKeyPath(dir), *origin));
  }
  ASSIGN_OR_RETURN(local.log, EventLog::Open(local.store.get(), *origin, std::move(signer), options));
  return local;
}

}  // namespace mirrorca::log
