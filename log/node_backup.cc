#include "log/node_backup.h"

#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "crypto/sha256.h"
#include "log/local_log.h"
#include "log/log_verification.h"

namespace mirrorca::log {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "mirrorca-backup/1";

Status FsError(const std::string& what, const std::error_code& ec) {
  return Status::IOError(what + ": " + ec.message());
}

}  // namespace

Result<BackupInfo> BackupNode(Env* env, const std::string& data_dir, const std::vector<BackupStore>& stores,
                              EventLog& own, const std::string& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) return Status::AlreadyExists(out + " already exists: a backup goes to a new folder");
  fs::create_directories(out + "/data", ec);
  if (ec) return FsError("create " + out, ec);
  BackupInfo info;
  info.out = out;
  info.origin = own.origin();
  // A checkpoint signed now: the backup holds at least this tree.
  ASSIGN_OR_RETURN(std::string note, own.SignCheckpoint());
  info.log_size = own.Size();
  for (const BackupStore& s : stores) {
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status st = rocksdb::Checkpoint::Create(s.store->db(), &raw);
    if (!st.ok()) return Status::IOError("checkpoint of " + s.name + ": " + st.ToString());
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    st = checkpoint->CreateCheckpoint(out + "/data/" + s.name);
    if (!st.ok()) return Status::IOError("checkpoint of " + s.name + ": " + st.ToString());
    info.stores.push_back(s.name);
  }
  json files = json::array();
  for (const fs::directory_entry& e : fs::directory_iterator(data_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || e.path().extension() != ".pem") continue;  // keys and key references
    ASSIGN_OR_RETURN(std::string bytes, env->ReadFile(e.path().string(), 1 << 20));
    ASSIGN_OR_RETURN(uint32_t mode, env->FileMode(e.path().string()));
    RETURN_IF_ERROR(env->WriteFileAtomic(out + "/data/" + name, bytes, mode & 0777));
    files.push_back({{"name", name}, {"sha256", HexEncode(crypto::Sha256(AsBytes(bytes)))}});
    info.files.push_back(name);
  }
  if (ec) return FsError("read " + data_dir, ec);
  const json manifest = {{"format", kFormat},
                         {"origin", info.origin},
                         {"log_size", info.log_size},
                         {"checkpoint", note},
                         {"created_micros", env->NowMicros()},
                         {"stores", info.stores},
                         {"files", files}};
  RETURN_IF_ERROR(env->WriteFileAtomic(out + "/MANIFEST.json", manifest.dump(2) + "\n", 0644));
  return info;
}

Result<BackupInfo> RestoreNode(Env* env, const std::string& from, const std::string& data_dir) {
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(from + "/MANIFEST.json", 1 << 20));
  json m = json::parse(text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("format") || m["format"] != kFormat) {
    return Status::InvalidArgument(from + " is not a mirrorca backup (no " + kFormat + " MANIFEST.json)");
  }
  // Every field has its type before anything reads it.
  auto typed = [&](const char* key, bool (json::*is)() const noexcept) {
    return m.contains(key) && (m[key].*is)();
  };
  if (!typed("origin", &json::is_string) || !typed("log_size", &json::is_number_unsigned) ||
      !typed("checkpoint", &json::is_string) || !typed("stores", &json::is_array) || !typed("files", &json::is_array)) {
    return Status::InvalidArgument(from + "/MANIFEST.json: origin, log_size, checkpoint, stores and files are required, "
                                          "with their types");
  }
  for (const json& st : m["stores"]) {
    if (!st.is_string()) return Status::InvalidArgument(from + "/MANIFEST.json: stores must be names");
  }
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return Status::AlreadyExists(data_dir + " is not empty: restore into an empty folder (move the old one away)");
  }
  // Every key file must be the one the manifest lists.
  const json files = m.value("files", json::array());
  if (!files.is_array()) return Status::InvalidArgument(from + "/MANIFEST.json: \"files\" is not a list");
  for (const json& f : files) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("sha256") ||
        !f["sha256"].is_string()) {
      return Status::InvalidArgument(from + "/MANIFEST.json: each file needs a \"name\" and a \"sha256\"");
    }
    const std::string name = f["name"].get<std::string>();
    // A file name inside the backup's data folder: never a path out of it.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos) {
      return Status::InvalidArgument(from + "/MANIFEST.json: '" + name + "' is not a file name");
    }
    ASSIGN_OR_RETURN(std::string bytes, env->ReadFile(from + "/data/" + name, 1 << 20));
    if (HexEncode(crypto::Sha256(AsBytes(bytes))) != f.value("sha256", "")) {
      return Status::Corruption(from + "/data/" + name + " is not the file the backup recorded");
    }
  }
  fs::create_directories(data_dir, ec);
  if (ec) return FsError("create " + data_dir, ec);
  fs::copy(from + "/data", data_dir, fs::copy_options::recursive, ec);
  if (ec) return FsError("copy " + from + "/data to " + data_dir, ec);
  BackupInfo info;
  info.out = data_dir;
  {
    ASSIGN_OR_RETURN(LocalLog local, OpenLocalLog(env, data_dir, /*with_key=*/false));
    info.origin = local.log->origin();
    info.log_size = local.log->Size();
    if (info.origin != m.value("origin", "")) return Status::Corruption("the restored log is not the one backed up");
    if (info.log_size < m.value("log_size", uint64_t{0})) {
      return Status::Corruption("the restored log holds " + std::to_string(info.log_size) + " events, the backup " +
                                std::to_string(m.value("log_size", uint64_t{0})));
    }
    ASSIGN_OR_RETURN(VerifyReport report, VerifyLog(*local.log, VerifyOptions{.trusted_checkpoints = {m.value("checkpoint", "")}}));
    if (!report.ok) return Status::Corruption("the restored log does not verify: " + report.reason);
    // What the node published after the backup is not in it: HQ's next CRL
    // numbers start above the restore time, and a factory waits for
    // `factory recover` (its log may be older than what HQ holds).
    RETURN_IF_ERROR(MarkRestored(local.store.get(), static_cast<uint64_t>(env->NowMicros() / 1000)));
    bool is_hq = false;
    for (const json& s : m.value("stores", json::array())) is_hq = is_hq || (s.is_string() && s.get<std::string>() == "delivery");
    if (!is_hq) {
      RETURN_IF_ERROR(SetRecoveryNeeded(local.store.get(), "restored from a backup of " + std::to_string(info.log_size) +
                                                                " events; HQ may hold more"));
    }
    info.recovery_needed = !is_hq;
  }
  for (const json& s : m.value("stores", json::array())) info.stores.push_back(s.get<std::string>());
  for (const json& f : m.value("files", json::array())) info.files.push_back(f.value("name", ""));
  return info;
}

}  // namespace mirrorca::log
