// Fuzz target: a backup's MANIFEST.json (log/node_backup.h) as `mirrorca
// restore` reads it from a folder that may have been tampered with. Any
// manifest is refused with a clear error or names files inside the backup
// only; the restore target outside the backup is never written unless the
// whole backup checks out.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "log/node_backup.h"
#include "log/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  static log::testing::TempDir dir;
  const std::string from = dir.path() + "/backup";
  const std::string target = dir.path() + "/restored";
  std::error_code ec;
  std::filesystem::remove_all(target, ec);
  std::filesystem::create_directories(from + "/data", ec);
  {
    std::ofstream key(from + "/data/log_key.pem", std::ios::trunc);
    key << "not a key\n";
    std::ofstream out(from + "/MANIFEST.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  Result<log::BackupInfo> r = log::RestoreNode(Env::Default(), from, target);
  if (r.ok()) __builtin_trap();  // no store in this backup: it cannot restore
  return 0;
}
